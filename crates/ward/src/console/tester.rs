//! The match tester (`/admin/match`): hashes pasted (one per line, `type value` or a bare
//! value of the chosen type) or a file chosen (or dropped, with the script), matched as a
//! platform's `POST /v1/match` would be (through the same matching, with the person's role
//! and organisation deciding which banks apply, each bank's rules applied), with a switch to
//! bypass the banks' enabled ratio. The page shows the file's hashes, each match and what a
//! negative bank suppressed, and the API's JSON answer itself. A test is not counted in the
//! transparency figures, and nothing is stored.

use askama::Template;
use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use ward_store::Bank;

use super::error::ConsoleError;
use super::sections::Section;
use super::session::{ConsoleUser, Sender, check_csrf};
use super::view::Header;
use crate::serve::SharedState;
use crate::serve::auth::{Caller, Viewer};
use crate::serve::budget::Upload;
use crate::serve::coinflip;
use crate::serve::error::ApiError;
use crate::serve::matching::{self, MATCHERS, MatchAnswer};

/// The most hashes one test takes (as `POST /v1/match`).
pub const MAX_HASHES: usize = 1000;

/// The signal types a pasted line may name (`vpdq` takes a video's JSON, which a line cannot
/// hold).
const PASTED_TYPES: [&str; 4] = ["pdq", "md5", "sha1", "sha256"];

/// The person testing, as the matching sees them: the banks they see apply, and the test is
/// not counted as a platform's match.
struct Tester<'a>(&'a Caller);

impl Viewer for Tester<'_> {
    fn sees(&self, bank: &Bank) -> bool {
        self.0.sees(bank)
    }
}

/// A match as the API's answer gives it.
#[derive(Debug, Deserialize)]
struct Entry {
    bank: BankRef,
    #[serde(default)]
    categories: Value,
    content_id: i64,
    distance: Option<u32>,
    opinion_status: String,
    query: String,
    query_share: Option<f64>,
    compared_share: Option<f64>,
    signal_type: String,
    series: Option<SeriesRef>,
}

#[derive(Debug, Deserialize)]
struct BankRef {
    id: i64,
    kind: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct SeriesRef {
    id: i64,
}

impl Entry {
    /// How near: the distance, a video's shares, or "exact" for a digest.
    fn nearness(&self) -> String {
        match (self.distance, self.query_share, self.compared_share) {
            (Some(d), _, _) => format!("distance {d}"),
            (None, Some(q), Some(c)) => format!("{q} % of the query, {c} % of the match"),
            _ => "exact".to_owned(),
        }
    }

    /// The categories as people read them (`age_group: …, activity: …`), or "not assessed".
    fn categories_text(&self) -> String {
        match &self.categories {
            Value::Object(map) if !map.is_empty() => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{}: {s}", k.replace('_', " ")),
                    other => format!("{}: {other}", k.replace('_', " ")),
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => "not assessed".to_owned(),
        }
    }

    /// The query signal, shortened for a table (a PDQ hash or a digest in full is long).
    fn query_short(&self) -> String {
        if self.query.len() > 20 {
            format!("{}…", &self.query[..16])
        } else {
            self.query.clone()
        }
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    matches: Vec<Entry>,
    suppressed: Vec<Entry>,
    placement: String,
    #[serde(default)]
    not_matched_low_quality: Vec<String>,
}

/// What was tested and what it gave.
#[derive(Debug)]
struct Outcome {
    /// The file's hashes (type, value), when a file was tested.
    hashes: Vec<(String, String)>,
    tested: usize,
    answer: Answer,
    /// The API's answer, as a platform would get it.
    json: String,
}

#[derive(Template)]
#[template(path = "tester.html", config = "src/console/askama.toml")]
struct TesterPage {
    header: Header,
    types: [&'static str; 4],
    chosen: String,
    pasted: String,
    bypass: bool,
    max: usize,
    outcome: Option<Outcome>,
}

/// `GET /admin/match`: the form.
pub async fn form(
    State(state): State<SharedState>,
    user: ConsoleUser,
) -> Result<Response, ConsoleError> {
    render(&state, &user, "pdq".into(), String::new(), false, None).await
}

fn render_page(page: TesterPage) -> Result<Response, ConsoleError> {
    Ok(Html(page.render()?).into_response())
}

async fn render(
    state: &SharedState,
    user: &ConsoleUser,
    chosen: String,
    pasted: String,
    bypass: bool,
    outcome: Option<Outcome>,
) -> Result<Response, ConsoleError> {
    render_page(TesterPage {
        header: Header::of(state, user, Section::Match).await?,
        types: PASTED_TYPES,
        chosen,
        pasted,
        bypass,
        max: MAX_HASHES,
        outcome,
    })
}

/// The signals of pasted lines: `type value` (or `type,value`, `type:value`), or a bare
/// value of `default`; blank lines and `#` comments are skipped. Errors name the line.
fn pasted_signals(
    text: &str,
    default: &str,
) -> Result<Vec<(ward_core::lists::Signal, bool)>, ConsoleError> {
    let mut signals = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, value) = match line.split_once([' ', '\t', ',', ':']) {
            Some((kind, value)) if PASTED_TYPES.contains(&kind.to_ascii_lowercase().as_str()) => {
                (kind.to_ascii_lowercase(), value.trim())
            }
            _ => (default.to_owned(), line),
        };
        if signals.len() == MAX_HASHES {
            return Err(ConsoleError::bad_request(format!(
                "test at most {MAX_HASHES} hashes at a time"
            )));
        }
        let signal = matching::parse_query(&kind, value).map_err(|e| {
            ConsoleError::bad_request(format!("line {}: {}", number + 1, e.message))
        })?;
        signals.push((signal, true));
    }
    Ok(signals)
}

/// `POST /admin/match` (multipart: `csrf`, `hashes`, `signal_type`, `bypass`, `file`):
/// tests the pasted hashes, or the file when one was chosen.
pub async fn test(
    State(state): State<SharedState>,
    Sender(user): Sender,
    request: Request,
) -> Result<Response, ConsoleError> {
    let caller = user.caller();
    caller.require(MATCHERS)?;
    let mut upload = Upload::open(
        request,
        &state,
        &state.hashing,
        state.config.body_limit as u64,
    )
    .await?;
    let mut fields = Vec::new();
    let is_file = |name: Option<&str>, _: Option<&str>| name == Some("file");
    let (file, _) = upload
        .first_file_and_fields(
            is_file,
            true,
            &["csrf", "hashes", "signal_type", "bypass"],
            &mut fields,
        )
        .await?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    check_csrf(&user, field("csrf"))?;
    let chosen = field("signal_type").unwrap_or("pdq").to_ascii_lowercase();
    if !PASTED_TYPES.contains(&chosen.as_str()) {
        return Err(ConsoleError::bad_request(format!(
            "the signal type is one of {}",
            PASTED_TYPES.join(", ")
        )));
    }
    let pasted = field("hashes").unwrap_or_default().to_owned();
    let bypass = field("bypass").is_some_and(|v| matches!(v, "1" | "on" | "true"));
    let draw = coinflip::draw(None, bypass);
    let tester = Tester(&caller);
    let (hashes, tested, answer) = match file.filter(|(_, bytes)| !bytes.is_empty()) {
        Some((_, bytes)) => {
            let held = upload.into_reservation();
            let (hashed, answer) =
                matching::match_media(&state, &tester, Bytes::from(bytes), held, draw).await?;
            let hashes = file_hashes(&hashed.to_json());
            let tested = hashes.len();
            (hashes, tested, answer)
        }
        None => {
            drop(upload);
            let signals = pasted_signals(&pasted, &chosen)?;
            if signals.is_empty() {
                return Err(ConsoleError::bad_request(
                    "paste at least one hash, or choose a file",
                ));
            }
            let answer = matching::match_signals(&state, &tester, &signals, None, draw).await?;
            (Vec::new(), signals.len(), answer)
        }
    };
    let outcome = outcome_of(hashes, tested, &answer)?;
    render(&state, &user, chosen, pasted, bypass, Some(outcome)).await
}

/// The hashes of a file as `POST /v1/hash` gives them, as (type, value) rows.
fn file_hashes(hashed: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for name in ["pdq", "md5", "sha1", "sha256"] {
        if let Some(value) = hashed.get(name).and_then(Value::as_str) {
            rows.push((name.to_owned(), value.to_owned()));
        }
    }
    if let Some(quality) = hashed.get("quality").and_then(Value::as_u64) {
        rows.push(("pdq quality".to_owned(), quality.to_string()));
    }
    if let Some(frames) = hashed
        .get("vpdq")
        .and_then(|v| v.get("frames").or(Some(v)))
        .and_then(Value::as_array)
    {
        rows.insert(0, ("vpdq".to_owned(), format!("{} frames", frames.len())));
    }
    rows
}

fn outcome_of(
    hashes: Vec<(String, String)>,
    tested: usize,
    answer: &MatchAnswer,
) -> Result<Outcome, ConsoleError> {
    let internal = |e: serde_json::Error| {
        ConsoleError::from(ApiError::internal(format!("the match answer: {e}")))
    };
    let value = serde_json::to_value(answer).map_err(internal)?;
    let json = serde_json::to_string_pretty(&value).map_err(internal)?;
    let answer: Answer = serde_json::from_value(value).map_err(internal)?;
    Ok(Outcome {
        hashes,
        tested,
        answer,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_lines_name_their_type_or_take_the_chosen_one() {
        let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        /// A pasted text, the chosen type, and the types read or the start of the error.
        type Case<'a> = (&'a str, &'a str, Result<&'a [&'a str], &'a str>);
        let cases: &[Case] = &[
            ("", "pdq", Ok(&[])),
            ("# a comment\n\n", "pdq", Ok(&[])),
            (pdq, "pdq", Ok(&["pdq"])),
            (&format!("md5 {md5}\n{pdq}"), "pdq", Ok(&["md5", "pdq"])),
            (&format!("MD5,{md5}"), "pdq", Ok(&["md5"])),
            (&format!("sha256:{pdq}"), "pdq", Ok(&["sha256"])),
            (md5, "md5", Ok(&["md5"])),
            (md5, "pdq", Err("line 1")),
            (&format!("{pdq}\nnot a hash"), "pdq", Err("line 2")),
        ];
        for (text, default, expected) in cases {
            let got = pasted_signals(text, default);
            match (got, expected) {
                (Ok(signals), Ok(types)) => {
                    let names: Vec<&str> = signals
                        .iter()
                        .map(|(s, _)| s.signal_type().name())
                        .collect();
                    assert_eq!(&names, types, "{text:?}");
                }
                (Err(ConsoleError(crate::analyst::error::PageError::BadRequest(why))), Err(at)) => {
                    assert!(why.starts_with(at), "{text:?}: {why}");
                }
                (got, _) => panic!("{text:?}: {got:?}"),
            }
        }
        let many = format!("{pdq}\n").repeat(MAX_HASHES + 1);
        assert!(pasted_signals(&many, "pdq").is_err());
        assert_eq!(
            pasted_signals(&format!("{pdq}\n").repeat(MAX_HASHES), "pdq")
                .unwrap()
                .len(),
            MAX_HASHES
        );
    }
}
