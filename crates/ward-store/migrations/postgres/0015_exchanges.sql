-- Exchanges: live sources of hashes (NCMEC, StopNCII, ThreatExchange, another Ward, a list
-- at a URL), each filling a bank of its own, whose name it goes by (unique in the
-- organisation, as bank names are). `config` is the type's settings (JSON, never
-- credentials); `checkpoint` is where the next fetch resumes (the type's own JSON) with its
-- progress time; the fetch status is HMA's six fields and the last error. One node fetches
-- an exchange at a time: `holder` holds its lease until `lease_until`, and every save is
-- fenced by `version`. Deleting an exchange deletes its row, and its bank as banks are
-- deleted. The SQLite migration of the same name makes the same tables.
CREATE TABLE exchanges (
    id            BIGSERIAL PRIMARY KEY,
    api           TEXT    NOT NULL,
    bank_id       BIGINT  NOT NULL UNIQUE REFERENCES banks (id),
    config        TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT  NOT NULL,
    checkpoint    TEXT,
    checkpoint_ts BIGINT,
    running_since BIGINT,
    completed_at  BIGINT,
    succeeded     BOOLEAN,
    up_to_date    BOOLEAN NOT NULL DEFAULT FALSE,
    fetched_items BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT,
    failures      BIGINT  NOT NULL DEFAULT 0,
    holder        TEXT,
    lease_until   BIGINT  NOT NULL DEFAULT 0,
    version       BIGINT  NOT NULL DEFAULT 0
);

-- Credentials per organisation and exchange type (HMA keeps them per type; here each
-- organisation's are its own, and fetch only into its banks), sealed by the binary under a
-- key kept outside the database: the store never holds them in clear.
CREATE TABLE exchange_credentials (
    org_id     BIGINT  NOT NULL REFERENCES orgs (id),
    api        TEXT    NOT NULL,
    sealed     BYTEA   NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (org_id, api)
);
