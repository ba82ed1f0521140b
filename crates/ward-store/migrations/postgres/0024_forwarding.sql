-- Reports that cross borders. A forwarding partner is a `ward` exchange (another Ward
-- hotline, its key pinned) with the countries it covers: a URL assessed as abuse and hosted
-- in one of them is forwarded to it rather than noticed here. Both directions are kept in
-- url_forwards (out: this hotline forwarded it; in: a partner forwarded it here), and what
-- each hotline tells the other (a forward, its acknowledgement, assessment, notice, removal,
-- decline or recall) is a forward_events row addressed to that partner, read by the partner
-- through its signed forwarding feed. The SQLite migration of the same name makes the
-- same tables.
CREATE TABLE forwarding_partners (
    exchange_id    BIGINT PRIMARY KEY REFERENCES exchanges (id),
    countries      TEXT    NOT NULL,
    enabled        BOOLEAN NOT NULL,
    ack_timeout_ms BIGINT NOT NULL,
    cursor         TEXT    NOT NULL DEFAULT '',
    pulled_at      BIGINT,
    last_error     TEXT,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE url_forwards (
    id                BIGSERIAL PRIMARY KEY,
    url_id            BIGINT NOT NULL REFERENCES reported_urls (id),
    exchange_id       BIGINT NOT NULL,
    direction         TEXT    NOT NULL,
    remote_id         BIGINT,
    state             TEXT    NOT NULL,
    country           TEXT    NOT NULL,
    origin            TEXT,
    created_at        BIGINT NOT NULL,
    acknowledged_at   BIGINT,
    assessment        TEXT,
    assessed_at       BIGINT,
    noticed_at        BIGINT,
    removed_at        BIGINT,
    returned_at       BIGINT,
    reason            TEXT
);
CREATE UNIQUE INDEX url_forwards_out ON url_forwards (url_id, exchange_id) WHERE direction = 'out';
CREATE UNIQUE INDEX url_forwards_in ON url_forwards (exchange_id, remote_id) WHERE direction = 'in';
CREATE INDEX url_forwards_url ON url_forwards (url_id);
CREATE INDEX url_forwards_waiting ON url_forwards (state, created_at);

CREATE TABLE forward_events (
    seq         BIGSERIAL PRIMARY KEY,
    exchange_id BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX forward_events_to ON forward_events (exchange_id, seq);
