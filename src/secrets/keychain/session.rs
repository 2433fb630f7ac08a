//! The Secret Service's encrypted session, algorithm
//! `dh-ietf1024-sha256-aes128-cbc-pkcs7` (Secret Service API, "Transfer of
//! Secrets"): Diffie-Hellman over the 1024-bit MODP group of RFC 2409
//! (generator 2), the shared value as 128 big-endian bytes into HKDF-SHA256
//! (no salt, no info) for a 16-byte key, and each secret AES-128-CBC with
//! PKCS#7 padding under the IV the service sends with it.
//!
//! The private exponent is 256 random bits, as libgcrypt and OpenSSL use
//! for this group (twice the 128-bit strength of the group itself): a full
//! 1024-bit exponent costs four times the work and buys nothing.
//!
//! The private exponent, the shared value, the key and the plaintext are
//! wiped when dropped. Not reachable from here, and so not wiped: the
//! big-number library's temporaries during the exponentiation, HKDF's
//! internal HMAC state and the AES key schedule (the `aes` crate's
//! `zeroize` feature is off in this build).

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use hkdf::Hkdf;
use num_bigint::BigUint;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// The algorithm name given to `OpenSession`.
pub const ALGORITHM: &str = "dh-ietf1024-sha256-aes128-cbc-pkcs7";

/// RFC 2409, section 6.2: the Second Oakley Group (1024-bit MODP).
const PRIME: [u8; 128] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2, 0x21, 0x68, 0xC2, 0x34,
    0xC4, 0xC6, 0x62, 0x8B, 0x80, 0xDC, 0x1C, 0xD1, 0x29, 0x02, 0x4E, 0x08, 0x8A, 0x67, 0xCC, 0x74,
    0x02, 0x0B, 0xBE, 0xA6, 0x3B, 0x13, 0x9B, 0x22, 0x51, 0x4A, 0x08, 0x79, 0x8E, 0x34, 0x04, 0xDD,
    0xEF, 0x95, 0x19, 0xB3, 0xCD, 0x3A, 0x43, 0x1B, 0x30, 0x2B, 0x0A, 0x6D, 0xF2, 0x5F, 0x14, 0x37,
    0x4F, 0xE1, 0x35, 0x6D, 0x6D, 0x51, 0xC2, 0x45, 0xE4, 0x85, 0xB5, 0x76, 0x62, 0x5E, 0x7E, 0xC6,
    0xF4, 0x4C, 0x42, 0xE9, 0xA6, 0x37, 0xED, 0x6B, 0x0B, 0xFF, 0x5C, 0xB6, 0xF4, 0x06, 0xB7, 0xED,
    0xEE, 0x38, 0x6B, 0xFB, 0x5A, 0x89, 0x9F, 0xA5, 0xAE, 0x9F, 0x24, 0x11, 0x7C, 0x4B, 0x1F, 0xE6,
    0x49, 0x28, 0x66, 0x51, 0xEC, 0xE6, 0x53, 0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];
const GROUP_BYTES: usize = PRIME.len();
/// The private exponent's size: 256 bits.
const PRIVATE_BYTES: usize = 32;
const KEY_BYTES: usize = 16;
const BLOCK: usize = 16;

/// Why a session could not be set up or a secret not be decrypted. None of
/// these carry secret material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("the system's random number generator failed")]
    Random,
    #[error("the service's public key is not a valid group element")]
    BadPublicKey,
    #[error("the secret's IV is {0} bytes, not 16")]
    BadIv(usize),
    #[error("the secret does not decrypt with the session key (bad length or padding)")]
    BadCiphertext,
}

/// cred's half of the key exchange.
pub struct Keypair {
    private: Zeroizing<[u8; PRIVATE_BYTES]>,
    public: Vec<u8>,
}

impl Keypair {
    /// A fresh private exponent from the OS and its public value.
    pub fn generate() -> Result<Keypair, SessionError> {
        let mut private = Zeroizing::new([0u8; PRIVATE_BYTES]);
        getrandom::getrandom(&mut private[..]).map_err(|_| SessionError::Random)?;
        Ok(Keypair::from_private(private))
    }

    fn from_private(private: Zeroizing<[u8; PRIVATE_BYTES]>) -> Keypair {
        let prime = BigUint::from_bytes_be(&PRIME);
        let mut exponent = BigUint::from_bytes_be(&private[..]);
        let public = BigUint::from(2u32).modpow(&exponent, &prime);
        wipe(&mut exponent);
        Keypair {
            private,
            public: padded(&public).to_vec(),
        }
    }

    /// The public value to send with `OpenSession` (128 big-endian bytes).
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// The session key from the service's public value.
    pub fn session_key(&self, server_public: &[u8]) -> Result<SessionKey, SessionError> {
        let prime = BigUint::from_bytes_be(&PRIME);
        let theirs = BigUint::from_bytes_be(server_public);
        // 1 < y < p - 1: anything else makes the shared value guessable.
        if theirs <= BigUint::from(1u32) || theirs >= &prime - 1u32 {
            return Err(SessionError::BadPublicKey);
        }
        let mut exponent = BigUint::from_bytes_be(&self.private[..]);
        let mut shared = theirs.modpow(&exponent, &prime);
        wipe(&mut exponent);
        let ikm = padded(&shared);
        wipe(&mut shared);
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        Hkdf::<Sha256>::new(None, &ikm[..])
            .expand(&[], &mut key[..])
            .expect("16 bytes is a valid HKDF-SHA256 length");
        Ok(SessionKey { key })
    }
}

/// The AES key of one session.
pub struct SessionKey {
    key: Zeroizing<[u8; KEY_BYTES]>,
}

impl SessionKey {
    /// Decrypts a secret's value; the plaintext is wiped when dropped.
    pub fn decrypt(
        &self,
        iv: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        let iv: &[u8; BLOCK] = iv.try_into().map_err(|_| SessionError::BadIv(iv.len()))?;
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
            return Err(SessionError::BadCiphertext);
        }
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = cbc::Decryptor::<aes::Aes128>::new((&*self.key).into(), iv.into())
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| SessionError::BadCiphertext)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.key[..]
    }
}

/// `n` as `GROUP_BYTES` big-endian bytes, wiped when dropped.
fn padded(n: &BigUint) -> Zeroizing<[u8; GROUP_BYTES]> {
    let mut out = Zeroizing::new([0u8; GROUP_BYTES]);
    let mut bytes = n.to_bytes_be();
    // Every value here is reduced modulo the prime, so it fits.
    let len = bytes.len().min(GROUP_BYTES);
    out[GROUP_BYTES - len..].copy_from_slice(&bytes[bytes.len() - len..]);
    bytes.zeroize();
    out
}

/// Overwrites the digits of a big number that held secret material (its
/// buffer is rewritten in place with zeros: no reallocation, as the zeros
/// are no more digits than it holds).
fn wipe(n: &mut BigUint) {
    let digits = n.iter_u32_digits().len();
    n.assign_from_slice(&vec![0u32; digits]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A vector made by an independent implementation (Python's built-in
    /// `pow` and the `cryptography` package's HKDF, AES-CBC and PKCS#7):
    /// private exponent 0x0102…20, the service's exponent 200, 199, … 73
    /// (128 bytes) reduced mod p, IV 00 01 … 0f.
    const CLIENT_PUBLIC: &str = "457120764f3a1e6fd58103e41a4093a6c8bc1d97cb8759de41c21afdd2d3048a5ef3d88ce24aa6ba4fe30bcfb0b0f75abf1a8aeaff3723f1bf53740c902005e1199fabad7c538e94a7034fd585339a02f3634893f748929d2a7257643e398130541ae64124c17d4507a97f1cbebeb7b933642b8df479eb59e36cfeffbf1671dd";
    const SERVER_PUBLIC: &str = "ca9b6aa791999ca005779d09efb14ca9ec6803b38955b4a4f1c66f2fcc6ca0876ae6158d920f765598226f3d15c985d12090a325f4e846e4e4b8e704f4134cebf6f696cb95ef323ed083841427d5f5cf2aeb33b9544f032a03f69902e5e55776f79d5c75d090f868b34504ac19d3c2d4700a7400f50c729944a06acb2b66063d";
    const KEY: &str = "3da35fbe42e96a78fd66d2bda43478c3";
    const CIPHERTEXT: &str = "2b8a6ba04178f9f8508fc3f51744fc655348d9ab4fe413e3eb49862b4ec8005a10f9d277e7685b621c2861c31c89e331";
    const PLAINTEXT: &str = "sk-test-ünïcode-key-0123456789";

    fn vector_keypair() -> Keypair {
        let mut private = Zeroizing::new([0u8; PRIVATE_BYTES]);
        for (i, b) in private.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        Keypair::from_private(private)
    }

    #[test]
    fn matches_an_independent_implementation() {
        let pair = vector_keypair();
        assert_eq!(pair.public(), &hex(CLIENT_PUBLIC)[..]);
        let key = pair.session_key(&hex(SERVER_PUBLIC)).unwrap();
        assert_eq!(key.bytes(), &hex(KEY)[..]);
        let iv: Vec<u8> = (0..16).collect();
        let plain = key.decrypt(&iv, &hex(CIPHERTEXT)).unwrap();
        assert_eq!(std::str::from_utf8(&plain).unwrap(), PLAINTEXT);
    }

    #[test]
    fn a_wrong_key_or_iv_or_length_is_an_error() {
        let pair = vector_keypair();
        let key = pair.session_key(&hex(SERVER_PUBLIC)).unwrap();
        let iv: Vec<u8> = (0..16).collect();
        let ct = hex(CIPHERTEXT);
        assert_eq!(
            key.decrypt(&iv[..8], &ct).unwrap_err(),
            SessionError::BadIv(8)
        );
        assert_eq!(
            key.decrypt(&iv, &ct[..20]).unwrap_err(),
            SessionError::BadCiphertext
        );
        assert_eq!(
            key.decrypt(&iv, &[]).unwrap_err(),
            SessionError::BadCiphertext
        );
        // Another session's key: the padding does not check out (or, once
        // in 256 times, garbage comes out; never the plaintext).
        let other = Keypair::generate()
            .unwrap()
            .session_key(&hex(SERVER_PUBLIC))
            .unwrap();
        match other.decrypt(&iv, &ct) {
            Err(e) => assert_eq!(e, SessionError::BadCiphertext),
            Ok(p) => assert_ne!(&p[..], PLAINTEXT.as_bytes()),
        }
    }

    #[test]
    fn degenerate_public_keys_are_refused() {
        let pair = vector_keypair();
        let p = BigUint::from_bytes_be(&PRIME);
        for bad in [
            BigUint::from(0u32),
            BigUint::from(1u32),
            &p - 1u32,
            p.clone(),
            &p + 5u32,
        ] {
            assert_eq!(
                pair.session_key(&bad.to_bytes_be()).err(),
                Some(SessionError::BadPublicKey),
                "{bad:x}"
            );
        }
        assert!(pair.session_key(&[2]).is_ok());
    }

    #[test]
    fn fresh_keypairs_differ_and_agree_with_each_other() {
        let a = Keypair::generate().unwrap();
        let b = Keypair::generate().unwrap();
        assert_ne!(a.public(), b.public());
        assert_eq!(a.public().len(), 128);
        let ab = a.session_key(b.public()).unwrap();
        let ba = b.session_key(a.public()).unwrap();
        assert_eq!(ab.bytes(), ba.bytes());
    }

    #[test]
    fn wipe_zeroes_the_value() {
        let mut n = BigUint::from_bytes_be(&[0xAB; 64]);
        wipe(&mut n);
        assert_eq!(n, BigUint::from(0u32));
    }
}
