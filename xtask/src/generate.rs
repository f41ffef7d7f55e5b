//! Spec → Rust source: progenitor (builder interface), prettyplease, then stable rustfmt.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use proc_macro2::{Delimiter, Group, Literal, TokenStream, TokenTree};
use progenitor::{CrateVers, GenerationSettings, Generator, InterfaceStyle, TagStyle};
use serde_json::Value;

/// Generates the formatted client source for an already normalised spec document.
///
/// `spec_path` is only used in messages and in the do-not-edit header; `rustfmt_config` is
/// the workspace's `rustfmt.toml`, so the output is exactly what `cargo fmt` would leave.
pub fn generate_client(
    spec_path: &str,
    document: &Value,
    rustfmt_config: &Path,
) -> anyhow::Result<String> {
    let spec: openapiv3::OpenAPI = serde_json::from_value(document.clone())
        .with_context(|| format!("{spec_path} is not a valid OpenAPI 3.0 document"))?;

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // Specs may name types of our `raw-support` crate with `x-rust-type` (audit records
        // are `raw_support::Recorded<T>`, which keeps the vendor's JSON untouched).
        .with_crate("raw-support", CrateVers::Any, None);
    let mut generator = Generator::new(&settings);

    // The rules in `rules.rs` reject everything progenitor is known to panic on. Should a
    // new case slip through, report it as an error naming the spec instead of a backtrace.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = catch_unwind(AssertUnwindSafe(|| generator.generate_tokens(&spec)));
    std::panic::set_hook(previous_hook);
    let tokens = match outcome {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(error)) => bail!("progenitor rejected {spec_path}: {error}"),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            bail!(
                "progenitor panicked on {spec_path}: {message}\n  This spec breaks a rule the \
                 xtask does not check yet; add the broken rule \
                 to xtask/src/rules.rs."
            )
        }
    };

    let file: syn::File = syn::parse2(split_multiline_docs(tokens))
        .with_context(|| format!("progenitor produced unparsable code for {spec_path}"))?;
    let pretty = prettyplease::unparse(&file);
    rustfmt(&format!("{}{pretty}", header(spec_path)), rustfmt_config)
}

/// Rewrites every multi-line `#[doc = "…"]` into one `#[doc]` per line.
///
/// prettyplease prints a multi-line doc attribute as a `/** … */` block; rustfmt then indents
/// the block's lines, and rustdoc reads those indented paragraphs as code blocks to compile.
/// One attribute per line prints as `///` comments, which neither tool rewrites.
fn split_multiline_docs(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            TokenTree::Punct(pound) if pound.as_char() == '#' => {
                let lines = match trees.peek() {
                    Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => {
                        doc_lines(group.stream())
                    }
                    _ => None,
                };
                match lines {
                    Some(lines) => {
                        trees.next();
                        for line in lines {
                            let line = Literal::string(&line);
                            out.extend(quote::quote!(#[doc = #line]));
                        }
                    }
                    None => out.push(TokenTree::Punct(pound)),
                }
            }
            TokenTree::Group(group) => {
                let mut rebuilt =
                    Group::new(group.delimiter(), split_multiline_docs(group.stream()));
                rebuilt.set_span(group.span());
                out.push(TokenTree::Group(rebuilt));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The lines of a `doc = "…"` attribute body, when it spans several lines.
fn doc_lines(attribute: TokenStream) -> Option<Vec<String>> {
    let mut parts = attribute.into_iter();
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (
            Some(TokenTree::Ident(name)),
            Some(TokenTree::Punct(eq)),
            Some(TokenTree::Literal(text)),
            None,
        ) if name == "doc" && eq.as_char() == '=' => {
            let value = syn::parse2::<syn::LitStr>(TokenTree::Literal(text).into())
                .ok()?
                .value();
            value.contains('\n').then(|| {
                value
                    .lines()
                    .map(|line| {
                        if line.is_empty() {
                            String::new()
                        } else {
                            format!(" {line}")
                        }
                    })
                    .collect()
            })
        }
        _ => None,
    }
}

/// The banner at the top of every generated file.
pub fn header(spec_path: &str) -> String {
    format!(
        "// Generated by `cargo xtask codegen` from {spec_path}: do not edit.\n\
         // To change this client, edit the spec (or the xtask) and run `cargo xtask codegen`.\n\n"
    )
}

fn rustfmt(source: &str, config: &Path) -> anyhow::Result<String> {
    let mut child = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2024", "--config-path"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run rustfmt; install it with `rustup component add rustfmt`")?;
    child
        .stdin
        .take()
        .context("rustfmt has no stdin")?
        .write_all(source.as_bytes())
        .context("cannot write to rustfmt")?;
    let output = child.wait_with_output().context("rustfmt did not finish")?;
    if !output.status.success() {
        bail!(
            "rustfmt failed on the generated code: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("rustfmt printed invalid UTF-8")
}
