//! The report form: what the reporter typed (kept as typed, to show again), and the report it
//! makes or the problems to fix, each tied to its field.

use std::str::FromStr as _;

use ward_store::{ContentKind, NewReport};

/// The store's limits, checked here first to tie each problem to its field: the most URLs
/// one report names, the longest URL once normalised (bytes), description (characters)
/// and e-mail address (bytes).
pub use ward_store::rules::REPORT_URLS_MAX as MAX_URLS;
use ward_store::rules::{
    EMAIL_MAX as MAX_EMAIL, REPORT_DESCRIPTION_MAX as MAX_DESCRIPTION, URL_MAX as MAX_URL,
};

/// The form's fields as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answers {
    /// One URL a line.
    pub urls: String,
    /// A [`ContentKind`] name, or anything a forged form sends.
    pub kind: String,
    pub description: String,
    pub email: String,
    /// The CSRF token of the hidden field.
    pub token: String,
}

/// The fields a problem can be in; each is the id of the element the error summary links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Urls,
    Kind,
    Description,
    Email,
}

impl Field {
    /// The id of the field's input (a radio group links to its first radio).
    pub fn anchor(self) -> &'static str {
        match self {
            Field::Urls => "urls",
            Field::Kind => "kind-images",
            Field::Description => "description",
            Field::Email => "email",
        }
    }
}

/// Something to fix before the report can be sent: the field, the message's id in the
/// translations, and the line of the URL field it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: Field,
    pub message: &'static str,
    pub line: Option<usize>,
}

impl Answers {
    /// The fields of an `application/x-www-form-urlencoded` body (the last of a repeated
    /// field counts; unknown fields are ignored).
    pub fn from_body(body: &[u8]) -> Answers {
        let mut answers = Answers::default();
        for (name, value) in form_urlencoded::parse(body) {
            let field = match &*name {
                "urls" => &mut answers.urls,
                "kind" => &mut answers.kind,
                "description" => &mut answers.description,
                "email" => &mut answers.email,
                "csrf" => &mut answers.token,
                _ => continue,
            };
            *field = value.into_owned();
        }
        answers
    }

    /// The report these answers make for a page of `country` in `language`, or every problem
    /// found, in the form's order.
    pub fn report(&self, country: Option<&str>, language: &str) -> Result<NewReport, Vec<Problem>> {
        let mut problems = Vec::new();
        let problem = |field, message, line| Problem {
            field,
            message,
            line,
        };
        let lines: Vec<(usize, &str)> = self
            .urls
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line.trim()))
            .filter(|(_, line)| !line.is_empty())
            .collect();
        let mut urls = Vec::new();
        if lines.is_empty() {
            problems.push(problem(Field::Urls, "error-urls-missing", None));
        } else if lines.len() > MAX_URLS {
            problems.push(problem(Field::Urls, "error-urls-too-many", None));
        } else {
            for (line, text) in lines {
                match normalise_url(text) {
                    Ok(url) => urls.push(url),
                    Err(message) => problems.push(problem(Field::Urls, message, Some(line))),
                }
            }
        }
        let kind = ContentKind::from_str(&self.kind).ok();
        if kind.is_none() {
            problems.push(problem(Field::Kind, "error-kind-missing", None));
        }
        let description = self.description.trim().replace("\r\n", "\n");
        if description.chars().count() > MAX_DESCRIPTION {
            problems.push(problem(
                Field::Description,
                "error-description-too-long",
                None,
            ));
        }
        let email = self.email.trim();
        if !email.is_empty() && !plausible_email(email) {
            problems.push(problem(Field::Email, "error-email-invalid", None));
        }
        match kind {
            Some(content_kind) if problems.is_empty() => Ok(NewReport {
                country: country.unwrap_or_default().to_string(),
                language: language.to_string(),
                content_kind,
                urls,
                description,
                email: (!email.is_empty()).then(|| email.to_string()),
            }),
            _ => Err(problems),
        }
    }
}

/// A reported URL as the service keeps it: `http` or `https` only, as the WHATWG URL
/// standard writes it (host lower case, IDNs in punycode), without its fragment (never sent
/// to a server). An address typed without a scheme (`www.example.com/page`) is taken as
/// `http://`, as a browser's address bar does. `Err` is the message id of the problem.
pub fn normalise_url(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    let with_scheme = if text.contains("://") || names_a_scheme(text) {
        url::Url::parse(text)
    } else {
        url::Url::parse(&format!("http://{text}"))
    };
    let mut url = with_scheme.map_err(|_| "error-url-invalid")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("error-url-scheme");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("error-url-invalid");
    }
    url.set_fragment(None);
    let url = String::from(url);
    if url.len() > MAX_URL {
        return Err("error-url-too-long");
    }
    Ok(url)
}

/// Whether `text` starts with a scheme of its own (`mailto:`, `javascript:`, `ftp:`) rather
/// than a host and port (`example.com:8080`).
fn names_a_scheme(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let scheme_like = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_like && !rest.starts_with(|c: char| c.is_ascii_digit())
}

/// An address mail could go to: one `@` between a local part and a domain with a dot, no
/// spaces. Whether it exists only a message can tell.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_url(text: &str, expected: Result<&str, &str>) {
        assert_eq!(
            normalise_url(text).as_deref().map_err(|e| *e),
            expected,
            "{text:?}"
        );
    }

    #[test]
    fn urls_are_normalised_or_refused() {
        check_url("https://example.com/a#frag", Ok("https://example.com/a"));
        check_url("  HTTP://Example.COM  ", Ok("http://example.com/"));
        check_url(
            "www.example.com/page?id=3",
            Ok("http://www.example.com/page?id=3"),
        );
        check_url("example.com:8080/x", Ok("http://example.com:8080/x"));
        check_url("localhost:8080", Ok("http://localhost:8080/"));
        check_url(
            "https://bücher.example/ä b",
            Ok("https://xn--bcher-kva.example/%C3%A4%20b"),
        );
        check_url("http://[2001:db8::1]/x", Ok("http://[2001:db8::1]/x"));
        check_url(
            "https://user:pw@example.com/",
            Ok("https://user:pw@example.com/"),
        );
        check_url("ftp://example.com/file", Err("error-url-scheme"));
        check_url("file:///etc/passwd", Err("error-url-scheme"));
        check_url("javascript:alert(1)", Err("error-url-scheme"));
        check_url("mailto:someone@example.com", Err("error-url-scheme"));
        check_url("data:text/plain,hello", Err("error-url-scheme"));
        check_url("http://", Err("error-url-invalid"));
        check_url("https://exa mple.com/", Err("error-url-invalid"));
        check_url("http://example.com:99999/", Err("error-url-invalid"));
        let long = format!("https://example.com/{}", "a".repeat(2048));
        check_url(&long, Err("error-url-too-long"));
    }

    fn answers(urls: &str, kind: &str, description: &str, email: &str) -> Answers {
        Answers {
            urls: urls.into(),
            kind: kind.into(),
            description: description.into(),
            email: email.into(),
            token: String::new(),
        }
    }

    fn messages(answers: &Answers) -> Vec<(&'static str, Option<usize>)> {
        answers
            .report(None, "en")
            .unwrap_err()
            .into_iter()
            .map(|p| (p.message, p.line))
            .collect()
    }

    #[test]
    fn good_answers_make_a_report() {
        let report = answers(
            "\r\n https://example.com/a \r\n\r\nexample.org/b#x\r\n",
            "videos",
            "  found it\r\nthrough a link ",
            " me@example.org ",
        )
        .report(Some("ma"), "ar")
        .unwrap();
        assert_eq!(
            report.urls,
            ["https://example.com/a", "http://example.org/b"]
        );
        assert_eq!(report.content_kind, ContentKind::Videos);
        assert_eq!(report.description, "found it\nthrough a link");
        assert_eq!(report.email.as_deref(), Some("me@example.org"));
        assert_eq!(
            (report.country.as_str(), report.language.as_str()),
            ("ma", "ar")
        );
        let anonymous = answers("https://example.com/", "unsure", "", "")
            .report(None, "en")
            .unwrap();
        assert_eq!((anonymous.email, anonymous.country.as_str()), (None, ""));
    }

    #[test]
    fn every_problem_is_found_with_its_line() {
        assert_eq!(
            messages(&answers(" \n ", "", "", "")),
            [("error-urls-missing", None), ("error-kind-missing", None)]
        );
        assert_eq!(
            messages(&answers(
                "https://a.example/\n\nftp://b.example/\nnot a url",
                "pictures",
                "",
                "me@"
            )),
            [
                ("error-url-scheme", Some(3)),
                ("error-url-invalid", Some(4)),
                ("error-kind-missing", None),
                ("error-email-invalid", None)
            ]
        );
        let many = "https://example.com/\n".repeat(MAX_URLS + 1);
        assert_eq!(
            messages(&answers(&many, "images", "", "")),
            [("error-urls-too-many", None)]
        );
        let long = "é".repeat(MAX_DESCRIPTION + 1);
        assert_eq!(
            messages(&answers("https://example.com/", "both", &long, "")),
            [("error-description-too-long", None)]
        );
        assert!(
            answers(
                "https://example.com/",
                "both",
                &"é".repeat(MAX_DESCRIPTION),
                ""
            )
            .report(None, "en")
            .is_ok()
        );
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        for good in ["a@example.org", "first.last+tag@sub.example.co.uk"] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "a",
            "@example.org",
            "a@example",
            "a@@example.org",
            "a b@example.org",
            "a@example.org.",
            "a@.org",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn bodies_are_read_as_forms() {
        let answers = Answers::from_body(
            b"urls=https%3A%2F%2Fexample.com%2F%0D%0Ahttp%3A%2F%2Fb.example&kind=images&description=a+b&email=&csrf=t.o.k&extra=1",
        );
        assert_eq!(answers.urls, "https://example.com/\r\nhttp://b.example");
        assert_eq!(
            (answers.kind.as_str(), answers.description.as_str()),
            ("images", "a b")
        );
        assert_eq!(answers.token, "t.o.k");
        assert_eq!(Answers::from_body(b"\xff\xfe=&&=="), Answers::default());
    }
}
