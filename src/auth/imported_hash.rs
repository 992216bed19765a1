//! Password hashes users bring with them (an import file's `custom_password_hash`, Auth0's
//! format), checked when imported and verified at login, where a match is upgraded to the
//! tenant's own bcrypt hash (`login.rs`).
//!
//! What is stored in the identity's `password_hash`: a bcrypt hash as is (it is the tenant's own
//! kind), an argon2 PHC string as is (`$argon2id$…`, recognised by its prefix), and any other
//! hash (a bcrypt hash with a salt or a password encoding too) as `custom:` and the normalised
//! JSON of its parameters, which `verify` reads. Every comparison of computed and stored bytes is
//! constant-time (`subtle`); the computations run where the caller runs them (`password.rs` puts
//! them on the blocking pool), and their cost is bounded at import (scrypt's parameters).
//!
//! The rules are those of Auth0's "Bulk User Import Database Schema and Examples" page: the
//! schema (`additionalProperties: false`, the enums) and its section per algorithm.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;
use subtle::ConstantTimeEq;

const CUSTOM: &str = "custom:";

/// pbkdf2's parameters when `hash.value` omits them (Auth0: "they will default to i=100000 and
/// l=64").
const PBKDF2_ROUNDS: u32 = 100_000;
const PBKDF2_LENGTH: usize = 64;

/// scrypt's parameters when the record omits them (Auth0's defaults, Node's too).
const SCRYPT_COST: i64 = 16384;
const SCRYPT_BLOCK_SIZE: i64 = 8;
const SCRYPT_PARALLELIZATION: i64 = 1;

/// Roster's bound on an imported scrypt hash, checked at import. One verification takes
/// 128·cost·blockSize bytes of memory and time in proportion to cost·blockSize·parallelization,
/// all of it on one blocking thread for each login attempt: with the parameters unbounded, one
/// record (cost 2^30, parallelization 2^20) makes a login allocate a terabyte or run for days,
/// and a few concurrent attempts exhaust the machine. The bound keeps a login within 64 MiB and
/// under half a second of one core (a quarter of a second at the bound on the CI machine, built
/// with optimisations), and takes what real systems write: Auth0's and Node's defaults (cost
/// 2^14, blockSize 8, parallelization 1: 16 MiB, work 2^17), passlib's (2^16, 8, 1: 64 MiB, the
/// memory of the argon2 hashes Roster already verifies), RFC 7914's vectors (2^10, 8, 16).
const SCRYPT_MAX_MEMORY: u64 = 64 << 20;
const SCRYPT_MAX_WORK: u64 = 1 << 20;

/// Roster's bounds on imported pbkdf2 and argon2 hashes, checked at import for the same reason
/// as scrypt's: each login verifies on one blocking thread. pbkdf2's work is rounds × the blocks
/// of `l` (counted in 16-byte blocks, the smallest digest's): 16 million allows Django's 1.2
/// million rounds of SHA-256 and OWASP's 600,000, and stays within seconds. argon2 at most 256
/// MiB, 16 passes and 16 lanes: above every library's default and OWASP's settings.
const PBKDF2_MAX_WORK: u64 = 16_000_000;
const ARGON2_MAX_MEMORY_KIB: u32 = 256 * 1024;
const ARGON2_MAX_PASSES: u32 = 16;
const ARGON2_MAX_LANES: u32 = 16;

/// bcrypt reads 72 bytes of its input.
const BCRYPT_INPUT: usize = 72;

/// `custom_password_hash`, normalised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Custom {
    algorithm: String,
    hash: Hash,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<Salt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<PasswordEncoding>,
    /// scrypt's key length, N, r and p, by Auth0's names; the other algorithms ignore them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keylen: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cost: Option<i64>,
    #[serde(default, rename = "blockSize", skip_serializing_if = "Option::is_none")]
    block_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parallelization: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Hash {
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<Key>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Key {
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Salt {
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    position: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct PasswordEncoding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
}

impl Custom {
    /// The password's bytes as the hash was computed from them.
    fn password_bytes(&self, password: &str) -> Result<Vec<u8>, String> {
        password_bytes(password, self.password.as_ref().and_then(|p| p.encoding.as_deref()).unwrap_or("utf8"))
    }

    /// Whether the password is hashed as the user types it (UTF-8), as the tenant's own hashes are.
    fn utf8_password(&self) -> bool {
        matches!(self.password.as_ref().and_then(|p| p.encoding.as_deref()), None | Some("utf8"))
    }

    fn salt_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        self.salt
            .as_ref()
            .map(|salt| decode(&salt.value, salt.encoding.as_deref().unwrap_or("utf8"), "salt"))
            .transpose()
    }

    /// The password with the salt before it (`position` prefix, the default) or after it.
    fn salted(&self, password: Vec<u8>) -> Result<Vec<u8>, String> {
        Ok(match (self.salt_bytes()?, self.salt.as_ref().and_then(|salt| salt.position.as_deref())) {
            (None, _) => password,
            (Some(salt), Some("suffix")) => [password, salt].concat(),
            (Some(salt), _) => [salt, password].concat(),
        })
    }

    /// hmac's `hash.key` bytes (its `encoding` utf8 by default).
    fn key_bytes(&self) -> Result<Vec<u8>, String> {
        let key = self.hash.key.as_ref().ok_or("custom_password_hash.hash.key is required for hmac")?;
        decode(&key.value, key.encoding.as_deref().unwrap_or("utf8"), "hash.key")
    }

    /// `hash.value`'s bytes for the algorithms whose `hash.encoding` is hex (the default) or base64.
    fn hash_bytes(&self) -> Result<Vec<u8>, String> {
        decode(&self.hash.value, self.hash.encoding.as_deref().unwrap_or("hex"), "hash")
    }
}

/// Runs `$body` with `$d` the digest type that Auth0 (Node's crypto) calls `$name`: hmac's
/// `hash.digest` list, which pbkdf2's digests (`pbkdf2_digest`), the plain algorithms and ldap's
/// schemes are named from too. `None` for a name not on it.
macro_rules! with_digest {
    ($name:expr, $d:ident => $body:expr) => {
        match $name {
            "md4" => {
                type $d = md4::Md4;
                Some($body)
            }
            "md5" => {
                type $d = md5::Md5;
                Some($body)
            }
            "ripemd160" => {
                type $d = ripemd::Ripemd160;
                Some($body)
            }
            "whirlpool" => {
                type $d = whirlpool::Whirlpool;
                Some($body)
            }
            "sha1" => {
                type $d = sha1::Sha1;
                Some($body)
            }
            "sha224" => {
                type $d = sha2::Sha224;
                Some($body)
            }
            "sha256" => {
                type $d = sha2::Sha256;
                Some($body)
            }
            "sha384" => {
                type $d = sha2::Sha384;
                Some($body)
            }
            "sha512" => {
                type $d = sha2::Sha512;
                Some($body)
            }
            _ => None,
        }
    };
}

/// Whether `hash` is the tenant's own kind (bcrypt), which needs no upgrade.
pub fn is_native(hash: &str) -> bool {
    hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix))
}

/// Checks a `custom_password_hash` and returns what to store; `Err` says what is wrong, in
/// the words of an import error.
pub fn stored_form(custom: &Value) -> Result<String, String> {
    let custom: Custom =
        serde_json::from_value(custom.clone()).map_err(|e| format!("custom_password_hash is malformed: {e}"))?;
    let value = custom.hash.value.as_str();
    let algorithm = custom.algorithm.as_str();
    // Auth0's section per algorithm: the encodings `hash.value` may be in, and whether a `salt`
    // goes with it (argon2's, ldap's and pbkdf2's salt is inside `hash.value`).
    let (encodings, salted): (&[&str], bool) = match algorithm {
        "argon2" | "ldap" | "pbkdf2" => (&["utf8"], false),
        "bcrypt" => (&["utf8"], true),
        "hmac" | "md4" | "md5" | "sha1" | "sha256" | "sha512" | "scrypt" => (&["hex", "base64"], true),
        other => return Err(format!("custom_password_hash.algorithm {other:?} is not one Auth0 accepts")),
    };
    if let Some(encoding) = custom.hash.encoding.as_deref()
        && !encodings.contains(&encoding)
    {
        return Err(format!("custom_password_hash.hash.encoding must be {} for {algorithm}", encodings.join(" or ")));
    }
    if let Some(salt) = &custom.salt {
        if !salted {
            return Err(format!("custom_password_hash.salt is not allowed for {algorithm}"));
        }
        custom.salt_bytes()?;
        if !matches!(salt.position.as_deref(), None | Some("prefix") | Some("suffix")) {
            return Err("custom_password_hash.salt.position must be prefix or suffix".into());
        }
    }
    custom.password_bytes("")?;
    match algorithm {
        "bcrypt" => {
            if !is_native(value) {
                return Err("custom_password_hash.hash.value must be a bcrypt hash ($2a$, $2b$ or $2y$)".into());
            }
            // With a salt, bcrypt hashed the salt and the password together, truncated to bcrypt's
            // 72 bytes (Auth0: "the length of salt.value counts towards the 72-byte input limit").
            // A prefix that fills them leaves the password no part: any password would match.
            if custom.salt.as_ref().is_some_and(|salt| salt.position.as_deref() != Some("suffix"))
                && custom.salt_bytes()?.is_some_and(|salt| salt.len() >= BCRYPT_INPUT)
            {
                return Err(format!(
                    "custom_password_hash.salt fills bcrypt's {BCRYPT_INPUT} bytes before the password: \
                     any password would match"
                ));
            }
            if custom.salt.is_none() && custom.utf8_password() {
                return Ok(value.to_owned());
            }
        }
        "argon2" => {
            let hash = argon2::PasswordHash::new(value)
                .ok()
                .filter(|hash| hash.algorithm.as_str().starts_with("argon2"))
                .ok_or("custom_password_hash.hash.value must be an argon2 PHC string ($argon2id$v=19$…)")?;
            let param = |name: &str| hash.params.get_decimal(name).unwrap_or(0);
            let (memory, passes, lanes) = (param("m"), param("t"), param("p"));
            if memory > ARGON2_MAX_MEMORY_KIB || passes > ARGON2_MAX_PASSES || lanes > ARGON2_MAX_LANES {
                return Err(format!(
                    "custom_password_hash: argon2 with m={memory}, t={passes}, p={lanes} is above Roster's bound \
                     (m at most {ARGON2_MAX_MEMORY_KIB}, t at most {ARGON2_MAX_PASSES}, p at most {ARGON2_MAX_LANES})"
                ));
            }
            if custom.utf8_password() {
                return Ok(value.to_owned());
            }
        }
        "pbkdf2" => {
            let pbkdf2 = parse_pbkdf2(value)?;
            let work = u64::from(pbkdf2.rounds).saturating_mul(pbkdf2.length.div_ceil(16) as u64);
            if work > PBKDF2_MAX_WORK {
                return Err(format!(
                    "custom_password_hash: pbkdf2 with i={} and l={} is above Roster's bound (i × ⌈l/16⌉ at most \
                     {PBKDF2_MAX_WORK})",
                    pbkdf2.rounds, pbkdf2.length
                ));
            }
        }
        "ldap" => {
            parse_ldap(value)?;
        }
        "hmac" => {
            let digest =
                custom.hash.digest.as_deref().ok_or("custom_password_hash.hash.digest is required for hmac")?;
            hmac_bytes(digest, b"", b"")?;
            custom.key_bytes()?;
            custom.hash_bytes()?;
        }
        "scrypt" => {
            scrypt_params(&custom)?;
            custom.hash_bytes()?;
        }
        _ => {
            custom.hash_bytes()?;
        }
    }
    Ok(format!("{CUSTOM}{}", serde_json::to_string(&custom).expect("serializes")))
}

/// Whether `password` matches `stored` (any stored form). `Err` for a stored hash that cannot
/// be read. It takes a hash's time (up to scrypt's bound): run it off the async workers.
pub fn verify(password: &str, stored: &str) -> anyhow::Result<bool> {
    if stored.starts_with("$2") {
        return Ok(bcrypt::verify(password, stored)?);
    }
    if stored.starts_with("$argon2") {
        return Ok(verify_argon2(password.as_bytes(), stored));
    }
    let custom: Custom =
        serde_json::from_str(stored.strip_prefix(CUSTOM).ok_or_else(|| anyhow::anyhow!("unknown hash"))?)?;
    let fail = |e: String| anyhow::anyhow!(e);
    let value = custom.hash.value.as_str();
    let pw = custom.password_bytes(password).map_err(fail)?;
    let computed = match custom.algorithm.as_str() {
        // `bcrypt::verify` truncates its input to 72 bytes, as bcrypt (and Auth0) do.
        "bcrypt" => return Ok(bcrypt::verify(custom.salted(pw).map_err(fail)?, value)?),
        "argon2" => return Ok(verify_argon2(&pw, value)),
        "pbkdf2" => {
            let pbkdf2 = parse_pbkdf2(value).map_err(fail)?;
            // Auth0 derives `l` bytes: a hash of another length matches no password.
            if pbkdf2.hash.len() != pbkdf2.length {
                return Ok(false);
            }
            let mut out = vec![0u8; pbkdf2.length];
            with_digest!(pbkdf2.digest, D => pbkdf2::pbkdf2_hmac::<D>(&pw, &pbkdf2.salt, pbkdf2.rounds, &mut out))
                .ok_or_else(|| anyhow::anyhow!("pbkdf2 digest {}", pbkdf2.digest))?;
            return Ok(out.ct_eq(&pbkdf2.hash).into());
        }
        "ldap" => {
            let (algorithm, expected, salt) = parse_ldap(value).map_err(fail)?;
            let computed = digest(algorithm, &[pw.as_slice(), salt.as_slice()].concat()).map_err(fail)?;
            return Ok(computed.ct_eq(&expected).into());
        }
        "scrypt" => {
            let (params, length) = scrypt_params(&custom).map_err(fail)?;
            let expected = custom.hash_bytes().map_err(fail)?;
            // Node derives `keylen` bytes: a hash of another length matches no password.
            if expected.len() != length {
                return Ok(false);
            }
            let mut out = vec![0u8; length];
            scrypt::scrypt(&pw, &custom.salt_bytes().map_err(fail)?.unwrap_or_default(), &params, &mut out)
                .map_err(|e| anyhow::anyhow!("scrypt: {e}"))?;
            return Ok(out.ct_eq(&expected).into());
        }
        "hmac" => {
            let key = custom.key_bytes().map_err(fail)?;
            let data = custom.salted(pw).map_err(fail)?;
            hmac_bytes(custom.hash.digest.as_deref().unwrap_or_default(), &key, &data).map_err(fail)?
        }
        algorithm => digest(algorithm, &custom.salted(pw).map_err(fail)?).map_err(fail)?,
    };
    Ok(computed.ct_eq(&custom.hash_bytes().map_err(fail)?).into())
}

fn verify_argon2(password: &[u8], phc: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::Argon2::default().verify_password(password, phc).is_ok()
}

fn digest(algorithm: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    with_digest!(algorithm, D => D::digest(data).to_vec())
        .ok_or_else(|| format!("digest {algorithm:?} is not supported"))
}

fn hmac_bytes(digest: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let mac = with_digest!(digest, D => {
        let mut mac = <hmac::Hmac<D> as KeyInit>::new_from_slice(key).map_err(|e| e.to_string())?;
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    });
    mac.ok_or_else(|| format!("custom_password_hash.hash.digest {digest:?} is not supported by Roster"))
}

/// The digest a `$pbkdf2-<digest>$` hash names, as `with_digest!` calls it. Auth0 lists Node's
/// names for its digests, OpenSSL's aliases among them (`RSA-SHA256`, `sha256WithRSAEncryption`,
/// `ssl3-sha1`, `rmd160`, …); of those, MDC-2 has no RustCrypto crate (nor a digest in OpenSSL 3's
/// default provider, so Node no longer computes it either).
fn pbkdf2_digest(name: &str) -> Result<&'static str, String> {
    Ok(match name {
        "md4" | "RSA-MD4" | "md4WithRSAEncryption" => "md4",
        "md5" | "RSA-MD5" | "md5WithRSAEncryption" | "ssl3-md5" => "md5",
        "ripemd160" | "RSA-RIPEMD160" | "ripemd" | "rmd160" | "ripemd160WithRSA" => "ripemd160",
        "sha1" | "RSA-SHA1" | "RSA-SHA1-2" | "sha1WithRSAEncryption" | "ssl3-sha1" => "sha1",
        "sha224" | "RSA-SHA224" | "sha224WithRSAEncryption" => "sha224",
        "sha256" | "RSA-SHA256" | "sha256WithRSAEncryption" => "sha256",
        "sha384" | "RSA-SHA384" | "sha384WithRSAEncryption" => "sha384",
        "sha512" | "RSA-SHA512" | "sha512WithRSAEncryption" => "sha512",
        "whirlpool" => "whirlpool",
        "mdc2" | "RSA-MDC2" | "mdc2WithRSA" => {
            return Err(format!("custom_password_hash: pbkdf2 digest {name:?} is not supported by Roster"));
        }
        other => return Err(format!("custom_password_hash: pbkdf2 digest {other:?} is not one Auth0 accepts")),
    })
}

/// `hex` (either case), `base64` (standard or URL-safe alphabet, padded or not) or `utf8`.
fn decode(value: &str, encoding: &str, what: &str) -> Result<Vec<u8>, String> {
    let decoded = match encoding {
        "hex" => hex::decode(value).map_err(|e| e.to_string()),
        "base64" => [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(value).ok())
            .ok_or_else(|| "not base64".to_owned()),
        "utf8" => Ok(value.as_bytes().to_vec()),
        other => Err(format!("unknown encoding {other:?}")),
    };
    decoded.map_err(|e| format!("custom_password_hash.{what}: {e}"))
}

/// The password's bytes as the hash was computed from them (Node's encodings, as Auth0 names
/// them).
fn password_bytes(password: &str, encoding: &str) -> Result<Vec<u8>, String> {
    Ok(match encoding {
        "utf8" => password.as_bytes().to_vec(),
        // Node writes each UTF-16 unit's low byte for these.
        "ascii" | "latin1" | "binary" => password.encode_utf16().map(|unit| unit as u8).collect(),
        "utf16le" | "ucs2" => password.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        other => return Err(format!("custom_password_hash.password.encoding {other:?} is not supported")),
    })
}

/// A `$pbkdf2-<digest>$…` hash, read.
struct Pbkdf2 {
    digest: &'static str,
    rounds: u32,
    /// `l`: the length of the key derived.
    length: usize,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// `$pbkdf2-<digest>$i=<rounds>,l=<length>$<salt>$<hash>` (PHC, salt and hash in base64; the
/// parameters may be left out, each or both, for Auth0's defaults).
fn parse_pbkdf2(value: &str) -> Result<Pbkdf2, String> {
    let bad = || {
        "custom_password_hash.hash.value must be a PHC string: $pbkdf2-<digest>$i=<rounds>,l=<length>$<salt>$<hash>"
            .to_owned()
    };
    let parts: Vec<&str> = value.split('$').collect();
    let (algorithm, params, salt, hash) = match parts.as_slice() {
        ["", algorithm, params, salt, hash] => (algorithm, Some(params), salt, hash),
        ["", algorithm, salt, hash] => (algorithm, None, salt, hash),
        _ => return Err(bad()),
    };
    let digest = pbkdf2_digest(algorithm.strip_prefix("pbkdf2-").ok_or_else(bad)?)?;
    let (mut rounds, mut length) = (PBKDF2_ROUNDS, PBKDF2_LENGTH);
    for param in params.map(|params| params.split(',')).into_iter().flatten() {
        match param.split_once('=') {
            Some(("i", n)) => rounds = n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(bad)?,
            Some(("l", n)) => length = n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?,
            _ => return Err(bad()),
        }
    }
    let b64 = |text: &str| STANDARD_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| bad());
    let (salt, hash) = (b64(salt)?, b64(hash)?);
    if hash.is_empty() {
        return Err(bad());
    }
    Ok(Pbkdf2 { digest, rounds, length, salt, hash })
}

/// scrypt's parameters and key length (`keylen`, `cost`, `blockSize`, `parallelization`, with
/// Auth0's defaults), by Auth0's rules and within Roster's bound.
fn scrypt_params(custom: &Custom) -> Result<(scrypt::Params, usize), String> {
    let keylen = custom.keylen.ok_or("custom_password_hash.keylen is required for scrypt")?;
    let keylen = usize::try_from(keylen)
        .ok()
        .filter(|n| *n > 0)
        .ok_or("custom_password_hash.keylen must be an integer greater than zero")?;
    let positive = |value: Option<i64>, default: i64, name: &str| {
        u32::try_from(value.unwrap_or(default))
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("custom_password_hash.{name} must be a positive integer"))
    };
    let cost = u64::try_from(custom.cost.unwrap_or(SCRYPT_COST))
        .ok()
        .filter(|n| *n > 1 && n.is_power_of_two())
        .ok_or("custom_password_hash.cost must be a power of two greater than one")?;
    let block_size = positive(custom.block_size, SCRYPT_BLOCK_SIZE, "blockSize")?;
    let parallelization = positive(custom.parallelization, SCRYPT_PARALLELIZATION, "parallelization")?;
    let memory = 128u64.saturating_mul(cost).saturating_mul(block_size.into());
    let work = cost.saturating_mul(block_size.into()).saturating_mul(parallelization.into());
    if memory > SCRYPT_MAX_MEMORY || work > SCRYPT_MAX_WORK {
        return Err(format!(
            "custom_password_hash: scrypt with cost {cost}, blockSize {block_size} and parallelization \
             {parallelization} is above Roster's bound (128 × cost × blockSize at most {} MiB, cost × blockSize \
             × parallelization at most {SCRYPT_MAX_WORK})",
            SCRYPT_MAX_MEMORY >> 20
        ));
    }
    let params = scrypt::Params::new(cost.trailing_zeros() as u8, block_size, parallelization)
        .map_err(|_| "custom_password_hash: scrypt's parameters are invalid".to_owned())?;
    Ok((params, keylen))
}

/// RFC 2307 `{SCHEME}base64`: the digest, the hash, the salt (after the hash for salted schemes).
fn parse_ldap(value: &str) -> Result<(&'static str, Vec<u8>, Vec<u8>), String> {
    let bad = || {
        "custom_password_hash.hash.value must be an LDAP hash: {SHA}, {SSHA}, {MD5}, {SMD5}, {SHA256}, {SSHA256}, {SHA512}, {SSHA512} and base64".to_owned()
    };
    let (scheme, rest) = value.strip_prefix('{').and_then(|v| v.split_once('}')).ok_or_else(bad)?;
    let (algorithm, length, salted) = match scheme.to_ascii_uppercase().as_str() {
        "SHA" => ("sha1", 20, false),
        "SSHA" => ("sha1", 20, true),
        "MD5" => ("md5", 16, false),
        "SMD5" => ("md5", 16, true),
        "SHA256" => ("sha256", 32, false),
        "SSHA256" => ("sha256", 32, true),
        "SHA384" => ("sha384", 48, false),
        "SSHA384" => ("sha384", 48, true),
        "SHA512" => ("sha512", 64, false),
        "SSHA512" => ("sha512", 64, true),
        _ => return Err(bad()),
    };
    let bytes = STANDARD.decode(rest).map_err(|_| bad())?;
    if bytes.len() < length || (!salted && bytes.len() != length) {
        return Err(bad());
    }
    let (hash, salt) = bytes.split_at(length);
    Ok((algorithm, hash.to_vec(), salt.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(custom: Value, password: &str) {
        let stored = stored_form(&custom).unwrap_or_else(|e| panic!("{custom}: {e}"));
        assert!(verify(password, &stored).unwrap(), "{custom} should match {password:?}");
        assert!(!verify(&format!("{password}x"), &stored).unwrap(), "{custom} should not match another password");
    }

    // Vectors: the digests are those of each algorithm's reference (RFC 1320 for MD4, RFC 1321
    // for MD5, FIPS 180 for SHA-1/SHA-2, RFC 4231 and RFC 2202 for HMAC, RFC 6070 for
    // PBKDF2-SHA1), the argon2 hash is the reference implementation's (phc-winner-argon2) test
    // vector, and the salted and LDAP forms were computed with OpenSSL/OpenLDAP's slappasswd.

    #[test]
    fn plain_digests_match_their_reference_vectors() {
        check(json!({"algorithm": "md4", "hash": {"value": "a448017aaf21d8525fc10ae87aa6729d"}}), "abc");
        check(json!({"algorithm": "md5", "hash": {"value": "900150983cd24fb0d6963f7d28e17f72"}}), "abc");
        check(json!({"algorithm": "sha1", "hash": {"value": "a9993e364706816aba3e25717850c26c9cd0d89d"}}), "abc");
        check(
            json!({"algorithm": "sha256", "hash": {"value": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}}),
            "abc",
        );
        check(
            json!({"algorithm": "sha512", "hash": {"value": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f", "encoding": "hex"}}),
            "abc",
        );
        // FIPS 180 "abc" for SHA-1 in base64.
        check(
            json!({"algorithm": "sha1", "hash": {"value": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", "encoding": "base64"}}),
            "abc",
        );
    }

    #[test]
    fn salt_goes_before_or_after_the_password() {
        // SHA-256("abc") with the password "bc" and the salt "a" before it, then MD5("abc")
        // with the password "ab" and the salt "c" after it.
        check(
            json!({"algorithm": "sha256", "hash": {"value": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                   "salt": {"value": "a", "position": "prefix"}}),
            "bc",
        );
        check(
            json!({"algorithm": "md5", "hash": {"value": "900150983cd24fb0d6963f7d28e17f72"},
                   "salt": {"value": "63", "encoding": "hex", "position": "suffix"}}),
            "ab",
        );
        // UTF-16LE password bytes: MD5 of "a\0b\0c\0".
        let stored = stored_form(
            &json!({"algorithm": "md5", "hash": {"value": hex::encode(md5::Md5::digest("a\0b\0c\0"))}, "password": {"encoding": "utf16le"}}),
        )
        .unwrap();
        assert!(verify("abc", &stored).unwrap());
    }

    #[test]
    fn hmac_matches_rfc_vectors() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        check(
            json!({"algorithm": "hmac", "hash": {"value": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                   "digest": "sha256", "key": {"value": "Jefe"}}}),
            "what do ya want for nothing?",
        );
        // RFC 2202 test case 2 for HMAC-MD5, key as hex.
        check(
            json!({"algorithm": "hmac", "hash": {"value": "750c783e6ab0b503eaa86e310a5db738", "digest": "md5",
                   "key": {"value": "4a656665", "encoding": "hex"}}}),
            "what do ya want for nothing?",
        );
        // RFC 2286 test cases 1 and 2 for HMAC-RIPEMD-160.
        check(
            json!({"algorithm": "hmac", "hash": {"value": "24cb4bd67d20fc1a5d2ed7732dcc39377f0a5668", "digest": "ripemd160",
                   "key": {"value": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "encoding": "hex"}}}),
            "Hi There",
        );
        check(
            json!({"algorithm": "hmac", "hash": {"value": "dda6c0213a485a9e24f4742064a7f033b43c4069", "digest": "ripemd160",
                   "key": {"value": "Jefe"}}}),
            "what do ya want for nothing?",
        );
        // HMAC-Whirlpool has no published vectors: RFC 2104 over Whirlpool, key "Jefe", as
        // OpenSSL 3.0 computes it (`openssl mac -provider legacy -digest whirlpool`, and the same
        // by hand from `openssl dgst -whirlpool`, whose "abc" is the NESSIE reference's 4e2448a4…).
        check(
            json!({"algorithm": "hmac", "hash": {"value": "3d595ccd1d4f4cfd045af53ba7d5c8283fee6ded6eaf1269071b6b4ea64800056b5077c6a942cfa1221bd4e5aed791276e5dd46a407d2b8007163d3e7cd1de66",
                   "digest": "whirlpool", "key": {"value": "Jefe"}}}),
            "what do ya want for nothing?",
        );
        // RFC 4231 test case 2 for HMAC-SHA-512.
        check(
            json!({"algorithm": "hmac", "hash": {"value": "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
                   "digest": "sha512", "key": {"value": "Jefe"}}}),
            "what do ya want for nothing?",
        );
    }

    #[test]
    fn pbkdf2_matches_rfc_6070() {
        // RFC 6070: "password", salt "salt", 4096 rounds, 20 bytes.
        let salt = STANDARD_NO_PAD.encode("salt");
        let hash = STANDARD_NO_PAD.encode(hex::decode("4b007901b765489abead49d926f721d065a429c1").unwrap());
        check(
            json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha1$i=4096,l=20${salt}${hash}")}}),
            "password",
        );
        // PBKDF2-HMAC-SHA256, "password"/"salt", 1 round, 32 bytes (RFC 7914 §11's inputs; the
        // widely published vector).
        let hash = STANDARD_NO_PAD
            .encode(hex::decode("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b").unwrap());
        check(
            json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha256$i=1,l=32${salt}${hash}")}}),
            "password",
        );
        // PBKDF2-HMAC-SHA512, "password"/"salt", 1 round, 64 bytes.
        let hash = STANDARD_NO_PAD.encode(hex::decode("867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce").unwrap());
        check(
            json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha512$i=1,l=64${salt}${hash}")}}),
            "password",
        );
    }

    #[test]
    fn argon2_matches_the_reference_implementation() {
        // phc-winner-argon2's own test vectors (argon2i and argon2id, v=19, m=65536, t=2, p=1,
        // password "password", salt "somesalt").
        check(
            json!({"algorithm": "argon2", "hash": {"value": "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA"}}),
            "password",
        );
        check(
            json!({"algorithm": "argon2", "hash": {"value": "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}}),
            "password",
        );
    }

    #[test]
    fn ldap_schemes() {
        // {SHA} of "abc" (FIPS 180), {MD5} of "abc" (RFC 1321), and {SSHA} of "password" with
        // the salt "salt": SHA-1("passwordsalt") followed by the salt.
        check(json!({"algorithm": "ldap", "hash": {"value": "{SHA}qZk+NkcGgWq6PiVxeFDCbJzQ2J0="}}), "abc");
        check(json!({"algorithm": "ldap", "hash": {"value": "{MD5}kAFQmDzST7DWlj99KOF/cg=="}}), "abc");
        let ssha = [sha1::Sha1::digest(b"passwordsalt").to_vec(), b"salt".to_vec()].concat();
        check(
            json!({"algorithm": "ldap", "hash": {"value": format!("{{SSHA}}{}", STANDARD.encode(ssha))}}),
            "password",
        );
    }

    #[test]
    fn bcrypt_is_stored_as_is_and_malformed_hashes_are_refused() {
        let hash = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
        assert_eq!(stored_form(&json!({"algorithm": "bcrypt", "hash": {"value": hash}})).unwrap(), hash);
        assert!(stored_form(&json!({"algorithm": "bcrypt", "hash": {"value": "nope"}})).is_err());
        assert!(stored_form(&json!({"algorithm": "md5", "hash": {"value": "zz"}})).is_err());
        // Whirlpool and RIPEMD-160 are hmac digests only, not algorithms of their own.
        assert!(stored_form(&json!({"algorithm": "whirlpool", "hash": {"value": "00"}})).is_err());
        let hmac = |digest: &str| json!({"algorithm": "hmac", "hash": {"value": "00", "digest": digest, "key": {"value": "k"}}});
        assert!(stored_form(&hmac("sha3-256")).is_err());
        assert!(stored_form(&hmac("ripemd160")).is_ok() && stored_form(&hmac("whirlpool")).is_ok());
        assert!(stored_form(&json!({"algorithm": "hmac", "hash": {"value": "00", "digest": "sha256"}})).is_err());
        assert!(stored_form(&json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$x"}})).is_err());
        assert!(stored_form(&json!({"algorithm": "ldap", "hash": {"value": "{CRYPT}abc"}})).is_err());
        assert!(stored_form(&json!({"algorithm": "md5", "hash": {"value": "00", "extra": 1}})).is_err());
        assert!(stored_form(&json!({"algorithm": "md5", "hash": {"value": "00"}, "extra": 1})).is_err());
    }

    fn refused(custom: Value) -> String {
        match stored_form(&custom) {
            Ok(stored) => panic!("{custom} should be refused, was stored as {stored}"),
            Err(message) => message,
        }
    }

    // The bcrypt vectors below were computed with libxcrypt's bcrypt (`crypt(3)` through
    // Python's `crypt` module), the pbkdf2 ones with Node 20's `crypto.pbkdf2Sync` (which is what
    // Auth0 runs; it takes OpenSSL's alias names) and, for the digests OpenSSL 3 keeps in its
    // legacy provider (MD4, Whirlpool), `openssl kdf -provider legacy … PBKDF2`, and the scrypt
    // ones with Python's `hashlib.scrypt` (OpenSSL) or are RFC 7914's.

    #[test]
    fn bcrypt_with_a_salt_hashes_the_salt_and_the_password_together() {
        // bcrypt("pepper" + "password") and bcrypt("password" + "pepper").
        let prefixed = "$2b$04$abcdefghijklmnopqrstuuTc3Y.EXiQBRlTerldUERWIJ39zp.10u";
        let suffixed = "$2b$04$abcdefghijklmnopqrstuuplyOA/yggp3uDOFweBlaokYQ36s6xTW";
        check(json!({"algorithm": "bcrypt", "hash": {"value": prefixed}, "salt": {"value": "pepper"}}), "password");
        check(
            json!({"algorithm": "bcrypt", "hash": {"value": prefixed, "encoding": "utf8"},
                   "salt": {"value": "706570706572", "encoding": "hex", "position": "prefix"}}),
            "password",
        );
        check(
            json!({"algorithm": "bcrypt", "hash": {"value": suffixed}, "salt": {"value": "pepper", "position": "suffix"}}),
            "password",
        );
        let stored =
            stored_form(&json!({"algorithm": "bcrypt", "hash": {"value": prefixed}, "salt": {"value": "pepper"}}))
                .unwrap();
        assert!(stored.starts_with(CUSTOM), "{stored}");
        assert!(!verify("pepperpassword", &stored).unwrap(), "the salt is not the user's to type");
        // Without the salt it is the tenant's own kind, stored as is.
        assert!(!verify("password", prefixed).unwrap());
    }

    #[test]
    fn bcrypt_salt_counts_towards_its_72_bytes() {
        // bcrypt("s" × 70 + "abcdef"): bcrypt reads 72 bytes, so only "ab" of the password counts,
        // as Auth0's page says ("Any input beyond the 72 byte limit is truncated").
        let hash = "$2b$04$abcdefghijklmnopqrstuu2ItLe3XQWlMOiSUclgmYJHmAJYaLnyu";
        let stored =
            stored_form(&json!({"algorithm": "bcrypt", "hash": {"value": hash}, "salt": {"value": "s".repeat(70)}}))
                .unwrap();
        assert!(verify("abcdef", &stored).unwrap());
        assert!(verify("abzzzz", &stored).unwrap());
        assert!(!verify("ac", &stored).unwrap());
        // A prefix salt of 72 bytes leaves the password no part in what bcrypt reads.
        let filled = json!({"algorithm": "bcrypt", "hash": {"value": hash}, "salt": {"value": "s".repeat(72)}});
        assert!(stored_form(&filled).unwrap_err().contains("any password would match"));
    }

    #[test]
    fn costly_parameters_are_refused_at_import() {
        let argon2 = "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        let error = stored_form(&json!({"algorithm": "argon2", "hash": {"value": argon2}})).unwrap_err();
        assert!(error.contains("above Roster's bound"), "{error}");
        let pbkdf2 = "$pbkdf2-sha256$i=100000000,l=32$c2FsdA$YWJj";
        let error = stored_form(&json!({"algorithm": "pbkdf2", "hash": {"value": pbkdf2}})).unwrap_err();
        assert!(error.contains("above Roster's bound"), "{error}");
        let django = "$pbkdf2-sha256$i=1200000,l=32$c2FsdA$YWJj";
        assert!(stored_form(&json!({"algorithm": "pbkdf2", "hash": {"value": django}})).is_ok());
    }

    #[test]
    fn pbkdf2_takes_every_digest_auth0_lists_under_each_of_its_names() {
        // "password", salt "salt", 1000 rounds, 32 bytes.
        let vectors = [
            ("md4", "fb0618184744c5ae3c685e5c1f592aff4dbb1432d08bf7d77584a7fbcafffbb7"),
            ("md5", "8d189946a32d883622a16ae18af0632f5791d5e7b1abb0ab1757d28ce3405614"),
            ("ripemd160", "b5c5682c46fdb315930cfc54e82d0987e6ef938fee9320191bfbac2700de4ed4"),
            ("sha1", "6e88be8bad7eae9d9e10aa061224034fed48d03fcbad968b56006784539d5214"),
            ("sha224", "d3bcf320fd918908eafcaa460faf40e201f6508d4e6f3d9c1c0abd30dae08cc8"),
            ("sha256", "632c2812e46d4604102ba7618e9d6d7d2f8128f6266b4a03264d2a0460b7dcb3"),
            ("sha384", "3bd37e2236941d4a77b1b5b714c6f913fabb6b0841a6d7d8656b99d611e900fe"),
            ("sha512", "afe6c5530785b6cc6b1c6453384731bd5ee432ee549fd42fb6695779ad8a1c5b"),
            ("whirlpool", "5ad7361484c7dde6b23e573c4b61d1fd16023fd6c0170d0b26d70f7ac8c683f0"),
        ];
        let names: &[(&str, &[&str])] = &[
            ("md4", &["md4", "RSA-MD4", "md4WithRSAEncryption"]),
            ("md5", &["md5", "RSA-MD5", "md5WithRSAEncryption", "ssl3-md5"]),
            ("ripemd160", &["ripemd160", "RSA-RIPEMD160", "ripemd", "rmd160", "ripemd160WithRSA"]),
            ("sha1", &["sha1", "RSA-SHA1", "RSA-SHA1-2", "sha1WithRSAEncryption", "ssl3-sha1"]),
            ("sha224", &["sha224", "RSA-SHA224", "sha224WithRSAEncryption"]),
            ("sha256", &["sha256", "RSA-SHA256", "sha256WithRSAEncryption"]),
            ("sha384", &["sha384", "RSA-SHA384", "sha384WithRSAEncryption"]),
            ("sha512", &["sha512", "RSA-SHA512", "sha512WithRSAEncryption"]),
            ("whirlpool", &["whirlpool"]),
        ];
        let salt = STANDARD_NO_PAD.encode("salt");
        for (digest, hash) in vectors {
            let hash = STANDARD_NO_PAD.encode(hex::decode(hash).unwrap());
            let (_, aliases) = names.iter().find(|(name, _)| *name == digest).unwrap();
            for alias in *aliases {
                check(
                    json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-{alias}$i=1000,l=32${salt}${hash}")}}),
                    "password",
                );
            }
        }
        // MDC-2 is on Auth0's list, without a RustCrypto crate (nor in OpenSSL 3's default provider).
        let hash = STANDARD_NO_PAD.encode([0u8; 16]);
        for name in ["mdc2", "RSA-MDC2", "mdc2WithRSA"] {
            let message = refused(
                json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-{name}$i=1,l=16${salt}${hash}")}}),
            );
            assert!(message.contains("not supported by Roster"), "{message}");
        }
        let message = refused(
            json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha3-256$i=1,l=16${salt}${hash}")}}),
        );
        assert!(message.contains("not one Auth0 accepts"), "{message}");
    }

    #[test]
    fn pbkdf2_parameters_default_to_100000_rounds_and_64_bytes() {
        // PBKDF2-HMAC-SHA512("password", "salt", 100000 rounds, 64 bytes).
        let salt = STANDARD_NO_PAD.encode("salt");
        let hash = "9dFwIslq9GwKHcSaWLvmVKKOmBBIg+SvTel0zaLHQSLdCC9BBak/yAaSyk6xp4TP7agb+qM/UZLMkUPYGL11gQ";
        for params in ["", "i=100000$", "l=64$", "i=100000,l=64$"] {
            check(
                json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha512${params}{salt}${hash}")}}),
                "password",
            );
        }
        // l is the length derived: a hash of another length (here 64 bytes against 32) matches
        // nothing, as in Auth0.
        let stored = stored_form(
            &json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha512$i=100000,l=32${salt}${hash}")}}),
        )
        .unwrap();
        assert!(!verify("password", &stored).unwrap());
        for params in ["i=0$", "i=x$", "l=0$", "r=1$", "i=1,,$"] {
            refused(json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha512${params}{salt}${hash}")}}));
        }
    }

    #[test]
    fn the_examples_of_auth0s_page_are_accepted() {
        // terrell@: its password is not given; the record imports and other passwords fail.
        let terrell = json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-md4$i=100000,l=64$+N375B8q0Fw$fp2R9KAM4hK/votGHC5Fu+jhqbxUD8+Nic/EMSGvNC3UP/k7wSHI0uXluHRSkZfl/BOheYqNOemayG90ZaSSQw", "encoding": "utf8"}});
        let stored = stored_form(&terrell).unwrap();
        assert!(!verify("password", &stored).unwrap());
        // cecil@ (pbkdf2-sha512) and sean@ (ldap {SSHA384}) import too.
        stored_form(&json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha512$i=100000,l=64$KNyFsA2rWoE$I2CQGI9H0JxdDf3kERRI97kPCGxh0KWBIV3MxyaS191gDGfzVBGyS4BibhgqWQ0/ails8mHuU9ckASxHOOq58w"}})).unwrap();
        stored_form(&json!({"algorithm": "ldap", "hash": {"value": "{SSHA384}/cgEjdoZh85DhurDeOQEMO1rMlAur93SVPbYe5XSD4lF7nNuvrBju5hUeg9A6agRemgSXGl5YuE=", "encoding": "utf8"}})).unwrap();
        // peter@ logs in with "test", carmella@ with "password".
        check(
            json!({"algorithm": "hmac", "hash": {"value": "cg7f42jH39/2EaAU4wNd4s2lKIk=", "encoding": "base64", "digest": "sha1",
                   "key": {"value": "736868", "encoding": "hex"}}}),
            "test",
        );
        check(
            json!({"algorithm": "scrypt", "hash": {"value": "097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29", "encoding": "hex"},
                   "salt": {"value": "abc123", "encoding": "utf8"}, "keylen": 32, "cost": 4096}),
            "password",
        );
    }

    #[test]
    fn scrypt_matches_rfc_7914_and_openssl() {
        // RFC 7914 §12: "password", "NaCl", N=1024, r=8, p=16, 64 bytes.
        check(
            json!({"algorithm": "scrypt", "hash": {"value": "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
                   "salt": {"value": "NaCl"}, "keylen": 64, "cost": 1024, "blockSize": 8, "parallelization": 16}),
            "password",
        );
        // Auth0's defaults (N=16384, r=8, p=1), salt "abc123".
        check(
            json!({"algorithm": "scrypt", "hash": {"value": "87aff4e1071fbbf3b7df95b723ec10e6424f521e0921f72173c885cffda6e600", "encoding": "hex"},
                   "salt": {"value": "abc123"}, "keylen": 32}),
            "password",
        );
        // carmella@'s hash in base64, and a salt in URL-safe base64 (bytes fb ff bf 01 02 03).
        check(
            json!({"algorithm": "scrypt", "hash": {"value": "CX9hl+G0FTj3I+Mqp6aOjXYifY5DLOX6pIgqkTAy2yk=", "encoding": "base64"},
                   "salt": {"value": "abc123"}, "keylen": 32, "cost": 4096}),
            "password",
        );
        check(
            json!({"algorithm": "scrypt", "hash": {"value": "ea5852c29e11a8c394ca2285a277cf44"},
                   "salt": {"value": "-_-_AQID", "encoding": "base64"}, "keylen": 16, "cost": 1024}),
            "password",
        );
        // The password's encoding applies: latin1 "pässword", N=1024, r=1, 20 bytes.
        check(
            json!({"algorithm": "scrypt", "hash": {"value": "f4a3068ee5e37cb0cfef39674605de061e64af64"}, "salt": {"value": "abc123"},
                   "password": {"encoding": "latin1"}, "keylen": 20, "cost": 1024, "blockSize": 1}),
            "pässword",
        );
        // keylen is the length derived: a hash of another length matches nothing.
        let stored = stored_form(
            &json!({"algorithm": "scrypt", "hash": {"value": "097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29"},
                    "salt": {"value": "abc123"}, "keylen": 16, "cost": 4096}),
        )
        .unwrap();
        assert!(!verify("password", &stored).unwrap());
    }

    #[test]
    fn scrypt_parameters_follow_auth0s_rules_and_roster_bounds_them() {
        let scrypt = |extra: Value| {
            let mut custom =
                json!({"algorithm": "scrypt", "hash": {"value": "00"}, "salt": {"value": "abc123"}, "keylen": 1});
            custom.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            custom
        };
        let message = refused(json!({"algorithm": "scrypt", "hash": {"value": "00"}}));
        assert_eq!(message, "custom_password_hash.keylen is required for scrypt");
        for (extra, message) in [
            (json!({"keylen": 0}), "custom_password_hash.keylen must be an integer greater than zero"),
            (json!({"keylen": -3}), "custom_password_hash.keylen must be an integer greater than zero"),
            (json!({"cost": 1}), "custom_password_hash.cost must be a power of two greater than one"),
            (json!({"cost": 1000}), "custom_password_hash.cost must be a power of two greater than one"),
            (json!({"cost": -4096}), "custom_password_hash.cost must be a power of two greater than one"),
            (json!({"blockSize": 0}), "custom_password_hash.blockSize must be a positive integer"),
            (json!({"parallelization": -1}), "custom_password_hash.parallelization must be a positive integer"),
        ] {
            assert_eq!(refused(scrypt(extra)), message);
        }
        refused(scrypt(json!({"keylen": "32"})));
        refused(scrypt(json!({"cost": 16384.5})));
        // Roster's bound: 64 MiB of memory (128·N·r), 2^20 of work (N·r·p).
        for extra in [
            json!({"cost": 1u64 << 17}),
            json!({"cost": 1024, "blockSize": 1024}),
            json!({"parallelization": 9}),
            json!({"cost": 1u64 << 40}),
            json!({"cost": 2, "blockSize": 1, "parallelization": 4_000_000_000u64}),
        ] {
            let message = refused(scrypt(extra.clone()));
            assert!(message.contains("above Roster's bound"), "{extra}: {message}");
        }
        for extra in [
            json!({}),
            json!({"cost": 1u64 << 16}),
            json!({"cost": 16384, "parallelization": 8}),
            json!({"cost": 1024, "blockSize": 8, "parallelization": 16}),
        ] {
            stored_form(&scrypt(extra.clone())).unwrap_or_else(|e| panic!("{extra}: {e}"));
        }
    }

    #[test]
    fn base64_values_may_use_the_url_safe_alphabet_padded_or_not() {
        // SHA-1("abc") is qZk+NkcGgWq6PiVxeFDCbJzQ2J0= in the standard alphabet.
        for value in ["qZk-NkcGgWq6PiVxeFDCbJzQ2J0=", "qZk-NkcGgWq6PiVxeFDCbJzQ2J0", "qZk+NkcGgWq6PiVxeFDCbJzQ2J0"] {
            check(json!({"algorithm": "sha1", "hash": {"value": value, "encoding": "base64"}}), "abc");
        }
        // An hmac key (bytes fb ff bf "key") and a salt ("a") in URL-safe base64.
        check(
            json!({"algorithm": "hmac", "hash": {"value": "63de3670cfdbbd018c315aeb26ea5cdc", "digest": "md5",
                   "key": {"value": "-_-_a2V5", "encoding": "base64"}}}),
            "password",
        );
        check(
            json!({"algorithm": "sha256", "hash": {"value": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                   "salt": {"value": "YQ", "encoding": "base64"}}),
            "bc",
        );
        // Upper-case hex too.
        check(json!({"algorithm": "md5", "hash": {"value": "900150983CD24FB0D6963F7D28E17F72"}}), "abc");
        refused(json!({"algorithm": "sha1", "hash": {"value": "qZk-NkcGgWq6PiVx$FDCbJzQ2J0", "encoding": "base64"}}));
    }

    #[test]
    fn each_algorithm_takes_what_auth0s_page_allows() {
        let bcrypt = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
        let argon2 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let pbkdf2 = "$pbkdf2-sha1$i=4096,l=20$c2FsdA$SwB5AbdlSJq+rUnZJvch0GWkKcE";
        let ldap = "{SHA}qZk+NkcGgWq6PiVxeFDCbJzQ2J0=";
        let hmac = |encoding: &str| {
            let value = if encoding == "base64" { "AA" } else { "00" };
            json!({"algorithm": "hmac", "hash": {"value": value, "encoding": encoding, "digest": "sha1", "key": {"value": "k"}}})
        };
        // hash.encoding: utf8 only for bcrypt, argon2, ldap and pbkdf2; hex or base64 for the
        // others.
        for (algorithm, value) in [("bcrypt", bcrypt), ("argon2", argon2), ("pbkdf2", pbkdf2), ("ldap", ldap)] {
            stored_form(&json!({"algorithm": algorithm, "hash": {"value": value, "encoding": "utf8"}})).unwrap();
            for encoding in ["hex", "base64"] {
                assert_eq!(
                    refused(json!({"algorithm": algorithm, "hash": {"value": value, "encoding": encoding}})),
                    format!("custom_password_hash.hash.encoding must be utf8 for {algorithm}")
                );
            }
        }
        for algorithm in ["md4", "md5", "sha1", "sha256", "sha512"] {
            assert_eq!(
                refused(json!({"algorithm": algorithm, "hash": {"value": "abc", "encoding": "utf8"}})),
                format!("custom_password_hash.hash.encoding must be hex or base64 for {algorithm}")
            );
        }
        assert_eq!(refused(hmac("utf8")), "custom_password_hash.hash.encoding must be hex or base64 for hmac");
        assert!(stored_form(&hmac("hex")).is_ok() && stored_form(&hmac("base64")).is_ok());
        assert_eq!(
            refused(json!({"algorithm": "scrypt", "hash": {"value": "00", "encoding": "utf8"}, "keylen": 1})),
            "custom_password_hash.hash.encoding must be hex or base64 for scrypt"
        );
        refused(json!({"algorithm": "md5", "hash": {"value": "00", "encoding": "latin1"}}));
        // salt: not with argon2, ldap or pbkdf2 (their salt is inside the hash).
        for (algorithm, value) in [("argon2", argon2), ("pbkdf2", pbkdf2), ("ldap", ldap)] {
            assert_eq!(
                refused(json!({"algorithm": algorithm, "hash": {"value": value}, "salt": {"value": "s"}})),
                format!("custom_password_hash.salt is not allowed for {algorithm}")
            );
        }
        // The schema's additionalProperties: false, at every level.
        let message = refused(json!({"algorithm": "md5", "hash": {"value": "00"}, "iterations": 1}));
        assert!(message.starts_with("custom_password_hash is malformed: unknown field `iterations`"), "{message}");
        refused(json!({"algorithm": "md5", "hash": {"value": "00"}, "salt": {"value": "s", "pepper": "p"}}));
        refused(json!({"algorithm": "md5", "hash": {"value": "00"}, "password": {"encoding": "utf8", "x": 1}}));
        refused(json!({"algorithm": "md5", "hash": {"value": "00"}, "salt": {"value": "s", "position": "middle"}}));
        refused(json!({"algorithm": "md5", "hash": {"value": "00"}, "password": {"encoding": "utf32"}}));
        refused(
            json!({"algorithm": "hmac", "hash": {"value": "00", "digest": "sha1", "key": {"value": "k", "encoding": "b64"}}}),
        );
        refused(json!({"algorithm": "hmac", "hash": {"value": "00", "digest": "sha1", "key": {"encoding": "hex"}}}));
        refused(json!({"hash": {"value": "00"}}));
        refused(json!({"algorithm": "md5"}));
        // scrypt's parameters are in the schema for every algorithm, used by scrypt only.
        check(
            json!({"algorithm": "md5", "hash": {"value": "900150983cd24fb0d6963f7d28e17f72"}, "keylen": 16, "cost": 2}),
            "abc",
        );
    }

    #[test]
    fn a_password_encoding_keeps_bcrypt_and_argon2_in_the_custom_form() {
        // argon2's reference vector with the password in latin1: "password" is ASCII, so the same.
        let argon2 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let stored =
            stored_form(&json!({"algorithm": "argon2", "hash": {"value": argon2}, "password": {"encoding": "latin1"}}))
                .unwrap();
        assert!(stored.starts_with(CUSTOM), "{stored}");
        assert!(verify("password", &stored).unwrap());
        assert!(!verify("passwore", &stored).unwrap());
        let bcrypt = "$2b$04$abcdefghijklmnopqrstuuTc3Y.EXiQBRlTerldUERWIJ39zp.10u";
        assert_eq!(
            stored_form(&json!({"algorithm": "bcrypt", "hash": {"value": bcrypt}, "password": {"encoding": "utf8"}}))
                .unwrap(),
            bcrypt
        );
    }
}
