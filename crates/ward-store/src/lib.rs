//! Ward's storage, and the only SQL in Ward: organisations, API keys, banks, content with its
//! signals, opinions, the index feed and the audit log, behind one [`Store`] trait.
//!
//! Two implementations share one conformance suite (`tests/store/`): SQLite, the embedded
//! default (one file under the data directory, WAL), and PostgreSQL, which lets several
//! `ward serve` nodes serve one deployment. [`AnyStore`] is whichever the command line asked
//! for. Each backend runs its own migrations when opened.
//!
//! The database is the truth. Matching indexes are derived from it through the index feed
//! ([`Store::signal_changes`]): every change to a signal (added, its content enabled,
//! disabled, removed, assessed or given an opinion, its bank deleted) gives the signal a new
//! [`Seq`], and a node that has
//! applied everything up to some `Seq` asks for what came after. Changes become visible in
//! `Seq` order, so a reader never skips one.
//!
//! Every change is written to the append-only audit log in the same transaction; reads of
//! sensitive data are logged with [`Store::record_read`].

mod any;
mod audit;
mod error;
mod exchanges;
mod feedback;
mod forward;
mod import;
mod key_use;
mod model;
mod nodes;
mod notes;
mod notice;
mod password_links;
mod portable;
mod postgres;
mod referral;
mod report;
mod rows;
pub mod rules;
mod secret;
mod self_report;
mod series;
mod sqlite;
mod statistics;
mod transparency;

use std::future::Future;

pub use any::{AnyStore, SQLITE_FILE};
pub use error::{Result, StoreError};
pub use exchanges::{
    ConvertedPartner, EXCHANGE_APIS, Exchange, ExchangeId, ExchangeLease, FetchEnd, FetchProgress,
    FetchStatus, NewExchange, credentials_name,
};
pub use feedback::{
    Feedback, FeedbackOutcome, FeedbackState, MAX_FEEDBACK_ERROR, MAX_FEEDBACK_PART,
};
pub use forward::{
    ACK_TIMEOUT_DEFAULT_MS, ACK_TIMEOUT_MAX_MS, FORWARD_COUNTRIES_MAX, FORWARD_PAGE_MAX,
    ForwardAssessment, ForwardDirection, ForwardMessage, ForwardOrigin, ForwardSignal,
    ForwardState, ForwardingApplied, ForwardingPartner, NewForwardingPartner, UrlForward,
};
pub use model::*;
pub use nodes::{MAX_NODE_TEXT, NODE_FORGOTTEN_AFTER_MS, Node};
pub use postgres::PgStore;
pub use referral::{Referral, ReferralItem, ReferralReport, ReferralUrl};
pub use report::HOSTING_PLACES_MAX;
pub use rules::{MAX_REFERRAL_ITEMS, SERIES_PAGE_MAX, SPLIT_MAX};
pub use secret::{normalise_case_code, normalise_case_number, normalise_reference};
pub use self_report::{
    NewSelfReport, OpenedSelfReport, SELF_REPORT_FILES_MAX, SELF_REPORT_SEND_MAX, SelfReport,
    SelfReportFile,
};
pub use series::{
    DecisionId, Series, SeriesChange, SeriesDecision, SeriesId, SeriesKeeping, SeriesQuery,
    SeriesRequest, SeriesSave, SeriesUpkeep,
};
pub use sqlite::SqliteStore;
pub use statistics::{ForwardFigures, PlaceFigures, RemovalFigures, Statistics};
pub use transparency::{FIGURES, Figure, MatchCounts, Month, Transparency};

/// The storage operations of a Ward deployment.
///
/// Methods that change something take the [`Actor`] for the audit log. Names and values are
/// checked here (a bank name's length, a distance's range), but signals arrive already
/// validated and in canonical form: parsing them is ward-core's job.
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    // Organisations.

    /// Creates an organisation; `Conflict` if the name is taken.
    fn create_org(
        &self,
        actor: &Actor,
        name: &str,
    ) -> impl Future<Output = Result<Organisation>> + Send;
    fn org(&self, id: OrgId) -> impl Future<Output = Result<Option<Organisation>>> + Send;
    fn org_by_name(&self, name: &str) -> impl Future<Output = Result<Option<Organisation>>> + Send;
    /// Every organisation, by id.
    fn orgs(&self) -> impl Future<Output = Result<Vec<Organisation>>> + Send;
    /// Makes `org` the deployment's operator (the one whose auditors read the whole audit
    /// log), in place of any other, or (`None`) leaves the deployment without one; logged as
    /// `org.operator`. `NotFound` for an organisation that does not exist.
    fn set_operator(
        &self,
        actor: &Actor,
        org: Option<OrgId>,
    ) -> impl Future<Output = Result<()>> + Send;

    // API keys.

    /// Makes a key for `org` with `role`: a random secret, of which only a SHA-256 digest
    /// and a visible prefix are stored.
    fn create_key(
        &self,
        actor: &Actor,
        org: OrgId,
        role: Role,
        label: &str,
    ) -> impl Future<Output = Result<NewApiKey>> + Send;
    /// The key whose secret this is, unless it is revoked or unknown.
    fn authenticate(&self, secret: &str) -> impl Future<Output = Result<Option<ApiKey>>> + Send;
    /// Every key, revoked ones included, by id.
    fn keys(&self) -> impl Future<Output = Result<Vec<ApiKey>>> + Send;
    /// Records that these keys were used at `at` (a key's time only moves forward); not
    /// audited: a use is not a change.
    /// Records a node's report of itself (and forgets nodes not seen for a week).
    fn note_node(&self, node: &Node) -> impl Future<Output = Result<()>> + Send;

    /// The nodes seen since `since`, the last seen first.
    fn nodes(&self, since: Timestamp) -> impl Future<Output = Result<Vec<Node>>> + Send;

    fn keys_used(&self, used: &[KeyId], at: Timestamp) -> impl Future<Output = Result<()>> + Send;
    /// Revokes a key (from then on it authenticates nothing); revoking twice is not an
    /// error. The revocation takes the next place in [`Store::key_revocations`].
    fn revoke_key(&self, actor: &Actor, id: KeyId) -> impl Future<Output = Result<ApiKey>> + Send;
    /// The revocations after `after` (a [`KeyRevocation::seq`]; 0 for all), in order, at most
    /// `limit`. Revocations become visible in this order, so a reader that moves its cursor
    /// to the last it read never skips one.
    fn key_revocations(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KeyRevocation>>> + Send;

    // Banks.

    /// Creates a bank; `Conflict` if a bank of the same organisation that is not deleted
    /// has the name (other organisations' banks do not count).
    fn create_bank(
        &self,
        actor: &Actor,
        bank: &NewBank,
    ) -> impl Future<Output = Result<Bank>> + Send;
    fn bank(&self, id: BankId) -> impl Future<Output = Result<Option<Bank>>> + Send;
    /// The banks that are not deleted and have this name (at most one per organisation),
    /// by id. Which of them a name means to a caller is the caller's to decide, among the
    /// banks it sees.
    fn banks_named(&self, name: &str) -> impl Future<Output = Result<Vec<Bank>>> + Send;
    /// Every bank that is not deleted, by id.
    fn banks(&self) -> impl Future<Output = Result<Vec<Bank>>> + Send;
    fn update_bank(
        &self,
        actor: &Actor,
        id: BankId,
        update: &BankUpdate,
    ) -> impl Future<Output = Result<Bank>> + Send;
    /// Deletes a bank: it is no longer listed, its name is free again, and its signals
    /// become inactive in the index feed. Its rows stay for the audit trail.
    fn delete_bank(&self, actor: &Actor, id: BankId) -> impl Future<Output = Result<()>> + Send;

    // Content.

    /// Adds content items with their signals to a bank, in one transaction: all of them
    /// or none. Returns their ids in order.
    fn add_content(
        &self,
        actor: &Actor,
        bank: BankId,
        items: &[NewContent],
    ) -> impl Future<Output = Result<Vec<ContentId>>> + Send;
    /// Applies an import batch in one transaction. An upsert whose external id the bank has
    /// replaces that item (removed, and the new one added); a tombstone removes it. Within
    /// the batch, the last entry for an external id is the one applied.
    fn import_content(
        &self,
        actor: &Actor,
        bank: BankId,
        changes: &[ImportChange],
    ) -> impl Future<Output = Result<ImportCounts>> + Send;
    /// A content item that is not removed, with its signals and opinions.
    fn content(&self, id: ContentId) -> impl Future<Output = Result<Option<Content>>> + Send;
    /// Several content items (those that exist and are not removed), in the order asked.
    fn contents(&self, ids: &[ContentId]) -> impl Future<Output = Result<Vec<Content>>> + Send;
    /// What match answers show of those of `ids` that exist and are not removed (in no
    /// particular order): assessment, provenance, opinion status and series, in one read.
    fn match_summaries(
        &self,
        ids: &[ContentId],
    ) -> impl Future<Output = Result<Vec<MatchSummary>>> + Send;
    /// A bank's content items after `after`, by id, at most `limit`.
    fn bank_contents(
        &self,
        bank: BankId,
        after: Option<ContentId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Content>>> + Send;
    /// Enables or disables a content item (a disabled item's signals are not matched).
    fn set_content_enabled(
        &self,
        actor: &Actor,
        id: ContentId,
        enabled: bool,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Removes a content item: it is no longer listed or matched.
    fn remove_content(
        &self,
        actor: &Actor,
        id: ContentId,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Records (or clears) the analyst's assessment of a content item.
    fn set_assessment(
        &self,
        actor: &Actor,
        id: ContentId,
        assessment: Option<ward_core::categories::Assessment>,
    ) -> impl Future<Output = Result<()>> + Send;

    // Opinions.

    /// Sets `org`'s opinion of a content item, replacing its earlier one; `None` clears it.
    fn set_opinion(
        &self,
        actor: &Actor,
        content: ContentId,
        org: OrgId,
        opinion: Option<OpinionKind>,
    ) -> impl Future<Output = Result<()>> + Send;

    // The index feed.

    /// The signals changed after `after`, in `Seq` order, at most `limit`; each signal at
    /// most once, in its latest state. From `Seq(0)` this is every signal ever stored.
    fn signal_changes(
        &self,
        after: Seq,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SignalChange>>> + Send;
    /// The latest `Seq` given to any change (`Seq(0)` for an empty store).
    fn last_seq(&self) -> impl Future<Output = Result<Seq>> + Send;

    // Federation.

    /// The seed of this instance's Ed25519 signing key, made from the system's random
    /// source the first time it is asked for (once for all nodes of a deployment).
    fn signing_key(&self) -> impl Future<Output = Result<[u8; 32]>> + Send;
    /// Adds an exchange that fills `exchange.bank` (a live bank that no exchange fills yet,
    /// else `Conflict`); logged as `exchange.create`.
    fn create_exchange(
        &self,
        actor: &Actor,
        exchange: &NewExchange,
    ) -> impl Future<Output = Result<Exchange>> + Send;
    /// Every exchange whose bank is not deleted, by id (of every organisation: callers show
    /// those whose banks they see).
    fn exchanges(&self) -> impl Future<Output = Result<Vec<Exchange>>> + Send;
    /// An exchange whose bank is not deleted.
    fn exchange(&self, id: ExchangeId) -> impl Future<Output = Result<Option<Exchange>>> + Send;
    /// Turns an exchange's fetching on or off, or changes its settings (JSON); logged as
    /// `exchange.update`.
    fn update_exchange(
        &self,
        actor: &Actor,
        id: ExchangeId,
        enabled: Option<bool>,
        config: Option<&str>,
    ) -> impl Future<Output = Result<Exchange>> + Send;
    /// Deletes an exchange (its bank stays until deleted as banks are); logged as
    /// `exchange.delete`. Answers what it was.
    fn delete_exchange(
        &self,
        actor: &Actor,
        id: ExchangeId,
    ) -> impl Future<Output = Result<Exchange>> + Send;
    /// Asks for a fetch of an exchange at once, by any node
    /// ([`FetchStatus::fetch_requested_at`]), whatever its interval or backoff; logged as `exchange.fetch`. `NotFound` for an
    /// exchange whose bank is deleted; `Conflict` for a disabled one (no node would fetch
    /// it). The request is spent by the next claim of the exchange's lease.
    fn request_fetch(
        &self,
        actor: &Actor,
        id: ExchangeId,
    ) -> impl Future<Output = Result<Exchange>> + Send;
    /// Takes or renews a node's lease on fetching an exchange until `until`: `None` while
    /// another holds it; a request for a fetch at once made by `now` is spent.
    fn claim_exchange(
        &self,
        id: ExchangeId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Option<ExchangeLease>>> + Send;
    /// Saves a fetch's progress without records (a fetch starting or ending, a page with
    /// nothing in it), if `lease` still holds; the row's new version, else `Conflict`.
    fn save_exchange_progress(
        &self,
        lease: &ExchangeLease,
        progress: &FetchProgress,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Applies a page of an exchange's records to its bank as [`Store::import_content`]
    /// does, and saves the progress after it, in one transaction, if `lease` still holds
    /// (else `Conflict`, and nothing is applied); the exchange's `fetched_items` move by
    /// what the page added and removed. Answers the counts and the new version.
    fn import_exchange_page(
        &self,
        actor: &Actor,
        lease: &ExchangeLease,
        changes: &[ImportChange],
        progress: &FetchProgress,
    ) -> impl Future<Output = Result<(ImportCounts, i64)>> + Send;
    /// Sets (`Some`) or clears an organisation's credentials for an exchange type, sealed
    /// by the caller; logged as `exchange.credentials` (never what they are).
    fn set_exchange_credentials(
        &self,
        actor: &Actor,
        org: OrgId,
        api: &str,
        sealed: Option<&[u8]>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Makes a partner of an older deployment the `ward` exchange filling its bank, in one
    /// transaction: the exchange (enabled, with `converted`'s settings and checkpoint), its
    /// sealed credentials (under [`credentials_name`]), the partner's row deleted (its key
    /// in clear with it); logged as `partner.convert`. Answers the exchange (`None` when
    /// none is made: `sealed` is `None` for a partner whose bank is deleted, or the bank
    /// is deleted, where an exchange is never seen nor fetched); `NotFound` for a partner
    /// gone, `Conflict` when an exchange fills the bank already.
    fn convert_partner(
        &self,
        actor: &Actor,
        converted: &ConvertedPartner,
    ) -> impl Future<Output = Result<Option<Exchange>>> + Send;
    /// An organisation's sealed credentials for an exchange type (kept under
    /// [`credentials_name`]).
    fn exchange_credentials(
        &self,
        org: OrgId,
        api: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    // Feedback owed to exchanges (see the `feedback` module).

    /// Claims, until `until`, at most `limit` pending feedback rows due at `now` that no one
    /// holds (`only` those to that exchange, when given): another claim before `until`
    /// does not get them.
    fn claim_feedback(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
        only: Option<ExchangeId>,
    ) -> impl Future<Output = Result<Vec<Feedback>>> + Send;
    /// Records that the exchange accepted `part` of feedback `id` (a part said twice is
    /// kept once).
    fn feedback_part_done(&self, id: i64, part: &str) -> impl Future<Output = Result<()>> + Send;
    /// Ends an attempt at feedback `id` as `outcome` says, logged as `exchange.feedback`
    /// about its item; `Conflict` if it is no longer pending (superseded on its way, unless
    /// it was sent).
    fn finish_feedback(
        &self,
        actor: &Actor,
        id: i64,
        outcome: &FeedbackOutcome,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The feedback owed or given for a content item, oldest first.
    fn content_feedback(
        &self,
        content: ContentId,
    ) -> impl Future<Output = Result<Vec<Feedback>>> + Send;

    /// A content item's notes (HMA's note, metadata and `disable_until_ts`); empty when it
    /// has none.
    fn content_notes(&self, id: ContentId) -> impl Future<Output = Result<ContentNotes>> + Send;
    /// Sets a live content item's notes (all of them: empty clears them), logged as
    /// `content.notes`. Its enabled state is not changed here.
    fn set_content_notes(
        &self,
        actor: &Actor,
        id: ContentId,
        notes: &ContentNotes,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Content items whose `disabled_until` has come by `now`, soonest first, at most
    /// `limit`.
    fn content_due(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ContentId>>> + Send;
    /// The signal types' enabled ratios that were set, by name.
    fn signal_type_ratios(&self) -> impl Future<Output = Result<Vec<(String, Ratio)>>> + Send;
    /// Sets a signal type's enabled ratio, logged as `signal_type.ratio`.
    fn set_signal_type_ratio(
        &self,
        actor: &Actor,
        name: &str,
        ratio: Ratio,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Adds a partner row as older deployments kept them (partners are now `ward`
    /// exchanges; these rows remain only to be converted, [`Store::convert_partner`], and
    /// to test that conversion); `Conflict` if the name is taken.
    fn add_partner(
        &self,
        actor: &Actor,
        partner: &NewPartner,
    ) -> impl Future<Output = Result<Partner>> + Send;
    /// Every partner row not yet converted, by id.
    fn partners(&self) -> impl Future<Output = Result<Vec<Partner>>> + Send;
    /// Saves where a partner's feed has been read to.
    fn set_partner_cursor(
        &self,
        id: PartnerId,
        cursor: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Saves where this instance's feed has been read to for feedback to a partner.
    fn set_partner_feedback_cursor(
        &self,
        id: PartnerId,
        cursor: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    // Series.

    /// A series by id, as `scope` sees it: its row as it is (a merged one names the series
    /// it joined) with `members` counting only the members in the banks `scope` sees.
    /// `None` for a series `scope` sees no member of (for a merged one: of the series it
    /// joined); with [`BankScope::All`], every series that was ever given out.
    fn series(
        &self,
        id: SeriesId,
        scope: &BankScope,
    ) -> impl Future<Output = Result<Option<Series>>> + Send;
    /// Live series that `query.scope` sees a member of, by id, each counting the members it
    /// sees.
    fn series_list(&self, query: &SeriesQuery) -> impl Future<Output = Result<Vec<Series>>> + Send;
    /// A number that moves on with every change to what the series show (every keeper save,
    /// every change of a series' name, flags or referral), so that a node holding series in
    /// memory knows when to forget them.
    fn series_epoch(&self) -> impl Future<Output = Result<i64>> + Send;
    /// The series log after position `after`, at most `limit` entries: each item's moves
    /// between series and each series' new flags, in the order they were committed (every
    /// keeper save and every change of a series' flags or referral writes it). With
    /// [`Store::series_memberships`], what a node needs to hold every item's series in
    /// memory: read `last` (a page with `limit` 0), then the memberships, then follow the
    /// log from `last`. Entries are kept for a while (ten minutes or more); a reader whose
    /// position is older than `pruned` reads the memberships again.
    fn series_log(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<SeriesLogPage>> + Send;
    /// Every item in a series with its series' badge, by content id after `after`, at most
    /// `limit`: for every organisation (a node's memory; answers show what callers see).
    fn series_memberships(
        &self,
        after: ContentId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(ContentId, SeriesBadge)>>> + Send;
    /// A series' items in the banks `scope` sees, by id.
    fn series_members(
        &self,
        id: SeriesId,
        scope: &BankScope,
    ) -> impl Future<Output = Result<Vec<ContentId>>> + Send;
    /// The series of those of `ids` that are in one, by content id, for content the caller
    /// already sees (a series' `members` here counts every member: never show it).
    fn content_series(
        &self,
        ids: &[ContentId],
    ) -> impl Future<Output = Result<Vec<(ContentId, Series)>>> + Send;
    /// Changes a series' name, flags or referral (of the series it joined, when it was
    /// merged); logged as `series.update`. `NotFound` for a series `scope` does not see
    /// (see [`Store::series`]); the answer counts the members `scope` sees.
    fn update_series(
        &self,
        actor: &Actor,
        id: SeriesId,
        change: &SeriesChange,
        scope: &BankScope,
    ) -> impl Future<Output = Result<Series>> + Send;
    /// Records a curator's request to merge or split, for the keeper to apply; logged as
    /// `series.merge` or `series.split`. What it touches must be what `scope` sees, else
    /// `NotFound`: both series of a merge, and for a split the series and every item named
    /// as a member of it in a bank `scope` sees.
    fn request_series_decision(
        &self,
        actor: &Actor,
        series: SeriesId,
        request: &SeriesRequest,
        scope: &BankScope,
    ) -> impl Future<Output = Result<SeriesDecision>> + Send;
    /// A decision on a series `scope` sees (see [`Store::series`]): the one it names or, once
    /// applied, one it led to.
    fn series_decision(
        &self,
        id: DecisionId,
        scope: &BankScope,
    ) -> impl Future<Output = Result<Option<SeriesDecision>>> + Send;
    /// Decisions not applied yet, in the order they were made.
    fn pending_series_decisions(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SeriesDecision>>> + Send;
    /// Takes or renews the keeper's lease for `holder` until `until`, when it is free (or
    /// lapsed) at `now` or already `holder`'s; returns the keeper row's version when held.
    fn claim_series_keeper(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// What the keeper rebuilds its engine from.
    fn series_keeping(&self) -> impl Future<Output = Result<SeriesKeeping>> + Send;
    /// Saves one step of the keeper in one transaction, if `holder` holds the lease and the
    /// row is still at `version` (`Conflict` otherwise: another node kept the series since);
    /// returns the new version.
    fn save_series(
        &self,
        holder: &str,
        version: i64,
        save: &SeriesSave,
    ) -> impl Future<Output = Result<i64>> + Send;

    // Public reports.

    // Self-reports (see `self_report.rs`).

    /// Opens a self-report case: one content item per file in the report's bank (a live bank
    /// of kind `self_report`), unassessed, source `self-report:{country}`. Returns the case
    /// with its number and its code, which is not kept (only its digest). Logged as
    /// `self_report.open` by [`Actor::public`], with the count of items only.
    fn open_self_report(
        &self,
        report: &NewSelfReport,
    ) -> impl Future<Output = Result<OpenedSelfReport>> + Send;
    /// The case that `number` and `code` (as typed) name; `None` for an unknown number and a
    /// wrong code alike.
    fn self_report(
        &self,
        number: &str,
        code: &str,
    ) -> impl Future<Output = Result<Option<SelfReport>>> + Send;
    /// Adds files to an open case (`NotFound` as in [`Store::self_report`]; `Conflict` when
    /// it was withdrawn; `Invalid` past [`SELF_REPORT_FILES_MAX`]).
    fn add_to_self_report(
        &self,
        number: &str,
        code: &str,
        files: &[SelfReportFile],
    ) -> impl Future<Output = Result<SelfReport>> + Send;
    /// Withdraws a case: every item of it that is not removed is removed (a tombstone in the
    /// feed). `Conflict` when it was withdrawn already.
    fn withdraw_self_report(
        &self,
        number: &str,
        code: &str,
    ) -> impl Future<Output = Result<SelfReport>> + Send;

    /// Files a report. Its URLs are merged with the same URLs reported before: each URL is
    /// kept once, counting the reports that name it. Returns the report with its reference.
    /// Logged as `report.create` by [`Actor::public`], without the e-mail.
    fn file_report(&self, report: &NewReport) -> impl Future<Output = Result<Report>> + Send;
    /// What the reporter may see of the report with `reference` (as typed: see
    /// [`normalise_reference`]).
    fn report_status(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ReportStatus>>> + Send;
    /// Keeps where a reported URL is hosted (what the last fetch found; it replaces what
    /// was kept). `NotFound` for an unknown URL; `Invalid` past the bounds of
    /// `check_hosting` (32 places, an IP address, a two-letter country each).
    fn set_url_hosting(
        &self,
        id: UrlId,
        places: &[HostingPlace],
    ) -> impl Future<Output = Result<()>> + Send;
    fn reported_url(&self, id: UrlId) -> impl Future<Output = Result<Option<ReportedUrl>>> + Send;
    /// Claims up to `limit` URLs to fetch at `now`, for this node until `until`: received
    /// ones, and unreachable ones with attempts left whose retry time has come, the oldest
    /// first. Several nodes never claim the same URL at once; a claim that lapses (a node
    /// that stopped) is taken again.
    fn claim_urls(
        &self,
        limit: u32,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<ReportedUrl>>> + Send;
    /// Records what fetching a URL gave; returns the state it leaves the URL in. A failure
    /// with a `retry_at` is tried again then.
    fn record_fetch(
        &self,
        actor: &Actor,
        id: UrlId,
        outcome: &FetchOutcome,
    ) -> impl Future<Output = Result<UrlState>> + Send;
    /// The encrypted bytes a URL served, while they are kept.
    fn evidence(&self, id: UrlId) -> impl Future<Output = Result<Option<Evidence>>> + Send;
    /// Deletes the evidence whose retention has passed at `now`; returns how much.
    fn purge_evidence(&self, now: Timestamp) -> impl Future<Output = Result<u64>> + Send;

    // The analysts' accounts, sessions and exposure.

    /// Creates a user; `Conflict` if the name is taken.
    fn create_user(
        &self,
        actor: &Actor,
        user: &NewUser,
    ) -> impl Future<Output = Result<User>> + Send;
    fn user(&self, id: UserId) -> impl Future<Output = Result<Option<User>>> + Send;
    fn user_by_name(&self, name: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Every user, by id.
    fn users(&self) -> impl Future<Output = Result<Vec<User>>> + Send;
    fn set_password(
        &self,
        actor: &Actor,
        id: UserId,
        password_hash: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Disables (or enables again) a user; disabling ends their sessions.
    fn set_user_disabled(
        &self,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Gives a user a one-time link to choose their password with, known by the SHA-256
    /// digest of its secret and live until `expires_at`, in place of any earlier link. The
    /// user's password stops working at once and their sessions end (a reset shuts out
    /// whoever holds the old password); logged as `user.password_link`. `NotFound` for a
    /// user that does not exist.
    fn set_password_link(
        &self,
        actor: &Actor,
        user: UserId,
        secret_digest: &str,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The user of a password link live at `now` (made, not used, not expired), unless
    /// they are disabled.
    fn password_link_user(
        &self,
        secret_digest: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Uses a password link live at `now`: sets its user's password (their sessions end)
    /// and forgets the link, in one transaction, logged as `user.password` by the user.
    /// `None`, and nothing changed, for a link unknown, used or expired, or a disabled
    /// user's.
    fn use_password_link(
        &self,
        secret_digest: &str,
        now: Timestamp,
        password_hash: &str,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Starts a session for `user`, known by the SHA-256 digest of its secret.
    fn create_session(
        &self,
        user: UserId,
        secret_digest: &str,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The user of a session that has not expired at `now`, unless they are disabled.
    fn session_user(
        &self,
        secret_digest: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    fn end_session(&self, secret_digest: &str) -> impl Future<Output = Result<()>> + Send;
    /// Adds seconds of exposure to a user's UTC day (`YYYY-MM-DD`); returns the day's
    /// total.
    fn add_exposure(
        &self,
        user: UserId,
        day: &str,
        seconds: u32,
    ) -> impl Future<Output = Result<u64>> + Send;
    fn exposure(&self, user: UserId, day: &str) -> impl Future<Output = Result<u64>> + Send;

    // The analysts' queue.

    /// Queued URLs in triage order, from position `offset`: novel content first, then
    /// matches of content in a series whose victim is not identified (or in none yet),
    /// then the rest; within each, the newest report first. Known content (matched content
    /// with an assessment) never comes here.
    fn queue(
        &self,
        offset: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ReportedUrl>>> + Send;
    /// Records an analyst's decision on a fetched URL (again, to change it); with a bank,
    /// adds its signals to the bank with the assessment in the same transaction. Returns
    /// the URL as it now is.
    fn assess_url(
        &self,
        actor: &Actor,
        id: UrlId,
        by: UserId,
        decision: &Decision,
    ) -> impl Future<Output = Result<ReportedUrl>> + Send;

    // Notices to hosts, and re-checks.

    /// Sets where the hosts `pattern` covers are reached (replacing what was set for it).
    fn set_host_contact(
        &self,
        actor: &Actor,
        pattern: &str,
        email: Option<&str>,
        webhook: Option<&str>,
    ) -> impl Future<Output = Result<HostContact>> + Send;
    fn host_contacts(&self) -> impl Future<Output = Result<Vec<HostContact>>> + Send;
    fn remove_host_contact(
        &self,
        actor: &Actor,
        pattern: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Opens notices, due at `now`, for the URLs assessed as abuse (by an analyst or by a
    /// bank's hash) that have none, on every channel of the contact covering their host;
    /// returns how many. A URL whose host has no contact waits for one.
    fn open_notices(&self, now: Timestamp) -> impl Future<Output = Result<u32>> + Send;
    /// Claims up to `limit` open notices due at `now` for this node until `until`, with
    /// their URLs.
    fn claim_notices(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(Notice, ReportedUrl)>>> + Send;
    /// Records what sending a notice gave; a first send makes its URL `noticed`.
    fn record_notice(
        &self,
        actor: &Actor,
        id: NoticeId,
        outcome: &NoticeOutcome,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A URL's notices, by id.
    fn notices(&self, url: UrlId) -> impl Future<Output = Result<Vec<Notice>>> + Send;
    /// Claims up to `limit` URLs acted on whose re-check is due at `now`.
    fn claim_rechecks(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ReportedUrl>>> + Send;
    /// Records a re-check: gone (the URL is `removed` at `now` and its notices closed), or
    /// still there (checked again at `next_check_at`).
    fn record_recheck(
        &self,
        actor: &Actor,
        id: UrlId,
        now: Timestamp,
        gone: bool,
        next_check_at: Timestamp,
    ) -> impl Future<Output = Result<UrlState>> + Send;

    // Forwarding to partner hotlines (`forward.rs`).

    /// Makes a `ward` exchange a forwarding partner covering `partner.countries`, or sets
    /// what it covers (logged as `forwarding.set`). `NotFound` for an unknown exchange,
    /// `Invalid` for another type or settings out of bounds.
    fn set_forwarding_partner(
        &self,
        actor: &Actor,
        exchange: ExchangeId,
        partner: &NewForwardingPartner,
    ) -> impl Future<Output = Result<ForwardingPartner>> + Send;
    /// Stops forwarding to and reading from a partner: what it still had comes back
    /// (`withdrawn`), so that its hosts are noticed here; the forwards are kept. Deleting
    /// its exchange does the same.
    fn remove_forwarding_partner(
        &self,
        actor: &Actor,
        exchange: ExchangeId,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Every forwarding partner, by name.
    fn forwarding_partners(&self) -> impl Future<Output = Result<Vec<ForwardingPartner>>> + Send;
    /// What this hotline tells partner `exchange`, after sequence number `after`, in order:
    /// up to `limit` (at most [`FORWARD_PAGE_MAX`]) messages with their sequence numbers.
    fn forwarding_page(
        &self,
        exchange: ExchangeId,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(i64, ForwardMessage)>>> + Send;
    /// Applies a page of partner `exchange`'s forwarding feed, which followed cursor `after`,
    /// and keeps `cursor` (the one after it), in one transaction: `Conflict`, and nothing
    /// applied, when the feed has been read past `after` already (a replayed page, or
    /// another node's pull). Messages about forwards this hotline does not hold with that
    /// partner, or out of bounds, are skipped and counted.
    fn apply_forwarding_page(
        &self,
        actor: &Actor,
        exchange: ExchangeId,
        after: &str,
        messages: &[ForwardMessage],
        cursor: &str,
    ) -> impl Future<Output = Result<ForwardingApplied>> + Send;
    /// Records a pull of a partner's forwarding feed that failed (`Some(error)`; `None`
    /// clears the last error), with its time.
    fn record_forwarding_pull(
        &self,
        exchange: ExchangeId,
        error: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A URL's forwards, either way, oldest first.
    fn url_forwards(&self, url: UrlId) -> impl Future<Output = Result<Vec<UrlForward>>> + Send;
    /// Forwards one way, newest first, from position `offset`.
    fn forwards(
        &self,
        direction: ForwardDirection,
        offset: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UrlForward>>> + Send;
    /// Declines forward `id` received from a partner, saying why: the origin is told and
    /// has the report back; a URL that only forwards brought here leaves the queue.
    /// `Conflict` once the host has been noticed.
    fn decline_forward(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> impl Future<Output = Result<UrlForward>> + Send;
    /// Takes back the forwards that their partners did not acknowledge in time (each
    /// partner is told: a recall); returns how many. The URLs return to this hotline's
    /// notices.
    fn expire_forwards(&self, now: Timestamp) -> impl Future<Output = Result<u32>> + Send;

    // Figures.

    /// The hotline's figures for reports filed, URLs first reported and notices first
    /// sent in `[from, to)`.
    fn statistics(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Future<Output = Result<Statistics>> + Send;
    /// Adds a node's tally of matches to the stored counts (added, never set, so that the
    /// counts are the sum of every node's).
    fn add_match_counts(&self, counts: &[MatchCounts]) -> impl Future<Output = Result<()>> + Send;
    /// The transparency figures of the months `from` to `to` (both included), for `org` or,
    /// with `None`, the whole deployment.
    fn transparency(
        &self,
        org: Option<OrgId>,
        from: Month,
        to: Month,
    ) -> impl Future<Output = Result<Transparency>> + Send;

    // Referral.

    /// Gathers what a referral of `contents` to law enforcement or a hotline carries (each
    /// item's signals, bank, assessment and label, provenance, first and last seen, the
    /// reported URLs related to it with their reports, never a reporter's e-mail) and logs
    /// it as `export.referral` by `actor` with `subject` as the target (`content:12,13`,
    /// `series:7`), in one call. Ids given twice count once; `NotFound` for an id that is
    /// not a content item (or is removed), `Invalid` for none, more than
    /// [`MAX_REFERRAL_ITEMS`] or an empty subject. See `referral.rs` for the rules.
    fn referral(
        &self,
        actor: &Actor,
        contents: &[ContentId],
        subject: &str,
    ) -> impl Future<Output = Result<Referral>> + Send;

    // The audit log.

    /// Logs a read of sensitive data (`action` is `read.<what>`).
    fn record_read(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Audit events matching `query`, oldest first.
    fn audit_log(&self, query: &AuditQuery)
    -> impl Future<Output = Result<Vec<AuditEvent>>> + Send;
}
