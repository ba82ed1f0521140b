-- Exchanges: live sources of hashes (NCMEC, StopNCII, ThreatExchange, another Ward, a list
-- at a URL), each filling a bank of its own, whose name it goes by (unique in the
-- organisation, as bank names are). `config` is the type's settings (JSON, never
-- credentials); `checkpoint` is where the next fetch resumes (the type's own JSON) with its
-- progress time; the fetch status is HMA's six fields and the last error. One node fetches
-- an exchange at a time: `holder` holds its lease until `lease_until`, and every save is
-- fenced by `version`. Deleting an exchange deletes its row, and its bank as banks are
-- deleted. The PostgreSQL migration of the same name makes the same tables.
CREATE TABLE exchanges (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    api           TEXT    NOT NULL,
    bank_id       INTEGER NOT NULL UNIQUE REFERENCES banks (id),
    config        TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    INTEGER NOT NULL,
    checkpoint    TEXT,
    checkpoint_ts INTEGER,
    running_since INTEGER,
    completed_at  INTEGER,
    succeeded     BOOLEAN,
    up_to_date    BOOLEAN NOT NULL DEFAULT FALSE,
    fetched_items INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    failures      INTEGER NOT NULL DEFAULT 0,
    holder        TEXT,
    lease_until   INTEGER NOT NULL DEFAULT 0,
    version       INTEGER NOT NULL DEFAULT 0
);

-- Credentials per organisation and exchange type (HMA keeps them per type; here each
-- organisation's are its own, and fetch only into its banks), sealed by the binary under a
-- key kept outside the database: the store never holds them in clear.
CREATE TABLE exchange_credentials (
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    api        TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, api)
);
