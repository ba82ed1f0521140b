//! Two stores standing for two hotlines that forward reports to each other, for the
//! conformance checks of forwarding and of its figures: a second fresh store beside the
//! check's own, and a hotline's organisation, analyst and partner exchange with what its
//! people and its intake do.

use ward_core::categories::Assessment;
use ward_store::*;

use crate::harness::{Fresh, RawSql, operator, pdq, setup};

/// A second fresh store of the same backend as `store` (to remove with [`remove`]).
/// Opening a store runs sqlx's migrations, whose future is not `Send`: on a thread of its
/// own, as `RawSql::another` does.
pub async fn beside(store: &AnyStore) -> Fresh {
    let (backend, runtime) = (store.dialect(), tokio::runtime::Handle::current());
    tokio::task::spawn_blocking(move || runtime.block_on(Fresh::new(backend)))
        .await
        .unwrap()
}

/// Removes a store made by [`beside`].
pub async fn remove(fresh: Fresh) {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(fresh.remove()))
        .await
        .unwrap();
}

/// A hotline: its store, its organisation, an analyst, and its forwarding partner's
/// exchange.
pub struct Hotline {
    pub store: AnyStore,
    pub org: OrgId,
    pub analyst: User,
    pub partner: ExchangeId,
}

/// Makes hotline `name` in `store`: its organisation, an analyst, and a `ward` exchange
/// named `partner` that is its forwarding partner covering `countries`.
pub async fn hotline(
    store: &AnyStore,
    name: &str,
    partner: &str,
    countries: &[&'static str],
) -> Hotline {
    let s = setup(store, name).await;
    let bank = store
        .create_bank(&s.actor, &crate::harness::new_bank(partner, s.org.id))
        .await
        .unwrap();
    let key = "ab".repeat(32);
    let exchange = store
        .create_exchange(
            &s.actor,
            &NewExchange {
                api: "ward".into(),
                bank: bank.id,
                config: format!(r#"{{"url":"https://{partner}.example","public_key":"{key}"}}"#),
                enabled: true,
            },
        )
        .await
        .unwrap();
    let settings = NewForwardingPartner {
        countries: countries.iter().map(|c| c.to_string()).collect(),
        enabled: true,
        ack_timeout_ms: 3_600_000,
    };
    let set = store
        .set_forwarding_partner(&operator(), exchange.id, &settings)
        .await
        .unwrap();
    assert_eq!(set.name, partner);
    let analyst = store
        .create_user(
            &operator(),
            &NewUser {
                name: format!("analyst-{name}"),
                org: s.org.id,
                role: Role::Analyst,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
        )
        .await
        .unwrap();
    Hotline {
        store: store.clone(),
        org: s.org.id,
        analyst,
        partner: exchange.id,
    }
}

impl Hotline {
    /// Files a report of `url`, fetched (a picture) and hosted in `country`.
    pub async fn reported(&self, url: &str, country: &str) -> UrlId {
        let id = self.report(url).await;
        self.fetched(id, None).await;
        self.hosted(id, country).await;
        id
    }

    /// Keeps that URL `id` is hosted in `country`.
    pub async fn hosted(&self, id: UrlId, country: &str) {
        self.store
            .set_url_hosting(
                id,
                &[HostingPlace {
                    address: "192.0.2.7".into(),
                    country: Some(country.into()),
                    asn: Some(64500),
                    network: None,
                }],
            )
            .await
            .unwrap();
    }

    /// Files a report of `url` (with a reporter's words and e-mail, which no forward may
    /// carry).
    pub async fn report(&self, url: &str) -> UrlId {
        self.store
            .file_report(&NewReport {
                country: String::new(),
                language: "en".into(),
                content_kind: ContentKind::Images,
                urls: vec![url.into()],
                description: "the reporter's words".into(),
                email: Some("reporter@example.net".into()),
            })
            .await
            .unwrap()
            .urls[0]
    }

    pub async fn fetched(&self, id: UrlId, matched: Option<(ContentId, Option<Assessment>)>) {
        self.store
            .record_fetch(
                &Actor::intake(),
                id,
                &FetchOutcome::Fetched {
                    media_type: "image/jpeg".into(),
                    sha256: "5a".repeat(32),
                    signals: vec![pdq(id.0 as u64 + 7)],
                    matched,
                    related: None,
                    evidence: None,
                },
            )
            .await
            .unwrap();
    }

    pub async fn assess(&self, id: UrlId, decision: Decision) {
        self.store
            .assess_url(&Actor::user(&self.analyst), id, self.analyst.id, &decision)
            .await
            .unwrap();
    }

    /// Reads what `from` tells this hotline and applies it; returns what applying did.
    pub async fn pull(&self, from: &Hotline) -> ForwardingApplied {
        let held = self
            .store
            .forwarding_partners()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.exchange == self.partner)
            .unwrap()
            .cursor;
        let after = held.parse::<i64>().unwrap_or(0);
        let page = from
            .store
            .forwarding_page(from.partner, after, 500)
            .await
            .unwrap();
        let cursor = page.last().map_or(held.clone(), |(seq, _)| seq.to_string());
        let messages: Vec<ForwardMessage> = page.into_iter().map(|(_, m)| m).collect();
        self.store
            .apply_forwarding_page(&Actor::intake(), self.partner, &held, &messages, &cursor)
            .await
            .unwrap()
    }

    /// The one forward of URL `url`.
    pub async fn forward(&self, url: UrlId) -> UrlForward {
        let mut forwards = self.store.url_forwards(url).await.unwrap();
        assert_eq!(forwards.len(), 1, "{forwards:?}");
        forwards.pop().unwrap()
    }

    /// The forward received of `url`.
    pub async fn received(&self, url: &str) -> UrlForward {
        self.store
            .forwards(ForwardDirection::In, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.url_text == url)
            .unwrap()
    }

    /// The URL a forward received of `url` became.
    pub async fn url(&self, url: &str) -> ReportedUrl {
        let id = self.received(url).await.url;
        self.store.reported_url(id).await.unwrap().unwrap()
    }
}
