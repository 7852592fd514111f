//! Provider secrets at rest: configurations are sealed (encrypted and authenticated)
//! with ChaCha20-Poly1305 under a key derived from the server secret, so a copy of
//! the database alone reveals no SMTP password or SMS access key.
//!
//! A configuration serializes with its secrets masked; [`Sealer::seal_config`] and
//! [`Sealer::open_config`] are the path that carries them in plaintext, inside the
//! envelope only.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use orbit_channels::registry::ProviderConfig;

/// The format byte that starts every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Seals and opens provider configurations.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer under a 256-bit key.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// Encrypts and authenticates `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        // Encryption fails only for inputs beyond ChaCha20's 256 GiB limit.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Seals a provider configuration with its secrets in plaintext.
    ///
    /// # Errors
    /// When a secret sent masked was never given its stored value (`validate`
    /// refuses such a configuration first).
    pub fn seal_config(&self, config: &ProviderConfig) -> Result<Vec<u8>, serde_json::Error> {
        Ok(self.seal(&config.to_sealed_json()?))
    }

    /// Opens a configuration sealed by [`Sealer::seal_config`].
    pub fn open_config(&self, sealed: &[u8]) -> Result<ProviderConfig, String> {
        let plain = self.open(sealed)?;
        ProviderConfig::from_sealed_json(&plain)
            .map_err(|e| format!("the sealed configuration does not read: {e}"))
    }

    /// Decrypts a sealed value; fails if it was altered or sealed under another key.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        match sealed.split_first() {
            Some((&VERSION, rest)) if rest.len() > NONCE_LEN => {
                let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
                self.cipher
                    .decrypt(Nonce::from_slice(nonce), ciphertext)
                    .map_err(|_| {
                        "the sealed configuration does not open with this server's secret".to_owned()
                    })
            }
            _ => Err("not a sealed configuration".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_unaltered_and_under_their_key() {
        let sealer = Sealer::new([7; 32]);
        let secret = br#"{"provider":"smtp","password":"hunter2"}"#;
        let sealed = sealer.seal(secret);
        assert!(
            !sealed.windows(7).any(|w| w == b"hunter2"),
            "no plaintext at rest"
        );
        assert_ne!(sealed, sealer.seal(secret), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).as_deref(), Ok(&secret[..]));
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(sealer.open(&tampered).is_err());
        assert!(Sealer::new([8; 32]).open(&sealed).is_err());
        assert!(sealer.open(b"").is_err());
    }

    #[test]
    fn configurations_are_sealed_with_their_secrets_and_opened_whole() {
        let sealer = Sealer::new([7; 32]);
        let config: ProviderConfig = serde_json::from_value(serde_json::json!({
            "provider": "webhook", "url": "https://hooks.example.com/x",
            "secret": "0123456789abcdef0123", "headers": {"Authorization": "Bearer abc"}
        }))
        .expect("config");
        let sealed = sealer.seal_config(&config).expect("sealed");
        let plain = sealer.open(&sealed).expect("opens");
        let json: serde_json::Value = serde_json::from_slice(&plain).expect("json");
        assert_eq!(
            json["secret"], "0123456789abcdef0123",
            "the plaintext is what is sealed"
        );
        assert_eq!(json["headers"]["Authorization"], "Bearer abc");
        assert_eq!(sealer.open_config(&sealed), Ok(config));
    }
}
