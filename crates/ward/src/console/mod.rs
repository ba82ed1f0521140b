//! The administration console under `/admin`: the deployment's health at a glance, banks and
//! their content, a match tester, organisations, people and keys, exchanges and partners,
//! the audit log and hosts' contacts, in the browser, for the roles that may see or manage
//! each ([`sections`]).
//!
//! The console is a skin over the API: a page reads and a form changes through the same
//! handlers as `/v1` (and HMA's exchange routes), called as the signed-in person
//! ([`Caller::of_user`](crate::serve::auth::Caller::of_user)), so what a person may see and
//! do is what a key of their role and organisation may, decided in the same place, and
//! every change is in the audit log under their name. Pages are made on the server and work
//! without JavaScript (the script only adds a file drop and confirmations); every answer
//! carries the analyst's pages' strict Content-Security-Policy and is never cached; every
//! form carries the session's CSRF token, and one without it is refused. One sign-in opens
//! the console and the analyst's pages ([`crate::analyst::session::Area`]).

mod assets;
mod audit;
mod banks;
#[cfg(test)]
mod banks_tests;
mod contacts;
mod content;
mod error;
mod exchanges;
#[cfg(test)]
mod exchanges_tests;
mod overview;
// People, keys and organisations (issue 20's `console-people` part).
mod orgs;
mod people;
pub mod sections;
mod session;
mod tester;
mod view;
mod welcome;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::serve::SharedState;

/// The largest form accepted (a description or a list of hashes pasted into the match
/// tester is the longest field); file uploads have their own bounds.
pub const FORM_LIMIT: usize = 256 << 10;

/// The console's routes, with their security headers.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin", get(overview::page))
        .route("/admin/login", get(session::form).post(session::sign_in))
        .route("/admin/logout", post(session::sign_out))
        .route(
            "/admin/match",
            get(tester::form)
                .post(tester::test)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/admin/static/console.css", get(assets::css))
        .route("/admin/static/console.js", get(assets::js))
        // Banks and their content.
        .route("/admin/banks", get(banks::list).post(banks::create))
        .route("/admin/banks/{id}", get(banks::page).post(banks::update))
        .route("/admin/banks/{id}/delete", post(banks::delete))
        .route(
            "/admin/banks/{id}/import",
            // A file, bounded by the upload limit as it is read.
            post(banks::import).layer(DefaultBodyLimit::disable()),
        )
        .route("/admin/banks/{id}/export", get(banks::export))
        .route("/admin/content/{id}", get(content::page))
        .route("/admin/content/{id}/enabled", post(content::set_enabled))
        .route("/admin/content/{id}/categories", post(content::assess))
        .route("/admin/content/{id}/remove", post(content::remove))
        .route("/admin/content/{id}/opinion", post(content::opinion))
        // Organisations, people and keys, and the password links' page.
        .route("/admin/orgs", get(orgs::page).post(orgs::create))
        .route("/admin/people", get(people::page))
        .route("/admin/people/users", post(people::create_user))
        .route(
            "/admin/people/users/{id}/disabled",
            post(people::set_disabled),
        )
        .route(
            "/admin/people/users/{id}/password-link",
            post(people::password_link),
        )
        .route("/admin/people/keys", post(people::create_key))
        .route("/admin/people/keys/{id}/revoke", post(people::revoke_key))
        .route(
            "/admin/welcome/{secret}",
            get(welcome::form).post(welcome::choose),
        )
        // Exchanges and partners, the audit log, hosts' contacts.
        .route(
            "/admin/exchanges",
            get(exchanges::list).post(exchanges::create),
        )
        .route("/admin/exchanges/{id}", get(exchanges::page))
        .route(
            "/admin/exchanges/{id}/enabled",
            post(exchanges::set_enabled),
        )
        .route("/admin/exchanges/{id}/fetch", post(exchanges::fetch_now))
        .route(
            "/admin/exchanges/{id}/credentials",
            post(exchanges::set_credentials),
        )
        .route("/admin/exchanges/{id}/delete", post(exchanges::delete))
        .route("/admin/audit", get(audit::page))
        .route("/admin/audit.csv", get(audit::csv))
        .route("/admin/contacts", get(contacts::page).post(contacts::set))
        .route("/admin/contacts/{pattern}/remove", post(contacts::remove))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(axum::middleware::map_response(
            crate::analyst::security_headers,
        ))
}

#[cfg(test)]
mod tests;
