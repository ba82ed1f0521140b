//! Whichever backend the command line asked for: SQLite under the data directory, or
//! PostgreSQL when a database URL is given.

use std::path::Path;

use ward_core::categories::Assessment;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::exchanges::*;
use crate::feedback::{Feedback, FeedbackOutcome};
use crate::forward::*;
use crate::model::*;
use crate::nodes::Node;
use crate::postgres::PgStore;
use crate::referral::Referral;
use crate::self_report::{NewSelfReport, OpenedSelfReport, SelfReport, SelfReportFile};
use crate::series::*;
use crate::sqlite::SqliteStore;
use crate::statistics::Statistics;

/// The SQLite file's name inside the data directory.
pub const SQLITE_FILE: &str = "ward.db";

/// A store on either backend.
#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the store: PostgreSQL at `database_url` (`postgres://` or `postgresql://`) if
    /// one is given, else the SQLite file `ward.db` in `data_dir` (created if missing).
    /// Either way the schema is brought up to date.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<AnyStore> {
        match database_url {
            None => Ok(AnyStore::Sqlite(
                SqliteStore::open(&data_dir.join(SQLITE_FILE)).await?,
            )),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(AnyStore::Postgres(PgStore::connect(url).await?))
            }
            Some(url) => {
                // Only the scheme is repeated: the rest may hold a password.
                let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
                Err(StoreError::Invalid(format!(
                    "unsupported database URL scheme {scheme:?} (expected postgres:// or \
                     postgresql://; without a URL, SQLite is used)"
                )))
            }
        }
    }

    /// The backend's name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(store) => store.close().await,
            AnyStore::Postgres(store) => store.close().await,
        }
    }
}

/// Calls the same method on whichever store this is (damage to a SQLite file named with the
/// file).
macro_rules! delegate {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(store) => store
                .$method($($arg),*)
                .await
                .map_err(|e| e.in_file(store.path())),
            AnyStore::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn ping(&self) -> Result<()> {
        delegate!(self.ping())
    }

    async fn create_org(&self, actor: &Actor, name: &str) -> Result<Organisation> {
        delegate!(self.create_org(actor, name))
    }

    async fn org(&self, id: OrgId) -> Result<Option<Organisation>> {
        delegate!(self.org(id))
    }

    async fn org_by_name(&self, name: &str) -> Result<Option<Organisation>> {
        delegate!(self.org_by_name(name))
    }

    async fn orgs(&self) -> Result<Vec<Organisation>> {
        delegate!(self.orgs())
    }

    async fn set_operator(&self, actor: &Actor, org: Option<OrgId>) -> Result<()> {
        delegate!(self.set_operator(actor, org))
    }

    async fn create_key(
        &self,
        actor: &Actor,
        org: OrgId,
        role: Role,
        label: &str,
    ) -> Result<NewApiKey> {
        delegate!(self.create_key(actor, org, role, label))
    }

    async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>> {
        delegate!(self.authenticate(secret))
    }

    async fn keys(&self) -> Result<Vec<ApiKey>> {
        delegate!(self.keys())
    }

    async fn key_revocations(&self, after: i64, limit: u32) -> Result<Vec<KeyRevocation>> {
        delegate!(self.key_revocations(after, limit))
    }

    async fn revoke_key(&self, actor: &Actor, id: KeyId) -> Result<ApiKey> {
        delegate!(self.revoke_key(actor, id))
    }

    async fn create_bank(&self, actor: &Actor, bank: &NewBank) -> Result<Bank> {
        delegate!(self.create_bank(actor, bank))
    }

    async fn bank(&self, id: BankId) -> Result<Option<Bank>> {
        delegate!(self.bank(id))
    }

    async fn banks_named(&self, name: &str) -> Result<Vec<Bank>> {
        delegate!(self.banks_named(name))
    }

    async fn banks(&self) -> Result<Vec<Bank>> {
        delegate!(self.banks())
    }

    async fn update_bank(&self, actor: &Actor, id: BankId, update: &BankUpdate) -> Result<Bank> {
        delegate!(self.update_bank(actor, id, update))
    }

    async fn delete_bank(&self, actor: &Actor, id: BankId) -> Result<()> {
        delegate!(self.delete_bank(actor, id))
    }

    async fn add_content(
        &self,
        actor: &Actor,
        bank: BankId,
        items: &[NewContent],
    ) -> Result<Vec<ContentId>> {
        delegate!(self.add_content(actor, bank, items))
    }

    async fn import_content(
        &self,
        actor: &Actor,
        bank: BankId,
        changes: &[ImportChange],
    ) -> Result<ImportCounts> {
        delegate!(self.import_content(actor, bank, changes))
    }

    async fn content(&self, id: ContentId) -> Result<Option<Content>> {
        delegate!(self.content(id))
    }

    async fn contents(&self, ids: &[ContentId]) -> Result<Vec<Content>> {
        delegate!(self.contents(ids))
    }

    async fn match_summaries(&self, ids: &[ContentId]) -> Result<Vec<MatchSummary>> {
        delegate!(self.match_summaries(ids))
    }

    async fn bank_contents(
        &self,
        bank: BankId,
        after: Option<ContentId>,
        limit: u32,
    ) -> Result<Vec<Content>> {
        delegate!(self.bank_contents(bank, after, limit))
    }

    async fn set_content_enabled(&self, actor: &Actor, id: ContentId, enabled: bool) -> Result<()> {
        delegate!(self.set_content_enabled(actor, id, enabled))
    }

    async fn remove_content(&self, actor: &Actor, id: ContentId) -> Result<()> {
        delegate!(self.remove_content(actor, id))
    }

    async fn set_assessment(
        &self,
        actor: &Actor,
        id: ContentId,
        assessment: Option<Assessment>,
    ) -> Result<()> {
        delegate!(self.set_assessment(actor, id, assessment))
    }

    async fn set_opinion(
        &self,
        actor: &Actor,
        content: ContentId,
        org: OrgId,
        opinion: Option<OpinionKind>,
    ) -> Result<()> {
        delegate!(self.set_opinion(actor, content, org, opinion))
    }

    async fn signal_changes(&self, after: Seq, limit: u32) -> Result<Vec<SignalChange>> {
        delegate!(self.signal_changes(after, limit))
    }

    async fn last_seq(&self) -> Result<Seq> {
        delegate!(self.last_seq())
    }

    async fn signing_key(&self) -> Result<[u8; 32]> {
        delegate!(self.signing_key())
    }

    async fn add_partner(&self, actor: &Actor, partner: &NewPartner) -> Result<Partner> {
        delegate!(self.add_partner(actor, partner))
    }

    async fn partners(&self) -> Result<Vec<Partner>> {
        delegate!(self.partners())
    }

    async fn set_partner_cursor(&self, id: PartnerId, cursor: &str) -> Result<()> {
        delegate!(self.set_partner_cursor(id, cursor))
    }

    async fn set_partner_feedback_cursor(&self, id: PartnerId, cursor: &str) -> Result<()> {
        delegate!(self.set_partner_feedback_cursor(id, cursor))
    }

    async fn open_self_report(&self, report: &NewSelfReport) -> Result<OpenedSelfReport> {
        delegate!(self.open_self_report(report))
    }

    async fn self_report(&self, number: &str, code: &str) -> Result<Option<SelfReport>> {
        delegate!(self.self_report(number, code))
    }

    async fn add_to_self_report(
        &self,
        number: &str,
        code: &str,
        files: &[SelfReportFile],
    ) -> Result<SelfReport> {
        delegate!(self.add_to_self_report(number, code, files))
    }

    async fn withdraw_self_report(&self, number: &str, code: &str) -> Result<SelfReport> {
        delegate!(self.withdraw_self_report(number, code))
    }

    async fn file_report(&self, report: &NewReport) -> Result<Report> {
        delegate!(self.file_report(report))
    }

    async fn report_status(&self, reference: &str) -> Result<Option<ReportStatus>> {
        delegate!(self.report_status(reference))
    }

    async fn set_forwarding_partner(
        &self,
        actor: &Actor,
        exchange: ExchangeId,
        partner: &NewForwardingPartner,
    ) -> Result<ForwardingPartner> {
        delegate!(self.set_forwarding_partner(actor, exchange, partner))
    }

    async fn remove_forwarding_partner(&self, actor: &Actor, exchange: ExchangeId) -> Result<()> {
        delegate!(self.remove_forwarding_partner(actor, exchange))
    }

    async fn forwarding_partners(&self) -> Result<Vec<ForwardingPartner>> {
        delegate!(self.forwarding_partners())
    }

    async fn forwarding_page(
        &self,
        exchange: ExchangeId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, ForwardMessage)>> {
        delegate!(self.forwarding_page(exchange, after, limit))
    }

    async fn apply_forwarding_page(
        &self,
        actor: &Actor,
        exchange: ExchangeId,
        after: &str,
        messages: &[ForwardMessage],
        cursor: &str,
    ) -> Result<ForwardingApplied> {
        delegate!(self.apply_forwarding_page(actor, exchange, after, messages, cursor))
    }

    async fn record_forwarding_pull(
        &self,
        exchange: ExchangeId,
        error: Option<&str>,
    ) -> Result<()> {
        delegate!(self.record_forwarding_pull(exchange, error))
    }

    async fn url_forwards(&self, url: UrlId) -> Result<Vec<UrlForward>> {
        delegate!(self.url_forwards(url))
    }

    async fn forwards(
        &self,
        direction: ForwardDirection,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<UrlForward>> {
        delegate!(self.forwards(direction, offset, limit))
    }

    async fn decline_forward(&self, actor: &Actor, id: i64, reason: &str) -> Result<UrlForward> {
        delegate!(self.decline_forward(actor, id, reason))
    }

    async fn expire_forwards(&self, now: Timestamp) -> Result<u32> {
        delegate!(self.expire_forwards(now))
    }

    async fn set_url_hosting(&self, id: UrlId, places: &[HostingPlace]) -> Result<()> {
        delegate!(self.set_url_hosting(id, places))
    }

    async fn reported_url(&self, id: UrlId) -> Result<Option<ReportedUrl>> {
        delegate!(self.reported_url(id))
    }

    async fn claim_urls(
        &self,
        limit: u32,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ReportedUrl>> {
        delegate!(self.claim_urls(limit, now, until))
    }

    async fn record_fetch(
        &self,
        actor: &Actor,
        id: UrlId,
        outcome: &FetchOutcome,
    ) -> Result<UrlState> {
        delegate!(self.record_fetch(actor, id, outcome))
    }

    async fn evidence(&self, id: UrlId) -> Result<Option<Evidence>> {
        delegate!(self.evidence(id))
    }

    async fn purge_evidence(&self, now: Timestamp) -> Result<u64> {
        delegate!(self.purge_evidence(now))
    }

    async fn create_user(&self, actor: &Actor, user: &NewUser) -> Result<User> {
        delegate!(self.create_user(actor, user))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        delegate!(self.user(id))
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        delegate!(self.user_by_name(name))
    }

    async fn users(&self) -> Result<Vec<User>> {
        delegate!(self.users())
    }

    async fn set_password(&self, actor: &Actor, id: UserId, password_hash: &str) -> Result<()> {
        delegate!(self.set_password(actor, id, password_hash))
    }

    async fn set_user_disabled(&self, actor: &Actor, id: UserId, disabled: bool) -> Result<()> {
        delegate!(self.set_user_disabled(actor, id, disabled))
    }

    async fn set_password_link(
        &self,
        actor: &Actor,
        user: UserId,
        secret_digest: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        delegate!(self.set_password_link(actor, user, secret_digest, expires_at))
    }

    async fn password_link_user(
        &self,
        secret_digest: &str,
        now: Timestamp,
    ) -> Result<Option<User>> {
        delegate!(self.password_link_user(secret_digest, now))
    }

    async fn use_password_link(
        &self,
        secret_digest: &str,
        now: Timestamp,
        password_hash: &str,
    ) -> Result<Option<User>> {
        delegate!(self.use_password_link(secret_digest, now, password_hash))
    }

    async fn create_session(
        &self,
        user: UserId,
        secret_digest: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        delegate!(self.create_session(user, secret_digest, expires_at))
    }

    async fn session_user(&self, secret_digest: &str, now: Timestamp) -> Result<Option<User>> {
        delegate!(self.session_user(secret_digest, now))
    }

    async fn end_session(&self, secret_digest: &str) -> Result<()> {
        delegate!(self.end_session(secret_digest))
    }

    async fn add_exposure(&self, user: UserId, day: &str, seconds: u32) -> Result<u64> {
        delegate!(self.add_exposure(user, day, seconds))
    }

    async fn exposure(&self, user: UserId, day: &str) -> Result<u64> {
        delegate!(self.exposure(user, day))
    }

    async fn queue(&self, offset: u32, limit: u32) -> Result<Vec<ReportedUrl>> {
        delegate!(self.queue(offset, limit))
    }

    async fn assess_url(
        &self,
        actor: &Actor,
        id: UrlId,
        by: UserId,
        decision: &Decision,
    ) -> Result<ReportedUrl> {
        delegate!(self.assess_url(actor, id, by, decision))
    }

    async fn set_host_contact(
        &self,
        actor: &Actor,
        pattern: &str,
        email: Option<&str>,
        webhook: Option<&str>,
    ) -> Result<HostContact> {
        delegate!(self.set_host_contact(actor, pattern, email, webhook))
    }

    async fn host_contacts(&self) -> Result<Vec<HostContact>> {
        delegate!(self.host_contacts())
    }

    async fn remove_host_contact(&self, actor: &Actor, pattern: &str) -> Result<()> {
        delegate!(self.remove_host_contact(actor, pattern))
    }

    async fn open_notices(&self, now: Timestamp) -> Result<u32> {
        delegate!(self.open_notices(now))
    }

    async fn claim_notices(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<(Notice, ReportedUrl)>> {
        delegate!(self.claim_notices(now, until, limit))
    }

    async fn record_notice(
        &self,
        actor: &Actor,
        id: NoticeId,
        outcome: &NoticeOutcome,
    ) -> Result<()> {
        delegate!(self.record_notice(actor, id, outcome))
    }

    async fn notices(&self, url: UrlId) -> Result<Vec<Notice>> {
        delegate!(self.notices(url))
    }

    async fn claim_rechecks(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ReportedUrl>> {
        delegate!(self.claim_rechecks(now, until, limit))
    }

    async fn record_recheck(
        &self,
        actor: &Actor,
        id: UrlId,
        now: Timestamp,
        gone: bool,
        next_check_at: Timestamp,
    ) -> Result<UrlState> {
        delegate!(self.record_recheck(actor, id, now, gone, next_check_at))
    }

    async fn statistics(&self, from: Timestamp, to: Timestamp) -> Result<Statistics> {
        delegate!(self.statistics(from, to))
    }

    async fn series(&self, id: SeriesId, scope: &BankScope) -> Result<Option<Series>> {
        delegate!(self.series(id, scope))
    }

    async fn series_list(&self, query: &SeriesQuery) -> Result<Vec<Series>> {
        delegate!(self.series_list(query))
    }

    async fn series_members(&self, id: SeriesId, scope: &BankScope) -> Result<Vec<ContentId>> {
        delegate!(self.series_members(id, scope))
    }

    async fn content_series(&self, ids: &[ContentId]) -> Result<Vec<(ContentId, Series)>> {
        delegate!(self.content_series(ids))
    }

    async fn update_series(
        &self,
        actor: &Actor,
        id: SeriesId,
        change: &SeriesChange,
        scope: &BankScope,
    ) -> Result<Series> {
        delegate!(self.update_series(actor, id, change, scope))
    }

    async fn request_series_decision(
        &self,
        actor: &Actor,
        series: SeriesId,
        request: &SeriesRequest,
        scope: &BankScope,
    ) -> Result<SeriesDecision> {
        delegate!(self.request_series_decision(actor, series, request, scope))
    }

    async fn series_decision(
        &self,
        id: DecisionId,
        scope: &BankScope,
    ) -> Result<Option<SeriesDecision>> {
        delegate!(self.series_decision(id, scope))
    }

    async fn pending_series_decisions(&self, limit: u32) -> Result<Vec<SeriesDecision>> {
        delegate!(self.pending_series_decisions(limit))
    }

    async fn claim_series_keeper(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<i64>> {
        delegate!(self.claim_series_keeper(holder, now, until))
    }

    async fn create_exchange(&self, actor: &Actor, exchange: &NewExchange) -> Result<Exchange> {
        delegate!(self.create_exchange(actor, exchange))
    }

    async fn exchanges(&self) -> Result<Vec<Exchange>> {
        delegate!(self.exchanges())
    }

    async fn exchange(&self, id: ExchangeId) -> Result<Option<Exchange>> {
        delegate!(self.exchange(id))
    }

    async fn update_exchange(
        &self,
        actor: &Actor,
        id: ExchangeId,
        enabled: Option<bool>,
        config: Option<&str>,
    ) -> Result<Exchange> {
        delegate!(self.update_exchange(actor, id, enabled, config))
    }

    async fn delete_exchange(&self, actor: &Actor, id: ExchangeId) -> Result<Exchange> {
        delegate!(self.delete_exchange(actor, id))
    }

    async fn request_fetch(&self, actor: &Actor, id: ExchangeId) -> Result<Exchange> {
        delegate!(self.request_fetch(actor, id))
    }

    async fn claim_exchange(
        &self,
        id: ExchangeId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<ExchangeLease>> {
        delegate!(self.claim_exchange(id, holder, now, until))
    }

    async fn save_exchange_progress(
        &self,
        lease: &ExchangeLease,
        progress: &FetchProgress,
    ) -> Result<i64> {
        delegate!(self.save_exchange_progress(lease, progress))
    }

    async fn import_exchange_page(
        &self,
        actor: &Actor,
        lease: &ExchangeLease,
        changes: &[ImportChange],
        progress: &FetchProgress,
    ) -> Result<(ImportCounts, i64)> {
        delegate!(self.import_exchange_page(actor, lease, changes, progress))
    }

    async fn set_exchange_credentials(
        &self,
        actor: &Actor,
        org: OrgId,
        api: &str,
        sealed: Option<&[u8]>,
    ) -> Result<()> {
        delegate!(self.set_exchange_credentials(actor, org, api, sealed))
    }

    async fn exchange_credentials(&self, org: OrgId, api: &str) -> Result<Option<Vec<u8>>> {
        delegate!(self.exchange_credentials(org, api))
    }

    async fn claim_feedback(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
        only: Option<ExchangeId>,
    ) -> Result<Vec<Feedback>> {
        delegate!(self.claim_feedback(now, until, limit, only))
    }

    async fn feedback_part_done(&self, id: i64, part: &str) -> Result<()> {
        delegate!(self.feedback_part_done(id, part))
    }

    async fn finish_feedback(
        &self,
        actor: &Actor,
        id: i64,
        outcome: &FeedbackOutcome,
    ) -> Result<()> {
        delegate!(self.finish_feedback(actor, id, outcome))
    }

    async fn content_feedback(&self, content: ContentId) -> Result<Vec<Feedback>> {
        delegate!(self.content_feedback(content))
    }

    async fn convert_partner(
        &self,
        actor: &Actor,
        converted: &ConvertedPartner,
    ) -> Result<Option<Exchange>> {
        delegate!(self.convert_partner(actor, converted))
    }

    async fn keys_used(&self, used: &[KeyId], at: Timestamp) -> Result<()> {
        delegate!(self.keys_used(used, at))
    }

    async fn note_node(&self, node: &Node) -> Result<()> {
        delegate!(self.note_node(node))
    }

    async fn nodes(&self, since: Timestamp) -> Result<Vec<Node>> {
        delegate!(self.nodes(since))
    }

    async fn content_notes(&self, id: ContentId) -> Result<ContentNotes> {
        delegate!(self.content_notes(id))
    }

    async fn set_content_notes(
        &self,
        actor: &Actor,
        id: ContentId,
        notes: &ContentNotes,
    ) -> Result<()> {
        delegate!(self.set_content_notes(actor, id, notes))
    }

    async fn content_due(&self, now: Timestamp, limit: u32) -> Result<Vec<ContentId>> {
        delegate!(self.content_due(now, limit))
    }

    async fn signal_type_ratios(&self) -> Result<Vec<(String, Ratio)>> {
        delegate!(self.signal_type_ratios())
    }

    async fn set_signal_type_ratio(&self, actor: &Actor, name: &str, ratio: Ratio) -> Result<()> {
        delegate!(self.set_signal_type_ratio(actor, name, ratio))
    }

    async fn series_epoch(&self) -> Result<i64> {
        delegate!(self.series_epoch())
    }

    async fn series_log(&self, after: i64, limit: u32) -> Result<SeriesLogPage> {
        delegate!(self.series_log(after, limit))
    }

    async fn series_memberships(
        &self,
        after: ContentId,
        limit: u32,
    ) -> Result<Vec<(ContentId, SeriesBadge)>> {
        delegate!(self.series_memberships(after, limit))
    }

    async fn series_keeping(&self) -> Result<SeriesKeeping> {
        delegate!(self.series_keeping())
    }

    async fn save_series(&self, holder: &str, version: i64, save: &SeriesSave) -> Result<i64> {
        delegate!(self.save_series(holder, version, save))
    }

    async fn add_match_counts(&self, counts: &[crate::MatchCounts]) -> Result<()> {
        delegate!(self.add_match_counts(counts))
    }

    async fn transparency(
        &self,
        org: Option<OrgId>,
        from: crate::Month,
        to: crate::Month,
    ) -> Result<crate::Transparency> {
        delegate!(self.transparency(org, from, to))
    }

    async fn referral(
        &self,
        actor: &Actor,
        contents: &[ContentId],
        subject: &str,
    ) -> Result<Referral> {
        delegate!(self.referral(actor, contents, subject))
    }

    async fn record_read(&self, actor: &Actor, action: &str, target: &str) -> Result<()> {
        delegate!(self.record_read(actor, action, target))
    }

    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        delegate!(self.audit_log(query))
    }
}
