//! Signing in and out, of the analyst's pages and of the console alike ([`Area`]): one
//! session opens both. The login form is tied to the browser that asked for it (a cookie
//! and a token derived from it); a failed sign-in answers the same for an unknown name, a
//! disabled account and a wrong password, after the same Argon2 work.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ward_store::{Store as _, Timestamp};

use super::error::PageError;
use super::passwords;
use super::session::{
    Area, LOGIN_COOKIE, LOGIN_FORM, SESSION_COOKIE, SESSION_FORMS, SESSION_LIFETIME, Secret,
    cookie, login_cookie, set_cookie, signed_in,
};
use super::view::{FormFields, Header};
use crate::serve::SharedState;

#[derive(Template)]
#[template(path = "login.html", config = "src/analyst/askama.toml")]
struct LoginPage<'a> {
    header: Option<Header>,
    area: Area,
    csrf: String,
    name: &'a str,
    error: Option<&'a str>,
    /// A fixed message of the page that sent the browser here.
    notice: Option<&'static str>,
}

/// What a failed sign-in says, whatever failed.
const FAILED: &str = "The name or the password is not right.";

/// `GET /analyst/login`: the form (or the queue, for someone signed in).
pub async fn form(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    form_of(Area::Analyst, &state, &headers).await
}

/// An area's sign-in form, or its first page for someone signed in whom it lets in.
pub async fn form_of(area: Area, state: &SharedState, headers: &HeaderMap) -> Response {
    form_with_notice(area, state, headers, None).await
}

/// An area's sign-in form with a fixed message above it (a password just set), or its
/// first page for someone signed in whom it lets in.
pub async fn form_with_notice(
    area: Area,
    state: &SharedState,
    headers: &HeaderMap,
    notice: Option<&'static str>,
) -> Response {
    if let Ok(Some((user, _))) = signed_in(state, headers).await
        && area.roles().contains(&user.role)
    {
        return Redirect::to(area.home()).into_response();
    }
    render_login(area, state, StatusCode::OK, "", None, notice)
}

/// `POST /analyst/login`: checks the name and password, starts a session.
pub async fn sign_in(
    State(state): State<SharedState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, PageError> {
    sign_in_to(Area::Analyst, state, headers, peer, body).await
}

/// Checks the name and password sent to an area's sign-in form, and starts a session that
/// opens every area (its cookie is set for each), then sends the browser to the area's first
/// page.
pub async fn sign_in_to(
    area: Area,
    state: SharedState,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, PageError> {
    // Every try costs the client a token: guessing passwords is slowed to a few a minute.
    // (Without the peer's address every client shares one bucket.)
    let client = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(p))| p.ip(),
    );
    if let Err(wait) = state.sign_ins.take(client, std::time::Instant::now()) {
        let seconds = wait.as_secs().max(1);
        tracing::info!("sign-in attempts refused: too many from one client");
        let mut page = login_page(
            area,
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "",
            Some(&format!(
                "Too many sign-in attempts from here. Try again in {seconds} s."
            )),
        );
        page.headers_mut()
            .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        return Ok(page);
    }
    let form = FormFields::parse(&body);
    let login = cookie(&headers, LOGIN_COOKIE).and_then(Secret::parse);
    let token = form.get("csrf").unwrap_or_default();
    if !login.is_some_and(|secret| secret.check_csrf(LOGIN_FORM, token)) {
        return Err(PageError::Csrf);
    }
    let name = form.get("name").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default().to_owned();
    let user = match name {
        "" => None,
        name => state.store.user_by_name(name).await?,
    };
    // An account without a password yet (its link not used) is checked as an unknown name:
    // nothing signs in to it, after the same work.
    let stored = user
        .as_ref()
        .filter(|u| u.has_password())
        .map(|u| u.password_hash.clone());
    let verified =
        tokio::task::spawn_blocking(move || passwords::verify(&password, stored.as_deref()))
            .await
            .map_err(|e| PageError::Internal(e.into()))?;
    let user = match user {
        Some(user) if verified && user.disabled_at.is_none() => user,
        _ => {
            tracing::info!("an analyst's sign-in failed");
            return Ok(login_page(
                area,
                &state,
                StatusCode::UNAUTHORIZED,
                name,
                Some(FAILED),
            ));
        }
    };
    if !area.roles().contains(&user.role) {
        return Err(PageError::Forbidden(area.refusal(user.role)));
    }
    let secret = Secret::random().map_err(PageError::Internal)?;
    let expires = Timestamp(Timestamp::now().0 + SESSION_LIFETIME.as_millis() as i64);
    state
        .store
        .create_session(user.id, &secret.digest(), expires)
        .await?;
    let secure = state.config.secure_cookies;
    let mut response = Redirect::to(area.home()).into_response();
    let cookies = response.headers_mut();
    for each in Area::ALL {
        let value = set_cookie(
            each,
            SESSION_COOKIE,
            Some(&secret),
            SESSION_LIFETIME,
            secure,
        );
        cookies.append(header::SET_COOKIE, value.parse().map_err(internal)?);
    }
    let value = set_cookie(area, LOGIN_COOKIE, None, SESSION_LIFETIME, secure);
    cookies.append(header::SET_COOKIE, value.parse().map_err(internal)?);
    Ok(response)
}

/// `POST /analyst/logout`: ends the session, whatever the account's role.
pub async fn sign_out(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    sign_out_of(Area::Analyst, state, headers, body).await
}

/// Ends the session (in every area) and sends the browser to the area's sign-in page.
pub async fn sign_out_of(
    area: Area,
    state: SharedState,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let Some((_, secret)) = signed_in(&state, &headers).await? else {
        return Ok(Redirect::to(area.login()).into_response());
    };
    let form = FormFields::parse(&body);
    if !secret.check_csrf(SESSION_FORMS, form.get("csrf").unwrap_or_default()) {
        return Err(PageError::Csrf);
    }
    state.store.end_session(&secret.digest()).await?;
    let secure = state.config.secure_cookies;
    let mut response = Redirect::to(area.login()).into_response();
    for each in Area::ALL {
        let value = set_cookie(each, SESSION_COOKIE, None, SESSION_LIFETIME, secure);
        response
            .headers_mut()
            .append(header::SET_COOKIE, value.parse().map_err(internal)?);
    }
    Ok(response)
}

/// An area's login form with a fresh login cookie.
fn login_page(
    area: Area,
    state: &SharedState,
    status: StatusCode,
    name: &str,
    error: Option<&str>,
) -> Response {
    render_login(area, state, status, name, error, None)
}

/// An area's login form, with an error or a fixed message, and a fresh login cookie.
fn render_login(
    area: Area,
    state: &SharedState,
    status: StatusCode,
    name: &str,
    error: Option<&str>,
    notice: Option<&'static str>,
) -> Response {
    let render = || -> Result<Response, PageError> {
        let secret = Secret::random().map_err(PageError::Internal)?;
        let page = LoginPage {
            header: None,
            area,
            csrf: secret.csrf_token(LOGIN_FORM),
            name,
            error,
            notice,
        };
        let cookie = login_cookie(area, &secret, state.config.secure_cookies);
        Ok((status, [(header::SET_COOKIE, cookie)], Html(page.render()?)).into_response())
    };
    render().unwrap_or_else(|e| e.into_page(area))
}

fn internal(error: axum::http::header::InvalidHeaderValue) -> PageError {
    PageError::Internal(anyhow::Error::new(error).context("making a cookie"))
}
