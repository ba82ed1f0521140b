-- Series: near-duplicate content of the banks grouped together, with what the hotline knows
-- of each (a name, whether the victim and the offender are identified, where it was
-- referred). The PostgreSQL migration of the same name has the same tables.
--
-- The groups themselves are derived: one node at a time (the keeper, holding the lease in
-- series_keeper) runs ward-core's series engine over the index feed and writes here what it
-- needs to rebuild the engine under the same ids (each item's series and partition label,
-- the curators' explicit links, the merged ids, the counters) with the feed position it
-- reflects. Curators' merges and splits are requested in series_decisions and applied by the
-- keeper in order.

-- Every series id ever given out. members is 0 once a series has ended or been merged
-- (merged_into then names the series it joined); split_from names the series it was split
-- from, by a curator or by the removal of content that held it together.
CREATE TABLE series (
    id                  INTEGER PRIMARY KEY,
    name                TEXT,
    victim_identified   BOOLEAN NOT NULL DEFAULT FALSE,
    offender_identified BOOLEAN NOT NULL DEFAULT FALSE,
    referred_to         TEXT,
    referred_at         INTEGER,
    members             INTEGER NOT NULL DEFAULT 0,
    merged_into         INTEGER,
    split_from          INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX series_live ON series (members, id);

-- Each item in a series (content ids without a foreign key: on SQLite, content added in
-- bulk lives in blocks), with its partition label (0 until a curator's split gives one).
CREATE TABLE content_series (
    content_id INTEGER PRIMARY KEY,
    series_id  INTEGER NOT NULL,
    label      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX content_series_series ON content_series (series_id);

-- Curators' explicit links (a merge), smaller content id first.
CREATE TABLE series_links (
    a INTEGER NOT NULL,
    b INTEGER NOT NULL,
    PRIMARY KEY (a, b)
);

-- The keeper: the feed position the rows above reflect, the engine's counters, the lease
-- of the node that keeps them, and a version every save increments (a node that finds it
-- changed by another reloads before it writes).
CREATE TABLE series_keeper (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    cursor      INTEGER NOT NULL DEFAULT 0,
    next_series INTEGER NOT NULL DEFAULT 0,
    next_label  INTEGER NOT NULL DEFAULT 1,
    holder      TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO series_keeper (id) VALUES (1);

-- Curators' requests to merge two series or split members off one, applied by the keeper
-- in id order; outcome lists the series the members are in afterwards.
CREATE TABLE series_decisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    series_id    INTEGER NOT NULL,
    other_series INTEGER,
    members      TEXT    NOT NULL DEFAULT '',
    requested_by TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    applied_at   INTEGER,
    outcome      TEXT,
    error        TEXT
);
CREATE INDEX series_decisions_pending ON series_decisions (applied_at, id);

-- A reported URL that matched bank content which does not settle it (the content has no
-- assessment to take: a list gave its hashes without categories) waits for an analyst with
-- that content's series.
ALTER TABLE reported_urls ADD COLUMN related_content INTEGER;
