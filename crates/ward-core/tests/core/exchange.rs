//! Exchanged lists: every sample in `testdata/exchange/` reads to the records it holds,
//! broken ones report where and go on (or stop) as they should, writers round-trip, and no
//! input makes a reader panic or hold a whole file.

use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;

use proptest::prelude::*;
use ward_core::exchange::cybertip::{CyberTiplineDraft, DraftFile, Reporter, write_draft};
use ward_core::exchange::{
    Change, ExchangedSignal, Format, Item, ListLabel, Position, Record, RecordError, Summary, csv,
    hma, read, vics,
};

use crate::testdata;

const MD5A: &str = "00112233445566778899aabbccddeeff";
const MD5B: &str = "ffeeddccbbaa99887766554433221100";
const MD5C: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const SHA1A: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA1B: &str = "89abcdef0123456789abcdef0123456789abcdef";
const SHA256A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PDQA: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f";
const PDQB: &str = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0ff0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0";
const PDNA: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The samples' vPDQ signal, in python-threatexchange's form.
const VPDQ: &str = "[\"f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f,100,0.000\", \
                    \"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0ff0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0,87,1.000\"]";

/// Names the samples' hashes in rendered records, so that expectations stay readable.
fn name_hashes(text: &str) -> String {
    [
        (SHA256A, "{sha256a}"),
        (PDQA, "{pdqa}"),
        (PDQB, "{pdqb}"),
        (SHA1A, "{sha1a}"),
        (SHA1B, "{sha1b}"),
        (MD5A, "{md5a}"),
        (MD5B, "{md5b}"),
        (MD5C, "{md5c}"),
        (PDNA, "{pdna}"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (hash, name)| {
        text.replace(hash, name)
            .replace(&hash.to_uppercase(), &name.to_uppercase())
    })
}

/// One record (or error) as a line: `3@12 upsert id=x md5:{md5a} label=industry:A1
/// Series=…`, `4@20 delete id=x`, `5@30 malformed: reason`, `6@40 fatal: reason`.
fn render(item: &Result<Record, RecordError>) -> String {
    let at = |p: &Position| format!("{}@{}", p.record, p.line);
    let text = match item {
        Ok(record) => {
            let id = record.external_id.as_deref().unwrap_or("-");
            match &record.change {
                Change::Delete => format!("{} delete id={id}", at(&record.position)),
                Change::Upsert(item) => {
                    let mut text = format!("{} upsert id={id}", at(&record.position));
                    for signal in &item.signals {
                        let value = if signal.value == VPDQ {
                            "{vpdq}"
                        } else {
                            &signal.value
                        };
                        text += &format!(" {}:{value}", signal.signal_type);
                    }
                    if let Some(label) = &item.label {
                        text += &format!(" label={}", label.scheme);
                        if let Some(profile) = &label.profile {
                            text += &format!("/{profile}");
                        }
                        text += &format!(":{}", label.label);
                    }
                    for (name, value) in &item.attributes {
                        text += &format!(" {name}={value}");
                    }
                    text
                }
            }
        }
        Err(RecordError::Malformed { position, reason }) => {
            format!("{} malformed: {reason}", at(position))
        }
        Err(RecordError::Fatal { position, reason }) => format!("{} fatal: {reason}", at(position)),
    };
    name_hashes(&text)
}

fn read_all(
    format: Format,
    input: impl io::BufRead,
) -> (Vec<Result<Record, RecordError>>, Summary) {
    let mut items = Vec::new();
    let summary = read(format, input, &mut |item| {
        items.push(item);
        ControlFlow::Continue(())
    });
    (items, summary)
}

fn sample(path: &str) -> Vec<u8> {
    let path = testdata().join("exchange").join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads a sample and checks what it gives, line by line, and that the summary counts it.
fn check(format: Format, path: &str, expected: &[&str]) {
    let bytes = sample(path);
    // A small buffer, so that records cross buffer boundaries.
    let (items, summary) = read_all(format, BufReader::with_capacity(7, &bytes[..]));
    let lines: Vec<String> = items.iter().map(render).collect();
    assert_eq!(lines, expected, "{path}");
    let malformed = lines.iter().filter(|l| l.contains(" malformed: ")).count() as u64;
    let fatal = lines.iter().any(|l| l.contains(" fatal: "));
    assert_eq!(
        summary,
        Summary {
            records: lines.len() as u64 - malformed - u64::from(fatal),
            malformed,
            fatal,
        },
        "{path}"
    );
}

#[test]
fn csv_lists() {
    check(
        Format::Csv,
        "csv/list.csv",
        &[
            // Adjacent rows with one id are one item.
            "1@3 upsert id=m-1 md5:{md5a} sha1:{sha1a} label=industry:A1",
            "3@5 upsert id=- pdq:{pdqa} label=vics/US:1",
            "4@6 upsert id=s-1 sha256:{sha256a} label=uk:B",
            "5@7 upsert id=v-1 vpdq:{vpdq}",
            "6@8 upsert id=id, with comma md5:{md5b} label=a label of no scheme",
        ],
    );
    check(
        Format::Csv,
        "csv/bad.csv",
        &[
            "1@2 upsert id=1 md5:{md5a}",
            "2@3 malformed: invalid md5: not hexadecimal: \"00112233445566778899aabbccddeezz\"",
            "3@4 malformed: invalid sha1: expected 40 hex digits, got 39",
            "4@5 malformed: signal type \"photodna\" is proprietary and cannot be matched by Ward",
            "5@6 upsert id=5 md5:{md5b}",
        ],
    );
    // What untyped 64-digit hashes are is the caller's to say.
    let mut signals = Vec::new();
    csv::read_as(
        format!("{SHA256A}\n").as_bytes(),
        ward_core::lists::Hex64::Sha256,
        &mut |item| {
            let Change::Upsert(item) = item.unwrap().change else {
                panic!("not an upsert")
            };
            signals.extend(item.signals);
            ControlFlow::Continue(())
        },
    );
    assert_eq!(signals, [signal("sha256", SHA256A)]);
}

#[test]
fn hma_bank_content() {
    check(
        Format::Hma,
        "hma/bank.jsonl",
        &[
            "1@1 upsert id=1 pdq:{pdqa}",
            "2@2 upsert id=2 md5:{md5a} vpdq:{vpdq} label=industry:B1 content_id=clip-7 \
             Series=made-up series source=test",
            "3@3 upsert id=x-3 md5:{md5b} photodna:{pdna} sha1:{sha1b}",
        ],
    );
    check(
        Format::Hma,
        "hma/bad.jsonl",
        &[
            "1@1 upsert id=1 pdq:{pdqa}",
            "2@2 malformed: not JSON: EOF while parsing a value at column 29",
            "3@3 malformed: signal \"tmk\": unknown signal type \"tmk\" (expected pdq, vpdq, md5, \
             video_md5, sha1 or sha256)",
            "4@4 malformed: signal \"md5\": invalid md5: expected 32 hex digits, got 31",
            "5@5 malformed: no signals",
            "6@6 malformed: expected a bank content object, found an array",
            "7@7 malformed: label: unknown scheme \"interpol\" (expected industry, uk or vics)",
            "8@8 upsert id=7 sha256:{sha256a}",
        ],
    );
}

/// The first two media entries of `vics/media.json`, which its truncated copy keeps.
const VICS_MEDIA_1_2: [&str; 2] = [
    "1@4 upsert id=1 md5:{md5a} sha1:{sha1a} photodna:{pdna} label=vics/US:1 \
     VictimIdentified=true IsPrecategorized=true Series=made-up series \
     Tags=[\"tag one\",\"tag two\"] MediaSize=2835 DateUpdated=2019-05-01T10:00:00Z",
    "2@17 upsert id=2 md5:{md5b} label=vics/US:2 VictimIdentified=false \
     DateUpdated=2019-05-01T10:00:00Z",
];

#[test]
fn vics_exports() {
    // A BOM, booleans as strings and as JSON, several date forms, upper-case hex, evidence
    // paths and OData annotations dropped, alternative hashes deduplicated.
    let mut expected = VICS_MEDIA_1_2.to_vec();
    expected.extend([
        "3@28 upsert id=3 sha1:{sha1b} sha256:{sha256a} label=vics/US:0 \
         DateUpdated=2019-05-01T10:00:00Z",
        "4@30 upsert id=4 md5:{md5c} DateUpdated=2023-06-07T02:31:49.83Z MediaSize=1024",
    ]);
    check(Format::Vics, "vics/media.json", &expected);
    check(
        Format::Vics,
        "vics/cases.json",
        &[
            "1@5 upsert id=10 md5:{md5a} label=vics/UK:1 \
             CaseID={3f2a6c1e-0000-4000-8000-000000000001} IsDistributed=true",
            "2@6 upsert id=11 md5:{md5b} sha1:{sha1a} label=vics/UK:3 \
             CaseID={3f2a6c1e-0000-4000-8000-000000000001}",
            "3@11 upsert id=12 md5:{md5c} label=vics/UK:2 \
             CaseID={3f2a6c1e-0000-4000-8000-000000000002}",
        ],
    );
}

#[test]
fn broken_vics_exports() {
    check(
        Format::Vics,
        "vics/bad-record.json",
        &[
            "1@4 upsert id=1 md5:{md5a} label=vics/Default:1",
            "2@5 malformed: MD5: invalid md5: not hexadecimal: \
             \"FFEEDDCCBBAA998877665544332211ZZ\"",
            "3@7 malformed: no hash (MD5, SHA1, SHA256 or PhotoDNA)",
            "4@8 malformed: SHA1: invalid sha1: expected 40 hex digits, got 39",
            "5@9 malformed: expected a media object, found a string",
            "6@10 malformed: MD5: expected a string, found 12345",
            "7@11 upsert id=7 md5:{md5c} label=vics/Default:2",
        ],
    );
    let mut expected = VICS_MEDIA_1_2.to_vec();
    expected.push("3@28 fatal: EOF while parsing a value at line 28 column 86");
    check(Format::Vics, "vics/truncated.json", &expected);
    for (input, expected) in [
        (
            "",
            "0@1 fatal: EOF while parsing a value at line 1 column 0",
        ),
        (
            "[]",
            "0@1 fatal: invalid type: sequence, expected a VICS document: a JSON object with a \
             \"value\" array at line 1 column 1",
        ),
        (
            "{}",
            "0@1 fatal: not a VICS document: no \"value\" array at line 1 column 2",
        ),
        (
            "{\"value\": {}}",
            "0@1 fatal: invalid type: map, expected an array of records in \"value\" at line 1 \
             column 11",
        ),
        (
            "{\"value\": []} {}",
            "0@1 fatal: trailing characters at line 1 column 15",
        ),
        (
            "{\"value\": [{\"MD5\": 1]}",
            "1@1 fatal: expected `,` or `}` at line 1 column 21",
        ),
    ] {
        let (items, summary) = read_all(Format::Vics, input.as_bytes());
        let lines: Vec<String> = items.iter().map(render).collect();
        assert_eq!(lines, [expected], "{input}");
        assert!(summary.fatal);
    }
    // Nesting is bounded: skipped without recursion, or stopped at serde_json's recursion
    // limit, never followed down the stack.
    for (input, expected) in [
        (
            format!("{{\"value\": [{}", "[".repeat(100_000)),
            "1@1 fatal: EOF while parsing a list at line 1 column 100011",
        ),
        (
            format!("{{\"value\": [{{\"Tags\": {}", "[".repeat(100_000)),
            "1@1 fatal: recursion limit exceeded at line 1 column 145",
        ),
    ] {
        let (items, _) = read_all(Format::Vics, input.as_bytes());
        let lines: Vec<String> = items.iter().map(render).collect();
        assert_eq!(lines, [expected]);
    }
}

#[test]
fn ncmec_pages() {
    let first_two = [
        "1@4 upsert id=image1 md5:{md5a} sha1:{sha1a} photodna:{pdna} label=industry:A1 \
         member/@id=42 member=Example Member & Co timestamp=2017-10-24T15:00:00Z \
         feedback/@lastUpdateTimestamp=2023-06-01T12:48:14Z",
        "2@23 upsert id=image2 md5:{md5b} pdq:{pdqa} somethingNew=kept as an attribute \
         classification=Unclassified",
    ];
    let mut expected = first_two.to_vec();
    expected.extend([
        "3@29 delete id=image4",
        "4@36 upsert id=video1 md5:{md5c} label=industry:B2 member/@id=42 member=Example Member \
         timestamp=2017-10-24T15:00:00Z",
        "5@46 delete id=video4",
    ]);
    check(Format::Ncmec, "ncmec/page.xml", &expected);
    // Cut inside the tombstone: the complete entries before it, then where it ends.
    let mut expected = first_two.to_vec();
    expected.push("3@30 fatal: the input ends inside <member>: a truncated page");
    check(Format::Ncmec, "ncmec/truncated.xml", &expected);
    check(
        Format::Ncmec,
        "ncmec/bad-hex.xml",
        &[
            "1@4 malformed: fingerprints/md5: invalid md5: not hexadecimal: \
             \"00112233445566778899aabbccddeexx\"",
            "2@8 malformed: fingerprints/sha1: invalid sha1: expected 40 hex digits, got 42",
            "3@12 malformed: no id",
            "4@15 malformed: no fingerprint (md5, sha1, sha256, pdq or pdna)",
            "5@18 upsert id=good md5:{md5c} label=industry:A2",
        ],
    );
}

/// Pages of NCMEC's live API: entries keyed on member and id (ids are unique only within a
/// member), and the next page's link as the server wrote it, unescaped.
#[test]
fn ncmec_live_pages() {
    let bytes = sample("ncmec/page.xml");
    let mut items = Vec::new();
    let (summary, links) = ward_core::exchange::ncmec::read_page(
        BufReader::with_capacity(7, &bytes[..]),
        &mut |item| {
            items.push(item);
            ControlFlow::Continue(())
        },
    );
    let lines: Vec<String> = items.iter().map(render).collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines[0].starts_with("1@4 upsert id=42-image1 "),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "2@23 malformed: no member id");
    assert_eq!(lines[2], "3@29 delete id=43-image4");
    assert!(
        lines[3].starts_with("4@36 upsert id=42-video1 "),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "5@46 delete id=42-video4");
    assert_eq!(
        (summary.records, summary.malformed, summary.fatal),
        (4, 1, false)
    );
    assert_eq!(
        links.next.as_deref(),
        Some(
            "/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&to=2017-10-30T00%3A00%3A00.000Z\
             &start=2001&size=1000&max=3000"
        )
    );
    // The last page has no link; a file read as a list never looks for one.
    let last = b"<queryResult><images count=\"0\"/></queryResult>";
    let (_, links) =
        ward_core::exchange::ncmec::read_page(&last[..], &mut |_| ControlFlow::Continue(()));
    assert_eq!(links.next, None);
}

#[test]
fn broken_ncmec_pages() {
    let image = format!("<image><id>a</id><fingerprints><md5>{MD5A}</md5></fingerprints></image>");
    for (input, expected) in [
        (
            "".to_owned(),
            vec!["0@1 fatal: no XML document: not an NCMEC page"],
        ),
        (
            "<status><member id=\"1\">x</member></status>".to_owned(),
            vec![
                "0@1 fatal: not an NCMEC hash-sharing page: the root element is <status>, not \
                 <queryResult>",
            ],
        ),
        (
            format!("<queryResult><images>{image}</videos></queryResult>"),
            vec![
                "1@1 upsert id=a md5:{md5a}",
                "1@1 fatal: not well-formed XML: ill-formed document: expected `</images>`, but \
                 `</videos>` was found",
            ],
        ),
        (
            format!("<queryResult>\n<images>\n{image}\n<image><id>b</id><fingerprints><md5>"),
            vec![
                "1@3 upsert id=a md5:{md5a}",
                "2@4 fatal: the input ends inside <md5>: a truncated page",
            ],
        ),
        (
            format!("<queryResult><images>{image}</images></queryResult><queryResult/>"),
            vec![
                "1@1 upsert id=a md5:{md5a}",
                "1@1 fatal: <queryResult> after the root element",
            ],
        ),
        (
            format!("<queryResult>{}", "<x>".repeat(200)),
            vec!["0@1 fatal: elements nested deeper than 100"],
        ),
        (
            // Namespaces prefixed, CDATA, entities, comments: all read.
            format!(
                "<n:queryResult xmlns:n=\"urn:x\"><n:videos><n:video><n:id>&#118;1</n:id>\
                 <!-- c --><n:fingerprints><n:md5><![CDATA[{MD5B}]]></n:md5></n:fingerprints>\
                 </n:video></n:videos></n:queryResult>"
            ),
            vec!["1@1 upsert id=v1 md5:{md5b}"],
        ),
    ] {
        let (items, summary) = read_all(Format::Ncmec, input.as_bytes());
        let lines: Vec<String> = items.iter().map(render).collect();
        assert_eq!(lines, expected, "{input}");
        assert_eq!(summary.fatal, expected.iter().any(|l| l.contains("fatal")));
    }
}

#[test]
fn stopncii_pages() {
    check(
        Format::Stopncii,
        "stopncii/page.json",
        &[
            "1@7 upsert id={pdqa} pdq:{pdqa} lastModtimestamp=2021-07-01T19:30:04Z \
             hashStatus=Active caseNumbers={\"00000000-0000-4000-8000-000000000001\":\"Active\"} \
             CSPFeedbacks=[{\"feedbackValue\":\"Blocked\",\"source\":\"Made-up Platform\",\
             \"tags\":[\"Test\"]}] hashRegions=[\"UK\"]",
            "2@28 delete id={pdqb}",
            "3@37 upsert id={md5a} md5:{md5a} lastModtimestamp=2021-07-01T21:31:11Z \
             hashStatus=Received",
            "4@44 malformed: StopNCII signal type \"URL\" is not one Ward holds (ImagePDQ, \
             VideoMD5)",
            "5@50 delete id={md5b}",
            "6@56 malformed: invalid pdq: expected 64 hex digits, got 63",
        ],
    );
}

/// The samples the hostile-input tests start from.
const SAMPLES: [&str; 13] = [
    "csv/list.csv",
    "csv/bad.csv",
    "hma/bank.jsonl",
    "hma/bad.jsonl",
    "vics/media.json",
    "vics/cases.json",
    "vics/bad-record.json",
    "vics/truncated.json",
    "ncmec/page.xml",
    "ncmec/truncated.xml",
    "ncmec/bad-hex.xml",
    "stopncii/page.json",
    "cybertip/draft.xml",
];

fn format_of(path: &str) -> Format {
    match path.split('/').next() {
        Some("csv") => Format::Csv,
        Some("hma") => Format::Hma,
        Some("vics") => Format::Vics,
        Some("stopncii") => Format::Stopncii,
        _ => Format::Ncmec,
    }
}

#[test]
fn the_callback_can_stop_reading() {
    for path in SAMPLES {
        let format = format_of(path);
        let bytes = sample(path);
        let mut calls = 0;
        let summary = read(format, &bytes[..], &mut |_| {
            calls += 1;
            ControlFlow::Break(())
        });
        assert_eq!(calls, 1, "{path}");
        assert_eq!(
            summary.records + summary.malformed + u64::from(summary.fatal),
            1,
            "{path}"
        );
    }
}

/// Checks what every reader promises whatever the input: a fatal error comes last, at most
/// once, and the summary counts what was handed over.
fn read_anything(format: Format, bytes: &[u8]) {
    let (items, summary) = read_all(format, BufReader::with_capacity(13, bytes));
    let fatal_at = items
        .iter()
        .position(|item| matches!(item, Err(RecordError::Fatal { .. })));
    if let Some(at) = fatal_at {
        assert_eq!(at, items.len() - 1, "{format}: fatal error before the end");
    }
    let malformed = items
        .iter()
        .filter(|item| matches!(item, Err(RecordError::Malformed { .. })))
        .count() as u64;
    assert_eq!(summary.fatal, fatal_at.is_some());
    assert_eq!(summary.malformed, malformed);
    assert_eq!(
        summary.records,
        items.len() as u64 - malformed - u64::from(summary.fatal)
    );
    for item in items.iter().flatten() {
        if let Change::Upsert(item) = &item.change {
            assert!(
                !item.signals.is_empty(),
                "{format}: an upsert without signals"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Samples cut short and with bytes changed, read as every format.
    #[test]
    fn damaged_samples_never_panic(
        which in 0..SAMPLES.len(),
        format in 0..Format::ALL.len(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut bytes = sample(SAMPLES[which]);
        bytes.truncate(cut.index(bytes.len() + 1));
        for (at, byte) in flips {
            if !bytes.is_empty() {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
        }
        read_anything(Format::ALL[format], &bytes);
    }

    #[test]
    fn random_bytes_never_panic(
        format in 0..Format::ALL.len(),
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        read_anything(Format::ALL[format], &bytes);
    }
}

#[test]
fn huge_fields_are_reported_and_reading_goes_on() {
    let huge = "x".repeat(5_000_000);
    let vics = format!(
        "{{\"value\": [\n{{\"MediaID\": 1, \"MD5\": \"{MD5A}\"}},\n\
         {{\"MediaID\": 2, \"MD5\": \"{MD5B}\", \"Series\": \"{huge}\"}},\n\
         {{\"MediaID\": 3, \"PhotoDNA\": \"{huge}\"}},\n\
         {{\"MediaID\": 4, \"MD5\": \"{MD5C}\"}}]}}"
    );
    let (items, _) = read_all(Format::Vics, vics.as_bytes());
    let lines: Vec<String> = items.iter().map(render).collect();
    assert_eq!(
        lines,
        [
            "1@2 upsert id=1 md5:{md5a}",
            "2@3 malformed: field \"Series\" is longer than 1 MiB",
            "3@4 malformed: field \"PhotoDNA\" is longer than 1 MiB",
            "4@5 upsert id=4 md5:{md5c}",
        ]
    );
    let ncmec = format!(
        "<queryResult><images>\n<image><id>a</id><note>{huge}</note>\
         <fingerprints><md5>{MD5A}</md5></fingerprints></image>\n\
         <image><id>b</id><fingerprints><md5>{MD5B}</md5></fingerprints></image>\n\
         </images></queryResult>"
    );
    let (items, _) = read_all(Format::Ncmec, ncmec.as_bytes());
    let lines: Vec<String> = items.iter().map(render).collect();
    assert_eq!(
        lines,
        [
            "1@2 malformed: field \"note\" is longer than 1 MiB",
            "2@3 upsert id=b md5:{md5b}",
        ]
    );
    let hma = format!(
        "{{\"signals\": {{\"photodna\": \"{huge}\"}}}}\n{{\"signals\": {{\"md5\": \"{MD5A}\"}}}}\n"
    );
    let (items, _) = read_all(Format::Hma, hma.as_bytes());
    let lines: Vec<String> = items.iter().map(render).collect();
    assert_eq!(
        lines,
        [
            "1@1 malformed: field \"photodna\" is longer than 1 MiB",
            "2@2 upsert id=- md5:{md5a}",
        ]
    );
}

#[test]
fn records_over_16_mib_end_reading() {
    let huge = "x".repeat(17 * 1024 * 1024);
    let vics = format!(
        "{{\"value\": [\n{{\"MediaID\": 1, \"MD5\": \"{MD5A}\"}},\n\
         {{\"MediaID\": 2, \"Series\": \"{huge}\"}},\n{{\"MediaID\": 3, \"MD5\": \"{MD5B}\"}}]}}"
    );
    let (items, summary) = read_all(Format::Vics, vics.as_bytes());
    let lines: Vec<String> = items.iter().map(render).collect();
    assert_eq!(
        lines,
        [
            "1@2 upsert id=1 md5:{md5a}",
            "2@3 fatal: a record is longer than 16 MiB; reading stopped",
        ]
    );
    assert!(summary.fatal);
    let stopncii = format!("{{\"hashRecords\": [{{\"hashValue\": \"{huge}\"}}]}}");
    let (items, _) = read_all(Format::Stopncii, stopncii.as_bytes());
    assert_eq!(
        items.iter().map(render).collect::<Vec<_>>(),
        ["1@1 fatal: a record is longer than 16 MiB; reading stopped"]
    );
    let ncmec = format!(
        "<queryResult><images>\n<image><id>a</id><fingerprints><md5>{MD5A}</md5></fingerprints></image>\n\
         <image><id>{huge}</id></image></images></queryResult>"
    );
    let (items, _) = read_all(Format::Ncmec, ncmec.as_bytes());
    assert_eq!(
        items.iter().map(render).collect::<Vec<_>>(),
        [
            "1@2 upsert id=a md5:{md5a}",
            "2@3 fatal: an entry is longer than 16 MiB; reading stopped"
        ]
    );
    let hma = format!("{huge}\n{{\"signals\": {{\"md5\": \"{MD5A}\"}}}}\n");
    let (items, _) = read_all(Format::Hma, hma.as_bytes());
    assert_eq!(
        items.iter().map(render).collect::<Vec<_>>(),
        [
            "1@1 malformed: longer than 16 MiB",
            "2@2 upsert id=- md5:{md5a}"
        ]
    );
}

/// A VICS `#Media` export of `count` entries, made as it is read and never held whole.
struct GeneratedVics {
    count: u64,
    next: u64,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl GeneratedVics {
    fn new(count: u64) -> GeneratedVics {
        let header = "\u{feff}{\"@odata.context\": \
                      \"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media\",\n\
                      \"value\": [\n";
        GeneratedVics {
            count,
            next: 0,
            chunk: header.as_bytes().to_vec(),
            at: 0,
            done: false,
        }
    }

    fn refill(&mut self) {
        self.chunk.clear();
        self.at = 0;
        if self.next == self.count {
            if !self.done {
                self.chunk.extend_from_slice(b"\n]}\n");
                self.done = true;
            }
            return;
        }
        // A few hundred entries a chunk.
        let end = (self.next + 256).min(self.count);
        for id in self.next..end {
            let separator = if id == 0 { "" } else { ",\n" };
            let entry = format!(
                "{separator}{{\"MediaID\": {id}, \"Category\": \"{}\", \"MD5\": \"{id:032X}\", \
                 \"VictimIdentified\": \"False\", \"DateUpdated\": \"/Date({}000)/\"}}",
                id % 4,
                1_556_704_800 + id
            );
            self.chunk.extend_from_slice(entry.as_bytes());
        }
        self.next = end;
    }
}

impl Read for GeneratedVics {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            self.refill();
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..n + self.at]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn vics_is_read_as_a_stream() {
    const COUNT: u64 = 200_000;
    let mut seen = 0u64;
    let mut last = None;
    let summary = vics::read(BufReader::new(GeneratedVics::new(COUNT)), &mut |item| {
        let record = item.expect("every generated entry is good");
        seen += 1;
        assert_eq!(record.position.record, seen);
        assert_eq!(record.position.line, seen + 2);
        last = Some(record);
        ControlFlow::Continue(())
    });
    assert_eq!(
        summary,
        Summary {
            records: COUNT,
            malformed: 0,
            fatal: false
        }
    );
    let last = last.expect("records");
    let id = COUNT - 1;
    assert_eq!(last.external_id.as_deref(), Some(id.to_string().as_str()));
    let Change::Upsert(item) = last.change else {
        panic!("not an upsert")
    };
    assert_eq!(item.signals[0].value, format!("{id:032x}"));
    assert_eq!(
        item.label,
        Some(ListLabel {
            scheme: "vics",
            profile: Some("US".into()),
            label: (id % 4).to_string()
        })
    );
    assert_eq!(
        item.attributes,
        [
            ("VictimIdentified".to_owned(), "false".to_owned()),
            ("DateUpdated".to_owned(), "2019-05-03T17:33:19Z".to_owned())
        ]
    );
}

fn signal(signal_type: &'static str, value: &str) -> ExchangedSignal {
    ExchangedSignal {
        signal_type,
        value: value.to_owned(),
    }
}

fn label(scheme: &'static str, profile: Option<&str>, text: &str) -> Option<ListLabel> {
    Some(ListLabel {
        scheme,
        profile: profile.map(str::to_owned),
        label: text.to_owned(),
    })
}

fn attributes(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Reads what a writer wrote, as (external id, item) pairs.
fn read_back(format: Format, bytes: &[u8]) -> Vec<(Option<String>, Item)> {
    let (items, summary) = read_all(format, bytes);
    assert_eq!(
        (summary.malformed, summary.fatal),
        (0, false),
        "{}",
        String::from_utf8_lossy(bytes)
    );
    items
        .into_iter()
        .map(|item| {
            let record = item.expect("checked");
            let Change::Upsert(item) = record.change else {
                panic!("a writer wrote a delete")
            };
            (record.external_id, item)
        })
        .collect()
}

#[test]
fn csv_round_trips() {
    let items = vec![
        (
            Some("1".to_owned()),
            Item {
                signals: vec![signal("md5", MD5A)],
                label: label("industry", None, "A1"),
                attributes: vec![],
            },
        ),
        (
            None,
            Item {
                signals: vec![signal("pdq", PDQA)],
                label: label("vics", Some("UK"), "2"),
                attributes: vec![],
            },
        ),
        (
            Some("a \"quoted\", id".to_owned()),
            Item {
                signals: vec![signal("vpdq", VPDQ)],
                label: None,
                attributes: attributes(&[("label", " a label, of no scheme ")]),
            },
        ),
        (
            Some("#4".to_owned()),
            Item {
                signals: vec![signal("sha256", SHA256A)],
                label: label("uk", None, "C"),
                attributes: vec![],
            },
        ),
    ];
    let mut writer = csv::Writer::new(Vec::new()).unwrap();
    for (id, item) in &items {
        writer.write(item, id.as_deref()).unwrap();
    }
    let bytes = writer.finish().unwrap();
    assert_eq!(read_back(Format::Csv, &bytes), items);
    // A row per signal, read back as one item (attributes are not kept in CSV).
    let two = Item {
        signals: vec![signal("md5", MD5A), signal("sha1", SHA1A)],
        label: label("industry", None, "B2"),
        attributes: attributes(&[("Series", "not kept in CSV")]),
    };
    let mut writer = csv::Writer::new(Vec::new()).unwrap();
    writer.write(&two, Some("7")).unwrap();
    let back = read_back(Format::Csv, &writer.finish().unwrap());
    let seven = Some("7".to_owned());
    assert_eq!(
        back,
        [(
            seven,
            Item {
                attributes: vec![],
                ..two.clone()
            }
        )]
    );
    let mut writer = csv::Writer::new(Vec::new()).unwrap();
    assert!(writer.write(&two, Some("a\nb")).is_err());
    assert!(writer.write(&Item::default(), None).is_err());
    assert_eq!(writer.finish().unwrap(), b"signal_type,signal,id,label\n");
}

#[test]
fn hma_round_trips() {
    // Signals in the order the reader gives them: by type name.
    let items = vec![
        (
            Some("17".to_owned()),
            Item {
                signals: vec![
                    signal("md5", MD5A),
                    signal("pdq", PDQA),
                    signal("vpdq", VPDQ),
                ],
                label: label("industry", None, "A2"),
                attributes: attributes(&[("Series", "x"), ("Series", "y \"quoted\" ünïcode")]),
            },
        ),
        (
            Some("content-b".to_owned()),
            Item {
                signals: vec![
                    signal("photodna", PDNA),
                    signal("sha1", SHA1A),
                    signal("sha256", SHA256A),
                ],
                label: label("vics", Some("US"), "1"),
                attributes: vec![],
            },
        ),
        (
            None,
            Item {
                signals: vec![signal("pdq", PDQB)],
                label: None,
                attributes: attributes(&[("content_id", "c-1")]),
            },
        ),
    ];
    let mut writer = hma::Writer::new(Vec::new()).unwrap();
    for (id, item) in &items {
        writer.write(item, id.as_deref()).unwrap();
    }
    let bytes = writer.finish().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with(&format!("{{\"id\":17,\"signals\":{{\"md5\":\"{MD5A}\",")),
        "{text}"
    );
    assert_eq!(read_back(Format::Hma, &bytes), items);
    let mut writer = hma::Writer::new(Vec::new()).unwrap();
    let twice = Item {
        signals: vec![signal("md5", MD5A), signal("md5", MD5B)],
        ..Item::default()
    };
    assert!(writer.write(&twice, None).is_err());
    assert!(writer.finish().unwrap().is_empty());
}

#[test]
fn vics_round_trips() {
    // Signals in the order the writer puts them: MD5, SHA1, PhotoDNA, then the alternatives.
    let items = vec![
        (
            Some("1".to_owned()),
            Item {
                signals: vec![
                    signal("md5", MD5A),
                    signal("sha1", SHA1A),
                    signal("photodna", PDNA),
                ],
                label: label("vics", Some("US"), "1"),
                attributes: attributes(&[
                    ("VictimIdentified", "true"),
                    ("Series", "made-up \"series\""),
                    ("DateUpdated", "2019-05-01T10:00:00Z"),
                    ("Tags", "[\"a\",\"b\"]"),
                ]),
            },
        ),
        (
            Some("media-2".to_owned()),
            Item {
                signals: vec![
                    signal("md5", MD5B),
                    signal("sha256", SHA256A),
                    signal("pdq", PDQA),
                    signal("md5", MD5C),
                ],
                label: None,
                attributes: vec![],
            },
        ),
        (
            None,
            Item {
                signals: vec![signal("sha1", SHA1B)],
                label: label("vics", Some("US"), "0"),
                attributes: attributes(&[("CaseID", "{case}")]),
            },
        ),
    ];
    let mut writer = vics::Writer::new(Vec::new(), Some("US")).unwrap();
    for (id, item) in &items {
        writer.write(item, id.as_deref()).unwrap();
    }
    let bytes = writer.finish().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(&format!("\"MD5\":\"{}\"", MD5A.to_uppercase())),
        "{text}"
    );
    assert!(text.contains("\"MediaID\":1,\"Category\":1,"), "{text}");
    assert_eq!(read_back(Format::Vics, &bytes), items);

    // Labels of another scheme or profile are not written; vPDQ cannot be.
    let mut writer = vics::Writer::new(Vec::new(), None).unwrap();
    let other = Item {
        signals: vec![signal("md5", MD5A)],
        label: label("industry", None, "A1"),
        attributes: attributes(&[("MD5", "an attribute may not pose as a hash")]),
    };
    writer.write(&other, Some("9")).unwrap();
    let vpdq = Item {
        signals: vec![signal("vpdq", VPDQ)],
        ..Item::default()
    };
    assert!(writer.write(&vpdq, None).is_err());
    let back = read_back(Format::Vics, &writer.finish().unwrap());
    let plain = Item {
        signals: vec![signal("md5", MD5A)],
        ..Item::default()
    };
    assert_eq!(back, [(Some("9".to_owned()), plain)]);
    assert!(vics::Writer::new(Vec::new(), Some("U/S")).is_err());
}

fn draft() -> CyberTiplineDraft {
    let item = Item {
        signals: vec![
            signal("md5", MD5A),
            signal("sha1", SHA1A),
            signal("pdq", PDQA),
        ],
        label: label("industry", None, "A1"),
        attributes: vec![],
    };
    CyberTiplineDraft {
        incident_date_time: "2024-05-01T10:00:00Z".into(),
        url: Some("https://example.invalid/page?a=1&b=<2>".into()),
        reporter: Reporter {
            first_name: Some("Trust".into()),
            last_name: Some("O'Safety".into()),
            email: Some("tns@example.invalid".into()),
        },
        files: vec![
            DraftFile::from_item(&item, Some("upload \"1\".jpg".into())),
            DraftFile {
                file_name: None,
                classification: None,
                hashes: vec![signal("photodna", PDNA)],
            },
        ],
    }
}

#[test]
fn cybertipline_draft_matches_its_golden_file() {
    let mut written = Vec::new();
    write_draft(&draft(), &mut written).unwrap();
    let path = testdata().join("exchange/cybertip/draft.xml");
    if std::env::var_os("WARD_BLESS").is_some() {
        std::fs::write(&path, &written).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&golden)
    );

    // Without a URL, a placeholder says what to fill in.
    let mut written = Vec::new();
    let bare = CyberTiplineDraft {
        incident_date_time: "2024-05-01T10:00:00Z".into(),
        ..CyberTiplineDraft::default()
    };
    write_draft(&bare, &mut written).unwrap();
    let text = String::from_utf8(written).unwrap();
    assert!(
        text.contains("<internetDetails>\n    <!-- Fill in where the content was"),
        "{text}"
    );
    assert!(!text.contains("<fileDetails>"));
}
