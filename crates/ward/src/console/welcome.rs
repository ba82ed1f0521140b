//! `/admin/welcome/{secret}`: where the holder of a password link (made when their account
//! was made, or to reset its password: `keys_api::password_link`) chooses their password,
//! then signs in. The page is public (the link is the credential); it shows the name of the
//! link's own account and nothing else of anyone's; a link unknown, used, replaced, expired
//! or of a disabled account gets one and the same answer. The form is tied to the browser
//! that opened the page (its own cookie and a token derived from it, as the sign-in form
//! is), and posting it costs a token of the sign-in limiter.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ward_store::{Store as _, Timestamp, User};

use super::error::ConsoleError;
use crate::analyst::error::PageError;
use crate::analyst::passwords::{MIN_PASSWORD_CHARS, Password};
use crate::analyst::session::{Area, Secret, cookie, set_cookie};
use crate::analyst::view::FormFields;
use crate::serve::SharedState;

/// The cookie that ties the welcome form to the browser that opened it.
const WELCOME_COOKIE: &str = "ward_welcome";

/// The CSRF purpose of the welcome form (its token is not the sign-in form's).
const WELCOME_FORM: &str = "welcome";

/// How long the form stays valid.
const FORM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where the browser goes once the password is set: the sign-in page, with its message.
pub const SIGN_IN_AFTER: &str = "/admin/login?done=password";

#[derive(Template)]
#[template(path = "welcome.html", config = "src/console/askama.toml")]
struct WelcomePage<'a> {
    /// The link's account; `None` for a link that cannot be used.
    account: Option<&'a str>,
    csrf: String,
    error: Option<String>,
    min_chars: usize,
}

/// `GET /admin/welcome/{secret}`.
pub async fn form(
    State(state): State<SharedState>,
    Path(secret): Path<String>,
) -> Result<Response, ConsoleError> {
    let user = link_user(&state, &secret).await?;
    page(&state, user.as_ref(), None)
}

/// `POST /admin/welcome/{secret}`: `password` and `repeat`; sets the password and sends the
/// browser to sign in.
pub async fn choose(
    State(state): State<SharedState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let client = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(p))| p.ip(),
    );
    if let Err(wait) = state.sign_ins.take(client, std::time::Instant::now()) {
        let seconds = wait.as_secs().max(1);
        tracing::info!("password links refused: too many tries from one client");
        let mut response = page(
            &state,
            None,
            Some(format!(
                "Too many tries from here. Try again in {seconds} s."
            )),
        )?;
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Ok(response);
    }
    let form = FormFields::parse(&body);
    let held = cookie(&headers, WELCOME_COOKIE).and_then(Secret::parse);
    let token = form.get("csrf").unwrap_or_default();
    if !held.is_some_and(|held| held.check_csrf(WELCOME_FORM, token)) {
        return Err(PageError::Csrf.into());
    }
    let Some(user) = link_user(&state, &secret).await? else {
        return page(&state, None, None);
    };
    let typed = form.get("password").unwrap_or_default().to_owned();
    if form.get("repeat").unwrap_or_default() != typed {
        let why = "The two passwords are not the same.".to_owned();
        return refused(&state, &user, why);
    }
    let password = match Password::new(typed) {
        Ok(password) => password,
        Err(e) => return refused(&state, &user, capital(&format!("{e}."))),
    };
    let hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| ConsoleError::internal(e.into()))?
        .map_err(ConsoleError::internal)?;
    let digest = Secret::parse(&secret).map(|s| s.digest());
    let used = match digest {
        Some(digest) => {
            state
                .store
                .use_password_link(&digest, Timestamp::now(), &hash)
                .await?
        }
        None => None,
    };
    if used.is_none() {
        // Used, replaced or expired while the password was hashed.
        return page(&state, None, None);
    }
    tracing::info!("a password was set through a password link");
    let mut response = Redirect::to(SIGN_IN_AFTER).into_response();
    let gone = set_cookie(
        Area::Console,
        WELCOME_COOKIE,
        None,
        FORM_LIFETIME,
        state.config.secure_cookies,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        gone.parse().map_err(|e: header::InvalidHeaderValue| {
            ConsoleError::internal(anyhow::Error::new(e).context("making a cookie"))
        })?,
    );
    Ok(response)
}

/// The account of a live link, found by its secret's digest (`None` for anything else).
async fn link_user(state: &SharedState, secret: &str) -> Result<Option<User>, ConsoleError> {
    let Some(secret) = Secret::parse(secret) else {
        return Ok(None);
    };
    Ok(state
        .store
        .password_link_user(&secret.digest(), Timestamp::now())
        .await?)
}

/// The form again, with why the password was refused (400).
fn refused(state: &SharedState, user: &User, why: String) -> Result<Response, ConsoleError> {
    let mut response = page(state, Some(user), Some(why))?;
    *response.status_mut() = StatusCode::BAD_REQUEST;
    Ok(response)
}

/// The page: the form for the link's account with a fresh cookie, or (404) the one answer
/// for a link that cannot be used.
fn page(
    state: &SharedState,
    user: Option<&User>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let secret = Secret::random().map_err(ConsoleError::internal)?;
    let page = WelcomePage {
        account: user.map(|u| u.name.as_str()),
        csrf: secret.csrf_token(WELCOME_FORM),
        error,
        min_chars: MIN_PASSWORD_CHARS,
    };
    let status = if user.is_some() || page.error.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let cookie = set_cookie(
        Area::Console,
        WELCOME_COOKIE,
        Some(&secret),
        FORM_LIFETIME,
        state.config.secure_cookies,
    );
    Ok((status, [(header::SET_COOKIE, cookie)], Html(page.render()?)).into_response())
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}
