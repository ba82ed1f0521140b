//! Analysts' passwords: Argon2id with a random salt and the argon2 crate's recommended
//! parameters, stored as a PHC string; checked in constant time by the crate, and as slowly
//! for an unknown name as for a wrong password.

use std::sync::OnceLock;

use anyhow::{anyhow, bail};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest password accepted, in bytes (hashing is bounded work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password typed by a person, checked against the rules before it is hashed. Its
/// `Debug` never shows it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// A new password: at least [`MIN_PASSWORD_CHARS`] characters, not only spaces, no
    /// control characters.
    pub fn new(text: String) -> anyhow::Result<Password> {
        if text.trim().is_empty() {
            bail!("the password is empty");
        }
        let chars = text.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            bail!("the password has {chars} characters: at least {MIN_PASSWORD_CHARS} are needed");
        }
        if text.len() > MAX_PASSWORD_BYTES {
            bail!("the password is longer than {MAX_PASSWORD_BYTES} bytes");
        }
        if text.chars().any(char::is_control) {
            bail!("the password has control characters");
        }
        Ok(Password(text))
    }

    /// The PHC string of the password (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with a
    /// fresh random salt. Slow on purpose: call it off the async threads.
    pub fn hash(&self) -> anyhow::Result<String> {
        Argon2::default()
            .hash_password(self.0.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow!("hashing the password failed: {e}"))
    }
}

/// Whether `password` is the one `stored` (a PHC string) was made from. With no stored
/// hash (an unknown name) a dummy one is checked, so that both failures take as long.
/// Slow on purpose: call it off the async threads.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(stored) => (stored, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::warn!("a stored password hash is not a PHC string");
        return false;
    };
    let matches = password.len() <= MAX_PASSWORD_BYTES
        && Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
    matches && real
}

/// A hash of a random password, made once, checked for names nobody has.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut bytes = [0u8; 24];
        // Without the system's randomness a fixed text does as well: nobody has this name.
        let _ = getrandom::fill(&mut bytes);
        let text = format!("unknown user {}", ward_core::digest::to_hex(&bytes));
        Argon2::default()
            .hash_password(text.as_bytes())
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_rules() {
        let check = |text: &str, ok: bool| {
            assert_eq!(Password::new(text.to_owned()).is_ok(), ok, "{text:?}");
        };
        check("", false);
        check("            ", false);
        check("short", false);
        check("elevenchars", false);
        check("twelve chars", true);
        check("naïve café 12", true);
        check("tab\tinside password", false);
        check(&"x".repeat(MAX_PASSWORD_BYTES), true);
        check(&"x".repeat(MAX_PASSWORD_BYTES + 1), false);
        assert_eq!(
            format!("{:?}", Password::new("secret enough".into()).unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify_only_their_password() {
        let password = Password::new("correct horse battery".into()).unwrap();
        let first = password.hash().unwrap();
        let second = password.hash().unwrap();
        assert!(first.starts_with("$argon2id$v=19$"), "{first}");
        assert_ne!(first, second, "a fresh salt each time");
        assert!(verify("correct horse battery", Some(&first)));
        assert!(verify("correct horse battery", Some(&second)));
        assert!(!verify("correct horse batterY", Some(&first)));
        assert!(!verify("", Some(&first)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("correct horse battery", Some("not a hash")));
    }
}
