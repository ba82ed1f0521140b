//! Self-reports: a person in a picture or video (or a parent or carer for them) sends the
//! hashes their own browser made of it, never the file, and the hotline shares them in a
//! bank of kind `self_report` so that platforms remove copies. A case groups one sending and
//! later additions under a case number and a code; with both, the person adds files or
//! withdraws the case, which removes its items (tombstones in every feed).
//!
//! What is kept of a case: its number, the SHA-256 digest of its code, its bank and country,
//! when it was opened and withdrawn, and its items; each item is a content item with the
//! file's hashes, source `self-report:{country}` and the attribute `country`, unassessed
//! (nobody has seen it). Nothing about the person or their device is kept. The methods are
//! written once for both backends (`self_report_methods!()` inside each `impl Store`).

use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::model::{BankId, NewContent, Signal, SignalKind, Timestamp};

/// The most files one sending may add to a case.
pub const SELF_REPORT_SEND_MAX: usize = 50;

/// The most files a case may hold, all its sendings together.
pub const SELF_REPORT_FILES_MAX: usize = 500;

/// The hashes of one file, made on the person's device: the MD5 of its bytes and, for a
/// picture, its PDQ hash (lower-case hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfReportFile {
    pub md5: String,
    pub pdq: Option<String>,
}

/// A new case: its files' hashes, for `bank` (a self-report bank), from the portal page of
/// `country` (lower-case ISO 3166-1 alpha-2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSelfReport {
    pub bank: BankId,
    pub country: String,
    pub files: Vec<SelfReportFile>,
}

/// A case as its holder sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelfReport {
    pub id: i64,
    /// `S-7K3M-Q9XP-2D4F`.
    pub number: String,
    pub bank: BankId,
    pub country: String,
    pub opened_at: Timestamp,
    pub withdrawn_at: Option<Timestamp>,
    /// Files sent, all sendings together (withdrawn or not).
    pub files: u32,
}

/// A case just opened, with its code: shown to the person once, never kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedSelfReport {
    pub case: SelfReport,
    pub code: String,
}

/// Checks a sending's files: one to [`SELF_REPORT_SEND_MAX`], each an MD5 and at most a
/// PDQ hash, in lower-case hex.
pub(crate) fn check_files(files: &[SelfReportFile]) -> Result<()> {
    if files.is_empty() {
        return Err(StoreError::Invalid(
            "a self-report sends at least one file".into(),
        ));
    }
    if files.len() > SELF_REPORT_SEND_MAX {
        return Err(StoreError::Invalid(format!(
            "a self-report sends at most {SELF_REPORT_SEND_MAX} files at once ({} sent)",
            files.len()
        )));
    }
    let hex = |text: &str, len: usize| {
        text.len() == len
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    for file in files {
        if !hex(&file.md5, 32) {
            return Err(StoreError::Invalid(
                "a self-reported MD5 is 32 lower-case hex digits".into(),
            ));
        }
        if file.pdq.as_deref().is_some_and(|pdq| !hex(pdq, 64)) {
            return Err(StoreError::Invalid(
                "a self-reported PDQ hash is 64 lower-case hex digits".into(),
            ));
        }
    }
    Ok(())
}

/// Checks a case's country: two lower-case letters.
pub(crate) fn check_country(country: &str) -> Result<()> {
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "a self-report's country is two lower-case letters, not {country:?}"
        )))
    }
}

/// The content items of a sending from `country`.
pub(crate) fn items(country: &str, files: &[SelfReportFile]) -> Vec<NewContent> {
    files
        .iter()
        .map(|file| {
            let mut signals = vec![Signal {
                kind: SignalKind::Md5,
                value: file.md5.clone(),
            }];
            if let Some(pdq) = &file.pdq {
                signals.push(Signal {
                    kind: SignalKind::Pdq,
                    value: pdq.clone(),
                });
            }
            NewContent {
                signals,
                assessment: None,
                source: format!("self-report:{country}"),
                external_id: None,
                label: None,
                attributes: vec![("country".to_owned(), country.to_uppercase())],
            }
        })
        .collect()
}

/// Whether `code` (as typed) is the case's: its digest equals the kept one, compared in
/// constant time.
pub(crate) fn code_matches(code: &str, kept_digest: &str) -> bool {
    let Some(code) = crate::secret::normalise_case_code(code) else {
        return false;
    };
    let digest = crate::secret::digest(&code);
    digest.len() == kept_digest.len()
        && digest
            .bytes()
            .zip(kept_digest.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The row a case is read from.
pub(crate) const CASE_COLUMNS: &str = "s.id, s.number, s.code_sha256, s.bank_id, s.country, \
     s.opened_at, s.withdrawn_at, \
     (SELECT COUNT(*) FROM self_report_content c WHERE c.self_report_id = s.id)";

/// A case's row: `(id, number, code digest, bank, country, opened, withdrawn, files)`.
pub(crate) type CaseRow = (i64, String, String, i64, String, i64, Option<i64>, i64);

pub(crate) fn case(row: CaseRow) -> SelfReport {
    let (id, number, _, bank, country, opened_at, withdrawn_at, files) = row;
    SelfReport {
        id,
        number,
        bank: BankId(bank),
        country,
        opened_at: Timestamp(opened_at),
        withdrawn_at: withdrawn_at.map(Timestamp),
        files: u32::try_from(files).unwrap_or(u32::MAX),
    }
}

/// The methods, written once for both backends. What they call, the backend provides:
/// `self.write_feed()`, `self.read()`, `log`, `database`, `require_self_report_bank`,
/// `insert_content` and `remove_live_content`.
macro_rules! self_report_methods {
    () => {
        async fn open_self_report(
            &self,
            report: &crate::self_report::NewSelfReport,
        ) -> Result<crate::self_report::OpenedSelfReport> {
            use crate::self_report as sr;
            sr::check_country(&report.country)?;
            sr::check_files(&report.files)?;
            let now = Timestamp::now();
            let code = secret::case_code()?;
            let mut tx = self.write_feed().await?;
            require_self_report_bank(&mut tx, report.bank).await?;
            // 60 random bits: a clash is all but impossible, and retried.
            let (id, number) = loop {
                let number = secret::case_number()?;
                let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
                    "INSERT INTO self_reports (number, code_sha256, bank_id, country, opened_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&number)
                .bind(secret::digest(&code))
                .bind(report.bank.0)
                .bind(&report.country)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await;
                match inserted {
                    Ok(id) => break (id, number),
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(database(e)),
                }
            };
            let items = sr::items(&report.country, &report.files);
            let items: Vec<&NewContent> = items.iter().collect();
            let ids = insert_content(&mut tx, &Actor::public(), report.bank, &items, now).await?;
            link_self_report_items(&mut tx, id, &ids, now).await?;
            log(
                &mut tx,
                &Actor::public(),
                now,
                crate::audit::Event::self_report("self_report.open", id, report.bank, ids.len()),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(sr::OpenedSelfReport {
                case: sr::SelfReport {
                    id,
                    number,
                    bank: report.bank,
                    country: report.country.clone(),
                    opened_at: now,
                    withdrawn_at: None,
                    files: u32::try_from(ids.len()).unwrap_or(u32::MAX),
                },
                code,
            })
        }

        async fn self_report(
            &self,
            number: &str,
            code: &str,
        ) -> Result<Option<crate::self_report::SelfReport>> {
            let mut tx = self.read().await?;
            match held_self_report(&mut tx, number, code).await {
                Ok(case) => Ok(Some(case)),
                Err(StoreError::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        }

        async fn add_to_self_report(
            &self,
            number: &str,
            code: &str,
            files: &[crate::self_report::SelfReportFile],
        ) -> Result<crate::self_report::SelfReport> {
            use crate::self_report as sr;
            sr::check_files(files)?;
            let now = Timestamp::now();
            let mut tx = self.write_feed().await?;
            let case = held_self_report(&mut tx, number, code).await?;
            if case.withdrawn_at.is_some() {
                return Err(StoreError::Conflict(format!(
                    "case {} was withdrawn",
                    case.number
                )));
            }
            let total = case.files as usize + files.len();
            if total > sr::SELF_REPORT_FILES_MAX {
                return Err(StoreError::Invalid(format!(
                    "a self-report case holds at most {} files ({total} with these)",
                    sr::SELF_REPORT_FILES_MAX
                )));
            }
            require_self_report_bank(&mut tx, case.bank).await?;
            let items = sr::items(&case.country, files);
            let items: Vec<&NewContent> = items.iter().collect();
            let ids = insert_content(&mut tx, &Actor::public(), case.bank, &items, now).await?;
            link_self_report_items(&mut tx, case.id, &ids, now).await?;
            log(
                &mut tx,
                &Actor::public(),
                now,
                crate::audit::Event::self_report("self_report.add", case.id, case.bank, ids.len()),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(sr::SelfReport {
                files: u32::try_from(total).unwrap_or(u32::MAX),
                ..case
            })
        }

        async fn withdraw_self_report(
            &self,
            number: &str,
            code: &str,
        ) -> Result<crate::self_report::SelfReport> {
            let now = Timestamp::now();
            let mut tx = self.write_feed().await?;
            let case = held_self_report(&mut tx, number, code).await?;
            if case.withdrawn_at.is_some() {
                return Err(StoreError::Conflict(format!(
                    "case {} was withdrawn already",
                    case.number
                )));
            }
            let items: Vec<i64> = sqlx::query_scalar(
                "SELECT content_id FROM self_report_content WHERE self_report_id = $1 \
                 ORDER BY content_id",
            )
            .bind(case.id)
            .fetch_all(&mut *tx)
            .await
            .map_err(database)?;
            let mut removed = 0;
            for item in items {
                if remove_live_content(&mut tx, ContentId(item), now).await? {
                    removed += 1;
                }
            }
            sqlx::query("UPDATE self_reports SET withdrawn_at = $2 WHERE id = $1")
                .bind(case.id)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            log(
                &mut tx,
                &Actor::public(),
                now,
                crate::audit::Event::self_report(
                    "self_report.withdraw",
                    case.id,
                    case.bank,
                    removed,
                ),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(crate::self_report::SelfReport {
                withdrawn_at: Some(now),
                ..case
            })
        }
    };
}

pub(crate) use self_report_methods;

/// The helpers the methods share, at a backend module's top level.
macro_rules! self_report_helpers {
    ($conn:ty) => {
        /// Links a case to the content items its files became.
        async fn link_self_report_items(
            conn: &mut $conn,
            case: i64,
            items: &[ContentId],
            now: Timestamp,
        ) -> Result<()> {
            for item in items {
                sqlx::query(
                    "INSERT INTO self_report_content (self_report_id, content_id, added_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(case)
                .bind(item.0)
                .bind(now.0)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Ok(())
        }

        /// The case that `number` and `code` (as typed) name, read in the transaction
        /// `conn`; `NotFound` alike for an unknown number and a wrong code.
        async fn held_self_report(
            conn: &mut $conn,
            number: &str,
            code: &str,
        ) -> Result<crate::self_report::SelfReport> {
            let unknown = || StoreError::NotFound {
                what: "self-report case",
                id: "with this number and code".into(),
            };
            let number = crate::secret::normalise_case_number(number).ok_or_else(unknown)?;
            let row: Option<crate::self_report::CaseRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM self_reports s WHERE s.number = $1",
                    crate::self_report::CASE_COLUMNS
                )))
                .bind(number)
                .fetch_optional(&mut *conn)
                .await
                .map_err(database)?;
            row.filter(|row| crate::self_report::code_matches(code, &row.2))
                .map(crate::self_report::case)
                .ok_or_else(unknown)
        }
    };
}

pub(crate) use self_report_helpers;

#[cfg(test)]
mod tests {
    use super::*;

    fn file(md5: &str, pdq: Option<&str>) -> SelfReportFile {
        SelfReportFile {
            md5: md5.into(),
            pdq: pdq.map(Into::into),
        }
    }

    #[test]
    fn sendings_are_checked() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let pdq = "f".repeat(64);
        let cases: Vec<(Vec<SelfReportFile>, bool)> = vec![
            (vec![file(md5, None)], true),
            (vec![file(md5, Some(&pdq))], true),
            (vec![], false),
            (vec![file(&md5.to_uppercase(), None)], false),
            (vec![file(&md5[1..], None)], false),
            (vec![file(md5, Some(&pdq[1..]))], false),
            (vec![file(md5, Some(&"g".repeat(64)))], false),
            (vec![file(md5, None); SELF_REPORT_SEND_MAX], true),
            (vec![file(md5, None); SELF_REPORT_SEND_MAX + 1], false),
        ];
        for (files, ok) in cases {
            assert_eq!(check_files(&files).is_ok(), ok, "{files:?}");
        }
        for (country, ok) in [
            ("ma", true),
            ("MA", false),
            ("m", false),
            ("mar", false),
            ("", false),
        ] {
            assert_eq!(check_country(country).is_ok(), ok, "{country}");
        }
    }

    #[test]
    fn items_carry_the_hashes_and_the_country_only() {
        let items = items(
            "ma",
            &[
                file(&"a".repeat(32), Some(&"b".repeat(64))),
                file(&"c".repeat(32), None),
            ],
        );
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].signals.len(), 2);
        assert_eq!(items[1].signals.len(), 1);
        for item in &items {
            assert_eq!(item.source, "self-report:ma");
            assert_eq!(item.attributes, [("country".to_owned(), "MA".to_owned())]);
            assert!(
                item.assessment.is_none() && item.external_id.is_none() && item.label.is_none()
            );
        }
    }

    #[test]
    fn codes_match_only_their_digest() {
        let kept = crate::secret::digest("4T7Q-M2XH");
        assert!(code_matches("4T7Q-M2XH", &kept));
        assert!(code_matches("4t7qm2xh", &kept));
        assert!(!code_matches("4T7Q-M2XJ", &kept));
        assert!(!code_matches("", &kept));
    }
}
