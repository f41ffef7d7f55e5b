//! HTTPS for the simulator's listeners (`tls_ca_file` in the config).
//!
//! The real vendors answer over TLS and offer HTTP/2 by ALPN, which is what `trail`'s HTTP
//! client negotiates with them: every walk of a sliced export then shares one connection.
//! Over plain HTTP the simulator speaks HTTP/1.1 only, one connection per walk, so measuring
//! what a client does against the vendors' transport needs this. A certificate authority is
//! made at start and its certificate written where the config says, for clients to trust as
//! they trust a corporate CA (for `trail`, the `SSL_CERT_FILE` environment variable).

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The names the listeners' certificate is valid for.
const NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// Makes a certificate authority, writes its certificate (PEM) to `ca_file`, and returns an
/// acceptor whose certificate it signed, offering HTTP/2 and HTTP/1.1.
pub(crate) fn acceptor(ca_file: &Path) -> Result<TlsAcceptor, String> {
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "audit-sim certificate authority");
    let ca =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(words)?).map_err(words)?;
    let key = KeyPair::generate().map_err(words)?;
    let names = NAMES.map(String::from).to_vec();
    let cert = CertificateParams::new(names)
        .map_err(words)?
        .signed_by(&key, &ca)
        .map_err(words)?;
    std::fs::write(ca_file, ca.pem()).map_err(|e| format!("{}: {e}", ca_file.display()))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(words)?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(words)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn words(error: impl std::fmt::Display) -> String {
    format!("cannot set up TLS: {error}")
}
