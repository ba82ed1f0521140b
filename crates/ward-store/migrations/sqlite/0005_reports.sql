-- Public reports and the URLs they name. The PostgreSQL migration of the same name has the
-- same tables. Nothing here records who reported: no address, no client, no session; an
-- e-mail only when the reporter gives one for feedback.

-- One report as filed through the portal: the reference the reporter follows it with, the
-- portal page's country and language, what the reporter said.
CREATE TABLE reports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    reference    TEXT    NOT NULL UNIQUE,
    country      TEXT    NOT NULL,
    language     TEXT    NOT NULL,
    content_kind TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    email        TEXT,
    created_at   INTEGER NOT NULL
);

-- Each URL once, however many reports name it (reports of the same URL are merged), with
-- where the hotline's work on it stands: fetched, hashed, matched, assessed, noticed,
-- removed. claimed_until is an intake node's lease on it while it fetches. matched_content
-- is a content id without a foreign key: on SQLite, content added in bulk lives in blocks.
CREATE TABLE reported_urls (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    url               TEXT    NOT NULL UNIQUE,
    host              TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    reports           INTEGER NOT NULL,
    first_reported_at INTEGER NOT NULL,
    last_reported_at  INTEGER NOT NULL,
    claimed_until     INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    fetched_at        INTEGER,
    fetch_error       TEXT,
    media_type        TEXT,
    sha256            TEXT,
    matched_content   INTEGER,
    age_group         TEXT,
    activity          TEXT,
    assessed_at       INTEGER,
    removed_at        INTEGER,
    CHECK ((age_group IS NULL) = (activity IS NULL))
);
CREATE INDEX reported_urls_state ON reported_urls (state, first_reported_at);

CREATE TABLE report_urls (
    report_id INTEGER NOT NULL REFERENCES reports (id),
    url_id    INTEGER NOT NULL REFERENCES reported_urls (id),
    PRIMARY KEY (report_id, url_id)
);
CREATE INDEX report_urls_url ON report_urls (url_id);

-- The signals computed from what a URL served.
CREATE TABLE url_signals (
    url_id INTEGER NOT NULL REFERENCES reported_urls (id),
    kind   TEXT    NOT NULL,
    value  TEXT    NOT NULL
);
CREATE INDEX url_signals_url ON url_signals (url_id);

-- What a URL served, encrypted by the service before it reaches the store (the key is not
-- in the database), deleted once delete_after has passed.
CREATE TABLE evidence (
    url_id       INTEGER PRIMARY KEY REFERENCES reported_urls (id),
    media_type   TEXT    NOT NULL,
    nonce        BLOB    NOT NULL,
    ciphertext   BLOB    NOT NULL,
    stored_at    INTEGER NOT NULL,
    delete_after INTEGER NOT NULL
);
CREATE INDEX evidence_delete_after ON evidence (delete_after);
