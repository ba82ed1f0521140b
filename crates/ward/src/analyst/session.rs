//! Signing in: a session is a random secret in an `HttpOnly`, `SameSite=Strict` cookie
//! limited to the areas of Ward's pages ([`Area`]: the analyst's, `/analyst`, and the
//! console, `/admin`; one sign-in opens both, and the portal never receives it), of which
//! the store keeps only the SHA-256 digest. Every form
//! carries a CSRF token, the HMAC-SHA-256 of the session's secret, checked on each POST.
//! [`Analyst`] is the extractor that gives a handler the signed-in person, refusing roles
//! that do not work the queue.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use ward_core::digest::{parse_hex, to_hex};
use ward_store::{Role, Store as _, Timestamp, User};

use super::error::PageError;
use crate::serve::SharedState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ward_analyst";

/// The cookie that ties a login form to the browser that asked for it (login CSRF).
pub const LOGIN_COOKIE: &str = "ward_login";

/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(4 * 3600);

/// How long a login form stays valid.
const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// The roles that work the analysts' queue; platforms and auditors are refused.
pub const QUEUE_ROLES: &[Role] = &[Role::Analyst, Role::Curator, Role::Admin];

/// The roles the console lets in (each sees what its role may see and manage); platforms'
/// accounts are refused (a platform works through its keys).
pub const CONSOLE_ROLES: &[Role] = &[
    Role::Admin,
    Role::OrgAdmin,
    Role::Curator,
    Role::Analyst,
    Role::Auditor,
];

/// An area of Ward's signed-in pages: its own path (where its cookies go), sign-in page,
/// first page and roles. One session opens every area whose roles include the account's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// The analyst's pages, `/analyst`.
    Analyst,
    /// The administration console, `/admin`.
    Console,
}

impl Area {
    pub const ALL: [Area; 2] = [Area::Analyst, Area::Console];

    /// The path its cookies are limited to.
    pub fn path(self) -> &'static str {
        match self {
            Area::Analyst => "/analyst",
            Area::Console => "/admin",
        }
    }

    /// Its sign-in page.
    pub fn login(self) -> &'static str {
        match self {
            Area::Analyst => "/analyst/login",
            Area::Console => "/admin/login",
        }
    }

    /// The page a sign-in opens.
    pub fn home(self) -> &'static str {
        match self {
            Area::Analyst => "/analyst/queue",
            Area::Console => "/admin",
        }
    }

    /// The roles it lets in.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Area::Analyst => QUEUE_ROLES,
            Area::Console => CONSOLE_ROLES,
        }
    }

    /// Why an account of `role` is refused here.
    pub fn refusal(self, role: Role) -> String {
        match self {
            Area::Analyst => {
                format!("accounts with the {role} role do not work the analysts' queue")
            }
            Area::Console => format!("accounts with the {role} role do not use the console"),
        }
    }
}

/// A session's secret as the browser holds it: 32 random bytes in hex.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A new secret from the system's random source.
    pub fn random() -> anyhow::Result<Secret> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("the system's random source failed: {e}"))?;
        Ok(Secret(to_hex(&bytes)))
    }

    /// A secret as a cookie gives it back, if it has the shape of one.
    pub fn parse(text: &str) -> Option<Secret> {
        parse_hex::<32>(text.as_bytes())?;
        Some(Secret(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the SHA-256 digest of the secret, in hex.
    pub fn digest(&self) -> String {
        to_hex(&Sha256::digest(self.0.as_bytes()))
    }

    /// The CSRF token of forms shown with this secret (hex).
    pub fn csrf_token(&self, purpose: &str) -> String {
        to_hex(&self.mac(purpose).finalize().into_bytes())
    }

    /// Whether `token` is this secret's CSRF token (compared in constant time).
    pub fn check_csrf(&self, purpose: &str, token: &str) -> bool {
        parse_hex::<32>(token.as_bytes())
            .is_some_and(|bytes| self.mac(purpose).verify_slice(&bytes).is_ok())
    }

    fn mac(&self, purpose: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(self.0.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"ward analyst csrf\0");
        mac.update(purpose.as_bytes());
        mac
    }
}

/// The CSRF purpose of the forms of a session.
pub const SESSION_FORMS: &str = "session";

/// The CSRF purpose of the login form.
pub const LOGIN_FORM: &str = "login";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A `Set-Cookie` value for an area of the pages: `HttpOnly`, `SameSite=Strict`, its
/// `Path`, `Secure` when the deployment is behind TLS. `None` removes the cookie.
pub fn set_cookie(
    area: Area,
    name: &str,
    value: Option<&Secret>,
    max_age: Duration,
    secure: bool,
) -> String {
    let (value, max_age) = match value {
        Some(secret) => (secret.as_str(), max_age.as_secs()),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    let path = area.path();
    format!("{name}={value}; Max-Age={max_age}; Path={path}; HttpOnly; SameSite=Strict{secure}")
}

/// The login cookie of an area's sign-in page: a fresh secret for each login form.
pub fn login_cookie(area: Area, secret: &Secret, secure: bool) -> String {
    set_cookie(
        area,
        LOGIN_COOKIE,
        Some(secret),
        LOGIN_FORM_LIFETIME,
        secure,
    )
}

/// Today in UTC as exposure is counted (`YYYY-MM-DD`).
pub fn today() -> String {
    Timestamp::now().to_rfc3339()[..10].to_owned()
}

/// A signed-in person whose role works the queue, with the secret of their session.
#[derive(Debug)]
pub struct Analyst {
    pub user: User,
    pub secret: Secret,
}

impl Analyst {
    /// The signed-in user as a member of their organisation: what they may see is decided
    /// there, as for an API key.
    pub fn member(&self) -> crate::serve::auth::Member {
        crate::serve::auth::Member {
            org: self.user.org,
            role: self.user.role,
        }
    }

    /// The CSRF token for this session's forms.
    pub fn csrf(&self) -> String {
        self.secret.csrf_token(SESSION_FORMS)
    }

    /// Refuses a POST whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), PageError> {
        match token {
            Some(token) if self.secret.check_csrf(SESSION_FORMS, token) => Ok(()),
            _ => Err(PageError::Csrf),
        }
    }
}

/// The session of a request, if it has one that is current (whatever the role).
pub async fn signed_in(
    state: &SharedState,
    headers: &HeaderMap,
) -> Result<Option<(User, Secret)>, PageError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE).and_then(Secret::parse) else {
        return Ok(None);
    };
    let user = state
        .store
        .session_user(&secret.digest(), Timestamp::now())
        .await?;
    Ok(user.map(|user| (user, secret)))
}

/// The session of a request to `area`, whose account's role it lets in.
pub async fn signed_in_to(
    area: Area,
    state: &SharedState,
    headers: &HeaderMap,
) -> Result<(User, Secret), PageError> {
    let Some((user, secret)) = signed_in(state, headers).await? else {
        return Err(PageError::NotSignedIn(area));
    };
    if !area.roles().contains(&user.role) {
        return Err(PageError::Forbidden(area.refusal(user.role)));
    }
    Ok((user, secret))
}

impl FromRequestParts<SharedState> for Analyst {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Analyst, PageError> {
        let (user, secret) = signed_in_to(Area::Analyst, state, &parts.headers).await?;
        Ok(Analyst { user, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_hex_and_parse_back() {
        let a = Secret::random().unwrap();
        let b = Secret::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(Secret::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.digest().len(), 64);
        assert_ne!(a.digest(), a.as_str());
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(Secret::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_one_secret_and_purpose() {
        let a = Secret::random().unwrap();
        let b = Secret::random().unwrap();
        let token = a.csrf_token(SESSION_FORMS);
        assert!(a.check_csrf(SESSION_FORMS, &token));
        assert!(!a.check_csrf(LOGIN_FORM, &token));
        assert!(!b.check_csrf(SESSION_FORMS, &token));
        assert!(!a.check_csrf(SESSION_FORMS, ""));
        assert!(!a.check_csrf(SESSION_FORMS, &token[..62]));
        assert_ne!(token, a.digest(), "the token is not what the store keeps");
    }

    #[test]
    fn cookies_are_read_and_set_strictly() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "a=1; ward_analyst=abc ; b=2".parse().unwrap());
        headers.append("cookie", "c=3".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), Some("3"));
        assert_eq!(cookie(&headers, "ward"), None);
        let secret = Secret::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(
            set_cookie(
                Area::Analyst,
                SESSION_COOKIE,
                Some(&secret),
                SESSION_LIFETIME,
                true
            ),
            format!(
                "ward_analyst={}; Max-Age=14400; Path=/analyst; HttpOnly; SameSite=Strict; Secure",
                "ab".repeat(32)
            )
        );
        assert_eq!(
            set_cookie(Area::Analyst, SESSION_COOKIE, None, SESSION_LIFETIME, false),
            "ward_analyst=; Max-Age=0; Path=/analyst; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            set_cookie(Area::Console, LOGIN_COOKIE, None, SESSION_LIFETIME, false),
            "ward_login=; Max-Age=0; Path=/admin; HttpOnly; SameSite=Strict"
        );
    }
}
