-- The nodes serving the deployment, as each reports itself about once a minute: where its
-- match index stands, so that an administrator sees every node's state on one page. Rows of
-- nodes not seen for a week are dropped by the next report. Not audited (a report is not a
-- change). The PostgreSQL migration of the same name makes the same table.
CREATE TABLE nodes (
    id            TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    seen_at       INTEGER NOT NULL,
    index_ready   BOOLEAN NOT NULL,
    index_seq     INTEGER NOT NULL,
    index_signals INTEGER NOT NULL,
    caught_up_at  INTEGER NOT NULL
);
CREATE INDEX nodes_seen ON nodes (seen_at);
