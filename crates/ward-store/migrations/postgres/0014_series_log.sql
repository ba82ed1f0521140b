-- The series log: every change to what match answers show of series, in the order the
-- changes were committed, so that a node holding every item's series in memory follows
-- it instead of reading the store for each first-time match. A row either moves an item
-- (`content_id` set; `series_id` NULL: it left every series) or gives a series' flags
-- (`content_id` NULL; `flags`: 1 victim identified, 2 offender identified, 4 referred).
-- Rows are written only by transactions that first move `series_keeper.epoch` on, which
-- makes them one at a time, so ids grow in commit order. The keeper deletes rows older
-- than a while (`log_mark`, `log_mark_at`); `log_pruned` is the last id deleted, and a node
-- whose place in the log is older reloads. The SQLite migration of the same name makes
-- the same table.
CREATE TABLE series_log (
    id         BIGSERIAL PRIMARY KEY,
    content_id BIGINT,
    series_id  BIGINT,
    flags      BIGINT NOT NULL DEFAULT 0
);
ALTER TABLE series_keeper ADD COLUMN log_pruned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE series_keeper ADD COLUMN log_mark BIGINT NOT NULL DEFAULT 0;
ALTER TABLE series_keeper ADD COLUMN log_mark_at BIGINT NOT NULL DEFAULT 0;
