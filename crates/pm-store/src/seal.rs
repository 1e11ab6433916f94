//! Sealing provider credentials: XChaCha20-Poly1305 under a 256-bit master key, with the
//! connection's id and owner as associated data so a sealed blob moved to another row (or another
//! user) does not open. Several master keys may be configured: the first seals, all of them open,
//! which is how a key is rotated. Each blob records which key sealed it (`key_id`, a fingerprint).
use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use pm_core::{ConnectionId, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "the master key is not valid: expected 32 bytes as base64 (44 characters) or hex (64 characters); generate one with `openssl rand -base64 32`"
    )]
    BadKey,
    #[error(
        "these credentials were sealed with master key {0}, which is not configured; set PM_MCP_MASTER_KEY (or PM_MCP_OLD_MASTER_KEYS) to that key"
    )]
    UnknownKey(String),
    #[error(
        "the sealed credentials could not be opened: they were altered, or belong to another row"
    )]
    Corrupt,
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// One 256-bit master key and its public fingerprint.
struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl MasterKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        let mut h = Sha256::new();
        h.update(b"pm-mcp master key id v1\0");
        h.update(bytes);
        let digest = h.finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self { id, cipher })
    }

    fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                (0..32)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .map_err(|_| SealError::BadKey)?
            } else {
                B64.decode(text).map_err(|_| SealError::BadKey)?
            },
        );
        Self::from_bytes(&bytes)
    }
}

/// The configured master keys: the first seals, all open.
pub struct MasterKeys {
    keys: Vec<MasterKey>,
}

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKeys")
            .field("ids", &self.ids())
            .finish()
    }
}

/// A sealed blob and the fingerprint of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub key_id: String,
}

impl MasterKeys {
    /// `current` seals; `older` (comma or whitespace separated) only open.
    pub fn parse(current: &str, older: Option<&str>) -> Result<Self, SealError> {
        let mut keys = vec![MasterKey::parse(current)?];
        for text in older
            .unwrap_or("")
            .split(|c: char| c == ',' || c.is_whitespace())
        {
            if !text.is_empty() {
                keys.push(MasterKey::parse(text)?);
            }
        }
        Ok(Self { keys })
    }

    /// A fresh random key, base64-encoded (what `load_or_create_file` writes).
    pub fn generate_text() -> String {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        B64.encode(bytes.as_ref())
    }

    /// Reads the key file, or creates it (mode 0600, never overwritten) holding a new key.
    /// Returns the key text and whether it was created.
    pub fn load_or_create_file(path: &Path) -> Result<(Zeroizing<String>, bool), SealError> {
        let err = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path)
                        .map_err(|e| err(e.to_string()))?
                        .permissions()
                        .mode();
                    if mode & 0o077 != 0 {
                        return Err(err(format!(
                            "is readable by other users (mode {:o}); run `chmod 600 {}`",
                            mode & 0o777,
                            path.display()
                        )));
                    }
                }
                Ok((Zeroizing::new(text.trim().to_string()), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                let text = Zeroizing::new(Self::generate_text());
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(path).map_err(|e| err(e.to_string()))?;
                file.write_all(text.as_bytes())
                    .and_then(|_| file.write_all(b"\n"))
                    .and_then(|_| file.sync_all())
                    .map_err(|e| err(e.to_string()))?;
                Ok((text, true))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Fingerprints of the configured keys; the first is the sealing key.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id == key_id)
    }

    /// Seals `plaintext` for one connection row.
    pub fn seal(&self, plaintext: &[u8], connection: ConnectionId, owner: UserId) -> Sealed {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(connection, owner);
        let body = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // Encryption fails only for inputs beyond 256 GiB.
            .unwrap_or_default();
        let mut ciphertext = Vec::with_capacity(1 + NONCE_LEN + body.len());
        ciphertext.push(FORMAT_V1);
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&body);
        Sealed {
            ciphertext,
            key_id: key.id.clone(),
        }
    }

    /// Opens what `seal` produced for the same row and owner.
    pub fn open(
        &self,
        sealed: &Sealed,
        connection: ConnectionId,
        owner: UserId,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        let data = &sealed.ciphertext;
        if data.len() < 1 + NONCE_LEN || data[0] != FORMAT_V1 {
            return Err(SealError::Corrupt);
        }
        let (nonce, body) = data[1..].split_at(NONCE_LEN);
        let aad = associated_data(connection, owner);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Corrupt)
    }
}

fn associated_data(connection: ConnectionId, owner: UserId) -> Vec<u8> {
    format!("pm-mcp/connection/v1/{connection}/{owner}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> MasterKeys {
        MasterKeys::parse(&MasterKeys::generate_text(), None).unwrap()
    }

    #[test]
    fn seal_open_round_trip_and_bind_to_row() {
        let k = keys();
        let (c, u) = (ConnectionId::new(), UserId::new());
        let sealed = k.seal(b"token-123", c, u);
        assert!(!sealed.ciphertext.windows(9).any(|w| w == b"token-123"));
        assert_eq!(k.open(&sealed, c, u).unwrap().as_slice(), b"token-123");
        assert!(matches!(
            k.open(&sealed, ConnectionId::new(), u),
            Err(SealError::Corrupt)
        ));
        assert!(matches!(
            k.open(&sealed, c, UserId::new()),
            Err(SealError::Corrupt)
        ));
        let mut tampered = sealed.clone();
        let last = tampered.ciphertext.len() - 1;
        tampered.ciphertext[last] ^= 1;
        assert!(matches!(k.open(&tampered, c, u), Err(SealError::Corrupt)));
    }

    #[test]
    fn rotation_opens_with_old_keys_and_names_missing_ones() {
        let old_text = MasterKeys::generate_text();
        let old = MasterKeys::parse(&old_text, None).unwrap();
        let (c, u) = (ConnectionId::new(), UserId::new());
        let sealed = old.seal(b"s3cret", c, u);
        let new_text = MasterKeys::generate_text();
        let rotated = MasterKeys::parse(&new_text, Some(&old_text)).unwrap();
        assert_eq!(rotated.open(&sealed, c, u).unwrap().as_slice(), b"s3cret");
        assert_ne!(rotated.seal(b"x", c, u).key_id, sealed.key_id);
        let wrong = MasterKeys::parse(&new_text, None).unwrap();
        match wrong.open(&sealed, c, u) {
            Err(SealError::UnknownKey(id)) => assert_eq!(id, old.current_id()),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
    }

    #[test]
    fn key_text_accepts_base64_and_hex_and_refuses_the_rest() {
        assert!(MasterKeys::parse(&"ab".repeat(32), None).is_ok());
        assert!(MasterKeys::parse("c2hvcnQ=", None).is_err());
        assert!(MasterKeys::parse("not base64 at all!", None).is_err());
        assert!(MasterKeys::parse(&MasterKeys::generate_text(), Some("garbage")).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let (first, created) = MasterKeys::load_or_create_file(&path).unwrap();
        assert!(created);
        let (again, created) = MasterKeys::load_or_create_file(&path).unwrap();
        assert!(!created);
        assert_eq!(*first, *again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(MasterKeys::load_or_create_file(&path).is_err());
        }
    }
}
