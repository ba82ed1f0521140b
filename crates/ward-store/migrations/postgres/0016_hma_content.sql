-- What HMA 2 keeps besides signals. A bank's `enabled_ratio` is the share of lookups in
-- which its items match (HMA's `matching_enabled_ratio`, drawn per lookup). `content_notes`
-- holds a content item's note (at most 255 characters), its client's metadata (a JSON
-- object) and, for a disabled item, when it enables itself again (`disabled_until`, ms);
-- one row per item that has any, kept apart from `content` so that the hot table and its
-- blocks stay as they are. `signal_type_ratios` keeps HMA's per-signal-type ratios (a
-- setting HMA reports and does not apply). The SQLite migration of the same name makes
-- the same tables.
ALTER TABLE banks ADD COLUMN enabled_ratio DOUBLE PRECISION NOT NULL DEFAULT 1.0;

CREATE TABLE content_notes (
    content_id     BIGINT PRIMARY KEY,
    note           TEXT,
    metadata       TEXT,
    disabled_until BIGINT
);
CREATE INDEX content_notes_due ON content_notes (disabled_until)
    WHERE disabled_until IS NOT NULL;

CREATE TABLE signal_type_ratios (
    name          TEXT PRIMARY KEY,
    enabled_ratio DOUBLE PRECISION NOT NULL
);
