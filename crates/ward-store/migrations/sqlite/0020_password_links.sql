-- One-time links with which a person chooses their password: made by whoever administers
-- their organisation when the account is made (accounts made so have no password until the
-- link is used: an empty password_hash) or to reset it (the old password stops working at
-- once). One live link per account (a new one replaces it); only the SHA-256 digest of the
-- link's secret is kept; a link used or expired is gone. The PostgreSQL migration of the
-- same name makes the same table.
CREATE TABLE password_links (
    user_id       INTEGER NOT NULL PRIMARY KEY REFERENCES users (id),
    secret_sha256 TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
