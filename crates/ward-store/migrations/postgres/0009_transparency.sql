-- Matches, for the transparency figures: each `ward serve` node tallies in memory, per UTC
-- day (YYYY-MM-DD) and querying organisation, the matches per bank and the match queries by
-- outcome (known: a match at PDQ distance 0 or of a digest; near: only other PDQ or vPDQ
-- matches; novel: no match), and adds its tally here every few seconds. Nodes add, never
-- set, so the rows are the sum over every node. The SQLite migration of the same name
-- has the same tables.

CREATE TABLE match_counts (
    day     TEXT    NOT NULL,
    org_id  BIGINT  NOT NULL REFERENCES orgs (id),
    bank_id BIGINT  NOT NULL REFERENCES banks (id),
    matches BIGINT  NOT NULL,
    PRIMARY KEY (day, org_id, bank_id)
);

CREATE TABLE match_queries (
    day     TEXT    NOT NULL,
    org_id  BIGINT  NOT NULL REFERENCES orgs (id),
    outcome TEXT    NOT NULL CHECK (outcome IN ('known', 'near', 'novel')),
    queries BIGINT  NOT NULL,
    PRIMARY KEY (day, org_id, outcome)
);
