-- The people who work the report queue: accounts with argon2 password hashes, their
-- sessions (only a digest of each session's secret is kept), and the time they were
-- exposed to material each day. The PostgreSQL migration of the same name has the same
-- tables.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    org_id        INTEGER NOT NULL REFERENCES orgs (id),
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

CREATE TABLE sessions (
    secret_sha256 TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Seconds a user had material revealed on their screen, per UTC day (YYYY-MM-DD).
CREATE TABLE exposures (
    user_id INTEGER NOT NULL REFERENCES users (id),
    day     TEXT    NOT NULL,
    seconds INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
);

-- Who assessed a reported URL, what they decided beyond the categories (a reason when
-- there is nothing to act on), and the bank content it was added to.
ALTER TABLE reported_urls ADD COLUMN assessed_by INTEGER REFERENCES users (id);
ALTER TABLE reported_urls ADD COLUMN decision_note TEXT;
ALTER TABLE reported_urls ADD COLUMN added_content INTEGER;
