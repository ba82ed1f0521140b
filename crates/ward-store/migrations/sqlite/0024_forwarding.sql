-- Reports that cross borders. A forwarding partner is a `ward` exchange (another Ward
-- hotline, its key pinned) with the countries it covers: a URL assessed as abuse and hosted
-- in one of them is forwarded to it rather than noticed here. Both directions are kept in
-- url_forwards (out: this hotline forwarded it; in: a partner forwarded it here), and what
-- each hotline tells the other (a forward, its acknowledgement, assessment, notice, removal,
-- decline or recall) is a forward_events row addressed to that partner, read by the partner
-- through its signed forwarding feed. The PostgreSQL migration of the same name makes the
-- same tables.
CREATE TABLE forwarding_partners (
    exchange_id    INTEGER PRIMARY KEY REFERENCES exchanges (id),
    countries      TEXT    NOT NULL,
    enabled        BOOLEAN NOT NULL,
    ack_timeout_ms INTEGER NOT NULL,
    cursor         TEXT    NOT NULL DEFAULT '',
    pulled_at      INTEGER,
    last_error     TEXT,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE url_forwards (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    url_id            INTEGER NOT NULL REFERENCES reported_urls (id),
    exchange_id       INTEGER NOT NULL,
    direction         TEXT    NOT NULL,
    remote_id         INTEGER,
    state             TEXT    NOT NULL,
    country           TEXT    NOT NULL,
    origin            TEXT,
    created_at        INTEGER NOT NULL,
    acknowledged_at   INTEGER,
    assessment        TEXT,
    assessed_at       INTEGER,
    noticed_at        INTEGER,
    removed_at        INTEGER,
    returned_at       INTEGER,
    reason            TEXT
);
CREATE UNIQUE INDEX url_forwards_out ON url_forwards (url_id, exchange_id) WHERE direction = 'out';
CREATE UNIQUE INDEX url_forwards_in ON url_forwards (exchange_id, remote_id) WHERE direction = 'in';
CREATE INDEX url_forwards_url ON url_forwards (url_id);
CREATE INDEX url_forwards_waiting ON url_forwards (state, created_at);

CREATE TABLE forward_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    exchange_id INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX forward_events_to ON forward_events (exchange_id, seq);
