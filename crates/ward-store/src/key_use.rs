//! When API keys were last used: nodes note the keys they authenticate and report them
//! together, at most once a minute, so that a request never waits on a write for it; the
//! same SQL in both backends (`key_use_methods!()` inside each `impl Store`).

/// The methods, written once for both backends.
macro_rules! key_use_methods {
    () => {
        async fn keys_used(&self, used: &[KeyId], at: Timestamp) -> Result<()> {
            if used.is_empty() {
                return Ok(());
            }
            let mut tx = self.write().await?;
            for id in used {
                sqlx::query(
                    "UPDATE api_keys SET last_used_at = $2 \
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                )
                .bind(id.0)
                .bind(at.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            }
            tx.commit().await.map_err(database)?;
            Ok(())
        }
    };
}
pub(crate) use key_use_methods;
