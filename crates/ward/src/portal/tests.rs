//! The portal through the service's router, without a socket: every language, negotiation,
//! places, filing and looking up a report, the form's problems, CSRF, the rate limit, the
//! security headers and refused uploads; and the translation files against English.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt as _;
use ward_store::{AnyStore, Store as _, UrlState};

use super::csrf::{self, CsrfKey, LIFETIME_SECONDS};
use crate::serve::{Config, SharedState, router, start};

pub(super) struct Fixture {
    pub(super) state: SharedState,
    _dir: tempfile::TempDir,
}

/// A response, its body as text.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
    pub(super) bytes: Vec<u8>,
}

impl Reply {
    pub(super) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The CSRF token the page's form carries.
    pub(super) fn form_token(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a CSRF field")
            + 19;
        self.body[start..start + self.body[start..].find('"').unwrap()].to_string()
    }

    /// The CSRF token the response sets in the cookie.
    pub(super) fn cookie_token(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("ward_csrf="))
            .map(|v| v.split(';').next().unwrap().to_string())
    }
}

/// A form's fields.
struct Fields<'a> {
    urls: &'a str,
    kind: &'a str,
    description: &'a str,
    email: &'a str,
}

const GOOD: Fields = Fields {
    urls: "https://example.com/a#top\nwww.example.org/b?x=1",
    kind: "images",
    description: "found through a link",
    email: "",
};

fn encode(fields: &Fields, token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("urls", fields.urls)
        .append_pair("kind", fields.kind)
        .append_pair("description", fields.description)
        .append_pair("email", fields.email)
        .append_pair("csrf", token)
        .finish()
}

impl Fixture {
    pub(super) async fn new() -> Fixture {
        Fixture::with(false).await
    }

    /// With `secure_cookies`: the deployment is reached over HTTPS.
    async fn with(secure_cookies: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::open(dir.path(), None).await.unwrap();
        let config = Config {
            secure_cookies,
            ..Config::default()
        };
        let state = start(store, config).await.unwrap();
        Fixture { state, _dir: dir }
    }

    /// The folder of the store's files.
    pub(super) fn dir(&self) -> &Path {
        self._dir.path()
    }

    pub(super) async fn send(&self, request: Request<Body>) -> Reply {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub(super) async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::builder().method(Method::GET).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Posts `body` as a form from the client at `peer`, with the CSRF cookie when given.
    pub(super) async fn post(
        &self,
        uri: &str,
        body: String,
        cookie: Option<&str>,
        peer: &str,
    ) -> Reply {
        self.post_as(uri, body, "application/x-www-form-urlencoded", cookie, peer)
            .await
    }

    pub(super) async fn post_as(
        &self,
        uri: &str,
        body: String,
        content_type: &str,
        cookie: Option<&str>,
        peer: &str,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("other=1; ward_csrf={token}"));
        }
        let mut request = request.body(Body::from(body)).unwrap();
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.send(request).await
    }

    /// A fresh form's token (in the cookie and the form alike).
    pub(super) async fn token(&self, uri: &str) -> String {
        let page = self.get(uri, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let token = page.form_token();
        assert_eq!(page.cookie_token().as_deref(), Some(token.as_str()));
        token
    }

    /// Files `fields` through `uri`'s form; returns the redirect's location.
    async fn file(&self, uri: &str, fields: &Fields<'_>, peer: &str) -> String {
        let token = self.token(uri).await;
        let reply = self
            .post(uri, encode(fields, &token), Some(&token), peer)
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        reply.header("location").to_string()
    }
}

/// The page's `<title>`.
pub(super) fn title(body: &str) -> &str {
    let start = body.find("<title>").expect("a title") + 7;
    &body[start..start + body[start..].find("</title>").unwrap()]
}

/// The text of the element with `id` (the first tag's content up to the next `<`).
pub(super) fn text_of<'a>(body: &'a str, id: &str) -> Option<&'a str> {
    let at = body.find(&format!("id=\"{id}\""))?;
    let start = at + body[at..].find('>')? + 1;
    Some(&body[start..start + body[start..].find('<')?])
}

/// Whether `robots` (a robots.txt of one group for every agent) lets a crawler fetch
/// `path`: the longest matching rule wins, `Allow` on a tie; `*` matches any run of
/// characters and a final `$` the end (RFC 9309).
fn robots_allow(robots: &str, path: &str) -> bool {
    fn matches(pattern: &str, path: &str) -> bool {
        match pattern.chars().next() {
            None => true,
            Some('$') if pattern.len() == 1 => path.is_empty(),
            Some('*') => (0..=path.len())
                .filter(|&i| path.is_char_boundary(i))
                .any(|i| matches(&pattern[1..], &path[i..])),
            Some(c) => {
                path.starts_with(c) && matches(&pattern[c.len_utf8()..], &path[c.len_utf8()..])
            }
        }
    }
    let mut best: Option<(usize, bool)> = None;
    for line in robots.lines() {
        let (allow, pattern) = if let Some(p) = line.strip_prefix("Allow: ") {
            (true, p)
        } else if let Some(p) = line.strip_prefix("Disallow: ") {
            (false, p)
        } else {
            continue;
        };
        if matches(pattern, path) {
            let better = match best {
                None => true,
                Some((len, was)) => pattern.len() > len || (pattern.len() == len && allow && !was),
            };
            if better {
                best = Some((pattern.len(), allow));
            }
        }
    }
    best.is_none_or(|(_, allow)| allow)
}

/// The page's `<html>` start tag.
pub(super) fn html_tag(body: &str) -> &str {
    let start = body.find("<html").unwrap();
    &body[start..start + body[start..].find('>').unwrap() + 1]
}

#[tokio::test]
async fn the_csrf_cookie_is_secure_only_in_a_secure_deployment() {
    let set_cookie = |page: &Reply| {
        page.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("ward_csrf="))
            .expect("the form sets the CSRF cookie")
            .to_string()
    };
    for (secure, ending) in [
        (false, "; HttpOnly; SameSite=Strict; Max-Age="),
        (true, "; Secure"),
    ] {
        let f = Fixture::with(secure).await;
        let page = f.get("/report", &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        let cookie = set_cookie(&page);
        assert!(
            cookie.contains("; Path=/report; HttpOnly; SameSite=Strict"),
            "{cookie}"
        );
        assert_eq!(cookie.ends_with("; Secure"), secure, "{cookie}");
        assert!(cookie.contains(ending), "{cookie}");
    }
}

#[tokio::test]
async fn every_language_renders_the_form() {
    let f = Fixture::new().await;
    for (tag, dir, send) in [
        ("en", "ltr", "Send report"),
        ("fr", "ltr", "Envoyer le signalement"),
        ("es", "ltr", "Enviar denuncia"),
        ("ar", "rtl", "إرسال البلاغ"),
        ("pt", "ltr", "Enviar denúncia"),
    ] {
        let page = f.get(&format!("/report?lang={tag}"), &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            html_tag(&page.body),
            format!("<html lang=\"{tag}\" dir=\"{dir}\">")
        );
        assert!(page.body.contains(send), "{tag}");
        assert!(
            page.header("content-type")
                .starts_with("text/html; charset=utf-8")
        );
        // Switches to every language keep the page, each named in itself.
        for (other, name) in [("en", "English"), ("ar", "العربية"), ("pt", "Português")] {
            let link =
                format!("href=\"/report?lang={other}\" lang=\"{other}\" hreflang=\"{other}\"");
            assert!(page.body.contains(&link), "{tag}: {link}");
            assert!(page.body.contains(name));
        }
        // The form posts to the page in its language; the international page lists the
        // countries' own pages.
        assert!(
            page.body
                .contains(&format!("action=\"/report?lang={tag}\""))
        );
        assert!(page.body.contains("href=\"/report/ma\""));
        // What not to do, and where else to go.
        for id in ["dont-download", "danger-call-local", "other-body"] {
            let text = super::language::find(tag).unwrap().t(id);
            assert!(
                page.body.contains(&text.replace('\'', "&#39;")),
                "{tag}: {id}"
            );
        }
        assert!(!page.body.contains("type=\"file\""));
    }
}

#[tokio::test]
async fn country_pages_speak_their_languages_arabic_right_to_left() {
    let f = Fixture::new().await;
    let page = f.get("/report/ma", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(html_tag(&page.body), "<html lang=\"ar\" dir=\"rtl\">");
    assert!(
        page.body.contains("\u{2068}19\u{2069}"),
        "Morocco's emergency number"
    );
    assert!(
        page.body
            .contains("href=\"/report/ma?lang=fr\" lang=\"fr\"")
    );
    assert!(page.body.contains("aria-current=\"true\">العربية"));
    assert!(
        !page.body.contains("hreflang=\"en\""),
        "only Morocco's languages"
    );
    // URLs and e-mail addresses stay left to right inside a right-to-left page.
    assert!(
        page.body
            .contains("id=\"urls\" name=\"urls\" rows=\"4\" dir=\"ltr\"")
    );
    let french = f.get("/report/ma?lang=fr", &[]).await;
    assert_eq!(html_tag(&french.body), "<html lang=\"fr\" dir=\"ltr\">");
    assert!(
        french
            .body
            .contains("href=\"/report?lang=fr\">Autres pays et langues")
    );
    // A language the country does not offer is not taken from the query.
    let page = f.get("/report/gb?lang=ar", &[]).await;
    assert_eq!(html_tag(&page.body), "<html lang=\"en\" dir=\"ltr\">");
}

#[tokio::test]
async fn the_browser_language_is_chosen_among_the_country_languages() {
    let f = Fixture::new().await;
    let lang = |body: &str| html_tag(body).split('"').nth(1).unwrap().to_string();
    let check = |uri: &'static str, accept: &'static str, expected: &'static str| {
        let f = &f;
        async move {
            let page = f.get(uri, &[("accept-language", accept)]).await;
            assert_eq!(lang(&page.body), expected, "{uri} {accept}");
        }
    };
    check("/report/ca", "fr-CA,en;q=0.5", "fr").await;
    check("/report/ca", "de-DE, en;q=0.1", "en").await;
    check("/report/ca", "de", "en").await;
    check("/report/ca?lang=en", "fr", "en").await;
    check("/report/ma", "en-US,fr;q=0.8", "fr").await;
    check("/report/gb", "fr", "en").await;
    check("/report", "pt-BR,pt;q=0.9", "pt").await;
    check("/report", "zh", "en").await;
    check("/report/status", "es", "es").await;
}

#[tokio::test]
async fn unknown_places_and_references_are_404_pages() {
    let f = Fixture::new().await;
    for uri in [
        "/report/zz",
        "/report/GB",
        "/report/gbr",
        "/report/zz/status",
        "/report/filed/R-0000-0000-0000",
        "/report/filed/nonsense",
        "/report/zz/filed/R-0000-0000-0000",
    ] {
        let page = f.get(uri, &[("accept-language", "fr")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.body.contains("<h1>Page introuvable</h1>"), "{uri}");
        assert!(
            page.body
                .contains("href=\"/report?lang=fr\">Aller au formulaire")
        );
    }
    let token = f.token("/report").await;
    let reply = f
        .post(
            "/report/zz",
            encode(&GOOD, &token),
            Some(&token),
            "192.0.2.1:1",
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_report_is_filed_and_looked_up_by_its_reference() {
    let f = Fixture::new().await;
    let fields = Fields {
        email: "me@example.org",
        kind: "both",
        ..GOOD
    };
    let location = f
        .file("/report/ma?lang=ar", &fields, "192.0.2.1:4000")
        .await;
    let reference = location
        .strip_prefix("/report/ma/filed/")
        .and_then(|rest| rest.strip_suffix("?lang=ar"))
        .unwrap_or_else(|| panic!("{location}"))
        .to_string();
    // In the store: its URLs, normalised, received.
    let status = f
        .state
        .store
        .report_status(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.urls,
        [
            ("https://example.com/a".to_string(), UrlState::Received),
            (
                "http://www.example.org/b?x=1".to_string(),
                UrlState::Received
            )
        ]
    );
    // What happens next, with the reference, in Arabic.
    let page = f.get(&location, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(html_tag(&page.body), "<html lang=\"ar\" dir=\"rtl\">");
    assert!(page.body.contains(&format!(
        "id=\"reference\" dir=\"ltr\">{reference}</strong>"
    )));
    let lookup = format!("/report/ma/status?reference={reference}&#38;lang=ar");
    assert!(page.body.contains(&lookup), "{}", page.body);
    // The reference as a person may type it back: lower case, no dashes.
    let typed: String = reference.to_lowercase().replace('-', "");
    let page = f
        .get(&format!("/report/ma/status?reference={typed}&lang=fr"), &[])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&reference));
    assert!(
        page.body
            .contains("<td class=\"url\"><bdi dir=\"ltr\">https://example.com/a</bdi></td>")
    );
    assert!(page.body.contains("Reçu\u{a0}: en attente de vérification"));
    // URLs are shown as text, never as links.
    assert!(!page.body.contains("href=\"https://example.com"));
    assert!(!page.body.contains("href=\"http://www.example.org"));
    // Language links keep the reference.
    assert!(page.body.contains(&format!(
        "href=\"/report/ma/status?reference={reference}&#38;lang=ar\""
    )));
}

#[tokio::test]
async fn status_lookups_say_what_is_wrong() {
    let f = Fixture::new().await;
    let empty = f.get("/report/status", &[]).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(!empty.body.contains("error-summary"));
    for (typed, status, message) in [
        (
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your reference number",
        ),
        (
            "R-12",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the reference number as it was given to you",
        ),
        (
            "R-0000-0000-0000",
            StatusCode::NOT_FOUND,
            "We could not find a report with this reference number",
        ),
    ] {
        let page = f
            .get(&format!("/report/status?reference={typed}"), &[])
            .await;
        assert_eq!(page.status, status, "{typed}");
        assert!(
            page.body
                .contains(&format!("<li><a href=\"#reference\">{message}")),
            "{typed}"
        );
        assert!(page.body.contains(&format!("value=\"{typed}\"")), "{typed}");
        assert!(page.body.contains("<title>Error: Check a report"));
    }
}

#[tokio::test]
async fn problems_keep_the_answers_and_link_from_the_summary() {
    let f = Fixture::new().await;
    let token = f.token("/report/gb").await;
    let fields = Fields {
        urls: "https://ok.example/\nftp://files.example/x",
        kind: "",
        description: "<script>alert(1)</script> & more",
        email: "not-an-address",
    };
    let reply = f
        .post(
            "/report/gb",
            encode(&fields, &token),
            Some(&token),
            "192.0.2.2:1",
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &reply.body;
    assert!(body.contains("<title>Error: Report child sexual abuse online"));
    for (anchor, message) in [
        (
            "urls",
            "Line \u{2068}2\u{2069} is not a web address you can report here",
        ),
        ("kind-images", "Select what you saw"),
        ("email", "Enter an e-mail address like name@example.com"),
    ] {
        assert!(
            body.contains(&format!("<li><a href=\"#{anchor}\">{message}")),
            "{anchor}"
        );
        assert!(body.contains(&format!("id=\"{anchor}\"")), "{anchor}");
    }
    // Each field keeps what was typed, escaped.
    assert!(body.contains(">https://ok.example/\nftp://files.example/x</textarea>"));
    assert!(body.contains(">&#60;script&#62;alert(1)&#60;/script&#62; &#38; more</textarea>"));
    assert!(body.contains("value=\"not-an-address\""));
    assert!(!body.contains("<script>alert"));
    assert!(body.contains("aria-describedby=\"urls-hint urls-error\" aria-invalid=\"true\""));
    assert!(body.contains("aria-describedby=\"kind-error\""));
    // The form can be sent again with the same token once fixed.
    assert_eq!(reply.form_token(), token);
    let fixed = Fields {
        kind: "unsure",
        email: "",
        ..fields
    };
    let fixed = Fields {
        urls: "https://ok.example/",
        ..fixed
    };
    let reply = f
        .post(
            "/report/gb",
            encode(&fixed, &token),
            Some(&token),
            "192.0.2.2:1",
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn submissions_without_the_right_token_are_refused_keeping_the_answers() {
    let f = Fixture::new().await;
    let token = f.token("/report").await;
    let now = csrf::now();
    let foreign = CsrfKey::derive(&[0; 32]).issue(now).unwrap();
    let expired = f
        .state
        .portal
        .csrf
        .issue(now - LIFETIME_SECONDS - 60)
        .unwrap();
    let other = f.token("/report").await;
    for (case, form, cookie) in [
        ("no cookie", token.as_str(), None),
        ("no token", "", Some(token.as_str())),
        ("different tokens", token.as_str(), Some(other.as_str())),
        ("another key's", foreign.as_str(), Some(foreign.as_str())),
        ("expired", expired.as_str(), Some(expired.as_str())),
    ] {
        let reply = f
            .post("/report", encode(&GOOD, form), cookie, "192.0.2.3:1")
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{case}");
        assert!(
            reply
                .body
                .contains("For your security, please send the form again"),
            "{case}"
        );
        assert!(
            reply
                .body
                .contains(">https://example.com/a#top\nwww.example.org/b?x=1</textarea>"),
            "{case}"
        );
        assert!(reply.body.contains("value=\"images\" checked"), "{case}");
        // A token to send it with: the cookie's when it holds, else a new one.
        let fresh = reply.form_token();
        assert_eq!(f.state.portal.csrf.check(&fresh, now), Ok(()), "{case}");
        let set = reply.cookie_token();
        assert_eq!(
            set.is_none(),
            cookie == Some(token.as_str()) || cookie == Some(other.as_str()),
            "{case}"
        );
    }
    // Sent again as the page says, it is filed.
    let reply = f
        .post(
            "/report",
            encode(&GOOD, &token),
            Some(&token),
            "192.0.2.3:1",
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_rate_limit_answers_429_after_the_burst() {
    let f = Fixture::new().await;
    let token = f.token("/report").await;
    let burst = f.state.portal.limiter.limits().burst;
    let a = "198.51.100.7:5000";
    for i in 0..burst {
        // Every submission counts, whatever becomes of it.
        let fields = Fields {
            kind: if i % 2 == 0 { "images" } else { "" },
            ..GOOD
        };
        let reply = f
            .post("/report", encode(&fields, &token), Some(&token), a)
            .await;
        assert_ne!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "submission {i}"
        );
    }
    let reply = f
        .post("/report", encode(&GOOD, &token), Some(&token), a)
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = reply.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(reply.body.contains("Please wait a minute"));
    assert!(
        reply
            .body
            .contains(">https://example.com/a#top\nwww.example.org/b?x=1</textarea>")
    );
    // The same client from another port is the same client; another client is not limited.
    let again = f
        .post(
            "/report",
            encode(&GOOD, &token),
            Some(&token),
            "198.51.100.7:6000",
        )
        .await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    let other = f
        .post(
            "/report",
            encode(&GOOD, &token),
            Some(&token),
            "198.51.100.8:5000",
        )
        .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    // Reading pages is not limited.
    assert_eq!(f.get("/report", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_portal_response_has_the_security_headers() {
    let f = Fixture::new().await;
    let token = f.token("/report").await;
    let mut replies = Vec::new();
    for uri in [
        "/report",
        "/report/eg",
        "/report/status",
        "/report/status?reference=x",
        "/report/zz",
        "/static/portal.css",
        "/static/portal.js",
    ] {
        replies.push((uri, f.get(uri, &[]).await));
    }
    let upload = f
        .post_as(
            "/report",
            "x".into(),
            "text/plain",
            Some(&token),
            "192.0.2.9:1",
        )
        .await;
    replies.push(("POST text", upload));
    let refused = f
        .post("/report", encode(&GOOD, "bad"), None, "192.0.2.9:1")
        .await;
    replies.push(("POST forged", refused));
    for (what, reply) in &replies {
        assert_eq!(
            reply.header("content-security-policy"),
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "{what}"
        );
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(reply.header("referrer-policy"), "no-referrer", "{what}");
        assert_eq!(reply.header("x-frame-options"), "DENY", "{what}");
        assert_eq!(
            reply.header("cross-origin-opener-policy"),
            "same-origin",
            "{what}"
        );
        assert_eq!(
            reply.header("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
            "{what}"
        );
        if what.starts_with("/static/") {
            assert_eq!(
                reply.header("cache-control"),
                "public, max-age=31536000, immutable"
            );
        } else {
            assert_eq!(reply.header("cache-control"), "no-store", "{what}");
            // No inline script or style for the policy to forbid.
            assert!(
                !reply.body.contains("<script>") && !reply.body.contains(" style="),
                "{what}"
            );
            assert!(!reply.body.contains("<style"), "{what}");
        }
    }
    // The pages link the built-in files by a version of their content.
    let page = &replies[0].1.body;
    assert!(page.contains("<link rel=\"stylesheet\" href=\"/static/portal.css?v="));
    assert!(page.contains("<script src=\"/static/portal.js?v="));
    assert!(replies[5].1.header("content-type").starts_with("text/css"));
    // The CSRF cookie goes back only to the portal, from its own pages, never to scripts.
    let form = f.get("/report", &[]).await;
    let cookie = form.header("set-cookie");
    for part in [
        "ward_csrf=",
        "; Path=/report",
        "; HttpOnly",
        "; SameSite=Strict",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // Quick exit to a neutral site, as a plain link.
    assert!(
        page.contains("id=\"quick-exit\" href=\"https://www.bbc.com/weather\" rel=\"noreferrer\"")
    );
}

#[tokio::test]
async fn uploads_are_never_taken() {
    let f = Fixture::new().await;
    let token = f.token("/report").await;
    let multipart = format!(
        "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--b\r\nContent-Disposition: form-data; name=\"urls\"\r\n\r\nhttps://example.com/\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nnot really a picture\r\n--b--\r\n"
    );
    for content_type in [
        "multipart/form-data; boundary=b",
        "application/json",
        "image/png",
    ] {
        let reply = f
            .post_as(
                "/report",
                multipart.clone(),
                content_type,
                Some(&token),
                "192.0.2.10:1",
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert!(
            reply
                .body
                .contains("<h1>This form does not take files</h1>")
        );
        assert!(reply.body.contains("Never send images or videos"));
    }
    // Too large a form is refused before it is read whole.
    let huge = encode(
        &Fields {
            description: &"a".repeat(300_000),
            ..GOOD
        },
        &token,
    );
    let reply = f.post("/report", huge, Some(&token), "192.0.2.11:1").await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The messages of a Fluent file, each with the variables it uses, read line by line as the
/// syntax defines entries: an identifier at the start of a line, then `=`; indented lines
/// continue it.
fn messages(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut messages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let starts_entry = line.starts_with(|c: char| c.is_ascii_alphabetic());
        let text = if starts_entry {
            let (id, value) = line.split_once('=').expect("an entry has a value");
            let id = id.trim().to_string();
            assert!(!messages.contains_key(&id), "{id} twice");
            messages.insert(id.clone(), BTreeSet::new());
            current = Some(id);
            value
        } else if line.starts_with(' ') {
            line
        } else {
            current = None;
            continue;
        };
        if let Some(id) = &current {
            for variable in text.split('$').skip(1) {
                let name: String = variable
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                    .collect();
                messages.get_mut(id).unwrap().insert(name);
            }
        }
    }
    messages
}

#[test]
fn every_translation_has_exactly_the_english_messages() {
    let locales = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let read = |tag: &str| std::fs::read_to_string(locales.join(tag).join("portal.ftl")).unwrap();
    let english = messages(&read("en"));
    assert!(english.len() > 50, "{}", english.len());
    let mut tags = Vec::new();
    for entry in std::fs::read_dir(&locales).unwrap() {
        let tag = entry.unwrap().file_name().into_string().unwrap();
        let text = read(&tag);
        // Fluent itself reads it without an error.
        if let Err((_, errors)) =
            fluent_templates::fluent_bundle::FluentResource::try_new(text.clone())
        {
            panic!("{tag}: {errors:?}");
        }
        let found = messages(&text);
        let missing: Vec<_> = english
            .keys()
            .filter(|id| !found.contains_key(*id))
            .collect();
        let extra: Vec<_> = found
            .keys()
            .filter(|id| !english.contains_key(*id))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{tag}: missing {missing:?}, extra {extra:?}"
        );
        for (id, variables) in &english {
            assert_eq!(&found[id], variables, "{tag}: the variables of {id}");
        }
        tags.push(tag);
    }
    tags.sort();
    // Each folder is a language the portal offers.
    let offered: BTreeSet<&str> = super::language::all().iter().map(|l| l.tag()).collect();
    assert_eq!(
        tags.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        offered
    );
    assert_eq!(tags, ["ar", "en", "es", "fr", "pt"]);
}

#[test]
fn the_message_reader_finds_ids_and_variables() {
    let found = messages(
        "# comment\n## group\nhello = Hi { $name }!\n    and { $other }\n-term = x\nbye = Bye\n",
    );
    let expected: BTreeMap<String, BTreeSet<String>> = [
        (
            "hello".to_string(),
            ["name".to_string(), "other".to_string()].into(),
        ),
        ("bye".to_string(), BTreeSet::new()),
    ]
    .into();
    assert_eq!(found, expected);
}

#[test]
fn the_robots_reader_follows_the_longest_rule() {
    let robots = "User-agent: *\nDisallow: /a\nAllow: /a/open\nDisallow: /*/secret\nAllow: /$\nDisallow: /\n";
    for (path, allowed) in [
        ("/", true),
        ("/b", false),
        ("/a", false),
        ("/a/x", false),
        ("/a/open", true),
        ("/a/open/more", true),
        ("/x/secret", false),
        ("/x/secret/y", false),
    ] {
        assert_eq!(robots_allow(robots, path), allowed, "{path}");
    }
    assert!(robots_allow("User-agent: *\n", "/anything"));
}

#[tokio::test]
async fn the_front_door_names_the_service_and_links_its_parts() {
    let f = Fixture::new().await;
    let page = f.get("/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(
        page.header("content-security-policy")
            .starts_with("default-src 'none'")
    );
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page.body.contains("<title>Ward</title>"));
    assert!(page.body.contains("<h1>Ward</h1>"));
    assert!(
        page.body
            .contains("<link rel=\"stylesheet\" href=\"/static/portal.css?v=")
    );
    // It links the portal, the analysts' sign-in, the API's document and the main routes,
    // and each of them answers.
    for href in [
        "/report",
        "/analyst/login",
        "/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/instance",
    ] {
        assert!(page.body.contains(&format!("href=\"{href}\"")), "{href}");
        let linked = f.get(href, &[]).await;
        assert_eq!(linked.status, StatusCode::OK, "{href}: {}", linked.body);
    }
    for route in ["/v1/banks", "/v1/match", "/v1/hash", "/v1/feed"] {
        assert!(
            page.body.contains(&format!("<code>{route}</code>")),
            "{route}"
        );
    }
}

#[tokio::test]
async fn slashed_paths_are_sent_to_their_pages() {
    let f = Fixture::new().await;
    for (uri, status, location) in [
        ("/report/", StatusCode::PERMANENT_REDIRECT, "/report"),
        (
            "/report/?lang=fr",
            StatusCode::PERMANENT_REDIRECT,
            "/report?lang=fr",
        ),
        ("/analyst/", StatusCode::SEE_OTHER, "/analyst/queue"),
    ] {
        let reply = f.get(uri, &[]).await;
        assert_eq!(
            (reply.status, reply.header("location")),
            (status, location),
            "{uri}"
        );
    }
    // Followed without a session, the analyst's way ends at the sign-in form.
    let queue = f.get("/analyst/queue", &[]).await;
    assert_eq!(queue.header("location"), "/analyst/login");
    let french = f.get("/report?lang=fr", &[]).await;
    assert_eq!(html_tag(&french.body), "<html lang=\"fr\" dir=\"ltr\">");
}

#[tokio::test]
async fn the_icon_and_the_robots_file_are_served() {
    let f = Fixture::new().await;
    let icon = f.get("/favicon.ico", &[]).await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.header("content-type"), "image/x-icon");
    assert_eq!(icon.bytes, super::front::draw_icon());
    assert_eq!(&icon.bytes[..4], &[0, 0, 1, 0], "an ICO file");

    let robots = f.get("/robots.txt", &[]).await;
    assert_eq!(robots.status, StatusCode::OK);
    assert_eq!(robots.header("content-type"), "text/plain; charset=utf-8");
    assert!(robots.body.contains("User-agent: *\n"));
    for (path, allowed) in [
        ("/", true),
        ("/report", true),
        ("/report/gb", true),
        ("/report/ma?lang=fr", true),
        ("/analyst", false),
        ("/analyst/", false),
        ("/analyst/login", false),
        ("/analyst/queue", false),
        ("/v1/banks", false),
        ("/v1/instance", false),
        ("/c/banks", false),
        ("/m/lookup", false),
        ("/metrics", false),
        ("/openapi.json", false),
        ("/report/filed/R-7K3M-Q9XP-2D4F", false),
        ("/report/gb/filed/R-7K3M-Q9XP-2D4F", false),
        ("/report/gb/status?reference=R-7K3M-Q9XP-2D4F", false),
        ("/static/portal.css", true),
    ] {
        assert_eq!(robots_allow(&robots.body, path), allowed, "{path}");
    }
}

#[tokio::test]
async fn country_pages_name_their_country_and_titles_say_each_part_once() {
    let f = Fixture::new().await;
    for (uri, country) in [
        ("/report/us", Some("United States")),
        ("/report/us?lang=es", Some("Estados Unidos")),
        ("/report/ma", Some("المغرب")),
        ("/report/ma?lang=fr", Some("Maroc")),
        ("/report/gb/status", Some("United Kingdom")),
        ("/report/zz", None),
        ("/report?lang=fr", None),
    ] {
        let page = f.get(uri, &[]).await;
        assert_eq!(text_of(&page.body, "place-name"), country, "{uri}");
        let title = title(&page.body);
        let parts: Vec<&str> = title.split(" – ").collect();
        let unique: BTreeSet<&str> = parts.iter().copied().collect();
        assert_eq!(parts.len(), unique.len(), "{uri}: {title}");
        if let Some(country) = country {
            assert!(parts.contains(&country), "{uri}: {title}");
        }
    }
    let us = f.get("/report/us", &[]).await;
    assert_eq!(
        title(&us.body),
        "Report child sexual abuse online – United States"
    );
    let status = f.get("/report/gb/status", &[]).await;
    assert_eq!(
        title(&status.body),
        "Check a report – United Kingdom – Report child sexual abuse online"
    );
}

#[tokio::test]
async fn the_filed_page_names_support_services_in_its_language() {
    let f = Fixture::new().await;
    for (uri, lang, named) in [
        ("/report/gb", "en", "Samaritans"),
        ("/report/us?lang=es", "es", "988"),
        ("/report/eg", "ar", "16000"),
        ("/report/ma?lang=fr", "fr", "childhelplineinternational.org"),
        ("/report?lang=pt", "pt", "childhelplineinternational.org"),
    ] {
        let location = f.file(uri, &GOOD, "192.0.2.40:1").await;
        let page = f.get(&location, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{location}");
        assert!(
            html_tag(&page.body).contains(&format!("lang=\"{lang}\"")),
            "{location}"
        );
        let support = text_of(&page.body, "support-service").unwrap_or_default();
        assert!(support.contains(named), "{location}: {support}");
    }
}
