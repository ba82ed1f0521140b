-- The nodes serving the deployment, as each reports itself about once a minute: where its
-- match index stands, so that an administrator sees every node's state on one page. Rows of
-- nodes not seen for a week are dropped by the next report. Not audited (a report is not a
-- change). The SQLite migration of the same name makes the same table.
CREATE TABLE nodes (
    id            TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    started_at    BIGINT NOT NULL,
    seen_at       BIGINT NOT NULL,
    index_ready   BOOLEAN NOT NULL,
    index_seq     BIGINT NOT NULL,
    index_signals BIGINT NOT NULL,
    caught_up_at  BIGINT NOT NULL
);
CREATE INDEX nodes_seen ON nodes (seen_at);
