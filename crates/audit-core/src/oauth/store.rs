//! [`TokenStore`]: the file that keeps a rotating refresh token (and the access token issued
//! with it) across runs.
//!
//! A refresh grant invalidates the refresh token it presents, so the new one must be durable
//! before anything depends on it: [`TokenStore::save`] writes a temporary file in the same
//! directory (mode 0600, set explicitly), syncs it, renames it over the store and syncs the
//! directory. A kill at any instant leaves either the old content or the new one, never a
//! torn file. The store holds no client secret.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What a store holds: the refresh token to present next and, optionally, the access token
/// issued with it and when it expires (Unix seconds), so a later run can use it without a
/// refresh.
///
/// ```
/// use audit_core::oauth::StoredTokens;
///
/// let tokens = StoredTokens {
///     refresh_token: "rt-s3cr3t".into(),
///     access_token: Some("at-s3cr3t".into()),
///     access_expires_at: Some(1_900_000_000),
/// };
/// assert!(!format!("{tokens:?}").contains("s3cr3t"), "Debug never shows a token");
/// ```
#[derive(Clone)]
pub struct StoredTokens {
    /// The refresh token to present next (the newest one issued).
    pub refresh_token: SecretString,
    /// The access token issued with it, if still worth keeping.
    pub access_token: Option<SecretString>,
    /// When `access_token` expires, in Unix seconds.
    pub access_expires_at: Option<i64>,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("refresh_token", &"[REDACTED]")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

/// The file format (version 1). Strings, because `SecretString` does not serialise.
#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at: Option<i64>,
}

/// A file holding the current refresh token of one OAuth client (Zendesk's refresh-token
/// flow). `Debug` shows the path only.
///
/// ```
/// use audit_core::oauth::{StoredTokens, TokenStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = TokenStore::new(dir.path().join("zendesk-token.json"));
/// assert!(store.load().unwrap().is_none(), "nothing stored yet");
/// store.save(&StoredTokens {
///     refresh_token: "rt-2".into(),
///     access_token: None,
///     access_expires_at: None,
/// }).unwrap();
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
/// assert_eq!(mode & 0o777, 0o600);
/// # }
/// use secrecy::ExposeSecret;
/// assert_eq!(store.load().unwrap().unwrap().refresh_token.expose_secret(), "rt-2");
/// assert!(!format!("{store:?}").contains("rt-2"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenStore {
    path: PathBuf,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("path", &self.path)
            .finish()
    }
}

impl TokenStore {
    /// A store at `path` (created on the first save; its directory must exist).
    ///
    /// ```
    /// use audit_core::oauth::TokenStore;
    ///
    /// let store = TokenStore::new("/var/lib/trail/zendesk-token.json");
    /// assert!(store.path().ends_with("zendesk-token.json"));
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TokenStore { path: path.into() }
    }

    /// Where the store lives.
    ///
    /// ```
    /// use audit_core::oauth::TokenStore;
    /// use std::path::Path;
    ///
    /// let store = TokenStore::new("zendesk-token.json");
    /// assert_eq!(store.path(), Path::new("zendesk-token.json"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::TokenStore {
            path: self.path.display().to_string(),
            message: message.into(),
        }
    }

    /// What the store holds, or `None` when the file does not exist yet. A file that is not
    /// a store is an error (its content is never shown: it may hold a token).
    ///
    /// ```
    /// use audit_core::{ErrorKind, oauth::TokenStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = TokenStore::new(dir.path().join("token.json"));
    /// assert!(store.load()?.is_none()); // not created yet
    /// std::fs::write(store.path(), "rt-pasted-by-hand").unwrap();
    /// let error = store.load().unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Config);
    /// assert!(!error.to_string().contains("rt-pasted-by-hand"), "the content is never shown");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn load(&self) -> Result<Option<StoredTokens>, Error> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(format!("cannot be read: {e}"))),
        };
        let file: FileFormat = serde_json::from_slice(&text).map_err(|e| {
            self.error(format!(
                "is not a token store written by trail ({:?} error at line {} column {}); \
                 delete it and authenticate again",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if file.version != 1 || file.refresh_token.trim().is_empty() {
            return Err(self.error(
                "holds no refresh token of a known version; delete it and authenticate again",
            ));
        }
        Ok(Some(StoredTokens {
            refresh_token: file.refresh_token.into(),
            access_token: file.access_token.map(Into::into),
            access_expires_at: file.access_expires_at,
        }))
    }

    /// Replaces the content atomically and durably: temporary file (mode 0600), fsync,
    /// rename, directory fsync. When this returns, a crash cannot lose `tokens`.
    ///
    /// ```
    /// use audit_core::oauth::{StoredTokens, TokenStore};
    /// use secrecy::ExposeSecret;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = TokenStore::new(dir.path().join("token.json"));
    /// let rotated = |token: &str| StoredTokens { refresh_token: token.into(), access_token: None, access_expires_at: None };
    /// store.save(&rotated("rt-1"))?;
    /// store.save(&rotated("rt-2"))?; // replaces the old one atomically
    /// assert_eq!(store.load()?.unwrap().refresh_token.expose_secret(), "rt-2");
    /// # Ok::<(), audit_core::Error>(())
    /// ```
    pub fn save(&self, tokens: &StoredTokens) -> Result<(), Error> {
        let file = FileFormat {
            version: 1,
            refresh_token: tokens.refresh_token.expose_secret().to_string(),
            access_token: tokens
                .access_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            access_expires_at: tokens.access_expires_at,
        };
        let text = serde_json::to_vec_pretty(&file).expect("strings and integers serialise");
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .ok_or_else(|| self.error("is not a file path"))?
            .to_string_lossy()
            .into_owned();
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut out = options.open(&temp)?;
            // The mode of `open` is filtered by the umask, and an old temporary file keeps its
            // own: set it explicitly.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                out.set_permissions(fs::Permissions::from_mode(0o600))?;
            }
            out.write_all(&text)?;
            out.sync_all()?;
            drop(out);
            fs::rename(&temp, &self.path)?;
            // The rename is only durable once the directory entry is.
            File::open(&dir)?.sync_all()?;
            Ok(())
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&temp);
            self.error(format!("cannot be written: {e}"))
        })
    }

    /// An exclusive lock on a file beside the store, held until the returned guard is
    /// dropped, so two processes (or two clients of one process) sharing the store never both
    /// present the same refresh token. Blocks the thread: call it from a blocking task.
    pub(crate) fn lock(&self) -> Result<StoreLock, Error> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| self.error(format!("cannot open its lock file: {e}")))?;
        file.lock()
            .map_err(|e| self.error(format!("cannot be locked: {e}")))?;
        Ok(StoreLock { _file: file })
    }
}

/// The lock of a [`TokenStore`]; closing the file releases it.
pub(crate) struct StoreLock {
    _file: File,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_replaces_atomically_and_keeps_mode_0600_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("store.json"));
        // A world-readable file where the store goes: the save must not inherit its mode.
        fs::write(store.path(), "{}").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(store.path(), fs::Permissions::from_mode(0o644)).unwrap();
        }
        for n in 0..3 {
            store
                .save(&StoredTokens {
                    refresh_token: format!("rt-{n}").into(),
                    access_token: Some(format!("at-{n}").into()),
                    access_expires_at: Some(1_700_000_000 + n),
                })
                .unwrap();
            let loaded = store.load().unwrap().unwrap();
            assert_eq!(loaded.refresh_token.expose_secret(), format!("rt-{n}"));
            assert_eq!(loaded.access_expires_at, Some(1_700_000_000 + n));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["store.json".to_string()]);
        // The lock is exclusive within a process too (one file description per lock).
        let held = store.lock().unwrap();
        let lock_path = format!("{}.lock", store.path().display());
        let other = File::open(&lock_path).unwrap();
        assert!(other.try_lock().is_err(), "a second lock must wait");
        drop(held);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn a_damaged_store_is_an_error_that_does_not_echo_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("store.json"));
        fs::write(store.path(), "rt-s3cr3t garbage").unwrap();
        let error = store.load().unwrap_err().to_string();
        assert!(!error.contains("s3cr3t"), "{error}");
        assert!(error.contains("store.json"), "{error}");
    }
}
