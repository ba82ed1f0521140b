//! Password links: how a person chooses their own password, never typed by an administrator.
//! Whoever administers their organisation makes a link (for a new account, or to reset a
//! password, which stops the old one at once); the store keeps only the SHA-256 digest of its
//! secret; the holder uses it once before it expires. The same SQL in both backends
//! (`password_links_methods!()` inside each `impl Store`).

/// The methods, written once for both backends.
macro_rules! password_links_methods {
    () => {
        async fn set_password_link(
            &self,
            actor: &Actor,
            user: UserId,
            secret_digest: &str,
            expires_at: Timestamp,
        ) -> Result<()> {
            let now = Timestamp::now();
            let mut tx = self.write().await?;
            // The old password stops working: a reset shuts out whoever holds it.
            let changed = sqlx::query("UPDATE users SET password_hash = '' WHERE id = $1")
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            if changed.rows_affected() == 0 {
                return Err(not_found("user", user));
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            // Links that can no longer be used go with every new one.
            sqlx::query("DELETE FROM password_links WHERE user_id = $1 OR expires_at <= $2")
                .bind(user.0)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            sqlx::query(
                "INSERT INTO password_links (user_id, secret_sha256, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(user.0)
            .bind(secret_digest)
            .bind(now.0)
            .bind(expires_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("that password link is taken".into())
                } else {
                    database(e)
                }
            })?;
            log(
                &mut tx,
                actor,
                now,
                Event::user_password_link(user, expires_at),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(())
        }

        async fn password_link_user(
            &self,
            secret_digest: &str,
            now: Timestamp,
        ) -> Result<Option<User>> {
            let row: Option<rows::UserRow> = sqlx::query_as(
                "SELECT u.id, u.name, u.org_id, u.role, u.password_hash, u.created_at, \
                 u.disabled_at FROM password_links l JOIN users u ON u.id = l.user_id \
                 WHERE l.secret_sha256 = $1 AND l.expires_at > $2 AND u.disabled_at IS NULL",
            )
            .bind(secret_digest)
            .bind(now.0)
            .fetch_optional(self.reads())
            .await
            .map_err(database)?;
            row.map(rows::user).transpose()
        }

        async fn use_password_link(
            &self,
            secret_digest: &str,
            now: Timestamp,
            password_hash: &str,
        ) -> Result<Option<User>> {
            let hash = rules::password_hash(password_hash)?;
            let mut tx = self.write().await?;
            // Taking the row is what makes the link single-use, against a concurrent use.
            let taken: Option<i64> = sqlx::query_scalar(
                "DELETE FROM password_links WHERE secret_sha256 = $1 AND expires_at > $2 \
                 AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL) \
                 RETURNING user_id",
            )
            .bind(secret_digest)
            .bind(now.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            let Some(id) = taken else {
                return Ok(None);
            };
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(id)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
            let row: rows::UserRow = sqlx::query_as(concat!(
                "SELECT ",
                columns!(user),
                " FROM users WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
            let user = rows::user(row)?;
            log(
                &mut tx,
                &Actor::user(&user),
                now,
                Event::user_password(user.id),
            )
            .await?;
            tx.commit().await.map_err(database)?;
            Ok(Some(user))
        }
    };
}
pub(crate) use password_links_methods;
