//! Organisations: creation, lookups, names taken and names refused.

use ward_store::*;

use crate::assert_fails;
use crate::harness::operator;

pub async fn organisations(store: &impl Store) {
    let actor = operator();
    assert!(store.orgs().await.unwrap().is_empty());
    let iwf = store.create_org(&actor, "IWF").await.unwrap();
    let ncmec = store.create_org(&actor, "NCMEC").await.unwrap();
    assert_eq!(iwf.name, "IWF");
    assert!(iwf.id < ncmec.id);
    assert!(iwf.created_at.0 > 0);

    assert_eq!(
        store.orgs().await.unwrap(),
        vec![iwf.clone(), ncmec.clone()]
    );
    assert_eq!(store.org(ncmec.id).await.unwrap(), Some(ncmec.clone()));
    assert_eq!(store.org_by_name("IWF").await.unwrap(), Some(iwf.clone()));
    assert_eq!(store.org(OrgId(9999)).await.unwrap(), None);
    assert_eq!(store.org_by_name("iwf").await.unwrap(), None);

    assert_fails!(
        store.create_org(&actor, "IWF").await,
        StoreError::Conflict(_)
    );
    // Names are stored trimmed, so a padded copy is the same name.
    assert_fails!(
        store.create_org(&actor, " IWF ").await,
        StoreError::Conflict(_)
    );
    assert_eq!(store.orgs().await.unwrap().len(), 2);
}

pub async fn organisation_names(store: &impl Store) {
    let actor = operator();
    let long = "o".repeat(100);
    let too_long = "o".repeat(101);
    let cases: &[(&str, Option<&str>)] = &[
        ("Thorn", Some("Thorn")),
        ("  Padded\t", Some("Padded")),
        ("Fundación Ñ", Some("Fundación Ñ")),
        (&long, Some(&long)),
        (&too_long, None),
        ("", None),
        ("   ", None),
        ("new\nline", None),
        ("nul\0", None),
        ("escape\u{1b}[31m", None),
    ];
    for (name, stored) in cases {
        let result = store.create_org(&actor, name).await;
        match stored {
            Some(stored) => assert_eq!(result.unwrap().name, *stored, "{name:?}"),
            None => assert_fails!(result, StoreError::Invalid(_)),
        }
    }
    assert_eq!(store.orgs().await.unwrap().len(), 4);
}
