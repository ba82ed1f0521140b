//! The safe fetcher: gets what a reported URL serves without letting the URL reach inside
//! the hotline's network (SSRF).
//!
//! Only `http` and `https` URLs without credentials are fetched. The host is checked as the
//! URL gives it (an IP literal in any of its forms, which the URL parser normalises) and,
//! for a name, resolved once: every address it resolves to must be public
//! ([`address::is_public`]), and the connection is pinned to exactly those addresses, so a
//! second, different answer cannot slip in between the check and the connection. Redirects
//! are followed by hand, each one checked the same way, up to a limit; the whole fetch has a
//! time limit and the body a size limit; no cookies are kept and no proxy is used.
//!
//! The only exception is `FetchConfig::allow`: exact `address:port` pairs that may be
//! reached although they are not public. Tests allow their one loopback server; a
//! production configuration never needs it.

pub mod address;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use url::Host;

/// Why a URL was not fetched, or its fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("not a URL: {0}")]
    NotUrl(String),
    #[error("only http and https URLs are fetched, not {0}:")]
    Scheme(String),
    #[error("a URL with a user name or password is not fetched")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error("{host} is not a public address ({address}); refused")]
    NotPublic { host: String, address: IpAddr },
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("a redirect without a usable Location")]
    BadRedirect,
    #[error("the answer is larger than {0} bytes")]
    TooLarge(u64),
    #[error("no memory to hold an answer of {0} bytes")]
    NoRoom(u64),
    #[error("no complete answer within {0:?}")]
    TimedOut(Duration),
    #[error("{0}")]
    Http(String),
}

impl FetchError {
    /// Whether the URL was refused by the guard (as opposed to a failure of the host).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FetchError::NotUrl(_)
                | FetchError::Scheme(_)
                | FetchError::Credentials
                | FetchError::NoHost
                | FetchError::NotPublic { .. }
        )
    }
}

/// The fetcher's limits.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// The most bytes of a body read (larger answers fail).
    pub max_bytes: u64,
    /// The whole fetch, redirects included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_redirects: usize,
    /// `address:port` pairs that may be reached although they are not public (tests only).
    pub allow: Vec<SocketAddr>,
}

impl Default for FetchConfig {
    fn default() -> FetchConfig {
        FetchConfig {
            max_bytes: 64 << 20,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_redirects: 5,
            allow: Vec::new(),
        }
    }
}

/// The future a [`Resolve`] returns.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Resolves a host name to addresses (the system's resolver, or a test's).
pub trait Resolve: Send + Sync {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a>;
}

/// The system's resolver (getaddrinfo, through tokio).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a> {
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host, port)).await?;
            Ok(addresses.map(|a| a.ip()).collect())
        })
    }
}

/// Memory for a body as it arrives (the service's hashing budget): the fetcher asks for
/// room before it holds more bytes, and fails the fetch when it gets none.
pub trait Room: Send {
    /// Makes room for `bytes` in all; `false` when there is none.
    fn grow_to(&mut self, bytes: u64) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
}

/// No budget: room for anything within the fetcher's own size limit.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Unbounded;

#[cfg(test)]
impl Room for Unbounded {
    fn grow_to(&mut self, _: u64) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(std::future::ready(true))
    }
}

/// What a URL served.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Where the body came from, after redirects.
    pub url: Url,
    /// The URLs redirected through, in order (the first is the one asked for).
    pub redirects: Vec<Url>,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// The addresses the last host stood for (what the connection was pinned to): where the
    /// body is hosted.
    pub addresses: Vec<IpAddr>,
}

/// Fetches URLs under the guard.
#[derive(Clone)]
pub struct Fetcher {
    config: FetchConfig,
    resolver: Arc<dyn Resolve>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Fetcher {
        Fetcher::with_resolver(config, Arc::new(SystemResolver))
    }

    pub fn with_resolver(config: FetchConfig, resolver: Arc<dyn Resolve>) -> Fetcher {
        Fetcher { config, resolver }
    }

    /// Fetches `url`, following redirects under the guard.
    #[cfg(test)]
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        self.fetch_into(url, &mut Unbounded).await
    }

    /// Fetches `url`, following redirects under the guard, holding its body only in the
    /// `room` given.
    pub async fn fetch_into(&self, url: &str, room: &mut dyn Room) -> Result<Fetched, FetchError> {
        let limit = self.config.timeout;
        tokio::time::timeout(limit, self.fetch_within(url, room))
            .await
            .map_err(|_| FetchError::TimedOut(limit))?
    }

    async fn fetch_within(&self, url: &str, room: &mut dyn Room) -> Result<Fetched, FetchError> {
        let mut url = Url::parse(url.trim()).map_err(|e| FetchError::NotUrl(e.to_string()))?;
        let mut redirects = Vec::new();
        loop {
            let (client, addresses) = self.client_for(&url).await?;
            let mut response = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| FetchError::Http(describe(&e)))?;
            let status = response.status();
            if status.is_redirection() && response.headers().contains_key(LOCATION) {
                if redirects.len() == self.config.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.config.max_redirects));
                }
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::BadRedirect)?;
                redirects.push(std::mem::replace(&mut url, next));
                continue;
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let max = self.config.max_bytes;
            if response.content_length().is_some_and(|n| n > max) {
                return Err(FetchError::TooLarge(max));
            }
            // Room for the declared length at once, else as the body grows.
            let mut body: Vec<u8> = Vec::new();
            if let Some(length) = response.content_length() {
                if !room.grow_to(length).await {
                    return Err(FetchError::NoRoom(length));
                }
                body.reserve_exact(length as usize);
            }
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| FetchError::Http(describe(&e)))?
            {
                let needed = body.len() as u64 + chunk.len() as u64;
                if needed > max {
                    return Err(FetchError::TooLarge(max));
                }
                if needed > body.capacity() as u64 {
                    let capacity = needed
                        .max(2 * body.capacity() as u64)
                        .max(64 << 10)
                        .min(max);
                    if !room.grow_to(capacity).await {
                        return Err(FetchError::NoRoom(capacity));
                    }
                    body.reserve_exact(capacity as usize - body.len());
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Fetched {
                url,
                redirects,
                status: status.as_u16(),
                content_type,
                body,
                addresses,
            });
        }
    }

    /// Checks `url` and makes a client that can reach only the addresses checked; returns
    /// it with those addresses.
    async fn client_for(&self, url: &Url) -> Result<(reqwest::Client, Vec<IpAddr>), FetchError> {
        let (admitted, addresses) = self.admit(url).await?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.config.connect_timeout)
            .user_agent(concat!("ward/", env!("CARGO_PKG_VERSION"), " (hotline)"));
        if let Some((name, addresses)) = &admitted {
            builder = builder.resolve_to_addrs(name, addresses);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Http(format!("making the HTTP client: {e}")))?;
        Ok((client, addresses))
    }

    /// The guard: the scheme, the credentials and every address the host stands for. For a
    /// name, returns it with the addresses it resolved to, which the connection must use;
    /// and the host's addresses in any case.
    async fn admit(
        &self,
        url: &Url,
    ) -> Result<(Option<(String, Vec<SocketAddr>)>, Vec<IpAddr>), FetchError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(FetchError::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Credentials);
        }
        let port = url.port_or_known_default().ok_or(FetchError::NoHost)?;
        let host = url.host().ok_or(FetchError::NoHost)?;
        let (name, addresses) = match host {
            Host::Ipv4(v4) => (None, vec![IpAddr::V4(v4)]),
            Host::Ipv6(v6) => (None, vec![IpAddr::V6(v6)]),
            Host::Domain(name) => {
                let addresses = self.resolver.resolve(name, port).await.map_err(|e| {
                    FetchError::Unresolved {
                        host: name.to_owned(),
                        reason: e.to_string(),
                    }
                })?;
                if addresses.is_empty() {
                    return Err(FetchError::Unresolved {
                        host: name.to_owned(),
                        reason: "no addresses".into(),
                    });
                }
                (Some(name.to_owned()), addresses)
            }
        };
        // Every address, not just one: a name with one private address among public ones
        // could be connected to the private one.
        for address in &addresses {
            let allowed = self.config.allow.contains(&SocketAddr::new(*address, port));
            if !address::is_public(*address) && !allowed {
                return Err(FetchError::NotPublic {
                    host: url.host_str().unwrap_or_default().to_owned(),
                    address: *address,
                });
            }
        }
        let pinned = name.map(|name| {
            let pinned = addresses
                .iter()
                .map(|a| SocketAddr::new(*a, port))
                .collect();
            (name, pinned)
        });
        Ok((pinned, addresses))
    }
}

/// A reqwest error with its causes (reqwest's own message says little).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
