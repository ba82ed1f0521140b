//! The referral routes through the router: Ward's referral JSON and VICS for one item and
//! for a set, who may refer what (roles, other organisations' banks, unknown content), bad
//! requests, and the audit event each referral leaves.

use std::ops::ControlFlow;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use ward_core::exchange::{Change, vics};
use ward_store::Role;

use super::tests::Fixture;

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

/// A bank of organisation A with one item of three signals, assessed; its id.
async fn assessed_item(f: &Fixture) -> (i64, i64) {
    let bank = f.bank("HOTLINE", json!({"sharing": "private"})).await;
    let (status, added) = f
        .json(
            Method::POST,
            &format!("/v1/banks/{bank}/content"),
            Some(f.key(Role::Curator)),
            json!({"signals": [
                {"signal_type": "pdq", "signal": PDQ},
                {"signal_type": "md5", "signal": MD5},
                {"signal_type": "sha1", "signal": SHA1},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let content = added["id"].as_i64().unwrap();
    let (status, _) = f
        .json(
            Method::PATCH,
            &format!("/v1/content/{content}"),
            Some(f.key(Role::Analyst)),
            json!({"categories": {"age_group": "pubescent", "activity": "lascivious_exhibition"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    (bank, content)
}

#[tokio::test]
async fn a_content_item_is_referred_as_json_and_as_vics() {
    let f = Fixture::new().await;
    let (_, content) = assessed_item(&f).await;

    let uri = format!("/v1/content/{content}/referral");
    let (status, content_type, body) = f
        .raw(Method::GET, &uri, f.key(Role::Analyst), &[], Vec::new())
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/json");
    let referral: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(referral["format"], "ward-referral");
    assert_eq!(referral["version"], 1);
    assert_eq!(referral["target"], format!("content:{content}"));
    assert!(
        referral["exported_by"]
            .as_str()
            .unwrap()
            .starts_with("key:")
    );
    assert_eq!(referral["subject"], Value::Null);
    let items = referral["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["content_id"], content);
    assert_eq!(item["bank"], "HOTLINE");
    assert_eq!(
        item["signals"],
        json!([
            {"signal_type": "pdq", "signal": PDQ},
            {"signal_type": "md5", "signal": MD5},
            {"signal_type": "sha1", "signal": SHA1},
        ])
    );
    assert_eq!(
        item["categories"],
        json!({"age_group": "pubescent", "activity": "lascivious_exhibition", "uk": "C", "industry": "B2"})
    );
    assert_eq!(item["urls"], json!([]));
    assert_eq!(item["first_seen"], item["provenance"]["added_at"]);
    assert_eq!(item["last_seen"], item["provenance"]["added_at"]);

    // VICS, read back by the VICS reader: the same signals.
    let (status, _, body) = f
        .raw(
            Method::GET,
            &format!("{uri}?format=vics"),
            f.key(Role::Curator),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut signals = Vec::new();
    let summary = vics::read(body.as_slice(), &mut |record| {
        let record = record.unwrap();
        assert_eq!(record.external_id, Some(content.to_string()));
        if let Change::Upsert(item) = record.change {
            signals.extend(item.signals.into_iter().map(|s| (s.signal_type, s.value)));
        }
        ControlFlow::Continue(())
    });
    assert_eq!(summary.records, 1);
    signals.sort();
    assert_eq!(
        signals,
        [
            ("md5", MD5.to_owned()),
            ("pdq", PDQ.to_owned()),
            ("sha1", SHA1.to_owned())
        ]
    );

    // Each referral is in the audit log, with who made it.
    assert_eq!(
        f.audited(&format!("content:{content}")).await,
        ["content.assess", "export.referral", "export.referral"]
    );
}

#[tokio::test]
async fn a_set_of_items_is_referred_in_one_document() {
    let f = Fixture::new().await;
    let (bank, first) = assessed_item(&f).await;
    let second = f
        .content(bank, "md5", "00112233445566778899aabbccddeeff")
        .await;
    let (status, referral) = f
        .json(
            Method::POST,
            "/v1/referrals",
            Some(f.key(Role::Curator)),
            json!({"content": [second, first, second]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{referral}");
    let ids: Vec<i64> = referral["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [second, first], "in the order asked, each once");
    let target = format!("content:{second},{first}");
    assert_eq!(referral["target"], target);
    assert_eq!(f.audited(&target).await, ["export.referral"]);
}

#[tokio::test]
async fn referrals_are_for_those_who_may_see_the_content() {
    let f = Fixture::new().await;
    let (_, content) = assessed_item(&f).await;
    let get = async |key: &str, uri: &str| f.json(Method::GET, uri, Some(key), Value::Null).await.0;
    let uri = format!("/v1/content/{content}/referral");
    for role in [Role::Platform, Role::Auditor] {
        assert_eq!(
            get(f.key(role), &uri).await,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    // Another organisation's curator does not see the private bank: not found.
    assert_eq!(
        get(f.other_curator.as_str(), &uri).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(f.key(Role::Curator), "/v1/content/999999/referral").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(f.key(Role::Curator), &format!("{uri}?format=csv")).await,
        StatusCode::BAD_REQUEST
    );
    let post = async |key: &str, body: Value| {
        f.json(Method::POST, "/v1/referrals", Some(key), body)
            .await
            .0
    };
    let curator = f.key(Role::Curator);
    assert_eq!(
        post(curator, json!({"content": []})).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(curator, json!({"content": [content], "format": "xml"})).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(curator, json!({"content": [content, 999999]})).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(f.other_curator.as_str(), json!({"content": [content]})).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(f.key(Role::Platform), json!({"content": [content]})).await,
        StatusCode::FORBIDDEN
    );
    // Nothing refused was logged as exported.
    assert_eq!(
        f.audited(&format!("content:{content}")).await,
        ["content.assess"]
    );
}
