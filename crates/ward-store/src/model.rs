//! The stored model in the field's words: organisations (members), API keys and roles, banks,
//! content with its signals, assessment and provenance, opinions, the index feed and the
//! audit log.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use ward_core::categories::Assessment;
use ward_core::named_values;

use crate::error::StoreError;

macro_rules! id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )+};
}

id!(
    /// An organisation (a member of the deployment).
    OrgId,
    /// An API key.
    KeyId,
    /// A bank.
    BankId,
    /// A content item of a bank.
    ContentId,
    /// One signal of a content item.
    SignalId,
    /// A position in the index feed: every change to a signal takes the next one.
    Seq,
    /// A partner instance.
    PartnerId,
    /// A public report.
    ReportId,
    /// A reported URL (each URL once, however many reports name it).
    UrlId,
    /// A person who signs in to the analyst's pages.
    UserId,
    /// Where a host's abuse desk is reached.
    ContactId,
    /// A notice to a host.
    NoticeId,
);

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }

    /// The start (00:00 UTC) of a day given as `YYYY-MM-DD`; `None` when it is not a date.
    pub fn of_day(day: &str) -> Option<Timestamp> {
        let b = day.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i64 = day[..4].parse().ok()?;
        let month: i64 = day[5..7].parse().ok()?;
        let date: i64 = day[8..10].parse().ok()?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if !(1..=days_in_month).contains(&date) {
            return None;
        }
        // Days since 1970-01-01 from a civil date (the inverse of `to_rfc3339`'s).
        let y = year - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + date - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Timestamp((era * 146_097 + doe - 719_468) * 86_400_000))
    }

    /// The UTC day: `YYYY-MM-DD`.
    pub fn day(self) -> String {
        self.to_rfc3339()[..10].to_owned()
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-28T19:36:46.123Z`.
    pub fn to_rfc3339(self) -> String {
        let (days, ms) = (self.0.div_euclid(86_400_000), self.0.rem_euclid(86_400_000));
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    }
}

/// What a key may do. Roles are per key; an organisation has keys of several roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the deployment (its operator's administrator): organisations, keys, every bank.
    Admin,
    /// Administers its own organisation: its keys and users, and whatever its curators may
    /// do (its banks, their content and exchanges); sees nothing more than they do.
    #[serde(rename = "org_admin")]
    OrgAdmin,
    /// Maintains its organisation's banks and their content.
    Curator,
    /// Reviews content and gives its organisation's opinions; reads banks shared with it.
    Analyst,
    /// Hashes and matches uploads; sees matches, not bank content.
    Platform,
    /// Reads the audit log and the figures; changes nothing.
    Auditor,
}

named_values!(Role, "role", StoreError = StoreError::Invalid,
    Admin => "admin",
    OrgAdmin => "org_admin",
    Curator => "curator",
    Analyst => "analyst",
    Platform => "platform",
    Auditor => "auditor",
);

/// A member of the deployment: an NGO, a hotline, a platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    /// Whether it runs the deployment (at most one does): its auditors read the whole audit
    /// log and every organisation's figures. Set with [`crate::Store::set_operator`].
    pub operator: bool,
    pub created_at: Timestamp,
}

/// An API key as stored: never its secret, only a digest of it and a visible prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: KeyId,
    pub org: OrgId,
    pub role: Role,
    pub label: String,
    /// The first characters of the secret, to recognise a key in lists (`ward_k3J9x2Qa`).
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// When it was last used, as nodes report it (at most a minute late); `None`: never.
    pub last_used_at: Option<Timestamp>,
}

/// A key's revocation, in the order revocations were made: nodes that cache keys read those
/// after the last they read, and forget the keys named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRevocation {
    /// Its place in the order of revocations (from 1).
    pub seq: i64,
    pub key: KeyId,
}

/// A key just made: the only time its secret exists outside its holder.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Who did something: a key (with its organisation), or an operator at the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub key: Option<KeyId>,
    pub org: Option<OrgId>,
    /// How the audit log names the actor: `key:12` or `cli:ward admin`.
    pub label: String,
}

impl Actor {
    /// An API key's holder.
    pub fn key(key: &ApiKey) -> Actor {
        Actor::key_of(key.id, key.org)
    }

    /// The holder of key `id` of `org`.
    pub fn key_of(id: KeyId, org: OrgId) -> Actor {
        Actor {
            key: Some(id),
            org: Some(org),
            label: format!("key:{id}"),
        }
    }

    /// An operator working on the store directly (`ward admin`).
    pub fn operator(what: &str) -> Actor {
        Actor {
            key: None,
            org: None,
            label: format!("cli:{what}"),
        }
    }

    /// A person signed in to the analyst's pages.
    pub fn user(user: &User) -> Actor {
        Actor::user_of(user.id, user.org)
    }

    /// Person `id` of `org`, signed in to Ward's pages.
    pub fn user_of(id: UserId, org: OrgId) -> Actor {
        Actor {
            key: None,
            org: Some(org),
            label: format!("user:{id}"),
        }
    }

    /// A member of the public (the portal): no key, no organisation, no address.
    pub fn public() -> Actor {
        Actor {
            key: None,
            org: None,
            label: "public".to_owned(),
        }
    }

    /// The service's own work on reports (fetching, hashing, matching).
    pub fn intake() -> Actor {
        Actor {
            key: None,
            org: None,
            label: "intake".to_owned(),
        }
    }

    /// A bank's own policy acting (its dispute limit).
    pub fn policy() -> Actor {
        Actor {
            key: None,
            org: None,
            label: "policy:disputes".to_owned(),
        }
    }
}

/// Whether a bank's matches are hits or known false positives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankKind {
    /// Its matches are reported.
    Standard,
    /// Known false positives: content that matches it is not reported as matching the
    /// standard banks (for the same signal).
    Negative,
    /// Hashes that people sent of pictures and videos of themselves (self-reports): matched
    /// and reported like a standard bank's, but unverified (nobody has seen the files), so
    /// never taken as known abuse material by the hotline's own intake or series. Its items
    /// come only from self-report cases (`Store::open_self_report`).
    SelfReport,
}

named_values!(BankKind, "bank kind", StoreError = StoreError::Invalid, Standard => "standard", Negative => "negative", SelfReport => "self_report");

/// Who a bank is shared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    /// Only its organisation matches against it and sees it.
    Private,
    /// Every organisation of the deployment matches against it; curators and analysts of
    /// every organisation may read it.
    Members,
    /// As `Members` (Ward treats the two alike: a partner instance reads a bank with the
    /// key of an organisation, as a member does); it records that the owner means the list
    /// to be published.
    Public,
    /// Its organisation and the organisations it names (`Bank::shared_with`) match against
    /// it and see it; to a federated partner's key, as to any other key, it is shared only
    /// if the key's organisation is named.
    Organisations,
}

named_values!(Sharing, "sharing", StoreError = StoreError::Invalid, Private => "private", Members => "members", Public => "public", Organisations => "organisations");

impl Bank {
    /// Whether `org` may see the bank and match against it, by its sharing (admins see
    /// every bank whatever this says).
    pub fn shared_with_org(&self, org: OrgId) -> bool {
        match self.sharing {
            Sharing::Private => self.org == org,
            Sharing::Members | Sharing::Public => true,
            Sharing::Organisations => self.org == org || self.shared_with.contains(&org),
        }
    }
}

/// A bank (hash list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bank {
    pub id: BankId,
    /// Unique among its organisation's banks that are not deleted (other organisations may
    /// have banks of the same name). HMA's names are upper case with digits and
    /// underscores; Ward accepts any name of 1 to 100 printable characters.
    pub name: String,
    pub org: OrgId,
    pub kind: BankKind,
    /// The PDQ match distance for this bank (0..=255; 31 by default).
    pub distance: u32,
    pub enabled: bool,
    /// The share of lookups in which an enabled bank's items match (HMA's
    /// `matching_enabled_ratio`): 1 in every lookup; below 1, a lookup draws one number in
    /// [0, 1) and the bank takes part when its ratio is at least that (unless the caller
    /// bypasses the draw). 0 takes part only when the draw is bypassed.
    pub enabled_ratio: Ratio,
    pub sharing: Sharing,
    /// The organisations a bank with sharing `organisations` is shared with, in id order
    /// (kept, and unused, under the other settings).
    pub shared_with: Vec<OrgId>,
    /// The origin's dispute policy: a content item that this many organisations dispute is
    /// disabled (and so withdrawn from every feed and every partner that pulled it); never
    /// when `None`.
    pub dispute_limit: Option<u32>,
    /// The seqs the bank's live items took when its sharing last changed, `(after, until]`:
    /// the feed gives an organisation that may not see the bank tombstones for the items it
    /// finds there, so that what it was shared before is withdrawn.
    pub reshared: (Seq, Seq),
    pub description: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A share from 0 to 1 (a bank's enabled ratio), never NaN: so it compares as equal to
/// itself.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Ratio(f64);

impl Eq for Ratio {}

impl Ratio {
    pub const ONE: Ratio = Ratio(1.0);
    pub const ZERO: Ratio = Ratio(0.0);

    /// A ratio from 0 to 1; anything else (NaN, infinities, below 0, above 1) is refused.
    pub fn new(value: f64) -> crate::Result<Ratio> {
        if (0.0..=1.0).contains(&value) {
            // -0.0 reads back as 0.
            Ok(Ratio(value + 0.0))
        } else {
            Err(crate::StoreError::Invalid(format!(
                "a ratio is a number from 0 to 1, not {value}"
            )))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// What HMA keeps of a content item besides its signals: a curator's note, the metadata its
/// client gave, and when a disabled item enables itself again ([`crate::Store::content_notes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContentNotes {
    /// At most [`crate::rules::CONTENT_NOTE_MAX`] characters; never empty (no note is `None`).
    pub note: Option<String>,
    /// The client's metadata, a JSON object kept as given (at most
    /// [`crate::rules::CONTENT_METADATA_MAX`] bytes).
    pub metadata: Option<String>,
    /// A disabled item is enabled again from this time on.
    pub disabled_until: Option<Timestamp>,
}

impl ContentNotes {
    pub fn is_empty(&self) -> bool {
        self.note.is_none() && self.metadata.is_none() && self.disabled_until.is_none()
    }
}

/// A bank to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBank {
    pub name: String,
    pub org: OrgId,
    pub kind: BankKind,
    pub distance: u32,
    pub enabled: bool,
    pub sharing: Sharing,
    pub shared_with: Vec<OrgId>,
    pub dispute_limit: Option<u32>,
    pub description: String,
}

/// Changes to a bank; `None` leaves a field as it is. A bank's kind and owner are fixed.
/// A change to `sharing` or `shared_with` gives the bank's live items new seqs, so that the
/// feed gives them again: as upserts to whoever may see them now, as tombstones to the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BankUpdate {
    pub name: Option<String>,
    pub distance: Option<u32>,
    pub enabled: Option<bool>,
    pub enabled_ratio: Option<Ratio>,
    pub sharing: Option<Sharing>,
    pub shared_with: Option<Vec<OrgId>>,
    /// `Some(None)` turns the dispute policy off.
    pub dispute_limit: Option<Option<u32>>,
    pub description: Option<String>,
}

/// The signal types a bank holds. PhotoDNA is stored and passed on, never computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    Pdq,
    Md5,
    Sha1,
    Sha256,
    Vpdq,
    Photodna,
}

named_values!(SignalKind, "signal type", StoreError = StoreError::Invalid,
    Pdq => "pdq",
    Md5 => "md5",
    Sha1 => "sha1",
    Sha256 => "sha256",
    Vpdq => "vpdq",
    Photodna => "photodna",
);

/// A signal in its canonical text (lower-case hex; vPDQ in python-threatexchange's JSON
/// form; PhotoDNA as received). The caller validates it (with ward-core) before storing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub value: String,
}

/// A stored signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredSignal {
    pub id: SignalId,
    pub kind: SignalKind,
    pub value: String,
}

/// Where a content item came from: who added it, and from which source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The actor's label (`key:12`, `cli:import`).
    pub added_by: String,
    pub added_by_key: Option<KeyId>,
    /// The organisation that added it.
    pub added_by_org: Option<OrgId>,
    /// Free text naming the source: `api`, `import:ncmec-2026-11.xml`, a partner's name.
    pub source: String,
    pub added_at: Timestamp,
}

/// A member's view of a content item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpinionKind {
    /// The member confirms it belongs in the bank.
    Confirm,
    /// The member disputes it (a false positive, a wrong category).
    Dispute,
}

named_values!(OpinionKind, "opinion", StoreError = StoreError::Invalid, Confirm => "confirm", Dispute => "dispute");

/// One member's opinion of a content item (at most one per organisation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Opinion {
    pub org: OrgId,
    pub kind: OpinionKind,
    pub at: Timestamp,
}

/// What the opinions of a content item add up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpinionStatus {
    /// No opinion yet.
    Unreviewed,
    /// Confirmed by some members, disputed by none.
    Confirmed,
    /// Disputed by at least one member, whatever the others say.
    Disputed,
}

impl OpinionStatus {
    pub fn of(opinions: &[Opinion]) -> OpinionStatus {
        if opinions.iter().any(|o| o.kind == OpinionKind::Dispute) {
            OpinionStatus::Disputed
        } else if opinions.is_empty() {
            OpinionStatus::Unreviewed
        } else {
            OpinionStatus::Confirmed
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OpinionStatus::Unreviewed => "unreviewed",
            OpinionStatus::Confirmed => "confirmed",
            OpinionStatus::Disputed => "disputed",
        }
    }
}

/// A category label as an exchanged list gives it: recorded as given, never turned into
/// granular facts or into another scheme's label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ListLabel {
    /// `industry` (NCMEC's A1-B2), `uk` (A, B, C) or `vics`.
    pub scheme: String,
    /// For VICS, the categorisation profile of the file.
    pub profile: Option<String>,
    pub label: String,
}

/// A content item: one piece of known content, by its signals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Content {
    pub id: ContentId,
    pub bank: BankId,
    pub enabled: bool,
    /// The analyst's granular facts; the schemes' labels derive from them.
    #[serde(skip)]
    pub assessment: Option<Assessment>,
    pub signals: Vec<StoredSignal>,
    pub provenance: Provenance,
    pub opinions: Vec<Opinion>,
    /// See [`NewContent::external_id`].
    pub external_id: Option<String>,
    /// The label the list it came from gives it.
    pub label: Option<ListLabel>,
    /// See [`NewContent::attributes`].
    pub attributes: Vec<(String, String)>,
}

impl Content {
    pub fn opinion_status(&self) -> OpinionStatus {
        OpinionStatus::of(&self.opinions)
    }
}

/// What a match answer shows of a matched content item, read for many items at once
/// ([`crate::Store::match_summaries`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchSummary {
    pub id: ContentId,
    pub assessment: Option<Assessment>,
    pub provenance: Provenance,
    pub opinion_status: OpinionStatus,
    /// Its series, when it is in one.
    pub series: Option<SeriesBadge>,
}

/// What a match answer shows of a series: its id and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SeriesBadge {
    pub id: crate::SeriesId,
    pub offender_identified: bool,
    /// Whether it was referred (to law enforcement, a hotline).
    pub referred: bool,
    pub victim_identified: bool,
}

impl SeriesBadge {
    /// The flags as the series log keeps them: 1 victim identified, 2 offender identified,
    /// 4 referred.
    pub fn flags(&self) -> i64 {
        i64::from(self.victim_identified)
            | i64::from(self.offender_identified) << 1
            | i64::from(self.referred) << 2
    }

    /// A series' badge from its id and [`SeriesBadge::flags`].
    pub fn of_flags(id: crate::SeriesId, flags: i64) -> SeriesBadge {
        SeriesBadge {
            id,
            victim_identified: flags & 1 != 0,
            offender_identified: flags & 2 != 0,
            referred: flags & 4 != 0,
        }
    }
}

/// One change in the series log ([`crate::Store::series_log`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesLogEntry {
    /// An item joined a series or moved to another; `None`: it left every series.
    Member {
        content: ContentId,
        series: Option<crate::SeriesId>,
    },
    /// A series' flags as they now are.
    Flags(SeriesBadge),
}

/// A page of the series log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesLogPage {
    /// The entries after the position asked for, oldest first, each with its position.
    pub entries: Vec<(i64, SeriesLogEntry)>,
    /// The last position written (0 when none ever was).
    pub last: i64,
    /// The last position deleted: a reader whose position is older than this missed
    /// entries and must read the memberships again.
    pub pruned: i64,
}

/// A content item to add.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewContent {
    pub signals: Vec<Signal>,
    pub assessment: Option<Assessment>,
    /// See [`Provenance::source`].
    pub source: String,
    /// The id the list it came from gives it (VICS `MediaID`, NCMEC's id, a partner's
    /// content id): unique among a bank's content that is not removed, and the key of
    /// [`ImportChange`]s.
    pub external_id: Option<String>,
    pub label: Option<ListLabel>,
    /// The list's other fields for the item, kept as given (VICS `Series`, `Tags`, ...).
    pub attributes: Vec<(String, String)>,
}

/// One entry of an import ([`crate::Store::import_content`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportChange {
    /// Adds the item, or changes the bank's item with the same external id: in place when
    /// the signals are the same, else by replacing it with a new item that keeps its
    /// enabled state and opinions. An item without an external id is keyed by its signals:
    /// when the bank holds an item without an external id with the same signals, the entry
    /// changes that one in place, if it says anything new of it (see `import.rs`).
    Upsert(NewContent),
    /// Removes the bank's item with this external id (a tombstone).
    Delete { external_id: String },
}

/// What an import batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Items added that replaced nothing.
    pub added: u64,
    /// Items added in place of one with the same external id, and items without one that
    /// the bank held with the same signals, changed in place by what the entry says of them.
    pub replaced: u64,
    /// Entries without an external id for items the bank holds with the same signals, which
    /// say nothing new of them (a list imported again): nothing changed.
    pub unchanged: u64,
    /// Items removed by a tombstone.
    pub removed: u64,
    /// Tombstones for external ids the bank does not have.
    pub missing: u64,
}

impl ImportCounts {
    pub fn add(&mut self, other: ImportCounts) {
        self.added += other.added;
        self.replaced += other.replaced;
        self.unchanged += other.unchanged;
        self.removed += other.removed;
        self.missing += other.missing;
    }
}

/// One entry of the index feed: the state of a signal after its latest change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalChange {
    pub seq: Seq,
    pub signal: SignalId,
    pub content: ContentId,
    pub bank: BankId,
    pub kind: SignalKind,
    pub value: String,
    /// Whether the signal should be matched: its content is enabled and neither it nor its
    /// bank is deleted. (A bank's `enabled` flag is applied at match time, not here.)
    pub active: bool,
    /// Items of one group show the same in a match answer, their ids aside (the same
    /// provenance, no assessment, no opinions): on SQLite, a block of content added in
    /// bulk, whose items have nothing of their own. `None`: the item has rows of its own.
    pub summary_group: Option<i64>,
}

/// A partner instance whose feed this one pulled into a local bank, as older deployments
/// kept it (now a `ward` exchange: [`crate::Store::convert_partner`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    /// This instance's name for it (provenance of what it shares: `sync:NAME`).
    pub name: String,
    /// Its base URL (`https://ward.example.org`).
    pub url: String,
    /// The API key it gave this instance, sent as a bearer token. Unlike this instance's own
    /// keys it is kept in clear: it is a credential for calling the partner.
    pub api_key: String,
    /// Its Ed25519 public key (hex): pages whose signature does not verify with it are
    /// refused.
    pub public_key: String,
    /// The local bank its content is pulled into.
    pub bank: BankId,
    /// Where its feed was last read to (saved after each page).
    pub cursor: String,
    /// Where this instance's own feed was last read to for opinions on the partner's content
    /// to send back to it.
    pub feedback_cursor: String,
    pub created_at: Timestamp,
    pub synced_at: Option<Timestamp>,
}

/// A partner to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPartner {
    pub name: String,
    pub url: String,
    pub api_key: String,
    pub public_key: String,
    pub bank: BankId,
}

/// One entry of the append-only audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub actor_key: Option<KeyId>,
    pub actor_org: Option<OrgId>,
    /// The organisation the event concerns: the owner of its target (a bank's, a content
    /// item's bank's, a key's or a user's organisation, the organisation itself); `None`
    /// for what belongs to the deployment (reports, URLs, contacts, series) or a referral
    /// of several organisations' items.
    pub org: Option<OrgId>,
    /// What was done: `org.create`, `org.operator`, `key.create`, `key.revoke`,
    /// `bank.create`, `bank.update`, `bank.delete`, `content.add`, `content.enable`,
    /// `content.disable`, `content.remove`, `content.import`, `content.assess`,
    /// `partner.add`, `partner.sync`, `opinion.set`, `opinion.clear`, `export.referral`,
    /// `user.create`, `user.password_link`, `user.password`, `user.disable`, `user.enable`,
    /// or a read: `read.<what>`.
    pub action: String,
    /// What it was done to: `org:3`, `key:12`, `bank:4`, `content:1234`.
    pub target: String,
    /// Details of the change (the fields set, counts), as JSON.
    pub detail: serde_json::Value,
}

/// Whose audit events a reader sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditScope {
    /// Every event: for admins, and the auditors of the deployment's operator.
    Deployment,
    /// The events this organisation's members made, and those about what it owns
    /// ([`AuditEvent::org`]).
    Org(OrgId),
}

/// Which audit events to list: those `scope` sees, after an id, optionally of one target,
/// oldest first. There is no default scope: every reader says whose events it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    pub scope: AuditScope,
    /// Only events with a larger id.
    pub after: Option<i64>,
    /// Only events whose target is this (`bank:4`).
    pub target: Option<String>,
    /// Only events whose actor begins with this (`user:ali`).
    pub actor: Option<String>,
    /// Only events whose action begins with this (`exchange.` or `exchange.create`).
    pub action: Option<String>,
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only events before this time.
    pub until: Option<Timestamp>,
    /// Only events with a smaller id (the next page when newest come first).
    pub before: Option<i64>,
    /// The newest events first (else the oldest).
    pub newest_first: bool,
    /// At most this many events: 0 asks for the default of 100; more than 10,000 lists
    /// 10,000.
    pub limit: u32,
}

impl AuditQuery {
    /// The first events (up to the default limit) that `scope` sees.
    pub fn new(scope: AuditScope) -> AuditQuery {
        AuditQuery {
            scope,
            after: None,
            target: None,
            actor: None,
            action: None,
            since: None,
            until: None,
            before: None,
            newest_first: false,
            limit: 0,
        }
    }

    /// The first events of the whole deployment.
    pub fn deployment() -> AuditQuery {
        AuditQuery::new(AuditScope::Deployment)
    }
}

/// Which banks' content a reader sees: every bank's (admins; the service itself), or only
/// the banks listed. The store applies it to what it reads about content (series and their
/// members); who sees which bank is decided by the store's caller (`ward`'s `serve::auth`,
/// from [`Bank::shared_with_org`]), never here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BankScope {
    All,
    /// These banks (sorted, each once).
    Only(Vec<BankId>),
}

impl BankScope {
    /// Only `banks`.
    pub fn only(banks: impl IntoIterator<Item = BankId>) -> BankScope {
        let mut banks: Vec<BankId> = banks.into_iter().collect();
        banks.sort_unstable();
        banks.dedup();
        BankScope::Only(banks)
    }

    /// Whether it sees `bank`'s content.
    pub fn includes(&self, bank: BankId) -> bool {
        match self {
            BankScope::All => true,
            BankScope::Only(banks) => banks.binary_search(&bank).is_ok(),
        }
    }
}

/// What a reporter says the URL shows (the portal's question; the analyst decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentKind {
    Images,
    Videos,
    Both,
    Unsure,
}

named_values!(ContentKind, "content kind", StoreError = StoreError::Invalid, Images => "images", Videos => "videos", Both => "both", Unsure => "unsure");

/// A report as the portal files it. Nothing of the reporter is kept but what it says
/// here: no address, no client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReport {
    /// The portal page's country (ISO 3166-1 alpha-2, lower case), or empty for the
    /// international page.
    pub country: String,
    /// The language the form was filled in (a BCP 47 tag).
    pub language: String,
    pub content_kind: ContentKind,
    /// 1 to 20 URLs, as the service normalised them (http or https, no fragment).
    pub urls: Vec<String>,
    pub description: String,
    /// Only when the reporter wants feedback.
    pub email: Option<String>,
}

/// A filed report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub id: ReportId,
    /// What the reporter follows the report with (`R-` and 12 characters).
    pub reference: String,
    pub country: String,
    pub language: String,
    pub content_kind: ContentKind,
    pub description: String,
    pub email: Option<String>,
    pub created_at: Timestamp,
    /// Its URLs, in the order given.
    pub urls: Vec<UrlId>,
}

/// Where the work on a reported URL stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlState {
    /// Reported, not fetched yet.
    Received,
    /// The fetch failed (the host did not answer, or answered with an error); retried.
    Unreachable,
    /// The URL may not be fetched (not http(s), or not a public address).
    Refused,
    /// It served content a bank holds: assessed by that, never shown to an analyst.
    Known,
    /// It served something new: in the analysts' queue.
    Queued,
    /// An analyst assessed it as abuse material.
    Assessed,
    /// An analyst found nothing to act on (out of scope, not illegal, not there).
    NotActionable,
    /// The host has been sent a notice.
    Noticed,
    /// The URL no longer serves it.
    Removed,
}

named_values!(UrlState, "URL state", StoreError = StoreError::Invalid, Received => "received", Unreachable => "unreachable", Refused => "refused", Known => "known", Queued => "queued", Assessed => "assessed", NotActionable => "not_actionable", Noticed => "noticed", Removed => "removed");

/// A reported URL and the hotline's work on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportedUrl {
    pub id: UrlId,
    pub url: String,
    /// Its host, lower case (notices go to hosts).
    pub host: String,
    pub state: UrlState,
    /// How many reports name it.
    pub reports: u32,
    pub first_reported_at: Timestamp,
    pub last_reported_at: Timestamp,
    /// Fetches tried.
    pub attempts: u32,
    pub fetched_at: Option<Timestamp>,
    pub fetch_error: Option<String>,
    pub media_type: Option<String>,
    /// SHA-256 of what it served, hex.
    pub sha256: Option<String>,
    /// The signals computed from what it served.
    pub signals: Vec<Signal>,
    /// The bank content it matched (known content: that content's assessment settles it).
    pub matched: Option<ContentId>,
    /// Bank content it matched that does not settle it (no assessment to take): it waits
    /// for an analyst, with that content's series.
    pub related: Option<ContentId>,
    /// The series of the content it matched, when that content is in one.
    pub series: Option<crate::Series>,
    /// Inherited from the matched content, or an analyst's.
    #[serde(skip)]
    pub assessment: Option<Assessment>,
    pub assessed_at: Option<Timestamp>,
    /// The analyst who decided (none for known content).
    pub assessed_by: Option<UserId>,
    /// Why there is nothing to act on, when an analyst said so.
    pub decision_note: Option<String>,
    /// The bank content its signals were added to.
    pub added_content: Option<ContentId>,
    pub removed_at: Option<Timestamp>,
    /// Where it was hosted when intake last fetched it (empty until then, or without an
    /// IP-to-country database).
    pub hosting: Vec<HostingPlace>,
}

/// One address a reported URL's host stood for when it was fetched, and what the node's
/// IP-to-country databases say of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostingPlace {
    pub address: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// The autonomous system (the network) the address is in.
    pub asn: Option<u32>,
    /// The network's name.
    pub network: Option<String>,
}

/// What the reporter may see of a report: when it was filed, and where each URL stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportStatus {
    pub reference: String,
    pub created_at: Timestamp,
    pub urls: Vec<(String, UrlState)>,
}

/// What a URL's fetch gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// It served media, now hashed (and matched, when a bank holds it).
    Fetched {
        media_type: String,
        sha256: String,
        signals: Vec<Signal>,
        /// The bank content it matched, with that content's assessment: known content.
        matched: Option<(ContentId, Option<Assessment>)>,
        /// Bank content it matched that has no assessment to take: queued for an analyst,
        /// with that content's series.
        related: Option<ContentId>,
        evidence: Option<Evidence>,
    },
    /// The host did not answer, or not with media: tried again at `retry_at` (never when
    /// `None`). `refused`: the URL may not be fetched at all.
    Failed {
        error: String,
        refused: bool,
        retry_at: Option<Timestamp>,
    },
}

/// What a URL served, encrypted by the service (the store never sees the key).
#[derive(Clone, PartialEq, Eq)]
pub struct Evidence {
    pub media_type: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub stored_at: Timestamp,
    /// When it is deleted (the retention).
    pub delete_after: Timestamp,
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evidence")
            .field("media_type", &self.media_type)
            .field("bytes", &self.ciphertext.len())
            .field("delete_after", &self.delete_after)
            .finish_non_exhaustive()
    }
}

/// A person who signs in to the analyst's pages, with a role as API keys have.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    /// Unique; what they sign in with.
    pub name: String,
    pub org: OrgId,
    pub role: Role,
    /// Argon2 (PHC string); hashed and checked by the service, never by the store. Empty
    /// while the account has no password: made without one, or reset, until its holder
    /// chooses one through a password link ([`crate::Store::use_password_link`]).
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl User {
    /// Whether the account has a password (else nobody signs in to it).
    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("org", &self.org)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// A user to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub org: OrgId,
    pub role: Role,
    /// Argon2 (PHC string), or empty for an account whose holder chooses the password
    /// through a password link.
    pub password_hash: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("org", &self.org)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An analyst's decision on a queued URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Abuse material, with its granular facts; with a bank, its signals are added to it
    /// (with the same assessment) in the same step.
    Abuse {
        assessment: Assessment,
        bank: Option<BankId>,
    },
    /// Nothing to act on (out of scope, not illegal, not there), and why.
    NotActionable { note: String },
}

/// Where a host's abuse desk is reached: by e-mail, by webhook, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostContact {
    pub id: ContactId,
    /// A host name, covering its subdomains; the longest pattern covering a host wins.
    pub pattern: String,
    pub email: Option<String>,
    pub webhook: Option<String>,
    pub created_at: Timestamp,
}

/// How a notice reaches a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeChannel {
    Email,
    Webhook,
}

named_values!(NoticeChannel, "notice channel", StoreError = StoreError::Invalid, Email => "email", Webhook => "webhook");

/// A notice to a host about one URL on one channel, sent again until the URL is clean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub id: NoticeId,
    pub url: UrlId,
    pub channel: NoticeChannel,
    /// The e-mail address or webhook URL.
    pub address: String,
    pub created_at: Timestamp,
    pub sends: u32,
    pub first_sent_at: Option<Timestamp>,
    pub last_sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub next_due_at: Timestamp,
    /// When the URL was found clean (no more notices).
    pub closed_at: Option<Timestamp>,
}

/// What sending a notice gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// Sent; sent again at `next_due_at` unless the URL is clean by then, which is checked
    /// from `check_at`.
    Sent {
        next_due_at: Timestamp,
        check_at: Timestamp,
    },
    /// Not sent (the relay or the webhook failed); tried again at `retry_at`.
    Failed { error: String, retry_at: Timestamp },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_back_to_their_midnight() {
        for ms in [
            0,
            951_782_400_000,
            1_795_894_606_123,
            -86_400_000,
            4_102_444_800_000,
        ] {
            let t = Timestamp(ms);
            let midnight = Timestamp::of_day(&t.day()).unwrap();
            assert_eq!(midnight.day(), t.day());
            assert!(midnight <= t && t.0 - midnight.0 < 86_400_000, "{ms}");
        }
        assert_eq!(
            Timestamp::of_day("2000-02-29"),
            Some(Timestamp(951_782_400_000))
        );
        for bad in [
            "2001-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-11-31",
            "26-11-29",
            "x",
        ] {
            assert_eq!(Timestamp::of_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_print_as_rfc3339() {
        let check = |ms: i64, text: &str| assert_eq!(Timestamp(ms).to_rfc3339(), text);
        check(0, "1970-01-01T00:00:00.000Z");
        check(951_782_400_000, "2000-02-29T00:00:00.000Z");
        check(1_795_894_606_123, "2026-11-28T19:36:46.123Z");
        check(-1, "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn opinions_add_up_with_disputes_winning() {
        let at = Timestamp(0);
        let o = |org, kind| Opinion {
            org: OrgId(org),
            kind,
            at,
        };
        use OpinionKind::*;
        assert_eq!(OpinionStatus::of(&[]), OpinionStatus::Unreviewed);
        assert_eq!(
            OpinionStatus::of(&[o(1, Confirm), o(2, Confirm)]),
            OpinionStatus::Confirmed
        );
        assert_eq!(
            OpinionStatus::of(&[o(1, Confirm), o(2, Dispute)]),
            OpinionStatus::Disputed
        );
        assert_eq!(OpinionStatus::of(&[o(2, Dispute)]), OpinionStatus::Disputed);
    }

    #[test]
    fn names_round_trip() {
        for &r in Role::ALL {
            assert_eq!(r.name().parse::<Role>().unwrap(), r);
        }
        for &k in SignalKind::ALL {
            assert_eq!(k.name().parse::<SignalKind>().unwrap(), k);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
