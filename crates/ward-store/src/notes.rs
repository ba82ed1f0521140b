//! What HMA 2 keeps of a content item besides its signals (a note, the client's metadata,
//! when a disabled item enables itself again) and its per-signal-type ratios, the same SQL
//! in both backends (`notes_methods!()` inside each `impl Store`).
//!
//! Notes live in their own table, one row per item that has any: most items never have one,
//! and the content table (and SQLite's blocks of bulk content) stay as they are. An item's
//! `disabled_until` is read by [`crate::Store::content_due`]; enabling the item when its
//! time comes is the caller's (through [`crate::Store::set_content_enabled`], which gives its
//! signals to the feed), so that every enable goes through the one path.

/// The methods, written once for both backends.
macro_rules! notes_methods {
    () => {
        async fn content_notes(&self, id: ContentId) -> Result<ContentNotes> {
            let row: Option<(Option<String>, Option<String>, Option<i64>)> = sqlx::query_as(
                "SELECT note, metadata, disabled_until FROM content_notes WHERE content_id = $1",
            )
            .bind(id.0)
            .fetch_optional(self.reads())
            .await
            .map_err(database)?;
            Ok(
                row.map_or_else(ContentNotes::default, |(note, metadata, until)| {
                    ContentNotes {
                        note,
                        metadata,
                        disabled_until: until.map(Timestamp),
                    }
                }),
            )
        }

        async fn set_content_notes(
            &self,
            actor: &Actor,
            id: ContentId,
            notes: &ContentNotes,
        ) -> Result<()> {
            rules::content_notes(notes)?;
            // Clearing needs no live item: the notes of a removed one can always go.
            if !notes.is_empty() && self.content(id).await?.is_none() {
                return Err(not_found("content", id));
            }
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            if notes.is_empty() {
                sqlx::query("DELETE FROM content_notes WHERE content_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
            } else {
                sqlx::query(
                    "INSERT INTO content_notes (content_id, note, metadata, disabled_until) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (content_id) DO UPDATE SET \
                     note = excluded.note, metadata = excluded.metadata, \
                     disabled_until = excluded.disabled_until",
                )
                .bind(id.0)
                .bind(notes.note.as_deref())
                .bind(notes.metadata.as_deref())
                .bind(notes.disabled_until.map(|t| t.0))
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            }
            log(&mut tx, actor, now, Event::content_notes(id, notes)).await?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn content_due(&self, now: Timestamp, limit: u32) -> Result<Vec<ContentId>> {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT content_id FROM content_notes \
                 WHERE disabled_until IS NOT NULL AND disabled_until <= $1 \
                 ORDER BY disabled_until, content_id LIMIT $2",
            )
            .bind(now.0)
            .bind(i64::from(limit))
            .fetch_all(self.reads())
            .await
            .map_err(database)?;
            Ok(ids.into_iter().map(ContentId).collect())
        }

        async fn signal_type_ratios(&self) -> Result<Vec<(String, Ratio)>> {
            let rows: Vec<(String, f64)> =
                sqlx::query_as("SELECT name, enabled_ratio FROM signal_type_ratios ORDER BY name")
                    .fetch_all(self.reads())
                    .await
                    .map_err(database)?;
            rows.into_iter()
                .map(|(name, ratio)| Ok((name, Ratio::new(ratio)?)))
                .collect()
        }

        async fn set_signal_type_ratio(
            &self,
            actor: &Actor,
            name: &str,
            ratio: Ratio,
        ) -> Result<()> {
            rules::signal_type_name(name)?;
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            sqlx::query(
                "INSERT INTO signal_type_ratios (name, enabled_ratio) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET enabled_ratio = excluded.enabled_ratio",
            )
            .bind(name)
            .bind(ratio.get())
            .execute(&mut *tx)
            .await
            .map_err(database)?;
            log(&mut tx, actor, now, Event::signal_type_ratio(name, ratio)).await?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }
    };
}

pub(crate) use notes_methods;
