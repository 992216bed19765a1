//! The tenant's RS256 signing keys: generated on first start, kept in the database, and
//! published as a JWKS.

use std::collections::HashMap;

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Value, json};

use crate::domain::{ids, time};
use crate::store::SigningKey;

/// A new 2048-bit RSA key, as Auth0 uses.
pub fn generate() -> anyhow::Result<SigningKey> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let der = pair.as_der().map_err(|_| anyhow::anyhow!("RSA key encoding failed"))?;
    Ok(SigningKey {
        kid: ids::random_alphanumeric(22),
        private_key_pkcs8: der.as_ref().to_vec(),
        created_at: time::now(),
    })
}

/// The keys in use: the newest signs, all of them verify.
pub struct KeyRing {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
}

impl KeyRing {
    pub fn new(keys: &[SigningKey]) -> anyhow::Result<Self> {
        let newest = keys.iter().max_by_key(|k| k.created_at).context("no signing key")?;
        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        for key in keys {
            let pair = KeyPair::from_pkcs8(&key.private_key_pkcs8)
                .map_err(|e| anyhow::anyhow!("stored signing key {} is unreadable: {e}", key.kid))?;
            let public = pair.public_key();
            let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
            let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
            verifying.insert(key.kid.clone(), DecodingKey::from_rsa_components(&n, &e)?);
            published.push(json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": key.kid, "n": n, "e": e}));
        }
        let signing = EncodingKey::from_rsa_pem(pkcs8_pem(&newest.private_key_pkcs8).as_bytes())
            .context("stored signing key is not an RSA key")?;
        Ok(Self { signing_kid: newest.kid.clone(), signing, verifying, jwks: json!({ "keys": published }) })
    }

    pub fn signing(&self) -> (&str, &EncodingKey) {
        (&self.signing_kid, &self.signing)
    }

    pub fn verifying(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    /// `GET /.well-known/jwks.json`
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }
}

fn pkcs8_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
}
