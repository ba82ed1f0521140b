//! Who may call what, and organisations kept apart, through the router (and a real listening
//! server), on SQLite and PostgreSQL.
//!
//! - The role matrix: every route the routers register (read from the router itself, so
//!   it cannot drift), with the roles that may call it. A route without an entry fails the
//!   test, and so does an entry without a route; each role's answer is checked against its
//!   entry, and every `/v1` and HMA route's roles against README.md's route table and the
//!   OpenAPI document.
//! - Organisations apart: each role of organisation B against A's private bank, content,
//!   series, series decisions, feed, export, referral, audit log and figures: refused (404
//!   for what B may not see, 403 for what its role may not do) or empty of A's.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use ward_store::{Actor, OrgId, Role, Store as _};

use super::tests::{Fixture, multipart_named};

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/// 128 bits from `PDQ`: another series.
const PDQ_FAR: &str = "07070f311f0b57b0f9c8f5ddfc709c0fb36e2ed596621e1d33e6b39c4e9c9b22";
const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

const ALL: &[Role] = &[
    Role::Admin,
    Role::OrgAdmin,
    Role::Curator,
    Role::Analyst,
    Role::Platform,
    Role::Auditor,
];

/// What a request carries.
#[derive(Clone, Debug)]
enum Req {
    None,
    Json(Value),
    Csv(&'static str),
    /// A PNG in a multipart part of this name.
    Media(&'static str),
}

impl Req {
    fn body(&self, role: Role) -> (Body, String) {
        match self {
            Req::None => (Body::empty(), String::new()),
            Req::Json(value) => (
                Body::from(fill_role(&value.to_string(), role)),
                "application/json".into(),
            ),
            Req::Csv(text) => (Body::from(*text), "text/csv".into()),
            Req::Media(field) => multipart_named(&textured_png(), field),
        }
    }
}

/// A benign picture with enough detail for a PDQ hash of quality 50 or more (blocks of
/// grey from a fixed pseudo-random sequence), which HMA's content route needs.
fn textured_png() -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    let mut levels = [0u8; 64];
    for level in &mut levels {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *level = (state >> 24) as u8;
    }
    let image = image::RgbImage::from_fn(128, 128, |x, y| {
        let v = levels[((y / 16) * 8 + x / 16) as usize];
        image::Rgb([v, v, v])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn fill_role(text: &str, role: Role) -> String {
    text.replace("{role}", role.name())
        .replace("{ROLE}", &role.name().to_ascii_uppercase())
}

/// Who may call a route.
#[derive(Clone, Debug)]
enum Access {
    /// Anyone, without a key: answers `ok`.
    Public { uri: String, ok: StatusCode },
    /// A bearer key of one of `roles` (admins always): `uri` with `body` answers one of
    /// `ok`; any other role gets 403, and no key or a wrong one 401.
    Key {
        roles: &'static [Role],
        uri: String,
        body: Req,
        ok: &'static [StatusCode],
    },
    /// A person signed in to the console, of each role of organisation A in turn: the roles
    /// that open the page and may do what it does (`roles`, as `may_act_as` reads them;
    /// platforms' accounts never open the console) get one of `ok`, the others 403. A form
    /// (`form`, `None` for a GET) is sent with the session's CSRF token; without it, a role
    /// that may is refused with 403. Without a session, a page sends the browser to sign in
    /// and a form gets 401.
    Console {
        roles: &'static [Role],
        uri: String,
        form: Option<Vec<(&'static str, String)>>,
        ok: &'static [StatusCode],
        /// The form is sent as `multipart/form-data` (a form with a file input).
        multipart: bool,
    },
    /// A user signed in to the analyst's pages (analysts, curators and admins; the pages
    /// check roles themselves, see `analyst::tests`): without a session, the sign-in page
    /// (a page) or 401 (anything else).
    Session { uri: String },
    /// A partner hotline's request signed with its instance key (`crate::forwarding`):
    /// without a signature, and with any role's key, 401 (see `serve::forwarding_tests`
    /// for partners' signed requests).
    Partner { uri: String },
}

/// One entry of the matrix: a method on a route as the router registers it.
#[derive(Clone, Debug)]
struct Entry {
    method: Method,
    route: &'static str,
    access: Access,
}

fn key(
    method: Method,
    route: &'static str,
    roles: &'static [Role],
    uri: impl Into<String>,
    body: Req,
    ok: &'static [StatusCode],
) -> Entry {
    Entry {
        method,
        route,
        access: Access::Key {
            roles,
            uri: uri.into(),
            body,
            ok,
        },
    }
}

fn public(method: Method, route: &'static str, uri: &str, ok: StatusCode) -> Entry {
    Entry {
        method,
        route,
        access: Access::Public {
            uri: uri.into(),
            ok,
        },
    }
}

fn partner(method: Method, route: &'static str, uri: &str) -> Entry {
    Entry {
        method,
        route,
        access: Access::Partner { uri: uri.into() },
    }
}

fn session(method: Method, route: &'static str, uri: &str) -> Entry {
    Entry {
        method,
        route,
        access: Access::Session { uri: uri.into() },
    }
}

/// A console page (GET) or form (POST with `form`): see [`Access::Console`].
fn console(
    method: Method,
    route: &'static str,
    roles: &'static [Role],
    uri: impl Into<String>,
    form: &[(&'static str, &str)],
    ok: &'static [StatusCode],
) -> Entry {
    let form = (method != Method::GET).then(|| {
        form.iter()
            .map(|(name, value)| (*name, (*value).to_owned()))
            .collect()
    });
    Entry {
        method,
        route,
        access: Access::Console {
            roles,
            uri: uri.into(),
            form,
            ok,
            multipart: false,
        },
    }
}

/// A console form sent as `multipart/form-data`: see [`console`].
fn console_upload(
    route: &'static str,
    roles: &'static [Role],
    uri: impl Into<String>,
    form: &[(&'static str, &str)],
    ok: &'static [StatusCode],
) -> Entry {
    let mut entry = console(Method::POST, route, roles, uri, form, ok);
    if let Access::Console { multipart, .. } = &mut entry.access {
        *multipart = true;
    }
    entry
}

/// The console's entries: its sign-in, its static files, and each page and form with the
/// roles of its section (`console::sections`) and of what it does.
fn console_matrix(t: &Targets) -> Vec<Entry> {
    use Method as M;
    use Role::*;
    use StatusCode as S;
    const EVERYONE: &[Role] = &[Curator, Analyst, Auditor];
    const MATCHERS: &[Role] = super::matching::MATCHERS;
    vec![
        public(M::GET, "/admin/login", "/admin/login", S::OK),
        // Without the login form's cookie: the form is refused.
        public(M::POST, "/admin/login", "/admin/login", S::FORBIDDEN),
        public(M::POST, "/admin/logout", "/admin/logout", S::SEE_OTHER),
        public(
            M::GET,
            "/admin/static/console.css",
            "/admin/static/console.css",
            S::OK,
        ),
        public(
            M::GET,
            "/admin/static/console.js",
            "/admin/static/console.js",
            S::OK,
        ),
        console(M::GET, "/admin", EVERYONE, "/admin", &[], &[S::OK]),
        console(
            M::GET,
            "/admin/match",
            MATCHERS,
            "/admin/match",
            &[],
            &[S::OK],
        ),
        console_upload(
            "/admin/match",
            MATCHERS,
            "/admin/match",
            &[("hashes", PDQ), ("bypass", "1")],
            &[S::OK],
        ),
        // Banks and their content: every console role sees the banks; the API decides
        // the rest (`serve::api`).
        console(
            M::GET,
            "/admin/banks",
            EVERYONE,
            "/admin/banks",
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/banks",
            &[Curator],
            "/admin/banks",
            &[("name", "CONSOLE_{ROLE}")],
            &[S::SEE_OTHER],
        ),
        console(
            M::GET,
            "/admin/banks/{id}",
            EVERYONE,
            format!("/admin/banks/{}", t.bank),
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/banks/{id}",
            &[Curator],
            "/admin/banks/{bank_target}",
            &[("name", "RENAMED_{ROLE}"), ("distance", "30")],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/banks/{id}/delete",
            &[Curator],
            "/admin/banks/{bank_target}/delete",
            &[],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/banks/{id}/import",
            &[Curator],
            "/admin/banks/{bank_target}/import",
            &[("format", "csv")],
            &[S::OK],
        ),
        console(
            M::GET,
            "/admin/banks/{id}/export",
            &[Curator, Analyst],
            format!("/admin/banks/{}/export?format=csv", t.bank),
            &[],
            &[S::OK],
        ),
        console(
            M::GET,
            "/admin/content/{id}",
            &[Curator, Analyst],
            format!("/admin/content/{}", t.content),
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/content/{id}/enabled",
            &[Curator],
            "/admin/content/{content_target}/enabled",
            &[("enabled", "false")],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/content/{id}/categories",
            &[Curator, Analyst],
            "/admin/content/{content_target}/categories",
            &[("age_group", "pubescent"), ("activity", "other_indecent")],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/content/{id}/remove",
            &[Curator],
            "/admin/content/{content_target}/remove",
            &[],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/content/{id}/opinion",
            &[Curator, Analyst],
            "/admin/content/{content_target}/opinion",
            &[("opinion", "confirm")],
            &[S::SEE_OTHER],
        ),
        // Organisations, people and keys (the console-people part).
        console(
            M::GET,
            "/admin/orgs",
            &[Admin],
            "/admin/orgs",
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/orgs",
            &[Admin],
            "/admin/orgs",
            &[("name", "Matrix org {role}")],
            &[S::SEE_OTHER],
        ),
        console(
            M::GET,
            "/admin/people",
            &[OrgAdmin],
            "/admin/people",
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/people/users",
            &[OrgAdmin],
            "/admin/people/users",
            &[("name", "matrix account {role}"), ("role", "analyst")],
            &[S::CREATED],
        ),
        console(
            M::POST,
            "/admin/people/users/{id}/disabled",
            &[OrgAdmin],
            "/admin/people/users/{user_target}/disabled",
            &[("disabled", "true")],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/people/users/{id}/password-link",
            &[OrgAdmin],
            "/admin/people/users/{user_target}/password-link",
            &[],
            &[S::CREATED],
        ),
        console(
            M::POST,
            "/admin/people/keys",
            &[OrgAdmin],
            "/admin/people/keys",
            &[("role", "platform"), ("label", "matrix")],
            &[S::CREATED],
        ),
        console(
            M::POST,
            "/admin/people/keys/{id}/revoke",
            &[OrgAdmin],
            "/admin/people/keys/{key_target}/revoke",
            &[],
            &[S::SEE_OTHER],
        ),
        // A password link's page is public; an unknown link is not found, and its form is
        // refused without the cookie of the page that showed it.
        public(
            M::GET,
            "/admin/welcome/{secret}",
            "/admin/welcome/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            S::NOT_FOUND,
        ),
        public(
            M::POST,
            "/admin/welcome/{secret}",
            "/admin/welcome/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            S::FORBIDDEN,
        ),
        // Exchanges and partners, the audit log, hosts' contacts.
        console(
            M::GET,
            "/admin/exchanges",
            &[Curator, Analyst],
            "/admin/exchanges?new=file",
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/exchanges",
            &[Curator],
            "/admin/exchanges",
            &[
                ("api", "file"),
                ("bank", "CONSOLE_FILE_{ROLE}"),
                ("cfg.url", "https://lists.example.org/list.csv"),
                ("cfg.format", "csv"),
            ],
            &[S::SEE_OTHER],
        ),
        console(
            M::GET,
            "/admin/exchanges/{id}",
            &[Curator, Analyst],
            "/admin/exchanges/{exchange_target}",
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/exchanges/{id}/enabled",
            &[Curator],
            "/admin/exchanges/{exchange_target}/enabled",
            &[("enabled", "false")],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/exchanges/{id}/fetch",
            &[Curator],
            "/admin/exchanges/{exchange_target}/fetch",
            &[],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/exchanges/{id}/credentials",
            &[Curator],
            "/admin/exchanges/{exchange_target}/credentials",
            &[("cred.user", "u"), ("cred.password", "p")],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/exchanges/{id}/delete",
            &[Curator],
            "/admin/exchanges/{exchange_target}/delete",
            &[],
            &[S::SEE_OTHER],
        ),
        console(
            M::GET,
            "/admin/audit",
            &[Auditor],
            "/admin/audit?action=bank.&from=2020-01-01",
            &[],
            &[S::OK],
        ),
        console(
            M::GET,
            "/admin/audit.csv",
            &[Auditor],
            "/admin/audit.csv?actor=cli:",
            &[],
            &[S::OK],
        ),
        console(
            M::GET,
            "/admin/contacts",
            &[],
            "/admin/contacts",
            &[],
            &[S::OK],
        ),
        console(
            M::POST,
            "/admin/contacts",
            &[],
            "/admin/contacts",
            &[
                ("pattern", "console-{role}.example"),
                ("email", "abuse@example.org"),
            ],
            &[S::SEE_OTHER],
        ),
        console(
            M::POST,
            "/admin/contacts/{pattern}/remove",
            &[],
            "/admin/contacts/{contact_target}/remove",
            &[],
            &[S::SEE_OTHER],
        ),
    ]
}

/// Ids of organisation A's things that the matrix's requests name.
struct Targets {
    bank: i64,
    content: i64,
    series: i64,
    other_series: i64,
    decision: i64,
}

/// The matrix. `{bank_target}`, `{content_target}`, `{name_target}`, `{key_target}` and
/// `{user_target}` are replaced by a fresh bank, item, HMA bank name, key or account for
/// each request (the request consumes it).
fn matrix(t: &Targets) -> Vec<Entry> {
    use Method as M;
    use Role::*;
    use StatusCode as S;
    let (bank, content, series) = (t.bank, t.content, t.series);
    let ok = &[S::OK][..];
    let readers: &[Role] = &[Curator, Analyst];
    let matchers: &[Role] = &[Platform, Curator, Analyst];
    let series_readers: &[Role] = &[Analyst, Curator, Auditor];
    let figures: &[Role] = &[Auditor, Analyst, Curator];
    let decided: &[StatusCode] = &[S::OK, S::CONFLICT, S::ACCEPTED];
    vec![
        // The /v1 API.
        key(M::GET, "/v1/banks", ALL, "/v1/banks", Req::None, ok),
        key(
            M::POST,
            "/v1/banks",
            &[Curator],
            "/v1/banks",
            Req::Json(json!({"name": "NEW_{role}"})),
            &[S::CREATED],
        ),
        key(
            M::GET,
            "/v1/banks/{id}",
            ALL,
            format!("/v1/banks/{bank}"),
            Req::None,
            ok,
        ),
        key(
            M::PATCH,
            "/v1/banks/{id}",
            &[Curator],
            format!("/v1/banks/{bank}"),
            Req::Json(json!({"distance": 30})),
            ok,
        ),
        key(
            M::DELETE,
            "/v1/banks/{id}",
            &[Curator],
            "/v1/banks/{bank_target}",
            Req::None,
            &[S::NO_CONTENT],
        ),
        key(
            M::GET,
            "/v1/banks/{id}/content",
            readers,
            format!("/v1/banks/{bank}/content"),
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/v1/banks/{id}/content",
            &[Curator],
            format!("/v1/banks/{bank}/content"),
            Req::Json(json!({"signals": [{"signal_type": "md5", "signal": MD5}]})),
            &[S::CREATED],
        ),
        key(
            M::POST,
            "/v1/banks/{id}/signals",
            &[Curator],
            format!("/v1/banks/{bank}/signals"),
            Req::Csv("signal_type,signal\nmd5,0123456789abcdef0123456789abcdef\n"),
            ok,
        ),
        key(
            M::POST,
            "/v1/banks/{id}/import",
            &[Curator],
            format!("/v1/banks/{bank}/import?format=csv"),
            Req::Csv("signal_type,signal,id\nmd5,00112233445566778899aabbccddeeff,m-1\n"),
            ok,
        ),
        key(
            M::GET,
            "/v1/banks/{id}/export",
            readers,
            format!("/v1/banks/{bank}/export?format=hma"),
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/content/{id}",
            readers,
            format!("/v1/content/{content}"),
            Req::None,
            ok,
        ),
        key(
            M::PATCH,
            "/v1/content/{id}",
            &[Curator],
            format!("/v1/content/{content}"),
            Req::Json(json!({"enabled": true})),
            ok,
        ),
        key(
            M::PATCH,
            "/v1/content/{id}",
            readers,
            format!("/v1/content/{content}"),
            Req::Json(
                json!({"categories": {"age_group": "pubescent", "activity": "lascivious_exhibition"}}),
            ),
            ok,
        ),
        key(
            M::DELETE,
            "/v1/content/{id}",
            &[Curator],
            "/v1/content/{content_target}",
            Req::None,
            &[S::NO_CONTENT],
        ),
        key(
            M::PUT,
            "/v1/content/{id}/opinion",
            readers,
            format!("/v1/content/{content}/opinion"),
            Req::Json(json!({"opinion": "confirm"})),
            ok,
        ),
        key(
            M::GET,
            "/v1/content/{id}/cybertip",
            matchers,
            format!(
                "/v1/content/{content}/cybertip?first_name=Test&url=https://example.invalid/page"
            ),
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/content/{id}/referral",
            readers,
            format!("/v1/content/{content}/referral?format=vics"),
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/v1/referrals",
            readers,
            "/v1/referrals",
            Req::Json(json!({"content": [content], "format": "json"})),
            ok,
        ),
        key(
            M::POST,
            "/v1/hash",
            matchers,
            "/v1/hash",
            Req::Media("file"),
            ok,
        ),
        key(
            M::GET,
            "/v1/match",
            matchers,
            format!("/v1/match?signal_type=pdq&signal={PDQ}"),
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/v1/match",
            matchers,
            "/v1/match",
            Req::Json(json!({"signals": [{"signal_type": "md5", "signal": MD5}]})),
            ok,
        ),
        key(
            M::POST,
            "/v1/match",
            matchers,
            "/v1/match",
            Req::Media("file"),
            ok,
        ),
        key(
            M::GET,
            "/v1/series",
            series_readers,
            "/v1/series",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/series/{id}",
            series_readers,
            format!("/v1/series/{series}"),
            Req::None,
            ok,
        ),
        key(
            M::PATCH,
            "/v1/series/{id}",
            &[Curator],
            format!("/v1/series/{series}"),
            Req::Json(json!({"victim_identified": false})),
            ok,
        ),
        key(
            M::POST,
            "/v1/series/{id}/merge",
            &[Curator],
            format!("/v1/series/{series}/merge"),
            Req::Json(json!({"with": t.other_series})),
            decided,
        ),
        key(
            M::POST,
            "/v1/series/{id}/split",
            &[Curator],
            format!("/v1/series/{series}/split"),
            Req::Json(json!({"content": [content]})),
            decided,
        ),
        key(
            M::GET,
            "/v1/series/{id}/referral",
            readers,
            format!("/v1/series/{series}/referral"),
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/series/decisions/{id}",
            &[Curator],
            format!("/v1/series/decisions/{}", t.decision),
            Req::None,
            ok,
        ),
        key(M::GET, "/v1/audit", &[Auditor], "/v1/audit", Req::None, ok),
        // Hosts' contacts: admins only.
        key(M::GET, "/v1/contacts", &[], "/v1/contacts", Req::None, ok),
        key(
            M::PUT,
            "/v1/contacts",
            &[],
            "/v1/contacts",
            Req::Json(json!({"pattern": "api-{role}.example", "webhook": "https://hooks.example.org/n"})),
            ok,
        ),
        key(
            M::DELETE,
            "/v1/contacts/{pattern}",
            &[],
            "/v1/contacts/{contact_target}",
            Req::None,
            ok,
        ),
        key(M::GET, "/v1/keys", &[OrgAdmin], "/v1/keys", Req::None, ok),
        key(
            M::POST,
            "/v1/keys",
            &[OrgAdmin],
            "/v1/keys",
            Req::Json(json!({"role": "platform", "label": "matrix"})),
            &[S::CREATED],
        ),
        key(M::GET, "/v1/users", &[OrgAdmin], "/v1/users", Req::None, ok),
        key(
            M::PATCH,
            "/v1/users/{id}",
            &[OrgAdmin],
            "/v1/users/{user_target}",
            Req::Json(json!({"disabled": true})),
            ok,
        ),
        key(
            M::POST,
            "/v1/users",
            &[OrgAdmin],
            "/v1/users",
            Req::Json(json!({"name": "matrix user {role}", "role": "analyst"})),
            &[S::CREATED],
        ),
        key(
            M::POST,
            "/v1/users/{id}/password-link",
            &[OrgAdmin],
            "/v1/users/{user_target}/password-link",
            Req::None,
            &[S::CREATED],
        ),
        key(M::GET, "/v1/orgs", &[Admin], "/v1/orgs", Req::None, ok),
        key(
            M::POST,
            "/v1/orgs",
            &[Admin],
            "/v1/orgs",
            Req::Json(json!({"name": "Matrix organisation {role}"})),
            &[S::CREATED],
        ),
        key(
            M::DELETE,
            "/v1/keys/{id}",
            &[OrgAdmin],
            "/v1/keys/{key_target}",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/statistics",
            figures,
            "/v1/statistics",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/statistics/{chart}",
            figures,
            "/v1/statistics/reports.svg",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/transparency",
            figures,
            "/v1/transparency",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/transparency/{chart}",
            figures,
            "/v1/transparency/signals.svg",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/v1/feed",
            readers,
            "/v1/feed?limit=10",
            Req::None,
            ok,
        ),
        public(M::GET, "/v1/instance", "/v1/instance", S::OK),
        // Reports that cross borders: partner hotlines' signed requests; partners kept by
        // admins; forwards read and declined by analysts.
        partner(M::GET, "/v1/forwarding", "/v1/forwarding?after=&limit=5"),
        key(
            M::GET,
            "/v1/forwarding/partners",
            &[],
            "/v1/forwarding/partners",
            Req::None,
            ok,
        ),
        key(
            M::PUT,
            "/v1/forwarding/partners/{name}",
            &[],
            "/v1/forwarding/partners/{partner_target}",
            Req::Json(json!({"countries": ["BE"], "ack_timeout_seconds": 3600})),
            ok,
        ),
        key(
            M::DELETE,
            "/v1/forwarding/partners/{name}",
            &[],
            "/v1/forwarding/partners/{partner_target}",
            Req::None,
            &[S::OK, S::NOT_FOUND],
        ),
        key(
            M::GET,
            "/v1/forwards",
            &[Analyst],
            "/v1/forwards?direction=in",
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/v1/forwards/{id}/decline",
            &[Analyst],
            "/v1/forwards/{forward_target}/decline",
            Req::Json(json!({"reason": "not hosted here"})),
            &[S::OK, S::NOT_FOUND, S::CONFLICT],
        ),
        // HMA's routes.
        public(M::GET, "/status", "/status", S::OK),
        public(M::GET, "/status/live", "/status/live", S::OK),
        key(
            M::GET,
            "/c/content_type",
            ALL,
            "/c/content_type",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/h/hash",
            matchers,
            "/h/hash?url=http://127.0.0.1:9/a.png",
            Req::None,
            &[S::BAD_REQUEST],
        ),
        key(
            M::POST,
            "/h/hash",
            matchers,
            "/h/hash",
            Req::Media("photo"),
            ok,
        ),
        key(
            M::GET,
            "/m/lookup",
            matchers,
            format!("/m/lookup?signal_type=pdq&signal={PDQ}"),
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/m/lookup",
            matchers,
            "/m/lookup",
            Req::Media("photo"),
            ok,
        ),
        key(
            M::GET,
            "/m/raw_lookup",
            matchers,
            format!("/m/raw_lookup?signal_type=pdq&signal={PDQ}"),
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/m/compare",
            matchers,
            "/m/compare",
            Req::Json(json!({"pdq": [PDQ, PDQ_FAR]})),
            ok,
        ),
        key(M::GET, "/c/banks", ALL, "/c/banks", Req::None, ok),
        key(
            M::GET,
            "/c/exchanges/apis",
            ALL,
            "/c/exchanges/apis",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/c/exchanges/api/{api}",
            ALL,
            "/c/exchanges/api/ncmec",
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/c/exchanges/api/{api}",
            &[Curator],
            "/c/exchanges/api/ncmec",
            Req::Json(json!({"credential_json": {"user": "u", "password": "p"}})),
            ok,
        ),
        key(
            M::GET,
            "/c/exchanges/api/{api}/schema",
            ALL,
            "/c/exchanges/api/ncmec/schema",
            Req::None,
            ok,
        ),
        key(M::GET, "/c/exchanges", ALL, "/c/exchanges", Req::None, ok),
        key(
            M::POST,
            "/c/exchanges",
            &[Curator],
            "/c/exchanges",
            Req::Json(json!({"bank": "EXCHANGE_{ROLE}", "api": "ncmec",
                "api_json": {"environment": "https://exttest.cybertip.org/hashsharing"}})),
            &[S::CREATED],
        ),
        key(
            M::GET,
            "/c/exchange/{name}",
            ALL,
            "/c/exchange/MATRIX_EXCHANGE",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/c/exchange/{name}/status",
            ALL,
            "/c/exchange/MATRIX_EXCHANGE/status",
            Req::None,
            ok,
        ),
        key(
            M::PUT,
            "/c/exchange/{name}",
            &[Curator],
            "/c/exchange/MATRIX_EXCHANGE",
            Req::Json(json!({"enabled": true})),
            ok,
        ),
        key(
            M::POST,
            "/c/exchange/{name}/fetch",
            &[Curator],
            "/c/exchange/MATRIX_EXCHANGE/fetch",
            Req::None,
            ok,
        ),
        key(
            M::DELETE,
            "/c/exchange/{name}",
            &[Curator],
            "/c/exchange/{name_target}",
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/c/banks",
            &[Curator],
            "/c/banks",
            Req::Json(json!({"name": "HMA_{ROLE}"})),
            &[S::CREATED],
        ),
        key(
            M::GET,
            "/c/bank/{name}",
            ALL,
            "/c/bank/MATRIX",
            Req::None,
            ok,
        ),
        key(
            M::PUT,
            "/c/bank/{name}",
            &[Curator],
            "/c/bank/MATRIX",
            Req::Json(json!({"enabled_ratio": 1.0})),
            ok,
        ),
        key(
            M::DELETE,
            "/c/bank/{name}",
            &[Curator],
            "/c/bank/{name_target}",
            Req::None,
            ok,
        ),
        key(
            M::POST,
            "/c/bank/{name}/signal",
            &[Curator],
            "/c/bank/MATRIX/signal",
            Req::Json(json!({"md5": "ffeeddccbbaa99887766554433221100"})),
            ok,
        ),
        key(
            M::POST,
            "/c/bank/{name}/content",
            &[Curator],
            "/c/bank/MATRIX/content",
            Req::Media("photo"),
            ok,
        ),
        key(
            M::GET,
            "/c/bank/{name}/content/{id}",
            readers,
            format!("/c/bank/MATRIX/content/{content}"),
            Req::None,
            ok,
        ),
        key(
            M::PUT,
            "/c/bank/{name}/content/{id}",
            &[Curator],
            format!("/c/bank/MATRIX/content/{content}"),
            Req::Json(json!({"note": "checked by {role}"})),
            ok,
        ),
        key(
            M::DELETE,
            "/c/bank/{name}/content/{id}",
            &[Curator],
            "/c/bank/{hma_item}",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/c/signal_type",
            ALL,
            "/c/signal_type",
            Req::None,
            ok,
        ),
        key(
            M::PUT,
            "/c/signal_type/{name}",
            &[],
            "/c/signal_type/pdq",
            Req::Json(json!({"enabled_ratio": 1.0})),
            &[S::NO_CONTENT],
        ),
        key(
            M::GET,
            "/c/signal_type/index",
            ALL,
            "/c/signal_type/index",
            Req::None,
            ok,
        ),
        key(
            M::GET,
            "/m/index/status",
            ALL,
            "/m/index/status",
            Req::None,
            ok,
        ),
        public(M::GET, "/site-map", "/site-map", S::OK),
        public(
            M::GET,
            "/openapi/openapi.json",
            "/openapi/openapi.json",
            S::OK,
        ),
        // Health, metrics and the document: public.
        public(M::GET, "/healthz", "/healthz", S::OK),
        public(M::GET, "/readyz", "/readyz", S::OK),
        public(M::GET, "/metrics", "/metrics", S::OK),
        public(M::GET, "/openapi.json", "/openapi.json", S::OK),
        // The analyst's pages: a session, but for signing in and the static files.
        public(M::GET, "/analyst", "/analyst", S::SEE_OTHER),
        public(M::GET, "/analyst/login", "/analyst/login", S::OK),
        // (Public, and without the login form's CSRF token, refused.)
        public(M::POST, "/analyst/login", "/analyst/login", S::FORBIDDEN),
        public(M::POST, "/analyst/logout", "/analyst/logout", S::SEE_OTHER),
        session(M::GET, "/analyst/queue", "/analyst/queue"),
        session(M::GET, "/analyst/url/{id}", "/analyst/url/1"),
        session(M::POST, "/analyst/url/{id}", "/analyst/url/1"),
        session(M::GET, "/analyst/url/{id}/reveal", "/analyst/url/1/reveal"),
        session(M::POST, "/analyst/url/{id}/reveal", "/analyst/url/1/reveal"),
        session(M::GET, "/analyst/url/{id}/media", "/analyst/url/1/media"),
        session(
            M::GET,
            "/analyst/url/{id}/keyframes",
            "/analyst/url/1/keyframes",
        ),
        session(M::POST, "/analyst/exposure", "/analyst/exposure"),
        session(M::GET, "/analyst/forwards", "/analyst/forwards"),
        session(
            M::POST,
            "/analyst/forwards/{id}/decline",
            "/analyst/forwards/1/decline",
        ),
        session(M::GET, "/analyst/series", "/analyst/series"),
        session(M::GET, "/analyst/series/{id}", "/analyst/series/0"),
        session(M::POST, "/analyst/series/{id}", "/analyst/series/0"),
        session(
            M::POST,
            "/analyst/series/{id}/merge",
            "/analyst/series/0/merge",
        ),
        session(
            M::POST,
            "/analyst/series/{id}/split",
            "/analyst/series/0/split",
        ),
        session(M::GET, "/analyst/statistics", "/analyst/statistics"),
        session(M::GET, "/analyst/statistics.csv", "/analyst/statistics.csv"),
        session(M::GET, "/analyst/transparency", "/analyst/transparency"),
        session(
            M::GET,
            "/analyst/transparency.csv",
            "/analyst/transparency.csv",
        ),
        session(
            M::GET,
            "/analyst/transparency.json",
            "/analyst/transparency.json",
        ),
        session(
            M::GET,
            "/analyst/transparency/{year}",
            "/analyst/transparency/2026",
        ),
        public(
            M::GET,
            "/analyst/static/analyst.css",
            "/analyst/static/analyst.css",
            S::OK,
        ),
        public(
            M::GET,
            "/analyst/static/analyst.js",
            "/analyst/static/analyst.js",
            S::OK,
        ),
        // The public reporting portal.
        public(M::GET, "/report", "/report", S::OK),
        // (Without a form body: the page that says the form takes no files.)
        public(M::POST, "/report", "/report", S::UNSUPPORTED_MEDIA_TYPE),
        public(M::GET, "/report/{country}", "/report/gb", S::OK),
        public(
            M::POST,
            "/report/{country}",
            "/report/gb",
            S::UNSUPPORTED_MEDIA_TYPE,
        ),
        public(M::GET, "/report/status", "/report/status", S::OK),
        public(
            M::GET,
            "/report/{country}/status",
            "/report/gb/status",
            S::OK,
        ),
        public(
            M::GET,
            "/report/filed/{reference}",
            "/report/filed/R-7K3M-Q9XP-2D4F",
            S::NOT_FOUND,
        ),
        public(
            M::GET,
            "/report/{country}/filed/{reference}",
            "/report/gb/filed/R-7K3M-Q9XP-2D4F",
            S::NOT_FOUND,
        ),
        // Self-reports: the fixture has no self-report bank, so the page says the service
        // is not offered; a POST without a form body is refused before anything is read.
        public(
            M::GET,
            "/report/{country}/self",
            "/report/gb/self",
            S::SERVICE_UNAVAILABLE,
        ),
        public(
            M::POST,
            "/report/{country}/self",
            "/report/gb/self",
            S::UNSUPPORTED_MEDIA_TYPE,
        ),
        public(
            M::GET,
            "/report/{country}/self/case",
            "/report/gb/self/case",
            S::OK,
        ),
        public(
            M::POST,
            "/report/{country}/self/case",
            "/report/gb/self/case",
            S::UNSUPPORTED_MEDIA_TYPE,
        ),
        public(M::GET, "/static/selfreport.js", "/static/selfreport.js", S::OK),
        public(M::GET, "/static/portal.css", "/static/portal.css", S::OK),
        public(M::GET, "/static/portal.js", "/static/portal.js", S::OK),
        // The service's front door.
        public(M::GET, "/", "/", S::OK),
        public(M::GET, "/report/", "/report/", S::PERMANENT_REDIRECT),
        public(M::GET, "/analyst/", "/analyst/", S::SEE_OTHER),
        public(M::GET, "/favicon.ico", "/favicon.ico", S::OK),
        public(M::GET, "/robots.txt", "/robots.txt", S::OK),
    ]
    .into_iter()
    .chain(console_matrix(t))
    .collect()
}

/// Every route the router registers, with its methods (HEAD, which axum answers for every
/// GET, left out), read from the router's own table (its `Debug` form lists each route's
/// id with its path, and each id's method router with the methods it allows). This is what
/// the router serves, so a route added anywhere (the `/v1` API, HMA's, the analyst's pages,
/// the portal) appears here without anyone listing it.
fn registered_routes(router: &axum::Router) -> BTreeMap<String, BTreeSet<String>> {
    let whole = format!("{router:?}");
    // The router's own routes; its fallback router (for unmatched paths) comes after them.
    let start = whole
        .find("path_router: PathRouter")
        .expect("the router's routes");
    let end = whole.find("fallback_router:").unwrap_or(whole.len());
    let text = &whole[start..end];
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for piece in text.split("RouteId(").skip(1) {
        let Some((id, rest)) = piece.split_once(')') else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(": ") else {
            continue;
        };
        if let Some(path) = rest.strip_prefix('"') {
            let path = &path[..path.find('"').expect("a quoted path")];
            paths.insert(id.to_owned(), path.to_owned());
        } else if rest.starts_with("MethodRouter") {
            let allowed = rest
                .split_once("allow_header: Bytes(b\"")
                .and_then(|(_, after)| after.split_once('"'))
                .map(|(list, _)| list)
                .expect("a method router lists the methods it allows");
            methods.insert(
                id.to_owned(),
                allowed
                    .split(',')
                    .filter(|m| !m.is_empty() && *m != "HEAD")
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    let routes: BTreeMap<String, BTreeSet<String>> = paths
        .into_iter()
        .map(|(id, path)| {
            let methods = methods.get(&id).cloned().unwrap_or_default();
            (path, methods)
        })
        .collect();
    // The reading must have worked: a router of Ward's size, with routes of every part.
    assert!(
        routes.len() > 60,
        "{} routes read from {text:.2000}",
        routes.len()
    );
    for path in [
        "/v1/banks",
        "/c/banks",
        "/analyst/series",
        "/report",
        "/healthz",
    ] {
        assert!(routes.contains_key(path), "{path} in {routes:?}");
    }
    assert_eq!(
        routes["/v1/banks"],
        BTreeSet::from(["GET".to_owned(), "POST".to_owned()])
    );
    routes
}

/// An NCMEC exchange of organisation A, filling a new bank `name`.
async fn exchange_of(f: &Fixture, name: &str) -> i64 {
    let bank = f.bank(name, json!({})).await;
    let exchange = f
        .state
        .store
        .create_exchange(
            &ward_store::Actor::operator("test"),
            &ward_store::NewExchange {
                api: "ncmec".into(),
                bank: ward_store::BankId(bank),
                config: r#"{"environment":"https://exttest.cybertip.org/hashsharing"}"#.into(),
                enabled: true,
            },
        )
        .await
        .unwrap();
    exchange.id.0
}

/// Sets up what the matrix's requests name: a bank of organisation A (`MATRIX`) with an
/// item in one series and another series, and a decision on the first.
async fn targets(f: &Fixture) -> Targets {
    let bank = f.bank("MATRIX", json!({})).await;
    exchange_of(f, "MATRIX_EXCHANGE").await;
    let content = f.content(bank, "pdq", PDQ).await;
    let far = f.content(bank, "pdq", PDQ_FAR).await;
    f.follow().await;
    f.state.keep_series().await.expect("a series keeper step");
    let series_of = |id: i64| async move {
        f.state
            .store
            .content_series(&[ward_store::ContentId(id)])
            .await
            .unwrap()[0]
            .1
            .id
            .0
    };
    let (series, other_series) = (series_of(content).await, series_of(far).await);
    let (status, decision) = f
        .json(
            Method::POST,
            &format!("/v1/series/{series}/split"),
            Some(f.key(Role::Curator)),
            json!({"content": [content]}),
        )
        .await;
    assert!(
        status.is_success() || status == StatusCode::CONFLICT,
        "{decision}"
    );
    Targets {
        bank,
        content,
        series,
        other_series,
        decision: decision["id"].as_i64().unwrap(),
    }
}

#[tokio::test]
async fn the_role_matrix_covers_every_route() {
    role_matrix(Fixture::new().await).await;
}

/// The same through a real listening server, over TCP.
#[tokio::test]
async fn the_role_matrix_holds_over_tcp() {
    role_matrix(Fixture::listening().await).await;
}

async fn role_matrix(f: Fixture) {
    let targets = targets(&f).await;
    let entries = matrix(&targets);
    let sessions = console_sessions(&f).await;

    // Every registered route and method has an entry, and every entry a route.
    let registered = registered_routes(&super::router(f.state.clone()));
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &entries {
        listed
            .entry(e.route.to_owned())
            .or_default()
            .insert(e.method.to_string());
    }
    for (route, methods) in &registered {
        assert_eq!(
            listed.get(route),
            Some(methods),
            "{route} ({methods:?}) is served: give every method of it an entry in the role \
             matrix (tenancy_tests.rs), and a row in README.md's route table"
        );
    }
    for route in listed.keys() {
        assert!(
            registered.contains_key(route),
            "{route} has an entry but is not served"
        );
    }

    // Each entry holds: the roles it names may call it, the others are refused.
    let mut checked = 0;
    let mut wrong = Vec::new();
    for e in &entries {
        match &e.access {
            Access::Public { uri, ok } => {
                let (status, body) = f.send(e.method.clone(), uri, None, Body::empty(), "").await;
                if status != *ok {
                    let body = body.to_string();
                    wrong.push(format!(
                        "{} {uri} without a key: {status} {:.200}",
                        e.method, body
                    ));
                }
                checked += 1;
            }
            Access::Session { uri } => {
                let (status, body) = f.send(e.method.clone(), uri, None, Body::empty(), "").await;
                let refused = if e.method == Method::GET && !uri.ends_with("media") {
                    // A page without a session: the sign-in page (or, for what is not a page,
                    // 401).
                    status == StatusCode::SEE_OTHER || status == StatusCode::UNAUTHORIZED
                } else {
                    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
                };
                if !refused {
                    let body = body.to_string();
                    wrong.push(format!(
                        "{} {uri} without a session: {status} {:.200}",
                        e.method, body
                    ));
                }
                checked += 1;
            }
            Access::Partner { uri } => {
                // Neither no key nor any role's key opens it: only a partner's signature.
                let mut keys: Vec<Option<&str>> = vec![None];
                keys.extend(ALL.iter().map(|&role| Some(f.key(role))));
                for key in keys {
                    let (status, body) =
                        f.send(e.method.clone(), uri, key, Body::empty(), "").await;
                    if status != StatusCode::UNAUTHORIZED {
                        wrong.push(format!(
                            "{} {uri} unsigned ({}): {status} {:.200}",
                            e.method,
                            if key.is_some() {
                                "with a key"
                            } else {
                                "no key"
                            },
                            body.to_string()
                        ));
                    }
                    checked += 1;
                }
            }
            Access::Console {
                roles,
                uri,
                form,
                ok,
                multipart,
            } => {
                let form = form.as_deref().map(|fields| (fields, *multipart));
                checked += console_entry(&f, &sessions, e, roles, uri, form, ok).await;
            }
            Access::Key {
                roles,
                uri,
                body,
                ok,
            } => {
                for &role in ALL {
                    let uri = fresh_targets(&f, &fill_role(uri, role), role).await;
                    let (request, content_type) = body.body(role);
                    let (status, answer) = f
                        .send(
                            e.method.clone(),
                            &uri,
                            Some(f.key(role)),
                            request,
                            &content_type,
                        )
                        .await;
                    if super::auth::may_act_as(role, roles) {
                        assert!(
                            ok.contains(&status),
                            "{} {uri} as {role}: {status} {answer}",
                            e.method
                        );
                    } else {
                        assert_eq!(
                            status,
                            StatusCode::FORBIDDEN,
                            "{} {uri} as {role}: {answer}",
                            e.method
                        );
                    }
                    checked += 1;
                }
                for secret in [None, Some("ward_not_a_key")] {
                    let (request, content_type) = body.body(Role::Admin);
                    let uri = fresh_targets(&f, &fill_role(uri, Role::Admin), Role::Admin).await;
                    let (status, _) = f
                        .send(e.method.clone(), &uri, secret, request, &content_type)
                        .await;
                    assert_eq!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "{} {uri} {secret:?}",
                        e.method
                    );
                    checked += 2;
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!(
        "role matrix: {checked} requests on {} routes",
        registered.len()
    );

    // The README's route table and HMA list name every /v1 and HMA route with its roles.
    check_readme(&entries);
    // The OpenAPI document gives the same roles.
    check_openapi(&entries, &registered);
}

/// A session of its own for each role, as people of organisation A signed in to the
/// console: the session cookie and the CSRF token of its forms.
async fn console_sessions(f: &Fixture) -> HashMap<Role, (String, String)> {
    use crate::analyst::session::{SESSION_FORMS, Secret};
    let operator = Actor::operator("test");
    let org = f.state.store.org_by_name("NGO A").await.unwrap().unwrap();
    let mut sessions = HashMap::new();
    for &role in ALL {
        let user = f
            .state
            .store
            .create_user(
                &operator,
                &ward_store::NewUser {
                    name: format!("console {role}"),
                    org: org.id,
                    role,
                    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
                },
            )
            .await
            .unwrap();
        let secret = Secret::random().unwrap();
        let expires = ward_store::Timestamp(ward_store::Timestamp::now().0 + 3_600_000);
        f.state
            .store
            .create_session(user.id, &secret.digest(), expires)
            .await
            .unwrap();
        sessions.insert(
            role,
            (secret.as_str().to_owned(), secret.csrf_token(SESSION_FORMS)),
        );
    }
    sessions
}

/// Checks a console entry for every role, without a session and (a form) without its CSRF
/// token; answers the number of requests made.
async fn console_entry(
    f: &Fixture,
    sessions: &HashMap<Role, (String, String)>,
    e: &Entry,
    roles: &[Role],
    uri: &str,
    form: Option<(&[(&'static str, String)], bool)>,
    ok: &[StatusCode],
) -> usize {
    use crate::analyst::session::{CONSOLE_ROLES, SESSION_COOKIE};
    let send = |role: Option<Role>, uri: String, csrf: bool| async move {
        let mut headers = Vec::new();
        let mut fields: Vec<(String, String)> = Vec::new();
        if let Some(role) = role {
            let (secret, token) = &sessions[&role];
            headers.push(("cookie", format!("{SESSION_COOKIE}={secret}")));
            if csrf {
                fields.push(("csrf".into(), token.clone()));
            }
        }
        let role = role.unwrap_or(Role::Admin);
        for (name, value) in form.map(|(fields, _)| fields).unwrap_or_default() {
            fields.push(((*name).to_owned(), fill_role(value, role)));
        }
        let (body, content_type) = match form {
            None => (String::new(), String::new()),
            Some((_, false)) => (
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&fields)
                    .finish(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            Some((_, true)) => {
                let boundary = "ward-console-matrix";
                let mut body = String::new();
                for (name, value) in &fields {
                    body.push_str(&format!(
                        "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                    ));
                }
                body.push_str(&format!("--{boundary}--\r\n"));
                (body, format!("multipart/form-data; boundary={boundary}"))
            }
        };
        let (status, location, bytes) = f
            .send_headers(
                e.method.clone(),
                &uri,
                &headers,
                Body::from(body),
                &content_type,
            )
            .await;
        (
            status,
            location,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    };
    let mut checked = 0;
    for &role in ALL {
        let uri = fresh_targets(f, &fill_role(uri, role), role).await;
        let (status, _, body) = send(Some(role), uri.clone(), true).await;
        let may = CONSOLE_ROLES.contains(&role) && super::auth::may_act_as(role, roles);
        if may {
            assert!(
                ok.contains(&status),
                "{} {uri} as {role}: {status} {body:.300}",
                e.method
            );
        } else {
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} {uri} as {role}: {body:.300}",
                e.method
            );
        }
        checked += 1;
        if form.is_some() && may {
            let uri = fresh_targets(f, &fill_role(&uri, role), role).await;
            let (status, _, body) = send(Some(role), uri.clone(), false).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} {uri} as {role} without the CSRF token: {body:.300}",
                e.method
            );
            assert!(body.contains("Form expired"), "{body:.300}");
            checked += 1;
        }
    }
    let uri = fresh_targets(f, &fill_role(uri, Role::Admin), Role::Admin).await;
    let (status, location, body) = send(None, uri.clone(), true).await;
    if form.is_some() {
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{} {uri}: {body:.300}",
            e.method
        );
    } else {
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{} {uri}: {body:.300}",
            e.method
        );
        assert!(
            location.is_empty() || location == "/admin/login",
            "{} {uri}: {location}",
            e.method
        );
    }
    checked + 1
}

/// Replaces the placeholders of things a request consumes with fresh ones of A's.
async fn fresh_targets(f: &Fixture, uri: &str, role: Role) -> String {
    let mut uri = uri.to_owned();
    if uri.contains("{user_target}") {
        let made = f
            .state
            .store
            .create_user(
                &ward_store::Actor::operator("test"),
                &ward_store::NewUser {
                    name: format!("user-{}", nonce()),
                    org: f
                        .state
                        .store
                        .org_by_name("NGO A")
                        .await
                        .unwrap()
                        .unwrap()
                        .id,
                    role: Role::Analyst,
                    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
                },
            )
            .await
            .unwrap();
        uri = uri.replace("{user_target}", &made.id.to_string());
    }
    if uri.contains("{key_target}") {
        let made = f
            .state
            .store
            .create_key(
                &ward_store::Actor::operator("test"),
                f.state
                    .store
                    .org_by_name("NGO A")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
                Role::Platform,
                "target",
            )
            .await
            .unwrap();
        uri = uri.replace("{key_target}", &made.key.id.to_string());
    }
    if uri.contains("{bank_target}") {
        let target = f
            .bank(&format!("DELETE_ME_{role}_{}", nonce()), json!({}))
            .await;
        uri = uri.replace("{bank_target}", &target.to_string());
    }
    if uri.contains("{content_target}") {
        let bank = f
            .bank(&format!("ITEMS_{role}_{}", nonce()), json!({}))
            .await;
        let target = f.content(bank, "md5", MD5).await;
        uri = uri.replace("{content_target}", &target.to_string());
    }
    if uri.contains("{hma_item}") {
        let name = format!("ITEMS_{}_{}", role.name().to_ascii_uppercase(), nonce());
        let bank = f.bank(&name, json!({})).await;
        let target = f.content(bank, "md5", MD5).await;
        uri = uri.replace("{hma_item}", &format!("{name}/content/{target}"));
    }
    if uri.contains("{exchange_target}") {
        let name = format!("EXCH_{}_{}", role.name().to_ascii_uppercase(), nonce());
        exchange_of(f, &name).await;
        let bank = f
            .state
            .store
            .exchanges()
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
            .bank;
        uri = uri.replace("{exchange_target}", &bank.to_string());
    }
    if uri.contains("{contact_target}") {
        let pattern = format!("gone-{}-{}.example", role.name().replace('_', "-"), nonce());
        f.state
            .store
            .set_host_contact(
                &ward_store::Actor::operator("test"),
                &pattern,
                Some("abuse@example.org"),
                None,
            )
            .await
            .unwrap();
        uri = uri.replace("{contact_target}", &pattern);
    }
    if uri.contains("{partner_target}") {
        let name = format!("PARTNER_{}_{}", role.name().to_ascii_uppercase(), nonce());
        let bank = f.bank(&name, json!({})).await;
        let exchange = f
            .state
            .store
            .create_exchange(
                &ward_store::Actor::operator("test"),
                &ward_store::NewExchange {
                    api: "ward".into(),
                    bank: ward_store::BankId(bank),
                    config: format!(
                        r#"{{"url":"https://partner.example","public_key":"{}"}}"#,
                        "ab".repeat(32)
                    ),
                    enabled: true,
                },
            )
            .await
            .unwrap();
        f.state
            .store
            .set_forwarding_partner(
                &ward_store::Actor::operator("test"),
                exchange.id,
                &ward_store::NewForwardingPartner {
                    countries: vec!["LU".into()],
                    enabled: true,
                    ack_timeout_ms: 3_600_000,
                },
            )
            .await
            .unwrap();
        uri = uri.replace("{partner_target}", &name);
    }
    if uri.contains("{forward_target}") {
        // No forward was received in the matrix's deployment: a number none has.
        uri = uri.replace("{forward_target}", "987654");
    }
    if uri.contains("{name_target}") {
        let name = format!("GONE_{}_{}", role.name().to_ascii_uppercase(), nonce());
        f.bank(&name, json!({})).await;
        uri = uri.replace("{name_target}", &name);
    }
    uri
}

fn nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The role words in a text ("curators", "platform", ...), and `all`/`anyone` as every role;
/// an organisation's administrator (`org_admin`) wherever curators are named, as it may do
/// what they may.
fn roles_named(text: &str) -> HashSet<Role> {
    let text = text.to_ascii_lowercase();
    let org_admin = text.contains("org_admin") || text.contains("org admin");
    let text = text.replace("org_admin", " ").replace("org admin", " ");
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| *w == "all" || *w == "anyone") {
        return ALL.iter().copied().collect();
    }
    let mut named: HashSet<Role> = ALL
        .iter()
        .copied()
        .filter(|role| {
            let name = role.name();
            words
                .iter()
                .any(|w| *w == name || w.strip_suffix('s') == Some(name))
        })
        .collect();
    if org_admin || named.contains(&Role::Curator) {
        named.insert(Role::OrgAdmin);
    }
    named
}

/// The roles a method on a route is open to (admins always), over its entries.
fn entry_roles(entries: &[Entry], method: &Method, route: &str) -> Option<HashSet<Role>> {
    let mut roles: Option<HashSet<Role>> = None;
    for e in entries
        .iter()
        .filter(|e| e.method == *method && e.route == route)
    {
        let set = roles.get_or_insert_with(HashSet::new);
        match &e.access {
            Access::Key { roles, .. } => {
                set.extend(
                    ALL.iter()
                        .copied()
                        .filter(|&r| super::auth::may_act_as(r, roles)),
                );
            }
            Access::Public { .. } => set.extend(ALL.iter().copied()),
            Access::Session { .. } | Access::Console { .. } | Access::Partner { .. } => {}
        }
    }
    roles
}

/// A route as documentation writes it (`/c/bank/{NAME}`, `/v1/transparency/{chart}.svg`),
/// in the router's form.
fn as_route(path: &str) -> String {
    let path = path
        .split('?')
        .next()
        .unwrap_or(path)
        .trim_end_matches('\\');
    let path = path.strip_suffix(".svg").map_or(path.to_owned(), |p| {
        if p.ends_with('}') {
            p.to_owned()
        } else {
            path.to_owned()
        }
    });
    path.to_ascii_lowercase()
}

/// `METHOD[/METHOD…] /path` mentions in backticks: (method, route).
fn mentions(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (n, piece) in text.split('`').enumerate() {
        if n % 2 == 0 {
            continue;
        }
        let Some((methods, path)) = piece.split_once(' ') else {
            continue;
        };
        if !path.starts_with('/')
            || methods.is_empty()
            || !methods
                .split('/')
                .all(|m| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m))
        {
            continue;
        }
        for method in methods.split('/') {
            found.push((method.to_owned(), as_route(path)));
        }
    }
    found
}

/// README.md's service section: its route table (each row's routes and who may call them)
/// and the HMA routes' list must name every `/v1` and HMA route of the matrix, and a table
/// row's "who" must name every role the matrix opens its routes to.
fn check_readme(entries: &[Entry]) {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("## The service: `ward serve`")
        .expect("the service section");
    let end = start
        + readme[start..]
            .find("## Reporting portal")
            .expect("the next section");
    let section = &readme[start..end];
    let mut documented: BTreeSet<(String, String)> = BTreeSet::new();
    for line in section.lines() {
        let mentioned = mentions(line);
        documented.extend(mentioned.iter().cloned());
        // A table row: | routes | who | what |.
        let cells: Vec<&str> = line.split(" | ").collect();
        if !line.starts_with("| `") || cells.len() < 3 {
            continue;
        }
        let who = roles_named(cells[1]);
        for (method, route) in mentions(cells[0]) {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let Some(roles) = entry_roles(entries, &method, &route) else {
                panic!("README.md's route table has {method} {route}, which the matrix lacks");
            };
            let missing: Vec<&Role> = roles
                .iter()
                .filter(|r| **r != Role::Admin && !who.contains(r))
                .collect();
            assert!(
                missing.is_empty(),
                "{method} {route} is open to {missing:?}, but README.md's route table says \
                 who may call it is {:?}",
                cells[1]
            );
        }
    }
    // Pages, documented with their areas (the console's in its own README section).
    let served_elsewhere = [
        "/analyst",
        "/admin",
        "/report",
        "/static/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/favicon.ico",
        "/robots.txt",
    ];
    for e in entries {
        let route = e.route.to_ascii_lowercase();
        if served_elsewhere.iter().any(|p| route.starts_with(p))
            || route == "/openapi.json"
            || route == "/"
        {
            continue;
        }
        assert!(
            documented.contains(&(e.method.to_string(), route.clone())),
            "README.md's service section does not name {} {} (documented: {documented:?})",
            e.method,
            e.route
        );
    }
}

/// Every operation of the OpenAPI document is open to the roles the matrix gives it.
fn check_openapi(entries: &[Entry], registered: &BTreeMap<String, BTreeSet<String>>) {
    let document = super::openapi::document();
    let paths = document["paths"].as_object().expect("paths");
    // Every route of the API the router serves is in the document, with each method.
    for (route, methods) in registered.iter().filter(|(r, _)| r.starts_with("/v1/")) {
        let shape = |p: &str| -> Vec<bool> { p.split('/').map(|s| s.starts_with('{')).collect() };
        let documented = paths.iter().find(|(path, _)| {
            shape(path) == shape(route)
                && path
                    .split('/')
                    .zip(route.split('/'))
                    .all(|(a, b)| a == b || (a.starts_with('{') && b.starts_with('{')))
        });
        let Some((_, operations)) = documented else {
            panic!("{route} is served but not in the OpenAPI document");
        };
        for method in methods {
            assert!(
                operations[method.to_ascii_lowercase()].is_object(),
                "{method} {route} is served but not in the OpenAPI document"
            );
        }
    }
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let route = matrix_route(entries, &method, path)
                .unwrap_or_else(|| panic!("OpenAPI's {method} {path} is not in the matrix"));
            let Some(roles) = entry_roles(entries, &method, &route) else {
                continue;
            };
            // "Roles: admin, curator (…)."
            let Some(said) = operation["description"].as_str() else {
                continue;
            };
            assert_eq!(
                roles_named(said),
                roles,
                "OpenAPI's {method} {path} says {said:?}"
            );
        }
    }
}

/// The matrix's route for a path of the OpenAPI document (whose parameters are all `{id}`).
fn matrix_route(entries: &[Entry], method: &Method, path: &str) -> Option<String> {
    let shape = |p: &str| -> Vec<String> {
        p.split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "{}".to_owned()
                } else {
                    s.to_owned()
                }
            })
            .collect()
    };
    entries
        .iter()
        .find(|e| e.method == *method && shape(e.route) == shape(path))
        .map(|e| e.route.to_owned())
}

// Organisations apart.

/// Organisation B's keys, one per role.
async fn keys_of_b(f: &Fixture) -> HashMap<Role, String> {
    let b = f
        .state
        .store
        .org_by_name("Platform B")
        .await
        .unwrap()
        .unwrap();
    let mut keys = HashMap::new();
    for &role in ALL {
        let key = f
            .state
            .store
            .create_key(&Actor::operator("test"), b.id, role, "b")
            .await
            .unwrap();
        keys.insert(role, key.secret);
    }
    keys
}

/// What A holds that B must never reach.
struct OfA {
    org: OrgId,
    bank: i64,
    items: Vec<i64>,
    /// A series of A's private content only.
    series: i64,
    decision: i64,
    /// B's series that also holds an item of A's private bank.
    mixed: i64,
    /// B's own series.
    b_series: i64,
    /// A's NCMEC exchange (filling `A_PRIV_EXCHANGE`), with A's credentials set.
    exchange: i64,
}

/// What B gets when its role may call a route.
#[derive(Clone, Copy, Debug)]
enum Sees {
    /// 404: it does not exist for B.
    Nothing,
    /// 200, with nothing of A's in the answer (checked by `nothing_of_a`).
    NothingOfA,
}

/// A's private bank `A_PRIV` (two items: one in a series of A's alone, one in a series with
/// B's content), a decision of A's curator, and B's private bank with two items.
async fn set_apart(f: &Fixture, b: &HashMap<Role, String>) -> OfA {
    let a = f.state.store.org_by_name("NGO A").await.unwrap().unwrap();
    let bank = f
        .bank("A_PRIV", json!({"description": "A's own list"}))
        .await;
    let alone = f.content(bank, "pdq", PDQ).await;
    let near_b = f.content(bank, "pdq", PDQ_FAR).await;
    let md5 = f.content(bank, "md5", MD5).await;
    let (status, b_bank) = f
        .json(
            Method::POST,
            "/v1/banks",
            Some(&b[&Role::Curator]),
            json!({"name": "B_BANK"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b_bank}");
    let b_bank = b_bank["id"].as_i64().unwrap();
    let mut b_items = Vec::new();
    // One bit from A's far item (so in its series), and something else entirely.
    for signal in [
        "07070f311f0b57b0f9c8f5ddfc709c0fb36e2ed596621e1d33e6b39c4e9c9b23",
        "5555aaaa5555aaaa5555aaaa5555aaaa33cc33cc33cc33cc0ff00ff00ff00ff0",
    ] {
        let (status, item) = f
            .json(
                Method::POST,
                &format!("/v1/banks/{b_bank}/content"),
                Some(&b[&Role::Curator]),
                json!({"signals": [{"signal_type": "pdq", "signal": signal}]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        b_items.push(item["id"].as_i64().unwrap());
    }
    f.follow().await;
    f.state.keep_series().await.expect("a series keeper step");
    let series_of = |id: i64| async move {
        f.state
            .store
            .content_series(&[ward_store::ContentId(id)])
            .await
            .unwrap()[0]
            .1
            .id
            .0
    };
    let series = series_of(alone).await;
    let mixed = series_of(near_b).await;
    assert_eq!(
        mixed,
        series_of(b_items[0]).await,
        "A's far item and B's share a series"
    );
    let b_series = series_of(b_items[1]).await;
    let (status, named) = f
        .json(
            Method::PATCH,
            &format!("/v1/series/{series}"),
            Some(f.key(Role::Curator)),
            json!({"name": "A's garden", "victim_identified": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{named}");
    let (status, decision) = f
        .json(
            Method::POST,
            &format!("/v1/series/{series}/split"),
            Some(f.key(Role::Curator)),
            json!({"content": [alone]}),
        )
        .await;
    assert!(
        status.is_success() || status == StatusCode::CONFLICT,
        "{decision}"
    );
    let exchange = exchange_of(f, "A_PRIV_EXCHANGE").await;
    let (status, set) = f
        .json(
            Method::POST,
            "/c/exchanges/api/ncmec",
            Some(f.key(Role::Curator)),
            json!({"credential_json": {"user": "a-user", "password": "a-pass"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    OfA {
        exchange,
        org: a.id,
        bank,
        items: vec![alone, near_b, md5],
        series,
        decision: decision["id"].as_i64().unwrap(),
        mixed,
        b_series,
    }
}

/// Fails when `answer` holds anything of A's: its bank (by id or name), items, series, or an
/// audit event of its members or about what it owns.
fn nothing_of_a(answer: &Value, a: &OfA) -> Result<(), String> {
    let text = answer.to_string();
    if text.contains("A_PRIV") || text.contains("A's garden") || text.contains("A's own list") {
        return Err("names A's private bank or series".into());
    }
    let mut found = Vec::new();
    walk(answer, &mut |key, value| {
        let id = value.as_i64().or_else(|| value.as_str()?.parse().ok());
        let Some(id) = id else { return };
        let hit = match key {
            "content_id" | "bank_content_id" => a.items.contains(&id),
            "bank" => id == a.bank,
            "org" | "actor_org" => id == a.org.0,
            "series" => id == a.series,
            _ => false,
        };
        if hit {
            found.push(format!("{key}: {id}"));
        }
    });
    // Lists of ids: matches, series, banks, content.
    for (list, key, ids) in [
        ("series", "id", vec![a.series]),
        ("banks", "id", vec![a.bank]),
        ("matches", "content_id", a.items.clone()),
    ] {
        for item in answer[list].as_array().into_iter().flatten() {
            if item[key].as_i64().is_some_and(|id| ids.contains(&id)) {
                found.push(format!("{list}: {item}"));
            }
        }
    }
    for id in answer["matches"].as_array().into_iter().flatten() {
        if id.as_i64().is_some_and(|id| a.items.contains(&id)) {
            found.push(format!("raw match {id}"));
        }
    }
    if let Some(target) = answer["events"].as_array() {
        for event in target {
            let t = event["target"].as_str().unwrap_or_default();
            if t == format!("bank:{}", a.bank)
                || a.items.iter().any(|i| t == format!("content:{i}"))
            {
                found.push(format!("event {t}"));
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(found.join(", "))
    }
}

fn walk(value: &Value, visit: &mut impl FnMut(&str, &Value)) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                visit(key, value);
                walk(value, visit);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

/// One request of B's: the roles whose keys the route takes (as the role matrix says), and
/// what those get.
struct Probe {
    method: Method,
    uri: String,
    body: Req,
    roles: &'static [Role],
    sees: Sees,
}

fn probe(
    method: Method,
    uri: impl Into<String>,
    body: Req,
    roles: &'static [Role],
    sees: Sees,
) -> Probe {
    Probe {
        method,
        uri: uri.into(),
        body,
        roles,
        sees,
    }
}

fn probes(a: &OfA) -> Vec<Probe> {
    use Method as M;
    use Role::*;
    use Sees::*;
    let (bank, item, md5, series) = (a.bank, a.items[0], a.items[2], a.series);
    let readers: &[Role] = &[Curator, Analyst];
    let matchers: &[Role] = &[Platform, Curator, Analyst];
    let series_readers: &[Role] = &[Analyst, Curator, Auditor];
    let figures: &[Role] = &[Auditor, Analyst, Curator];
    let non_admins: &[Role] = &[Curator, Analyst, Platform, Auditor];
    vec![
        // A's private bank and its content.
        probe(M::GET, "/v1/banks", Req::None, non_admins, NothingOfA),
        probe(
            M::GET,
            format!("/v1/banks/{bank}"),
            Req::None,
            non_admins,
            Nothing,
        ),
        probe(
            M::PATCH,
            format!("/v1/banks/{bank}"),
            Req::Json(json!({"enabled": false})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::DELETE,
            format!("/v1/banks/{bank}"),
            Req::None,
            &[Curator],
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/banks/{bank}/content"),
            Req::None,
            readers,
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/banks/{bank}/content"),
            Req::Json(json!({"signals": [{"signal_type": "md5", "signal": MD5}]})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/banks/{bank}/signals"),
            Req::Csv("signal_type,signal\nmd5,0123456789abcdef0123456789abcdef\n"),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/banks/{bank}/import?format=csv"),
            Req::Csv("signal_type,signal\nmd5,0123456789abcdef0123456789abcdef\n"),
            &[Curator],
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/banks/{bank}/export?format=csv"),
            Req::None,
            readers,
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/content/{item}"),
            Req::None,
            readers,
            Nothing,
        ),
        // (The route takes analysts' keys, for categories: what they may not see is 404
        // before whether they may disable it is asked.)
        probe(
            M::PATCH,
            format!("/v1/content/{item}"),
            Req::Json(json!({"enabled": false})),
            readers,
            Nothing,
        ),
        probe(
            M::PATCH,
            format!("/v1/content/{item}"),
            Req::Json(
                json!({"categories": {"age_group": "pubescent", "activity": "lascivious_exhibition"}}),
            ),
            readers,
            Nothing,
        ),
        probe(
            M::DELETE,
            format!("/v1/content/{md5}"),
            Req::None,
            &[Curator],
            Nothing,
        ),
        probe(
            M::PUT,
            format!("/v1/content/{item}/opinion"),
            Req::Json(json!({"opinion": "dispute"})),
            readers,
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/content/{item}/cybertip?first_name=B"),
            Req::None,
            matchers,
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/content/{item}/referral"),
            Req::None,
            readers,
            Nothing,
        ),
        probe(
            M::POST,
            "/v1/referrals",
            Req::Json(json!({"content": [item]})),
            readers,
            Nothing,
        ),
        // Matching A's private hashes finds nothing.
        probe(
            M::GET,
            format!("/v1/match?signal_type=pdq&signal={PDQ}"),
            Req::None,
            matchers,
            NothingOfA,
        ),
        probe(
            M::POST,
            "/v1/match",
            Req::Json(json!({"signals": [{"signal_type": "md5", "signal": MD5}]})),
            matchers,
            NothingOfA,
        ),
        // Series: A's alone does not exist for B; the mixed one shows B's member only.
        probe(M::GET, "/v1/series", Req::None, series_readers, NothingOfA),
        probe(
            M::GET,
            format!("/v1/series/{series}"),
            Req::None,
            series_readers,
            Nothing,
        ),
        probe(
            M::PATCH,
            format!("/v1/series/{series}"),
            Req::Json(json!({"name": "B was here", "victim_identified": false})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/series/{series}/merge"),
            Req::Json(json!({"with": a.b_series})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/series/{}/merge", a.b_series),
            Req::Json(json!({"with": series})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/series/{series}/split"),
            Req::Json(json!({"content": [item]})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            format!("/v1/series/{}/split", a.mixed),
            Req::Json(json!({"content": [a.items[1]]})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/series/decisions/{}", a.decision),
            Req::None,
            &[Curator],
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/series/{series}/referral"),
            Req::None,
            readers,
            Nothing,
        ),
        // The feed, the audit log and the figures: B's own only.
        probe(
            M::GET,
            "/v1/feed?limit=1000",
            Req::None,
            readers,
            NothingOfA,
        ),
        probe(
            M::GET,
            "/v1/audit?limit=10000",
            Req::None,
            &[Auditor],
            NothingOfA,
        ),
        probe(M::GET, "/v1/transparency", Req::None, figures, NothingOfA),
        probe(
            M::GET,
            format!("/v1/transparency?org={}", a.org),
            Req::None,
            &[],
            Nothing,
        ),
        probe(
            M::GET,
            format!("/v1/transparency/signals.svg?org={}", a.org),
            Req::None,
            &[],
            Nothing,
        ),
        // HMA's routes, by A's bank's name.
        probe(M::GET, "/c/banks", Req::None, non_admins, NothingOfA),
        probe(M::GET, "/c/bank/A_PRIV", Req::None, non_admins, Nothing),
        probe(M::GET, "/c/exchanges", Req::None, non_admins, NothingOfA),
        probe(
            M::GET,
            "/c/exchange/A_PRIV_EXCHANGE",
            Req::None,
            non_admins,
            Nothing,
        ),
        probe(
            M::GET,
            "/c/exchange/A_PRIV_EXCHANGE/status",
            Req::None,
            non_admins,
            Nothing,
        ),
        probe(
            M::PUT,
            "/c/exchange/A_PRIV_EXCHANGE",
            Req::Json(json!({"enabled": false})),
            &[Curator],
            Nothing,
        ),
        // A ward exchange's key is set by the exchange's name: another's is not there.
        probe(
            M::POST,
            "/c/exchanges/api/ward",
            Req::Json(json!({"credential_json": {"exchange": "A_PRIV_EXCHANGE",
                                                 "api_key": "b-key"}})),
            &[Curator],
            Nothing,
        ),
        // HMA answers a delete of what is not there with 200: nothing of A's goes.
        probe(
            M::DELETE,
            "/c/exchange/A_PRIV_EXCHANGE",
            Req::None,
            &[Curator],
            NothingOfA,
        ),
        probe(
            M::PUT,
            "/c/bank/A_PRIV",
            Req::Json(json!({"enabled_ratio": 0.0})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            "/c/bank/A_PRIV/signal",
            Req::Json(json!({"md5": "ffeeddccbbaa99887766554433221100"})),
            &[Curator],
            Nothing,
        ),
        probe(
            M::POST,
            "/c/bank/A_PRIV/content",
            Req::Media("photo"),
            &[Curator],
            Nothing,
        ),
        probe(
            M::GET,
            format!("/m/lookup?signal_type=pdq&signal={PDQ}&banks=A_PRIV"),
            Req::None,
            matchers,
            NothingOfA,
        ),
        probe(
            M::GET,
            format!("/m/lookup?signal_type=pdq&signal={PDQ}"),
            Req::None,
            matchers,
            NothingOfA,
        ),
        probe(
            M::GET,
            format!("/m/raw_lookup?signal_type=pdq&signal={PDQ}&include_distance=true"),
            Req::None,
            matchers,
            NothingOfA,
        ),
        probe(
            M::POST,
            "/m/lookup",
            Req::Media("photo"),
            matchers,
            NothingOfA,
        ),
    ]
}

#[tokio::test]
async fn organisations_stay_apart() {
    stay_apart(Fixture::new().await).await;
}

#[tokio::test]
async fn organisations_stay_apart_on_postgres() {
    stay_apart(Fixture::on_postgres().await).await;
}

async fn stay_apart(f: Fixture) {
    let b = keys_of_b(&f).await;
    let a = set_apart(&f, &b).await;
    let before = f
        .state
        .store
        .audit_log(&ward_store::AuditQuery::deployment())
        .await;
    let events_before = before.unwrap().len();
    let mut checked = 0;
    for p in probes(&a) {
        // Admins are the deployment's, whichever organisation holds their key: every other
        // role of B's.
        for role in ALL.iter().copied().filter(|r| *r != Role::Admin) {
            let (request, content_type) = p.body.body(role);
            let (status, answer) = f
                .send(
                    p.method.clone(),
                    &p.uri,
                    Some(&b[&role]),
                    request,
                    &content_type,
                )
                .await;
            let at = format!("{} {} as B's {role}", p.method, p.uri);
            if !super::auth::may_act_as(role, p.roles) {
                assert_eq!(status, StatusCode::FORBIDDEN, "{at}: {answer}");
            } else {
                match p.sees {
                    Sees::Nothing => assert_eq!(status, StatusCode::NOT_FOUND, "{at}: {answer}"),
                    Sees::NothingOfA => {
                        assert_eq!(status, StatusCode::OK, "{at}: {answer}");
                        if let Err(found) = nothing_of_a(&answer, &a) {
                            panic!("{at} shows A's: {found}\n{answer}");
                        }
                    }
                }
            }
            checked += 1;
        }
    }
    eprintln!("organisations apart: {checked} requests of B's refused or empty of A's");
    // What B did is in the log as B's (its reads of the feed), none of it about A's things.
    let after = f
        .state
        .store
        .audit_log(&ward_store::AuditQuery::deployment())
        .await
        .unwrap();
    let b_org = f
        .state
        .store
        .org_by_name("Platform B")
        .await
        .unwrap()
        .unwrap()
        .id;
    for event in &after[events_before..] {
        assert_eq!(event.actor_org, Some(b_org), "{event:?}");
        assert_ne!(event.org, Some(a.org), "{event:?}");
    }

    // Nothing B tried changed A's things: A still has its exchange, fetching, and its
    // credentials (B's organisation has none), its bank, items, series and its name.
    let exchange = f
        .state
        .store
        .exchange(ward_store::ExchangeId(a.exchange))
        .await
        .unwrap()
        .expect("A's exchange");
    assert!(exchange.enabled);
    let b_org = f
        .state
        .store
        .org_by_name("Platform B")
        .await
        .unwrap()
        .unwrap()
        .id;
    for (org, set) in [(a.org, true), (b_org, false)] {
        let held = f
            .state
            .store
            .exchange_credentials(org, "ncmec")
            .await
            .unwrap();
        assert_eq!(held.is_some(), set);
    }
    let (status, bank) = f
        .json(
            Method::GET,
            &format!("/v1/banks/{}", a.bank),
            Some(f.key(Role::Curator)),
            Value::Null,
        )
        .await;
    assert_eq!(
        (status, bank["enabled"].clone()),
        (StatusCode::OK, json!(true)),
        "{bank}"
    );
    for item in &a.items {
        let (status, _) = f
            .json(
                Method::GET,
                &format!("/v1/content/{item}"),
                Some(f.key(Role::Curator)),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, series) = f
        .json(
            Method::GET,
            &format!("/v1/series/{}", a.series),
            Some(f.key(Role::Analyst)),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(series["name"], json!("A's garden"), "{series}");
    // HMA deletes a bank it does not know as done, as HMA does: A's stays.
    let (status, _) = f
        .json(
            Method::DELETE,
            "/c/bank/A_PRIV",
            Some(&b[&Role::Curator]),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        f.state
            .store
            .bank(ward_store::BankId(a.bank))
            .await
            .unwrap()
            .is_some()
    );

    // The mixed series: B sees it, counting and listing only its own member.
    let (status, mixed) = f
        .json(
            Method::GET,
            &format!("/v1/series/{}", a.mixed),
            Some(&b[&Role::Analyst]),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mixed}");
    assert_eq!(mixed["members"], json!(1), "{mixed}");
    assert!(
        !mixed["content"]
            .as_array()
            .unwrap()
            .contains(&json!(a.items[1])),
        "{mixed}"
    );
    let (_, list) = f
        .json(
            Method::GET,
            "/v1/series",
            Some(&b[&Role::Auditor]),
            Value::Null,
        )
        .await;
    let listed: Vec<(i64, i64)> = list["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_i64().unwrap(), s["members"].as_i64().unwrap()))
        .collect();
    let mut expected = vec![(a.mixed, 1), (a.b_series, 1)];
    expected.sort_unstable();
    assert_eq!(listed, expected, "{list}");

    // A's auditor reads A's events; B's reads none of them, until B runs the deployment.
    let (_, a_log) = f
        .json(
            Method::GET,
            "/v1/audit?limit=10000",
            Some(f.key(Role::Auditor)),
            Value::Null,
        )
        .await;
    assert!(
        a_log["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == json!(format!("bank:{}", a.bank))
                && e["action"] == "bank.create"),
        "{a_log}"
    );
    f.state
        .store
        .set_operator(&Actor::operator("test"), Some(b_org))
        .await
        .unwrap();
    let (_, b_log) = f
        .json(
            Method::GET,
            "/v1/audit?limit=10000",
            Some(&b[&Role::Auditor]),
            Value::Null,
        )
        .await;
    assert!(
        nothing_of_a(&b_log, &a).is_err(),
        "the operator's auditor reads every event"
    );
    let uri = format!("/v1/transparency?org={}", a.org);
    let (status, _) = f
        .json(Method::GET, &uri, Some(&b[&Role::Auditor]), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "and every organisation's figures");
    let (status, _) = f
        .json(Method::GET, &uri, Some(&b[&Role::Analyst]), Value::Null)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "but only its auditors");
    f.state
        .store
        .set_operator(&Actor::operator("test"), None)
        .await
        .unwrap();
    let (_, b_log) = f
        .json(
            Method::GET,
            "/v1/audit?limit=10000",
            Some(&b[&Role::Auditor]),
            Value::Null,
        )
        .await;
    nothing_of_a(&b_log, &a).unwrap();

    // Bank names: B may have an A_PRIV of its own, and nothing told it A has one.
    let (status, created) = f
        .json(
            Method::POST,
            "/c/banks",
            Some(&b[&Role::Curator]),
            json!({"name": "A_PRIV"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, again) = f
        .json(
            Method::POST,
            "/v1/banks",
            Some(&b[&Role::Curator]),
            json!({"name": "A_PRIV"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "B's own name: {again}");
    // By name, each organisation reaches its own.
    let (_, b_view) = f
        .json(
            Method::PUT,
            "/c/bank/A_PRIV",
            Some(&b[&Role::Curator]),
            json!({"enabled_ratio": 0.0}),
        )
        .await;
    assert_eq!(b_view["matching_enabled_ratio"], json!(0.0), "{b_view}");
    let (_, a_view) = f
        .json(
            Method::GET,
            "/c/bank/A_PRIV",
            Some(f.key(Role::Curator)),
            Value::Null,
        )
        .await;
    assert_eq!(
        a_view["matching_enabled_ratio"],
        json!(1.0),
        "A's untouched: {a_view}"
    );
    // A third organisation sees both when both are shared with every member: the name is
    // refused, asking for the id, and naming no owner.
    for (key, id) in [
        (f.key(Role::Curator).to_owned(), a.bank),
        (b[&Role::Curator].clone(), created_id(&f, &b).await),
    ] {
        let (status, body) = f
            .json(
                Method::PATCH,
                &format!("/v1/banks/{id}"),
                Some(&key),
                json!({"sharing": "members"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let c = f
        .state
        .store
        .create_org(&Actor::operator("test"), "Hotline C")
        .await
        .unwrap();
    let c_key = f
        .state
        .store
        .create_key(&Actor::operator("test"), c.id, Role::Analyst, "c")
        .await
        .unwrap()
        .secret;
    let (status, body) = f
        .json(Method::GET, "/c/bank/A_PRIV", Some(&c_key), Value::Null)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("id"), "{message}");
    assert!(
        !message.contains("NGO A") && !message.contains("Platform B"),
        "{message}"
    );
    let (status, body) = f
        .json(
            Method::GET,
            &format!("/m/lookup?signal_type=pdq&signal={PDQ}&banks=A_PRIV"),
            Some(&c_key),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

/// The id of B's own `A_PRIV`.
async fn created_id(f: &Fixture, b: &HashMap<Role, String>) -> i64 {
    let (_, banks) = f
        .json(
            Method::GET,
            "/v1/banks",
            Some(&b[&Role::Curator]),
            Value::Null,
        )
        .await;
    banks["banks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|bank| bank["name"] == "A_PRIV")
        .expect("B's A_PRIV")["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn role_words_are_read_from_prose() {
    let check = |text: &str, roles: &[Role]| {
        assert_eq!(roles_named(text), roles.iter().copied().collect(), "{text}");
    };
    check("all read; curators change their own", ALL);
    // An organisation's administrator may do what its curators may.
    check(
        "curators, analysts",
        &[Role::Curator, Role::Analyst, Role::OrgAdmin],
    );
    check("admin, org_admin", &[Role::Admin, Role::OrgAdmin]);
    check("admins", &[Role::Admin]);
    check("analysts", &[Role::Analyst]);
    check(
        "analysts, curators, auditors read; curators change",
        &[Role::Curator, Role::Analyst, Role::Auditor, Role::OrgAdmin],
    );
    check(
        "platforms, curators, analysts",
        &[Role::Curator, Role::Analyst, Role::Platform, Role::OrgAdmin],
    );
    check("anyone", ALL);
    check("auditors", &[Role::Auditor]);
    let found = mentions(
        "| `GET/POST /v1/banks`, `GET /v1/transparency/{chart}.svg?org=` (`{\"with\": id}`) |",
    );
    assert_eq!(
        found,
        [
            ("GET".to_owned(), "/v1/banks".to_owned()),
            ("POST".to_owned(), "/v1/banks".to_owned()),
            ("GET".to_owned(), "/v1/transparency/{chart}".to_owned()),
        ]
    );
}

/// `/v1/keys`: an organisation's administrator manages its own organisation's keys and no
/// other's, never makes an admin key, and a key it revokes stops working at once; the
/// deployment's admins manage every organisation's.
#[tokio::test]
async fn organisation_administrators_manage_their_own_keys_only() {
    let f = Fixture::new().await;
    let store = &f.state.store;
    let a = store.org_by_name("NGO A").await.unwrap().unwrap().id;
    let b = store.org_by_name("Platform B").await.unwrap().unwrap().id;
    let org_admin = f.key(Role::OrgAdmin).to_owned();
    let call = |method: Method, uri: &str, key: &str, body: Value| {
        let (uri, key) = (uri.to_owned(), key.to_owned());
        let f = &f;
        async move { f.json(method, &uri, Some(&key), body).await }
    };
    // Its list: A's keys only.
    let (status, listed) = call(Method::GET, "/v1/keys", &org_admin, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let orgs: BTreeSet<i64> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["org"].as_i64().unwrap())
        .collect();
    assert_eq!(orgs, BTreeSet::from([a.0]), "{listed}");
    for role in ALL {
        assert!(
            !listed.to_string().contains(f.key(*role)),
            "no secret: {listed}"
        );
    }
    let (_, everyone) = call(Method::GET, "/v1/keys", f.key(Role::Admin), Value::Null).await;
    let orgs: BTreeSet<i64> = everyone["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["org"].as_i64().unwrap())
        .collect();
    assert_eq!(
        orgs,
        BTreeSet::from([a.0, b.0]),
        "admins see every organisation's"
    );
    // Another organisation's key, an admin key: refused.
    for (body, expected) in [
        (
            json!({"role": "platform", "label": "x", "org": b.0}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"role": "admin", "label": "x"}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"role": "pirate", "label": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"role": "platform", "label": "x".repeat(10_000)}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = call(Method::POST, "/v1/keys", &org_admin, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let b_key = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.org == b)
        .unwrap();
    let (status, _) = call(
        Method::DELETE,
        &format!("/v1/keys/{}", b_key.id),
        &org_admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another's key is not found");
    // The deployment's admin key, though of its organisation: not its to revoke.
    let admin_key = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.org == a && k.role == Role::Admin)
        .unwrap();
    let (status, _) = call(
        Method::DELETE,
        &format!("/v1/keys/{}", admin_key.id),
        &org_admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A key it makes works; revoked, it stops at once.
    let (status, made) = call(
        Method::POST,
        "/v1/keys",
        &org_admin,
        json!({"role": "platform", "label": "uploads"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (made["org"].as_i64(), made["role"].as_str()),
        (Some(a.0), Some("platform"))
    );
    let secret = made["key"].as_str().unwrap().to_owned();
    let match_uri = format!("/v1/match?signal_type=md5&signal={MD5}");
    let (status, _) = call(Method::GET, &match_uri, &secret, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    // Its use is recorded when the node reports it (every minute; here at once).
    super::report_key_use_now(&f.state).await.unwrap();
    let (_, listed) = call(Method::GET, "/v1/keys", &org_admin, Value::Null).await;
    let of = |label: &str| {
        listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == label)
            .cloned()
            .unwrap()
    };
    assert!(of("uploads")["last_used_at"].is_string(), "{listed}");
    // Keys idle for a day: none, all made just now.
    let (_, idle) = call(
        Method::GET,
        "/v1/keys?unused_days=1",
        &org_admin,
        Value::Null,
    )
    .await;
    assert_eq!(idle["keys"], json!([]), "{idle}");
    let (status, revoked) = call(
        Method::DELETE,
        &format!("/v1/keys/{}", made["id"]),
        &org_admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, _) = call(Method::GET, &match_uri, &secret, Value::Null).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked at once");
    // Accounts: its organisation's only; disabled by it; another's not found; an admin's
    // not its to change.
    let account = |name: &str, org: ward_store::OrgId, role: Role| ward_store::NewUser {
        name: name.into(),
        org,
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
    };
    let operator = ward_store::Actor::operator("test");
    let ana = store
        .create_user(&operator, &account("ana", a, Role::Analyst))
        .await
        .unwrap();
    let bo = store
        .create_user(&operator, &account("bo", b, Role::Analyst))
        .await
        .unwrap();
    let root = store
        .create_user(&operator, &account("root", a, Role::Admin))
        .await
        .unwrap();
    let (_, users) = call(Method::GET, "/v1/users", &org_admin, Value::Null).await;
    let names: BTreeSet<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["ana", "root"]), "{users}");
    assert!(!users.to_string().contains("argon2"), "{users}");
    let disable = |id: ward_store::UserId| format!("/v1/users/{id}");
    let (status, changed) = call(
        Method::PATCH,
        &disable(ana.id),
        &org_admin,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert!(changed["disabled_at"].is_string(), "{changed}");
    assert!(
        store
            .user(ana.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );
    let (status, _) = call(
        Method::PATCH,
        &disable(bo.id),
        &org_admin,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        Method::PATCH,
        &disable(root.id),
        &org_admin,
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        Method::PATCH,
        &disable(ana.id),
        &org_admin,
        json!({"disabled": "yes"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Every change is in the audit log, by the organisation's administrator.
    let events = store
        .audit_log(&ward_store::AuditQuery::deployment())
        .await
        .unwrap();
    for action in ["key.create", "key.revoke"] {
        assert!(
            events
                .iter()
                .any(|e| e.action == action && e.actor_org == Some(a)),
            "{action}"
        );
    }
}
