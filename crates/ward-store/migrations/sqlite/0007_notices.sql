-- Notices to hosts and the re-checks that find content removed. The PostgreSQL migration of
-- the same name has the same tables.

-- Where a host's abuse desk is reached: by e-mail, by webhook, or both. A pattern is a host
-- name and covers its subdomains ("example.org" covers "cdn.example.org"); the longest
-- pattern that covers a host wins.
CREATE TABLE host_contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern    TEXT    NOT NULL UNIQUE,
    email      TEXT,
    webhook    TEXT,
    created_at INTEGER NOT NULL,
    CHECK (email IS NOT NULL OR webhook IS NOT NULL)
);

-- One notice per reported URL and channel, sent again every day until the URL no longer
-- serves the content (closed_at). claimed_until is a node's lease while it sends.
CREATE TABLE notices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url_id        INTEGER NOT NULL REFERENCES reported_urls (id),
    channel       TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    sends         INTEGER NOT NULL DEFAULT 0,
    first_sent_at INTEGER,
    last_sent_at  INTEGER,
    last_error    TEXT,
    next_due_at   INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    closed_at     INTEGER,
    UNIQUE (url_id, channel)
);
CREATE INDEX notices_due ON notices (next_due_at) WHERE closed_at IS NULL;

-- When a URL that was acted on is fetched again to see whether it is gone.
ALTER TABLE reported_urls ADD COLUMN next_check_at INTEGER;
ALTER TABLE reported_urls ADD COLUMN checked_at INTEGER;
