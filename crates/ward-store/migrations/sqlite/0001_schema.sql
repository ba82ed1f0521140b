-- Ward's schema on SQLite. Times are milliseconds since the Unix epoch (UTC); enum columns
-- hold the model's names (`curator`, `standard`, `pdq`). The PostgreSQL schema in
-- ../postgres has the same tables, columns and rules.

CREATE TABLE orgs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Only a SHA-256 digest of a key's secret is stored, and its visible prefix.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        INTEGER NOT NULL REFERENCES orgs (id),
    role          TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    secret_sha256 TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

-- A deleted bank keeps its row (for the audit trail) and frees its name.
CREATE TABLE banks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    org_id      INTEGER NOT NULL REFERENCES orgs (id),
    kind        TEXT    NOT NULL,
    distance    INTEGER NOT NULL CHECK (distance BETWEEN 0 AND 255),
    enabled     BOOLEAN NOT NULL,
    sharing     TEXT    NOT NULL,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE UNIQUE INDEX banks_live_name ON banks (name) WHERE deleted_at IS NULL;

-- Ids of content and signals are given by add_content under the write lock (so that a bulk
-- insert knows them without reading them back); rows are never deleted.
CREATE TABLE content (
    id           INTEGER PRIMARY KEY,
    bank_id      INTEGER NOT NULL REFERENCES banks (id),
    enabled      BOOLEAN NOT NULL,
    age_group    TEXT,
    activity     TEXT,
    added_by     TEXT    NOT NULL,
    added_by_key INTEGER,
    added_by_org INTEGER,
    source       TEXT    NOT NULL,
    added_at     INTEGER NOT NULL,
    removed_at   INTEGER,
    CHECK ((age_group IS NULL) = (activity IS NULL))
);
CREATE INDEX content_bank ON content (bank_id, id);

-- `seq` is the signal's position in the index feed: every change to the signal (or to its
-- content or bank) gives it the next one.
CREATE TABLE signals (
    id         INTEGER PRIMARY KEY,
    content_id INTEGER NOT NULL REFERENCES content (id),
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    seq        INTEGER NOT NULL UNIQUE
);
CREATE INDEX signals_content ON signals (content_id);

CREATE TABLE opinions (
    content_id INTEGER NOT NULL REFERENCES content (id),
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    kind       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (content_id, org_id)
);

-- Append-only: the triggers below refuse every change to a written event.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    actor_key INTEGER,
    actor_org INTEGER,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    detail    TEXT    NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
