-- Federation. The PostgreSQL migration of the same name has the same tables.

-- This instance's identity: the Ed25519 key its feed pages are signed with (one row, made
-- when the instance first needs it; every node of a deployment signs with it).
CREATE TABLE instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    signing_key BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Partner instances whose feeds this one pulls into a local bank: where (url), with which
-- key of theirs (api_key, sent as a bearer token), whose signature to trust (public_key,
-- hex), how far it has read (cursor, saved after each page), and how far this instance's
-- feed has been read for opinions to send back to it (feedback_cursor, a seq).
CREATE TABLE partners (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    url        TEXT    NOT NULL,
    api_key    TEXT    NOT NULL,
    public_key TEXT    NOT NULL,
    bank_id    INTEGER NOT NULL REFERENCES banks (id),
    cursor     TEXT    NOT NULL,
    feedback_cursor TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    synced_at  INTEGER
);
