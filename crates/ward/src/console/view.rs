//! What every console page shows the same way: the header (who is signed in, in which
//! organisation and role, the sections they open, the CSRF token of their forms), and the
//! API's answers read into the structs a page shows.

use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;
use ward_store::Store as _;

use super::error::ConsoleError;
use super::sections::Section;
use super::session::ConsoleUser;
use crate::serve::SharedState;
use crate::serve::error::ApiError;

/// A link of the navigation.
#[derive(Debug)]
pub struct Nav {
    pub href: &'static str,
    pub label: &'static str,
    /// The section the page is in (`aria-current`).
    pub current: bool,
}

/// The header of every console page.
#[derive(Debug)]
pub struct Header {
    pub name: String,
    pub role: &'static str,
    pub org: String,
    pub csrf: String,
    pub nav: Vec<Nav>,
}

impl Header {
    /// The header of a page of `section`, which `user` must open (403 otherwise).
    pub async fn of(
        state: &SharedState,
        user: &ConsoleUser,
        section: Section,
    ) -> Result<Header, ConsoleError> {
        opens(user, section)?;
        let org = state
            .store
            .org(user.user.org)
            .await?
            .map_or_else(|| "?".to_owned(), |o| o.name);
        Ok(Header {
            name: user.user.name.clone(),
            role: user.user.role.name(),
            org,
            csrf: user.csrf(),
            nav: Section::ALL
                .into_iter()
                .filter(|s| s.opens(user))
                .map(|s| Nav {
                    href: s.href(),
                    label: s.label(),
                    current: s == section,
                })
                .collect(),
        })
    }
}

/// Refuses with 403 a person whose role does not open `section`.
pub fn opens(user: &ConsoleUser, section: Section) -> Result<(), ConsoleError> {
    if section.opens(user) {
        Ok(())
    } else {
        Err(ConsoleError::forbidden(format!(
            "the {} role does not open the console's {}",
            user.user.role,
            section.label().to_lowercase()
        )))
    }
}

/// An API handler's JSON answer read as `T` (the page's view of it); its refusal as the
/// page's.
pub fn answer<T: DeserializeOwned>(
    result: Result<Json<Value>, ApiError>,
) -> Result<T, ConsoleError> {
    let Json(value) = result?;
    serde_json::from_value(value)
        .map_err(|e| ConsoleError::internal(anyhow::Error::new(e).context("reading an API answer")))
}
