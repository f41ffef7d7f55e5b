//! Ed25519 keys that sign manifest entries: `trail keygen`, `--sign-key`, `--public-key`.
//!
//! Keys are PEM files that OpenSSL reads too: the private key is PKCS#8 (`BEGIN PRIVATE KEY`,
//! as `openssl genpkey -algorithm ed25519` writes it), the public key SubjectPublicKeyInfo
//! (`BEGIN PUBLIC KEY`, as `openssl pkey -pubout` writes it). The crypto is aws-lc-rs, which
//! the TLS stack already builds. Key material is never printed, logged or put in an error.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::chain::to_hex;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A private key that signs manifest entries.
pub struct Signer {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public_hex())
    }
}

impl Signer {
    /// Reads the private key at `path` (PKCS#8 PEM). The error says what is wrong, never
    /// what the file holds.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the signing key {}: {error}", path.display()))?;
        let der = pem_body(&text, "PRIVATE KEY").ok_or_else(|| {
            format!(
                "{} is not a PEM private key (BEGIN PRIVATE KEY); make one with `trail keygen`",
                path.display()
            )
        })?;
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| {
            format!(
                "{} is not an Ed25519 private key; make one with `trail keygen`",
                path.display()
            )
        })?;
        Ok(Signer { pair })
    }

    /// Signs `message`: the signature in base64.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(message).as_ref())
    }

    /// The public key, in hexadecimal (what manifest entries name as their `signer`).
    pub fn public_hex(&self) -> String {
        to_hex(self.pair.public_key().as_ref())
    }
}

/// A public key that checks signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: [u8; 32],
}

impl PublicKey {
    /// Reads the public key at `path` (SubjectPublicKeyInfo PEM).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the public key {}: {error}", path.display()))?;
        let der = pem_body(&text, "PUBLIC KEY")
            .filter(|der| der.len() == 44 && der.starts_with(&SPKI_PREFIX))
            .ok_or_else(|| {
                format!(
                    "{} is not an Ed25519 public key (BEGIN PUBLIC KEY); `trail keygen` writes \
                     one beside the private key, as <key>.pub",
                    path.display()
                )
            })?;
        let mut key = [0; 32];
        key.copy_from_slice(&der[12..]);
        Ok(PublicKey { key })
    }

    /// The key in hexadecimal.
    pub fn hex(&self) -> String {
        to_hex(&self.key)
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, &self.key)
            .verify(message, &signature)
            .is_ok()
    }
}

/// Writes a new key pair: the private key at `path` (mode 0600, never over an existing file)
/// and the public key at `<path>.pub`. Returns the public key's path.
pub fn generate(path: &Path) -> io::Result<PathBuf> {
    let public_path = public_path_for(path);
    if public_path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", public_path.display()),
        ));
    }
    let pair = Ed25519KeyPair::generate().map_err(|_| io::Error::other("no randomness"))?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| io::Error::other("cannot encode the key"))?;
    let mut spki = SPKI_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut private = options.open(path)?;
    private.write_all(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes())?;
    private.sync_all()?;
    let mut public = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&public_path)?;
    public.write_all(pem("PUBLIC KEY", &spki).as_bytes())?;
    public.sync_all()?;
    Ok(public_path)
}

/// Where `trail keygen --out PATH` puts the public key: `PATH.pub`.
pub fn public_path_for(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop].split_whitespace().collect();
    STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_signs_and_verifies_and_the_private_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trail.key");
        let public_path = generate(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let signer = Signer::load(&path).unwrap();
        let public = PublicKey::load(&public_path).unwrap();
        assert_eq!(signer.public_hex(), public.hex());
        let signature = signer.sign(b"entry");
        assert!(public.verifies(b"entry", &signature));
        assert!(!public.verifies(b"entrY", &signature));
        assert!(format!("{signer:?}").contains(&public.hex()));
        assert!(generate(&path).is_err(), "never over an existing key");
        assert!(Signer::load(&public_path).is_err());
    }
}
