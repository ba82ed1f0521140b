//! Who is signed in to the console, and the forms they post: [`ConsoleUser`] is the
//! extractor that gives a page the signed-in person (sending the browser to sign in when no
//! session is current, refusing the roles the console does not let in), as a
//! [`Caller`] of the API; [`Posted`] is a posted form whose CSRF token is this session's,
//! refused before anything else is read of it when it is not.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use ward_store::{Role, User};

use super::error::ConsoleError;
use crate::analyst::error::PageError;
use crate::analyst::login;
use crate::analyst::session::{Area, SESSION_FORMS, Secret, signed_in_to};
use crate::analyst::view::FormFields;
use crate::serve::SharedState;
use crate::serve::auth::{Caller, Member, may_act_as};

/// A person signed in to the console, with the secret of their session.
#[derive(Debug)]
pub struct ConsoleUser {
    pub user: User,
    pub secret: Secret,
}

impl ConsoleUser {
    /// The person as a caller of the API's handlers: their role, their organisation, their
    /// name in the audit log.
    pub fn caller(&self) -> Caller {
        Caller::of_user(&self.user)
    }

    pub fn member(&self) -> Member {
        self.caller().member()
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Whether their role may do what `roles` may (as [`may_act_as`] decides for keys).
    pub fn may(&self, roles: &[Role]) -> bool {
        may_act_as(self.user.role, roles)
    }

    /// The CSRF token of this session's forms.
    pub fn csrf(&self) -> String {
        self.secret.csrf_token(SESSION_FORMS)
    }
}

impl FromRequestParts<SharedState> for ConsoleUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<ConsoleUser, ConsoleError> {
        let (user, secret) = signed_in_to(Area::Console, state, &parts.headers).await?;
        Ok(ConsoleUser { user, secret })
    }
}

/// The signed-in person sending a form that is read another way than [`Posted`] (a
/// multipart upload, whose CSRF token [`check_csrf`] checks once read): without a session,
/// 401 rather than the sign-in page.
#[derive(Debug)]
pub struct Sender(pub ConsoleUser);

impl FromRequestParts<SharedState> for Sender {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Sender, ConsoleError> {
        ConsoleUser::from_request_parts(parts, state)
            .await
            .map(Sender)
            .map_err(ConsoleError::not_a_page)
    }
}

/// A form posted by a signed-in person with this session's CSRF token (`csrf`), as its
/// fields (`application/x-www-form-urlencoded`, bounded by the console's form limit).
#[derive(Debug)]
pub struct Posted {
    pub by: ConsoleUser,
    pub form: FormFields,
}

impl FromRequest<SharedState> for Posted {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &SharedState) -> Result<Posted, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let by = ConsoleUser::from_request_parts(&mut parts, state)
            .await
            .map_err(ConsoleError::not_a_page)?;
        let request = Request::from_parts(parts, body);
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| ConsoleError::bad_request(e.body_text()))?;
        let form = FormFields::parse(&body);
        check_csrf(&by, form.get("csrf"))?;
        Ok(Posted { by, form })
    }
}

/// Refuses a form whose CSRF token is not the session's.
pub fn check_csrf(by: &ConsoleUser, token: Option<&str>) -> Result<(), ConsoleError> {
    match token {
        Some(token) if by.secret.check_csrf(SESSION_FORMS, token) => Ok(()),
        _ => Err(PageError::Csrf.into()),
    }
}

/// `GET /admin/login?done=`: `done=password` after a password link was used.
pub async fn form(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let notice = match query.done.as_deref() {
        Some("password") => Some("Your password is set. Sign in with it."),
        _ => None,
    };
    login::form_with_notice(Area::Console, &state, &headers, notice).await
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginQuery {
    done: Option<String>,
}

/// `POST /admin/login`: one sign-in for the console and the analyst's pages.
pub async fn sign_in(
    State(state): State<SharedState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    Ok(login::sign_in_to(Area::Console, state, headers, peer, body).await?)
}

/// `POST /admin/logout`.
pub async fn sign_out(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    Ok(login::sign_out_of(Area::Console, state, headers, body).await?)
}
