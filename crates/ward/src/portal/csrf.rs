//! Cross-site request forgery: the report form carries a token that is also in a cookie only
//! this site's own pages send back (`SameSite=Strict`), and a submission is taken only when
//! the two are equal and the token is one this instance signed within its lifetime. Nothing
//! is kept on the server, so every node of a deployment accepts every other's tokens.
//!
//! A token is `ISSUED.NONCE.MAC`: the issue time in seconds, 16 random bytes in hex, and
//! HMAC-SHA256 of the two under a key derived from the instance's key.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};
use ward_core::digest::{parse_hex, to_hex};

/// The cookie's name.
pub const COOKIE: &str = "ward_csrf";
/// How long a token is taken: a form may stay open for a long time before it is sent.
pub const LIFETIME_SECONDS: u64 = 8 * 3600;
/// Clocks of the nodes of one deployment may differ by this much.
const SKEW_SECONDS: u64 = 300;

/// Why a submission's token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, tokens that differ, or one this instance did not sign.
    Forged,
    /// A token older than [`LIFETIME_SECONDS`].
    Expired,
}

/// The key tokens are signed with.
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

impl CsrfKey {
    /// The key for `instance_key` (the store's signing key seed), never that key itself.
    pub fn derive(instance_key: &[u8; 32]) -> CsrfKey {
        CsrfKey(hmac_sha256(instance_key, b"ward csrf"))
    }

    /// A new token issued at `now` (seconds since the epoch).
    pub fn issue(&self, now: u64) -> anyhow::Result<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)
            .map_err(|e| anyhow::anyhow!("the system's random source failed: {e}"))?;
        let signed = format!("{now}.{}", to_hex(&nonce));
        let mac = to_hex(&hmac_sha256(&self.0, signed.as_bytes()));
        Ok(format!("{signed}.{mac}"))
    }

    /// Whether `token` is one of this key's, issued within its lifetime before `now`.
    pub fn check(&self, token: &str, now: u64) -> Result<(), Refusal> {
        let (signed, mac) = token.rsplit_once('.').ok_or(Refusal::Forged)?;
        let mac: [u8; 32] = parse_hex(mac.as_bytes()).ok_or(Refusal::Forged)?;
        if !equal(&mac, &hmac_sha256(&self.0, signed.as_bytes())) {
            return Err(Refusal::Forged);
        }
        let issued: u64 = signed
            .split_once('.')
            .and_then(|(issued, _)| issued.parse().ok())
            .ok_or(Refusal::Forged)?;
        if issued > now + SKEW_SECONDS || now.saturating_sub(issued) > LIFETIME_SECONDS {
            return Err(Refusal::Expired);
        }
        Ok(())
    }

    /// A submission's check: the form's token and the cookie's are the same valid token.
    pub fn check_pair(&self, cookie: Option<&str>, form: &str, now: u64) -> Result<(), Refusal> {
        match cookie {
            Some(cookie) if !form.is_empty() && equal(cookie.as_bytes(), form.as_bytes()) => {
                self.check(form, now)
            }
            _ => Err(Refusal::Forged),
        }
    }
}

/// Seconds since the epoch, as tokens count them.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token in a request's `Cookie` headers, if any.
pub fn from_cookies<'a>(headers: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    headers
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` value that gives the browser `token`: sent back only to the portal's
/// pages, only from this site's own pages, never readable by scripts, and with `secure` (the
/// deployment is reached over HTTPS) never over plain HTTP.
pub fn set_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; Path=/report; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECONDS}{secure}"
    )
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Equality whose time does not depend on where the inputs differ.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        let check = |key: &[u8], data: &[u8], expected: &str| {
            assert_eq!(to_hex(&hmac_sha256(key, data)), expected);
        };
        check(
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        );
        check(
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
        // A key longer than the block is hashed first.
        check(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        );
    }

    #[test]
    fn tokens_hold_only_for_their_key_and_lifetime() {
        let key = CsrfKey::derive(&[7; 32]);
        let other = CsrfKey::derive(&[8; 32]);
        let now = 1_800_000_000;
        let token = key.issue(now).unwrap();
        assert_ne!(token, key.issue(now).unwrap(), "nonces differ");
        assert_eq!(key.check(&token, now), Ok(()));
        assert_eq!(key.check(&token, now + LIFETIME_SECONDS), Ok(()));
        assert_eq!(
            key.check(&token, now + LIFETIME_SECONDS + 1),
            Err(Refusal::Expired)
        );
        assert_eq!(
            key.check(&token, now - SKEW_SECONDS - 1),
            Err(Refusal::Expired)
        );
        assert_eq!(other.check(&token, now), Err(Refusal::Forged));
        // Altered anywhere: the time, the nonce, the MAC.
        let later = token.replacen("1800000000", "1800003600", 1);
        assert_eq!(key.check(&later, now), Err(Refusal::Forged));
        for garbage in [
            "",
            "1.2",
            "x.y.z",
            "1800000000.00.zz",
            &token[..token.len() - 1],
        ] {
            assert_eq!(key.check(garbage, now), Err(Refusal::Forged), "{garbage:?}");
        }
        assert_eq!(key.check_pair(Some(&token), &token, now), Ok(()));
        assert_eq!(key.check_pair(None, &token, now), Err(Refusal::Forged));
        assert_eq!(key.check_pair(Some(&token), "", now), Err(Refusal::Forged));
        let second = key.issue(now).unwrap();
        assert_eq!(
            key.check_pair(Some(&second), &token, now),
            Err(Refusal::Forged)
        );
    }

    #[test]
    fn the_token_is_found_among_cookies() {
        let find = |headers: &[&'static str]| from_cookies(headers.iter().copied());
        assert_eq!(find(&["a=1; ward_csrf=t.o.k; b=2"]), Some("t.o.k"));
        assert_eq!(find(&["a=1", "ward_csrf=x"]), Some("x"));
        assert_eq!(find(&["xward_csrf=1"]), None);
        assert_eq!(find(&[]), None);
    }
}
