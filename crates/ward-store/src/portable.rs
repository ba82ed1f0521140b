//! The store's methods whose SQL is the same on SQLite and PostgreSQL, written once for both
//! backends: the instance's key, the audit log's search and federation partners, and the
//! hotline's workflow (public reports and intake, the analysts' accounts, queue and
//! decisions, notices and re-checks, the figures), with the helpers they and the imports
//! share (and which banks take content: `require_live_bank`, `require_self_report_bank`).
//!
//! `portable_methods!()` expands inside a backend's `impl Store`, and
//! `portable_helpers!(Connection, Pool)` at its module's top level. What they call, the
//! backend's module provides under the same names: `self.write()`, `self.write_feed()`,
//! `self.read()`, `self.reads()`, `log`, `database`, `not_found`, `require_org`,
//! `insert_content`, and the claim queries `CLAIM_URLS`,
//! `CLAIM_NOTICES` and `CLAIM_RECHECKS` (PostgreSQL's skip rows that another node's
//! transaction holds). What differs between the backends stays in their own files.

/// The `Store` methods with one text for both backends.
macro_rules! portable_methods {
    () => {
            async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
                let after = query.after.unwrap_or(0);
                let limit = rules::audit_limit(query.limit);
                let org = match query.scope {
                    AuditScope::Deployment => None,
                    AuditScope::Org(org) => Some(org.0),
                };
                let rows: Vec<AuditRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(crate::audit::audit_query(query)))
                        .bind(after)
                        .bind(limit)
                        .bind(query.target.as_deref())
                        .bind(org)
                        .bind(query.actor.as_deref())
                        .bind(query.action.as_deref())
                        .bind(query.since.map(|t| t.0))
                        .bind(query.until.map(|t| t.0))
                        .bind(query.before)
                        .fetch_all(self.reads())
                        .await
                        .map_err(database)?;
                rows.into_iter().map(rows::audit).collect()
            }

            async fn signing_key(&self) -> Result<[u8; 32]> {
                if let Some(key) = stored_signing_key(self.reads()).await? {
                    return Ok(key);
                }
                let mut tx = self.write().await?;
                sqlx::query(
                    "INSERT INTO instance (id, signing_key, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(secret::random_key()?.to_vec())
                .bind(Timestamp::now().0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                tx.commit().await.map_err(database)?;
                stored_signing_key(self.reads())
                    .await?
                    .ok_or_else(|| StoreError::Database("the instance key was not kept".into()))
            }

            async fn add_partner(&self, actor: &Actor, partner: &NewPartner) -> Result<Partner> {
                let name = rules::partner(partner)?;
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                require_live_bank(&mut tx, partner.bank).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO partners (name, url, api_key, public_key, bank_id, cursor, created_at) \
                     VALUES ($1, $2, $3, $4, $5, '', $6) RETURNING id",
                )
                .bind(&name)
                .bind(&partner.url)
                .bind(&partner.api_key)
                .bind(&partner.public_key)
                .bind(partner.bank.0)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("a partner named {name:?} exists already"))
                    } else {
                        database(e)
                    }
                })?;
                let added = Partner {
                    id: PartnerId(id),
                    name,
                    url: partner.url.clone(),
                    api_key: partner.api_key.clone(),
                    public_key: partner.public_key.clone(),
                    bank: partner.bank,
                    cursor: String::new(),
                    feedback_cursor: String::new(),
                    created_at: now,
                    synced_at: None,
                };
                log(&mut tx, actor, now, Event::partner_add(&added)).await?;
                tx.commit().await.map_err(database)?;
                Ok(added)
            }

            async fn partners(&self) -> Result<Vec<Partner>> {
                let rows: Vec<PartnerRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(partner),
                    " FROM partners ORDER BY id"
                ))
                .fetch_all(self.reads())
                .await
                .map_err(database)?;
                Ok(rows.into_iter().map(rows::partner).collect())
            }

            async fn set_partner_cursor(&self, id: PartnerId, cursor: &str) -> Result<()> {
                let cursor = rules::cursor(cursor)?;
                let mut tx = self.write().await?;
                let done = sqlx::query("UPDATE partners SET cursor = $2, synced_at = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(cursor)
                    .bind(Timestamp::now().0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                if done.rows_affected() == 0 {
                    return Err(not_found("partner", id));
                }
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn set_partner_feedback_cursor(&self, id: PartnerId, cursor: &str) -> Result<()> {
                let cursor = rules::cursor(cursor)?;
                let mut tx = self.write().await?;
                let done = sqlx::query("UPDATE partners SET feedback_cursor = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(cursor)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                if done.rows_affected() == 0 {
                    return Err(not_found("partner", id));
                }
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn file_report(&self, report: &NewReport) -> Result<Report> {
                let urls = crate::report::check(report)?;
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let mut ids = Vec::with_capacity(urls.len());
                for (url, host) in &urls {
                    let id: i64 = sqlx::query_scalar(crate::report::UPSERT_URL)
                        .bind(url)
                        .bind(host)
                        .bind(now.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(database)?;
                    ids.push(UrlId(id));
                }
                // A reference is 60 random bits: a clash is all but impossible, and retried.
                let (id, reference) = loop {
                    let reference = secret::reference()?;
                    let inserted: std::result::Result<i64, sqlx::Error> =
                        sqlx::query_scalar(crate::report::INSERT_REPORT)
                            .bind(&reference)
                            .bind(&report.country)
                            .bind(&report.language)
                            .bind(report.content_kind.name())
                            .bind(&report.description)
                            .bind(report.email.as_deref())
                            .bind(now.0)
                            .fetch_one(&mut *tx)
                            .await;
                    match inserted {
                        Ok(id) => break (id, reference),
                        Err(e) if is_unique_violation(&e) => continue,
                        Err(e) => return Err(database(e)),
                    }
                };
                for url in &ids {
                    sqlx::query("INSERT INTO report_urls (report_id, url_id) VALUES ($1, $2)")
                        .bind(id)
                        .bind(url.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                }
                let filed = Report {
                    id: ReportId(id),
                    reference,
                    country: report.country.clone(),
                    language: report.language.clone(),
                    content_kind: report.content_kind,
                    description: report.description.clone(),
                    email: report.email.clone(),
                    created_at: now,
                    urls: ids,
                };
                log(&mut tx, &Actor::public(), now, Event::report_filed(&filed)).await?;
                tx.commit().await.map_err(database)?;
                Ok(filed)
            }

            async fn report_status(&self, reference: &str) -> Result<Option<ReportStatus>> {
                let Some(reference) = secret::normalise_reference(reference) else {
                    return Ok(None);
                };
                let mut tx = self.read().await?;
                let report: Option<(i64, i64)> =
                    sqlx::query_as("SELECT id, created_at FROM reports WHERE reference = $1")
                        .bind(&reference)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(database)?;
                let Some((id, created_at)) = report else {
                    return Ok(None);
                };
                let rows: Vec<(String, String)> = sqlx::query_as(crate::report::REPORT_STATUS)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let urls = rows
                    .into_iter()
                    .map(|(url, state)| Ok((url, rows::stored(&state)?)))
                    .collect::<Result<_>>()?;
                Ok(Some(ReportStatus {
                    reference,
                    created_at: Timestamp(created_at),
                    urls,
                }))
            }

            async fn set_url_hosting(&self, id: UrlId, places: &[HostingPlace]) -> Result<()> {
                let json = crate::report::check_hosting(places)?;
                let mut tx = self.write().await?;
                let updated = sqlx::query("UPDATE reported_urls SET hosting = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(json)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                if updated.rows_affected() == 0 {
                    return Err(not_found("reported URL", id));
                }
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn reported_url(&self, id: UrlId) -> Result<Option<ReportedUrl>> {
                let mut tx = self.read().await?;
                Ok(reported_urls(&mut tx, &[id.0]).await?.pop())
            }

            async fn referral(
                &self,
                actor: &Actor,
                contents: &[ContentId],
                subject: &str,
            ) -> Result<crate::Referral> {
                let (ids, subject) = crate::referral::check(contents, subject)?;
                // Content through `contents`, which reads SQLite's blocks as rows.
                let found = self.contents(&ids).await?;
                if let Some(missing) = ids.iter().find(|id| !found.iter().any(|c| c.id == **id)) {
                    return Err(not_found("content", missing));
                }
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let mut url_ids: Vec<i64> = Vec::new();
                for chunk in ids.chunks(crate::referral::IDS_PER_QUERY) {
                    let sql = crate::referral::related_urls(chunk.len());
                    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
                    for id in chunk {
                        query = query.bind(id.0);
                    }
                    let related: Vec<i64> = query.fetch_all(&mut *tx).await.map_err(database)?;
                    url_ids.extend(related);
                }
                url_ids.sort_unstable();
                url_ids.dedup();
                let mut urls = Vec::with_capacity(url_ids.len());
                for url in reported_urls(&mut tx, &url_ids).await? {
                    let rows: Vec<crate::referral::ReportRow> =
                        sqlx::query_as(crate::referral::URL_REPORTS)
                            .bind(url.id.0)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(database)?;
                    let reports = rows
                        .into_iter()
                        .map(crate::referral::report)
                        .collect::<Result<Vec<_>>>()?;
                    urls.push(crate::ReferralUrl { url, reports });
                }
                let mut bank_names: std::collections::HashMap<BankId, String> =
                    std::collections::HashMap::new();
                let mut items = Vec::with_capacity(found.len());
                for content in found {
                    if !bank_names.contains_key(&content.bank) {
                        let name: String = sqlx::query_scalar("SELECT name FROM banks WHERE id = $1")
                            .bind(content.bank.0)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(database)?
                            .unwrap_or_default();
                        bank_names.insert(content.bank, name);
                    }
                    let bank_name = bank_names[&content.bank].clone();
                    let related = urls
                        .iter()
                        .filter(|u| crate::referral::related(&u.url, content.id))
                        .cloned()
                        .collect();
                    items.push(crate::referral::item(content, bank_name, related));
                }
                let mut banks: Vec<BankId> = bank_names.keys().copied().collect();
                banks.sort_unstable();
                let event = Event::referral_export(subject, &ids, url_ids.len(), banks);
                log(&mut tx, actor, now, event).await?;
                tx.commit().await.map_err(database)?;
                Ok(crate::Referral {
                    subject: subject.to_owned(),
                    exported_at: now,
                    exported_by: actor.label.clone(),
                    items,
                })
            }

            async fn claim_urls(
                &self,
                limit: u32,
                now: Timestamp,
                until: Timestamp,
            ) -> Result<Vec<ReportedUrl>> {
                let mut tx = self.write().await?;
                let ids: Vec<i64> = sqlx::query_scalar(CLAIM_URLS)
                    .bind(now.0)
                    .bind(crate::report::MAX_ATTEMPTS)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                for id in &ids {
                    sqlx::query(
                        "UPDATE reported_urls SET claimed_until = $2, attempts = attempts + 1 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(until.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                }
                let claimed = reported_urls(&mut tx, &ids).await?;
                tx.commit().await.map_err(database)?;
                Ok(claimed)
            }

            async fn record_fetch(
                &self,
                actor: &Actor,
                id: UrlId,
                outcome: &FetchOutcome,
            ) -> Result<UrlState> {
                rules::fetch_outcome(outcome)?;
                let now = Timestamp::now();
                let state = crate::report::state_after(outcome);
                let mut tx = self.write().await?;
                let found: Option<String> =
                    sqlx::query_scalar("SELECT state FROM reported_urls WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(database)?;
                found.ok_or_else(|| not_found("reported URL", id))?;
                match outcome {
                    FetchOutcome::Fetched {
                        media_type,
                        sha256,
                        signals,
                        matched,
                        related,
                        evidence,
                    } => {
                        let assessment = matched.and_then(|(_, assessment)| assessment);
                        let (age_group, activity) = rows::assessment_columns(assessment);
                        sqlx::query(
                            "UPDATE reported_urls SET state = $2, fetched_at = $3, fetch_error = NULL, \
                             media_type = $4, sha256 = $5, matched_content = $6, age_group = $7, \
                             activity = $8, assessed_at = $9, claimed_until = 0, related_content = $10 \
                             WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(state.name())
                        .bind(now.0)
                        .bind(media_type)
                        .bind(sha256)
                        .bind(matched.map(|(content, _)| content.0))
                        .bind(age_group)
                        .bind(activity)
                        .bind(assessment.map(|_| now.0))
                        .bind(related.map(|content| content.0))
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                        if state == UrlState::Known {
                            tell_origins_assessed(&mut tx, id.0, assessment, None, now).await?;
                        }
                        sqlx::query("DELETE FROM url_signals WHERE url_id = $1")
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(database)?;
                        for signal in signals {
                            sqlx::query(
                                "INSERT INTO url_signals (url_id, kind, value) VALUES ($1, $2, $3)",
                            )
                            .bind(id.0)
                            .bind(signal.kind.name())
                            .bind(&signal.value)
                            .execute(&mut *tx)
                            .await
                            .map_err(database)?;
                        }
                        if let Some(evidence) = evidence {
                            sqlx::query(
                                "INSERT INTO evidence (url_id, media_type, nonce, ciphertext, stored_at, \
                                 delete_after) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (url_id) DO \
                                 UPDATE SET media_type = excluded.media_type, nonce = excluded.nonce, \
                                 ciphertext = excluded.ciphertext, stored_at = excluded.stored_at, \
                                 delete_after = excluded.delete_after",
                            )
                            .bind(id.0)
                            .bind(&evidence.media_type)
                            .bind(&evidence.nonce)
                            .bind(&evidence.ciphertext)
                            .bind(evidence.stored_at.0)
                            .bind(evidence.delete_after.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(database)?;
                        }
                    }
                    FetchOutcome::Failed {
                        error, retry_at, ..
                    } => {
                        // Without a retry, the claim never lapses: the URL is not tried again.
                        let retry = retry_at.map_or(i64::MAX, |t| t.0);
                        sqlx::query(
                            "UPDATE reported_urls SET state = $2, fetch_error = $3, claimed_until = $4 \
                             WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(state.name())
                        .bind(error)
                        .bind(retry)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                    }
                }
                log(&mut tx, actor, now, Event::url_fetched(id, outcome, state)).await?;
                tx.commit().await.map_err(database)?;
                Ok(state)
            }

            async fn evidence(&self, id: UrlId) -> Result<Option<Evidence>> {
                let row: Option<crate::report::EvidenceRow> =
                    sqlx::query_as(crate::report::SELECT_EVIDENCE)
                        .bind(id.0)
                        .fetch_optional(self.reads())
                        .await
                        .map_err(database)?;
                Ok(row.map(crate::report::evidence))
            }

            async fn purge_evidence(&self, now: Timestamp) -> Result<u64> {
                let mut tx = self.write().await?;
                let purged = sqlx::query("DELETE FROM evidence WHERE delete_after <= $1")
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?
                    .rows_affected();
                if purged > 0 {
                    let event = Event::evidence_purged(purged);
                    log(&mut tx, &Actor::intake(), now, event).await?;
                }
                tx.commit().await.map_err(database)?;
                Ok(purged)
            }

            async fn create_user(&self, actor: &Actor, user: &NewUser) -> Result<User> {
                let name = rules::name("user", &user.name)?;
                // No password yet: its holder chooses it through a password link.
                let hash = match user.password_hash.as_str() {
                    "" => "",
                    hash => rules::password_hash(hash)?,
                };
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                require_org(&mut tx, user.org).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO users (name, org_id, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&name)
                .bind(user.org.0)
                .bind(user.role.name())
                .bind(hash)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("a user named {name:?} exists"))
                    } else {
                        database(e)
                    }
                })?;
                let created = User {
                    id: UserId(id),
                    name,
                    org: user.org,
                    role: user.role,
                    password_hash: hash.to_owned(),
                    created_at: now,
                    disabled_at: None,
                };
                log(&mut tx, actor, now, Event::user_create(&created)).await?;
                tx.commit().await.map_err(database)?;
                Ok(created)
            }

            async fn user(&self, id: UserId) -> Result<Option<User>> {
                let row: Option<rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(user),
                    " FROM users WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(self.reads())
                .await
                .map_err(database)?;
                row.map(rows::user).transpose()
            }

            async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
                let row: Option<rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(user),
                    " FROM users WHERE name = $1"
                ))
                .bind(name.trim())
                .fetch_optional(self.reads())
                .await
                .map_err(database)?;
                row.map(rows::user).transpose()
            }

            async fn users(&self) -> Result<Vec<User>> {
                let rows: Vec<rows::UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(user),
                    " FROM users ORDER BY id"
                ))
                .fetch_all(self.reads())
                .await
                .map_err(database)?;
                rows.into_iter().map(rows::user).collect()
            }

            async fn set_password(&self, actor: &Actor, id: UserId, password_hash: &str) -> Result<()> {
                let hash = rules::password_hash(password_hash)?;
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let changed = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                if changed.rows_affected() == 0 {
                    return Err(not_found("user", id));
                }
                // A new password ends the sessions the old one started.
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                log(&mut tx, actor, now, Event::user_password(id)).await?;
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn set_user_disabled(&self, actor: &Actor, id: UserId, disabled: bool) -> Result<()> {
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let changed = sqlx::query(
                    "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, $3) END \
                     WHERE id = $1",
                )
                .bind(id.0)
                .bind(disabled)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                if changed.rows_affected() == 0 {
                    return Err(not_found("user", id));
                }
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                }
                log(&mut tx, actor, now, Event::user_disabled(id, disabled)).await?;
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn create_session(
                &self,
                user: UserId,
                secret_digest: &str,
                expires_at: Timestamp,
            ) -> Result<()> {
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                sqlx::query(
                    "INSERT INTO sessions (secret_sha256, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(secret_digest)
                .bind(user.0)
                .bind(now.0)
                .bind(expires_at.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                // Expired sessions of anyone go with every new one.
                sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                let actor = Actor {
                    key: None,
                    org: None,
                    label: format!("user:{user}"),
                };
                log(&mut tx, &actor, now, Event::session_start(user)).await?;
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn session_user(&self, secret_digest: &str, now: Timestamp) -> Result<Option<User>> {
                let row: Option<rows::UserRow> = sqlx::query_as(
                    "SELECT u.id, u.name, u.org_id, u.role, u.password_hash, u.created_at, u.disabled_at \
                     FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.secret_sha256 = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
                )
                .bind(secret_digest)
                .bind(now.0)
                .fetch_optional(self.reads())
                .await
                .map_err(database)?;
                row.map(rows::user).transpose()
            }

            async fn end_session(&self, secret_digest: &str) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query("DELETE FROM sessions WHERE secret_sha256 = $1")
                    .bind(secret_digest)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn add_exposure(&self, user: UserId, day: &str, seconds: u32) -> Result<u64> {
                let day = rules::day(day)?;
                let mut tx = self.write().await?;
                let total: i64 = sqlx::query_scalar(
                    "INSERT INTO exposures (user_id, day, seconds) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, day) DO UPDATE SET seconds = exposures.seconds + excluded.seconds \
                     RETURNING seconds",
                )
                .bind(user.0)
                .bind(day)
                .bind(i64::from(seconds))
                .fetch_one(&mut *tx)
                .await
                .map_err(database)?;
                tx.commit().await.map_err(database)?;
                Ok(u64::try_from(total).unwrap_or(0))
            }

            async fn exposure(&self, user: UserId, day: &str) -> Result<u64> {
                let day = rules::day(day)?;
                let total: Option<i64> =
                    sqlx::query_scalar("SELECT seconds FROM exposures WHERE user_id = $1 AND day = $2")
                        .bind(user.0)
                        .bind(day)
                        .fetch_optional(self.reads())
                        .await
                        .map_err(database)?;
                Ok(total.map_or(0, |t| u64::try_from(t).unwrap_or(0)))
            }

            async fn queue(&self, offset: u32, limit: u32) -> Result<Vec<ReportedUrl>> {
                let mut tx = self.read().await?;
                let ids: Vec<i64> = sqlx::query_scalar(crate::report::QUEUE)
                    .bind(i64::from(offset))
                    .bind(i64::from(limit.min(1000)))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let mut found = reported_urls(&mut tx, &ids).await?;
                let order: std::collections::HashMap<i64, usize> =
                    ids.iter().enumerate().map(|(n, id)| (*id, n)).collect();
                found.sort_by_key(|u| order[&u.id.0]);
                Ok(found)
            }

            async fn assess_url(
                &self,
                actor: &Actor,
                id: UrlId,
                by: UserId,
                decision: &Decision,
            ) -> Result<ReportedUrl> {
                let now = Timestamp::now();
                let mut tx = self.write_feed().await?;
                let mut url = reported_urls(&mut tx, &[id.0])
                    .await?
                    .pop()
                    .ok_or_else(|| not_found("reported URL", id))?;
                if !crate::report::ASSESSABLE.contains(&url.state) {
                    return Err(StoreError::Conflict(format!(
                        "URL {id} is {}: only fetched URLs are assessed",
                        url.state.name()
                    )));
                }
                let (state, assessment, note, added) = match decision {
                    Decision::Abuse { assessment, bank } => {
                        let added = match bank {
                            Some(bank) => {
                                require_live_bank(&mut tx, *bank).await?;
                                if url.signals.is_empty() {
                                    return Err(StoreError::Invalid(format!(
                                        "URL {id} has no signals to add to a bank"
                                    )));
                                }
                                let item = NewContent {
                                    signals: url.signals.clone(),
                                    assessment: Some(*assessment),
                                    source: format!("report:url:{id}"),
                                    ..NewContent::default()
                                };
                                let ids = insert_content(&mut tx, actor, *bank, &[&item], now).await?;
                                let count = item.signals.len();
                                log(&mut tx, actor, now, Event::content_add(*bank, 1, count)).await?;
                                ids.first().copied()
                            }
                            None => None,
                        };
                        (UrlState::Assessed, Some(*assessment), None, added)
                    }
                    Decision::NotActionable { note } => (
                        UrlState::NotActionable,
                        None,
                        Some(rules::note(note)?.to_owned()),
                        None,
                    ),
                };
                let (age_group, activity) = rows::assessment_columns(assessment);
                sqlx::query(
                    "UPDATE reported_urls SET state = $2, age_group = $3, activity = $4, assessed_at = $5, \
                     assessed_by = $6, decision_note = $7, added_content = COALESCE($8, added_content) \
                     WHERE id = $1",
                )
                .bind(id.0)
                .bind(state.name())
                .bind(age_group)
                .bind(activity)
                .bind(now.0)
                .bind(by.0)
                .bind(note.as_deref())
                .bind(added.map(|c| c.0))
                .execute(&mut *tx)
                .await
                .map_err(database)?;
                log(
                    &mut tx,
                    actor,
                    now,
                    Event::url_assess(id, state, assessment, added),
                )
                .await?;
                tell_origins_assessed(&mut tx, id.0, assessment, note.clone(), now).await?;
                url = reported_urls(&mut tx, &[id.0])
                    .await?
                    .pop()
                    .ok_or_else(|| not_found("reported URL", id))?;
                tx.commit().await.map_err(database)?;
                Ok(url)
            }

            async fn set_host_contact(
                &self,
                actor: &Actor,
                pattern: &str,
                email: Option<&str>,
                webhook: Option<&str>,
            ) -> Result<HostContact> {
                let pattern = crate::notice::pattern(pattern)?;
                let (email, webhook) = crate::notice::addresses(email, webhook)?;
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let row: crate::notice::ContactRow = sqlx::query_as(
                    "INSERT INTO host_contacts (pattern, email, webhook, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (pattern) DO UPDATE SET \
                     email = excluded.email, webhook = excluded.webhook \
                     RETURNING id, pattern, email, webhook, created_at",
                )
                .bind(&pattern)
                .bind(email)
                .bind(webhook)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(database)?;
                let contact = crate::notice::contact(row);
                log(&mut tx, actor, now, Event::contact_set(&contact)).await?;
                tx.commit().await.map_err(database)?;
                Ok(contact)
            }

            async fn host_contacts(&self) -> Result<Vec<HostContact>> {
                let rows: Vec<crate::notice::ContactRow> = sqlx::query_as(crate::notice::SELECT_CONTACTS)
                    .fetch_all(self.reads())
                    .await
                    .map_err(database)?;
                Ok(rows.into_iter().map(crate::notice::contact).collect())
            }

            async fn remove_host_contact(&self, actor: &Actor, pattern: &str) -> Result<()> {
                let pattern = crate::notice::pattern(pattern)?;
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let removed = sqlx::query("DELETE FROM host_contacts WHERE pattern = $1")
                    .bind(&pattern)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                if removed.rows_affected() == 0 {
                    return Err(not_found("host contact", &pattern));
                }
                log(&mut tx, actor, now, Event::contact_remove(&pattern)).await?;
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn open_notices(&self, now: Timestamp) -> Result<u32> {
                let mut tx = self.write().await?;
                let contacts: Vec<crate::notice::ContactRow> =
                    sqlx::query_as(crate::notice::SELECT_CONTACTS)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(database)?;
                let contacts: Vec<HostContact> = contacts.into_iter().map(crate::notice::contact).collect();
                let waiting: Vec<(i64, String)> = sqlx::query_as(crate::notice::UNNOTICED)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let partners: Vec<crate::forward::PartnerRow> =
                    sqlx::query_as(crate::forward::SELECT_PARTNERS)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(database)?;
                let partners: Vec<crate::forward::ForwardingPartner> =
                    partners.into_iter().map(crate::forward::partner).collect();
                let mut opened = 0;
                for (url, host) in waiting {
                    // Hosted where a partner hotline covers: it is the partner's to notice.
                    if !partners.is_empty()
                        && forward_if_covered(&mut tx, url, &partners, now).await? > 0
                    {
                        continue;
                    }
                    let Some(contact) = crate::notice::contact_for(&host, &contacts) else {
                        continue;
                    };
                    let channels = [
                        (NoticeChannel::Email, contact.email.as_deref()),
                        (NoticeChannel::Webhook, contact.webhook.as_deref()),
                    ];
                    for (channel, address) in channels {
                        let Some(address) = address else { continue };
                        sqlx::query(
                            "INSERT INTO notices (url_id, channel, address, created_at, next_due_at) \
                             VALUES ($1, $2, $3, $4, $4)",
                        )
                        .bind(url)
                        .bind(channel.name())
                        .bind(address)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                        opened += 1;
                    }
                }
                tx.commit().await.map_err(database)?;
                Ok(opened)
            }

            async fn claim_notices(
                &self,
                now: Timestamp,
                until: Timestamp,
                limit: u32,
            ) -> Result<Vec<(Notice, ReportedUrl)>> {
                let mut tx = self.write().await?;
                let ids: Vec<i64> = sqlx::query_scalar(CLAIM_NOTICES)
                    .bind(now.0)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let mut claimed = Vec::with_capacity(ids.len());
                for id in ids {
                    sqlx::query("UPDATE notices SET claimed_until = $2 WHERE id = $1")
                        .bind(id)
                        .bind(until.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                    let row: crate::notice::NoticeRow = sqlx::query_as(crate::notice::NOTICE_BY_ID)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(database)?;
                    let notice = crate::notice::notice(row)?;
                    let url = reported_urls(&mut tx, &[notice.url.0])
                        .await?
                        .pop()
                        .ok_or_else(|| not_found("reported URL", notice.url))?;
                    claimed.push((notice, url));
                }
                tx.commit().await.map_err(database)?;
                Ok(claimed)
            }

            async fn record_notice(
                &self,
                actor: &Actor,
                id: NoticeId,
                outcome: &NoticeOutcome,
            ) -> Result<()> {
                if let NoticeOutcome::Failed { error, .. } = outcome {
                    rules::length("the notice error", error, rules::FETCH_ERROR_MAX)?;
                }
                let now = Timestamp::now();
                let mut tx = self.write().await?;
                let url: Option<i64> = sqlx::query_scalar("SELECT url_id FROM notices WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(database)?;
                let url = url.ok_or_else(|| not_found("notice", id))?;
                match outcome {
                    NoticeOutcome::Sent {
                        next_due_at,
                        check_at,
                    } => {
                        let noticed_before: Option<i64> = sqlx::query_scalar(
                            "SELECT MIN(first_sent_at) FROM notices WHERE url_id = $1",
                        )
                        .bind(url)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(database)?;
                        if noticed_before.is_none() {
                            tell_origins(
                                &mut tx,
                                url,
                                Some(crate::forward::ForwardState::Noticed),
                                Some("noticed_at"),
                                |forward| crate::forward::ForwardMessage::Noticed { forward, at: now },
                                now,
                            )
                            .await?;
                        }
                        sqlx::query(
                            "UPDATE notices SET sends = sends + 1, first_sent_at = COALESCE(first_sent_at, $2), \
                             last_sent_at = $2, last_error = NULL, next_due_at = $3, claimed_until = 0 \
                             WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(now.0)
                        .bind(next_due_at.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                        sqlx::query(
                            "UPDATE reported_urls SET state = CASE WHEN state IN ('assessed', 'known') \
                             THEN 'noticed' ELSE state END, \
                             next_check_at = COALESCE(next_check_at, $2) WHERE id = $1",
                        )
                        .bind(url)
                        .bind(check_at.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                    }
                    NoticeOutcome::Failed { error, retry_at } => {
                        sqlx::query(
                            "UPDATE notices SET last_error = $2, next_due_at = $3, claimed_until = 0 \
                             WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(error)
                        .bind(retry_at.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                    }
                }
                log(
                    &mut tx,
                    actor,
                    now,
                    Event::notice_sent(id, UrlId(url), outcome),
                )
                .await?;
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn notices(&self, url: UrlId) -> Result<Vec<Notice>> {
                let rows: Vec<crate::notice::NoticeRow> =
                    sqlx::query_as(crate::notice::NOTICE_COLUMNS_BY_URL)
                        .bind(url.0)
                        .fetch_all(self.reads())
                        .await
                        .map_err(database)?;
                rows.into_iter().map(crate::notice::notice).collect()
            }

            async fn claim_rechecks(
                &self,
                now: Timestamp,
                until: Timestamp,
                limit: u32,
            ) -> Result<Vec<ReportedUrl>> {
                let mut tx = self.write().await?;
                let ids: Vec<i64> = sqlx::query_scalar(CLAIM_RECHECKS)
                    .bind(now.0)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                for id in &ids {
                    sqlx::query("UPDATE reported_urls SET claimed_until = $2 WHERE id = $1")
                        .bind(id)
                        .bind(until.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                }
                let claimed = reported_urls(&mut tx, &ids).await?;
                tx.commit().await.map_err(database)?;
                Ok(claimed)
            }

            async fn record_recheck(
                &self,
                actor: &Actor,
                id: UrlId,
                now: Timestamp,
                gone: bool,
                next_check_at: Timestamp,
            ) -> Result<UrlState> {
                let mut tx = self.write().await?;
                let state: Option<String> =
                    sqlx::query_scalar("SELECT state FROM reported_urls WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(database)?;
                let state: UrlState = rows::stored(&state.ok_or_else(|| not_found("reported URL", id))?)?;
                let state = if gone {
                    sqlx::query(
                        "UPDATE reported_urls SET state = 'removed', removed_at = $2, checked_at = $2, \
                         next_check_at = NULL, claimed_until = 0 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                    sqlx::query(
                        "UPDATE notices SET closed_at = $2 WHERE url_id = $1 AND closed_at IS NULL",
                    )
                    .bind(id.0)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                    tell_origins(
                        &mut tx,
                        id.0,
                        Some(crate::forward::ForwardState::Removed),
                        Some("removed_at"),
                        |forward| crate::forward::ForwardMessage::Removed { forward, at: now },
                        now,
                    )
                    .await?;
                    UrlState::Removed
                } else {
                    sqlx::query(
                        "UPDATE reported_urls SET checked_at = $2, next_check_at = $3, claimed_until = 0 \
                         WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(now.0)
                    .bind(next_check_at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                    state
                };
                log(&mut tx, actor, now, Event::url_recheck(id, gone)).await?;
                tx.commit().await.map_err(database)?;
                Ok(state)
            }

            async fn statistics(&self, from: Timestamp, to: Timestamp) -> Result<crate::Statistics> {
                let mut tx = self.read().await?;
                let places: Vec<(String, String, i64, i64)> = sqlx::query_as(crate::statistics::BY_PLACE)
                    .bind(from.0)
                    .bind(to.0)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let states: Vec<(String, i64)> = sqlx::query_as(crate::statistics::URL_STATES)
                    .bind(from.0)
                    .bind(to.0)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let (opened, sent): (i64, i64) = sqlx::query_as(crate::statistics::NOTICES)
                    .bind(from.0)
                    .bind(to.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(database)?;
                let noticed: Vec<(i64, Option<i64>)> = sqlx::query_as(crate::statistics::NOTICED)
                    .bind(from.0)
                    .bind(to.0)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(database)?;
                let (out, received, returned, removed_out, removed_in): (i64, i64, i64, i64, i64) =
                    sqlx::query_as(crate::statistics::FORWARDS)
                        .bind(from.0)
                        .bind(to.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(database)?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok(crate::Statistics {
                    from,
                    to,
                    reports: places
                        .into_iter()
                        .map(
                            |(country, language, received, actioned)| crate::PlaceFigures {
                                country,
                                language,
                                received: count(received),
                                actioned: count(actioned),
                            },
                        )
                        .collect(),
                    urls: crate::statistics::url_states(states),
                    notices_opened: count(opened),
                    notices_sent: count(sent),
                    removal: crate::RemovalFigures::of(&noticed),
                    forwards: crate::ForwardFigures {
                        out: count(out),
                        received: count(received),
                        returned: count(returned),
                        removed_out: count(removed_out),
                        removed_in: count(removed_in),
                    },
                })
            }

            async fn add_match_counts(&self, counts: &[crate::MatchCounts]) -> Result<()> {
                if counts.is_empty() {
                    return Ok(());
                }
                let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let mut tx = self.write().await?;
                for count in counts {
                    for (bank, matches) in &count.banks {
                        sqlx::query(crate::transparency::ADD_MATCHES)
                            .bind(&count.day)
                            .bind(count.org.0)
                            .bind(bank.0)
                            .bind(signed(*matches))
                            .execute(&mut *tx)
                            .await
                            .map_err(database)?;
                    }
                    for (outcome, queries) in
                        [("known", count.known), ("near", count.near), ("novel", count.novel)]
                    {
                        if queries == 0 {
                            continue;
                        }
                        sqlx::query(crate::transparency::ADD_QUERIES)
                            .bind(&count.day)
                            .bind(count.org.0)
                            .bind(outcome)
                            .bind(signed(queries))
                            .execute(&mut *tx)
                            .await
                            .map_err(database)?;
                    }
                }
                tx.commit().await.map_err(database)?;
                Ok(())
            }

            async fn transparency(
                &self,
                org: Option<OrgId>,
                from: crate::Month,
                to: crate::Month,
            ) -> Result<crate::Transparency> {
                if from > to {
                    return Err(StoreError::Invalid(format!(
                        "the period is empty: {from} is after {to}"
                    )));
                }
                let end = to.next();
                let (start_ms, end_ms) = (from.start().0, end.start().0);
                let (start_day, end_day) = (from.first_day(), end.first_day());
                let org_id = org.map_or(0, |o| o.0);
                let mut tx = self.read().await?;
                let signals = crate::portable::period_rows!(
                    tx,
                    SIGNALS_ADDED,
                    (start_ms, end_ms),
                    org_id,
                );
                let matches = crate::portable::period_rows!(
                    tx,
                    crate::transparency::MATCHES,
                    (&start_day, &end_day),
                    org_id,
                );
                let queries = crate::portable::period_rows!(
                    tx,
                    crate::transparency::QUERIES,
                    (&start_day, &end_day),
                    org_id,
                );
                let opinions_sent = crate::portable::period_rows!(
                    tx,
                    crate::transparency::OPINIONS_SENT,
                    (start_ms, end_ms),
                    org_id,
                );
                let opinions_received = crate::portable::period_rows!(
                    tx,
                    crate::transparency::OPINIONS_RECEIVED,
                    (start_ms, end_ms),
                    org_id,
                );
                let reports = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::reports()),
                    (start_ms, end_ms),
                    org_id,
                );
                let sends = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::notice_sends()),
                    (start_ms, end_ms),
                    org_id,
                );
                let first_sends = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::first_sends()),
                    (start_ms, end_ms),
                    org_id,
                );
                let removals = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::removals()),
                    (start_ms, end_ms),
                    org_id,
                );
                let forwards = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::forwards()),
                    (start_ms, end_ms),
                    org_id,
                );
                let forwards_returned = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::forwards_returned()),
                    (start_ms, end_ms),
                    org_id,
                );
                let forward_removals = crate::portable::period_rows!(
                    tx,
                    sqlx::AssertSqlSafe(crate::transparency::forward_removals()),
                    (start_ms, end_ms),
                    org_id,
                );
                let exposure = crate::portable::period_rows!(
                    tx,
                    crate::transparency::EXPOSURE,
                    (&start_day, &end_day),
                    org_id,
                );
                let self_reports_opened = crate::portable::period_rows!(
                    tx,
                    crate::transparency::SELF_REPORTS_OPENED,
                    (start_ms, end_ms),
                    org_id,
                );
                let self_reports_withdrawn = crate::portable::period_rows!(
                    tx,
                    crate::transparency::SELF_REPORTS_WITHDRAWN,
                    (start_ms, end_ms),
                    org_id,
                );
                let self_report_hashes = crate::portable::period_rows!(
                    tx,
                    crate::transparency::SELF_REPORT_HASHES,
                    (start_ms, end_ms),
                    org_id,
                );
                let self_report_matches = crate::portable::period_rows!(
                    tx,
                    crate::transparency::SELF_REPORT_MATCHES,
                    (&start_day, &end_day),
                    org_id,
                );
                let rows = crate::transparency::Rows {
                    self_reports_opened,
                    self_reports_withdrawn,
                    self_report_hashes,
                    self_report_matches,
                    signals,
                    matches,
                    queries,
                    opinions_sent,
                    opinions_received,
                    reports,
                    sends,
                    first_sends,
                    removals,
                    forwards,
                    forwards_returned,
                    forward_removals,
                    exposure,
                };
                Ok(crate::transparency::assemble(org, from, to, rows))
            }
    };
}
pub(crate) use portable_methods;

/// The rows of one of the transparency figures' queries (`crate::transparency`): `$sql`
/// bound to the period's two bounds and the organisation (0: the whole deployment).
macro_rules! period_rows {
    ($tx:ident, $sql:expr, ($from:expr, $to:expr), $org:expr $(,)?) => {
        sqlx::query_as($sql)
            .bind($from)
            .bind($to)
            .bind($org)
            .fetch_all(&mut *$tx)
            .await
            .map_err(database)?
    };
}
pub(crate) use period_rows;

/// The shared helpers, for a backend's connection and pool types.
macro_rules! portable_helpers {
    ($conn:ty, $pool:ty) => {

        /// The kind of a bank that is not deleted (`NotFound` for any other).
        async fn live_bank_kind(conn: &mut $conn, id: BankId) -> Result<BankKind> {
            let kind: Option<String> =
                sqlx::query_scalar("SELECT kind FROM banks WHERE id = $1 AND deleted_at IS NULL")
                    .bind(id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(database)?;
            kind.ok_or_else(|| not_found("bank", id))?.parse()
        }

        /// A bank that is not deleted and takes content from lists, analysts and partners:
        /// not a self-report bank, whose items come only from self-reports
        /// (`require_self_report_bank`).
        async fn require_live_bank(conn: &mut $conn, id: BankId) -> Result<()> {
            match live_bank_kind(conn, id).await? {
                BankKind::SelfReport => Err(StoreError::Invalid(format!(
                    "bank {id} is a self-report bank: its items come only from self-reports"
                ))),
                BankKind::Standard | BankKind::Negative => Ok(()),
            }
        }

        /// A live bank of kind `self_report`.
        async fn require_self_report_bank(conn: &mut $conn, id: BankId) -> Result<()> {
            match live_bank_kind(conn, id).await? {
                BankKind::SelfReport => Ok(()),
                BankKind::Standard | BankKind::Negative => Err(StoreError::Invalid(format!(
                    "bank {id} is not a self-report bank"
                ))),
            }
        }

        /// The instance's signing key, if it has been made.
        async fn stored_signing_key(pool: &$pool) -> Result<Option<[u8; 32]>> {
            let key: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT signing_key FROM instance WHERE id = 1")
                    .fetch_optional(pool)
                    .await
                    .map_err(database)?;
            key.map(|k| {
                <[u8; 32]>::try_from(k.as_slice())
                    .map_err(|_| StoreError::Database("the instance key is not 32 bytes".into()))
            })
            .transpose()
        }

        /// An import's upserts of items whose signals are the same: what the list now says
        /// of them, in place (their ids, opinions and enabled state stay).
        async fn update_in_place(
            conn: &mut $conn,
            updates: &[(i64, &NewContent)],
        ) -> Result<()> {
            for (id, item) in updates {
                let (age_group, activity) = rows::assessment_columns(item.assessment);
                let (_, scheme, profile, label, attributes) = rows::exchange_columns(item);
                sqlx::query(
                    "UPDATE content SET age_group = $2, activity = $3, source = $4, \
                     label_scheme = $5, label_profile = $6, label = $7, attributes = $8 WHERE id = $1",
                )
                .bind(id)
                .bind(age_group)
                .bind(activity)
                .bind(&item.source)
                .bind(scheme)
                .bind(profile)
                .bind(label)
                .bind(attributes)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Ok(())
        }

        /// An import's replaced items: each new item takes over the old one's opinions and
        /// enabled state (`carried`: the old item and the new one's place in `added`).
        async fn carry_over(
            conn: &mut $conn,
            carried: &[(i64, usize)],
            added: &[ContentId],
        ) -> Result<()> {
            for (old, at) in carried {
                sqlx::query(
                    "INSERT INTO opinions (content_id, org_id, kind, at) \
                     SELECT $2, org_id, kind, at FROM opinions WHERE content_id = $1",
                )
                .bind(old)
                .bind(added[*at].0)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                sqlx::query(
                    "UPDATE content SET enabled = (SELECT enabled FROM content WHERE id = $1) \
                     WHERE id = $2",
                )
                .bind(old)
                .bind(added[*at].0)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Ok(())
        }

        /// Reported URLs by id, with their signals, in id order.
        async fn reported_urls(conn: &mut $conn, ids: &[i64]) -> Result<Vec<ReportedUrl>> {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                let row: Option<crate::report::UrlRow> = sqlx::query_as(crate::report::SELECT_URL)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(database)?;
                let Some(row) = row else { continue };
                let decision: crate::report::DecisionRow =
                    sqlx::query_as(crate::report::SELECT_DECISION)
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(database)?;
                let signals: Vec<(String, String)> = sqlx::query_as(
                    "SELECT kind, value FROM url_signals WHERE url_id = $1 ORDER BY kind, value",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(database)?;
                let signals = signals
                    .into_iter()
                    .map(|(kind, value)| {
                        Ok(Signal {
                            kind: rows::stored(&kind)?,
                            value,
                        })
                    })
                    .collect::<Result<_>>()?;
                let mut url = crate::report::reported_url(row, decision, signals)?;
                if let Some(content) = url.matched.or(url.related) {
                    let row: Option<crate::series::SeriesRow> = sqlx::query_as(crate::report::URL_SERIES)
                        .bind(content.0)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(database)?;
                    url.series = row.map(crate::series::series_of_row);
                }
                found.push(url);
            }
            found.sort_by_key(|u| u.id);
            Ok(found)
        }
    };
}
pub(crate) use portable_helpers;
