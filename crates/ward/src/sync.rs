//! Federation between Ward instances: this instance's identity (an Ed25519 key whose public
//! half it publishes at `GET /v1/instance`), the signature on every feed page it serves,
//! and what a puller of a partner's feed checks and keeps of each page. The puller is the
//! `ward` exchange type ([`crate::exchanges::ward`]), fetched as every exchange is.
//!
//! A page is signed over its exact body, and the body names what it answers: the instance
//! (`instance`, its public key), the organisation it was made for (`org`), and the cursor it
//! was asked for (`after`). A puller trusts only the public key pinned when the partner was
//! added, and refuses a page whose signature does not verify (altered in transit, or from
//! another instance), that was made for another cursor (an old page replayed) or for
//! another instance ([`verified_page`]). Each page's entries become one import batch keyed
//! on the partner's content ids ([`change`], so applying a page twice changes nothing),
//! saved with the cursor after it: a puller killed at any point resumes from the last page
//! it saved, and loses or duplicates nothing.
use anyhow::{anyhow, bail};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Deserialize;
use serde_json::Value;
use ward_core::categories::{Activity, AgeGroup, Assessment};
use ward_core::digest::{parse_hex, to_hex};
use ward_store::{ImportChange, ListLabel, NewContent, SignalKind};

use crate::exchanges::{Auth, ExchangeError, Http, shown};

/// The response header that carries a feed page's signature (hex).
pub const SIGNATURE_HEADER: &str = "x-ward-signature";

/// This instance's signing identity.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret half.
        write!(f, "Identity({})", self.public_key())
    }
}

impl Identity {
    pub fn from_seed(seed: &[u8; 32]) -> Identity {
        Identity {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The public key, as hex.
    pub fn public_key(&self) -> String {
        to_hex(self.key.verifying_key().as_bytes())
    }

    /// The signature of `body`, as hex.
    pub fn sign(&self, body: &[u8]) -> String {
        to_hex(&self.key.sign(body).to_bytes())
    }
}

/// An Ed25519 public key from its hex.
pub fn public_key(hex: &str) -> Result<VerifyingKey, String> {
    let key: [u8; 32] = parse_hex(hex.trim().as_bytes()).ok_or("a public key is 64 hex digits")?;
    VerifyingKey::from_bytes(&key).map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// Checks that `signature` (hex) is `public_key`'s (hex) over `body`.
pub fn verify(public_key: &str, body: &[u8], signature: &str) -> Result<(), String> {
    let key = self::public_key(public_key)?;
    let signature: [u8; 64] =
        parse_hex(signature.trim().as_bytes()).ok_or("the signature is not 128 hex digits")?;
    key.verify(body, &Signature::from_bytes(&signature))
        .map_err(|_| "the signature does not verify".to_owned())
}

/// A partner's published identity (`GET /v1/instance`), to pin when it is added.
pub async fn published_key(http: &Http, url: &str) -> Result<String, ExchangeError> {
    let url = format!("{}/v1/instance", url.trim_end_matches('/'));
    let body = http.get(&url, Auth::None).await?;
    let answer: Value =
        serde_json::from_slice(&body).map_err(|e| ExchangeError::MalformedPage {
            url: shown(&url),
            reason: format!("not JSON: {e}"),
        })?;
    let key = answer["public_key"]
        .as_str()
        .filter(|k| parse_hex::<32>(k.as_bytes()).is_some())
        .ok_or_else(|| ExchangeError::MalformedPage {
            url: shown(&url),
            reason: "no Ed25519 public key published".into(),
        })?;
    Ok(key.to_owned())
}

/// A feed page as a puller reads it.
#[derive(Debug, Deserialize)]
pub struct Page {
    pub instance: String,
    pub after: String,
    pub cursor: String,
    pub more: bool,
    pub entries: Vec<Value>,
}

/// A partner's feed page (`body` with the `signature` it came with), once checked: signed
/// by `public_key` (hex, as pinned) over its exact bytes, naming that instance, and
/// answering `cursor` (the one asked for); else why it is refused.
pub fn verified_page(
    public_key: &str,
    body: &[u8],
    signature: Option<&str>,
    cursor: &str,
) -> Result<Page, String> {
    let signature = signature.ok_or("the page is not signed; refused")?;
    verify(public_key, body, signature)
        .map_err(|e| format!("{e} (altered in transit, or not the partner's); refused"))?;
    let page: Page =
        serde_json::from_slice(body).map_err(|e| format!("not a feed page ({e}); refused"))?;
    if page.instance != public_key {
        return Err("the page names another instance; refused".into());
    }
    if page.after != cursor {
        return Err(format!(
            "the page answers cursor {:?}, not {cursor:?} (replayed); refused",
            page.after
        ));
    }
    Ok(page)
}

/// A feed entry as a change to the local bank, keyed on the partner's content id, with
/// the partner and its organisation in the provenance.
pub fn change(entry: &Value, partner: &str) -> anyhow::Result<ImportChange> {
    let id = entry["content_id"]
        .as_i64()
        .ok_or_else(|| anyhow!("an entry without a content_id"))?;
    let external_id = id.to_string();
    match entry["op"].as_str() {
        Some("delete") => Ok(ImportChange::Delete { external_id }),
        Some("upsert") => {
            let mut signals = Vec::new();
            for signal in entry["signals"].as_array().into_iter().flatten() {
                let kind: SignalKind =
                    signal["signal_type"].as_str().unwrap_or_default().parse()?;
                let value = signal["signal"].as_str().unwrap_or_default();
                // Stored as the partner sent it, once it is checked as Ward checks any
                // signal it is given.
                signals.push(
                    crate::serve::stored_signal(kind.name(), value)
                        .map_err(|e| anyhow!("content {id}: {}", e.message))?,
                );
            }
            if signals.is_empty() {
                bail!("content {id}: an upsert without signals");
            }
            let assessment = entry["categories"].as_object().and_then(|c| {
                Some(Assessment {
                    age_group: c.get("age_group")?.as_str()?.parse::<AgeGroup>().ok()?,
                    activity: c.get("activity")?.as_str()?.parse::<Activity>().ok()?,
                })
            });
            let label = entry["label"].as_object().and_then(|l| {
                Some(ListLabel {
                    scheme: l.get("scheme")?.as_str()?.to_owned(),
                    profile: l.get("profile").and_then(Value::as_str).map(str::to_owned),
                    label: l.get("label")?.as_str()?.to_owned(),
                })
            });
            let mut attributes: Vec<(String, String)> = entry["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|pair| {
                    Some((
                        pair.get(0)?.as_str()?.to_owned(),
                        pair.get(1)?.as_str()?.to_owned(),
                    ))
                })
                .collect();
            let provenance = &entry["provenance"];
            attributes.push(("origin_instance".into(), partner.to_owned()));
            attributes.push(("origin_content".into(), external_id.clone()));
            if let Some(org) = provenance["org"].as_i64() {
                attributes.push(("origin_org".into(), org.to_string()));
            }
            if let Some(source) = provenance["source"].as_str() {
                attributes.push(("origin_source".into(), source.to_owned()));
            }
            if let Some(status) = entry["opinion_status"].as_str() {
                attributes.push(("origin_opinion_status".into(), status.to_owned()));
            }
            let item = NewContent {
                signals,
                assessment,
                source: format!("sync:{partner}"),
                external_id: Some(external_id),
                label,
                attributes,
            };
            // Within the store's rules, or refused saying which entry and why (the puller
            // skips and counts it).
            ward_store::rules::content(&item).map_err(|e| anyhow!("content {id}: {e}"))?;
            Ok(ImportChange::Upsert(item))
        }
        other => bail!("content {id}: unknown op {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_verify_only_unaltered_and_with_the_right_key() {
        let identity = Identity::from_seed(&[7; 32]);
        let other = Identity::from_seed(&[8; 32]);
        let body = br#"{"after":"0","cursor":"12","entries":[]}"#;
        let signature = identity.sign(body);
        assert_eq!(verify(&identity.public_key(), body, &signature), Ok(()));
        let mut altered = body.to_vec();
        altered[10] ^= 1;
        assert!(verify(&identity.public_key(), &altered, &signature).is_err());
        assert!(verify(&other.public_key(), body, &signature).is_err());
        assert!(verify(&identity.public_key(), body, "zz").is_err());
        assert!(verify("abc", body, &signature).is_err());
        assert!(
            !format!("{identity:?}").contains("0707"),
            "no secret in Debug"
        );
    }

    #[test]
    fn pages_are_refused_unless_signed_by_the_pinned_key_for_the_cursor_asked() {
        let identity = Identity::from_seed(&[7; 32]);
        let key = identity.public_key();
        let page = |instance: &str, after: &str| {
            serde_json::json!({"instance": instance, "org": 1, "after": after,
                               "cursor": "9", "more": false, "entries": []})
            .to_string()
            .into_bytes()
        };
        let check = |body: &[u8], signature: Option<&str>, cursor: &str| {
            verified_page(&key, body, signature, cursor).map(|p| p.cursor)
        };
        let good = page(&key, "4");
        let signature = identity.sign(&good);
        assert_eq!(check(&good, Some(&signature), "4"), Ok("9".to_owned()));
        for (body, signature, cursor, why) in [
            (good.clone(), None, "4", "not signed"),
            (good.clone(), Some(signature.clone()), "3", "replayed"),
            (good.clone(), Some("00".repeat(64)), "4", "does not verify"),
            (
                page(&key, "5"),
                Some(signature.clone()),
                "5",
                "does not verify",
            ),
        ] {
            let refused = check(&body, signature.as_deref(), cursor).unwrap_err();
            assert!(
                refused.contains(why) && refused.contains("refused"),
                "{refused}"
            );
        }
        let other = Identity::from_seed(&[8; 32]).public_key();
        let foreign = page(&other, "4");
        let refused = check(&foreign, Some(&identity.sign(&foreign)), "4").unwrap_err();
        assert!(refused.contains("another instance"), "{refused}");
    }

    #[test]
    fn entries_become_changes_keyed_on_the_partner_content_id() {
        let upsert = serde_json::json!({
            "op": "upsert", "content_id": 42, "seq": "7",
            "signals": [{"signal_type": "md5", "signal": "00112233445566778899AABBCCDDEEFF"}],
            "label": {"scheme": "industry", "profile": null, "label": "A1"},
            "categories": {"age_group": "pubescent", "activity": "lascivious_exhibition", "uk": "C"},
            "attributes": [["Series", "x"]],
            "provenance": {"org": 3, "source": "api"},
            "opinion_status": "disputed"
        });
        let ImportChange::Upsert(item) = change(&upsert, "A").unwrap() else {
            panic!("an upsert")
        };
        assert_eq!(item.external_id.as_deref(), Some("42"));
        assert_eq!(item.signals[0].value, "00112233445566778899aabbccddeeff");
        assert_eq!(item.label.unwrap().label, "A1");
        assert!(item.assessment.is_some());
        assert_eq!(item.source, "sync:A");
        assert!(
            item.attributes
                .contains(&("origin_opinion_status".into(), "disputed".into()))
        );
        let delete = serde_json::json!({"op": "delete", "content_id": 42});
        assert_eq!(
            change(&delete, "A").unwrap(),
            ImportChange::Delete {
                external_id: "42".into()
            }
        );
        for bad in [
            serde_json::json!({"op": "upsert", "content_id": 1, "signals": []}),
            serde_json::json!({"op": "upsert", "content_id": 1, "signals": [{"signal_type": "md5", "signal": "zz"}]}),
            serde_json::json!({"op": "rename", "content_id": 1}),
            serde_json::json!({"op": "delete"}),
        ] {
            assert!(change(&bad, "A").is_err(), "{bad}");
        }
    }
}
