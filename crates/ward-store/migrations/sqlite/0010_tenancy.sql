-- Organisations stay apart. The PostgreSQL migration of the same name makes the same
-- changes (without content blocks, which only SQLite has).

-- A bank's name is unique among its organisation's live banks, no longer the deployment's:
-- a refusal must never tell one organisation that another has a bank of that name. Names
-- are looked up among the banks a caller sees (banks_name).
DROP INDEX banks_live_name;
CREATE UNIQUE INDEX banks_live_name ON banks (org_id, name) WHERE deleted_at IS NULL;
CREATE INDEX banks_name ON banks (name) WHERE deleted_at IS NULL;

-- The organisation that runs the deployment (at most one): its auditors read the whole
-- audit log and every organisation's figures; every other auditor reads its own.
ALTER TABLE orgs ADD COLUMN operator BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX orgs_operator ON orgs (operator) WHERE operator;

-- The organisation an audit event concerns: the owner of its target (a bank's, a content
-- item's bank's, a key's or a user's organisation; the organisation itself). An auditor
-- reads the events its organisation's members made (actor_org) and those about what it owns
-- (org_id). Events already written get it from their targets, where those name one thing:
-- the append-only triggers are lifted for this one statement and put back as they were.
ALTER TABLE audit_log ADD COLUMN org_id INTEGER;

DROP TRIGGER audit_log_no_update;

UPDATE audit_log SET org_id = CASE
    WHEN target GLOB 'org:[0-9]*' THEN
        (SELECT id FROM orgs WHERE id = CAST(substr(target, 5) AS INTEGER))
    WHEN target GLOB 'key:[0-9]*' THEN
        (SELECT org_id FROM api_keys WHERE id = CAST(substr(target, 5) AS INTEGER))
    WHEN target GLOB 'bank:[0-9]*' THEN
        (SELECT org_id FROM banks WHERE id = CAST(substr(target, 6) AS INTEGER))
    WHEN target GLOB 'user:[0-9]*' THEN
        (SELECT org_id FROM users WHERE id = CAST(substr(target, 6) AS INTEGER))
    WHEN target GLOB 'partner:[0-9]*' THEN
        (SELECT b.org_id FROM partners p JOIN banks b ON b.id = p.bank_id
         WHERE p.id = CAST(substr(target, 9) AS INTEGER))
    WHEN target GLOB 'content:[0-9]*' THEN
        (SELECT org_id FROM banks WHERE id = COALESCE(
            (SELECT bank_id FROM content WHERE id = CAST(substr(target, 9) AS INTEGER)),
            (SELECT b.bank_id FROM content_blocks b
             WHERE b.first_content = (SELECT first_content FROM content_blocks
                                      WHERE first_content <= CAST(substr(target, 9) AS INTEGER)
                                      ORDER BY first_content DESC LIMIT 1)
               AND CAST(substr(target, 9) AS INTEGER) < b.first_content + b.count)))
END
WHERE (target GLOB 'org:[0-9]*' OR target GLOB 'key:[0-9]*' OR target GLOB 'bank:[0-9]*'
       OR target GLOB 'user:[0-9]*' OR target GLOB 'partner:[0-9]*'
       OR target GLOB 'content:[0-9]*')
  -- One id, nothing after it (a referral's `content:12,13` names several).
  AND substr(target, instr(target, ':') + 1) NOT GLOB '*[^0-9]*';

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_actor_org ON audit_log (actor_org, id);

-- What a caller sees of a series is its members in the banks it sees. Each member's bank
-- (an item never changes bank; NULL for an id that is no content), and each series' member
-- count per bank, which the keeper's saves keep, so that counts of what a caller sees read
-- a row per series and bank rather than the members.
ALTER TABLE content_series ADD COLUMN bank_id INTEGER;

UPDATE content_series SET bank_id = COALESCE(
    (SELECT bank_id FROM content WHERE id = content_series.content_id),
    (SELECT b.bank_id FROM content_blocks b
     WHERE b.first_content = (SELECT first_content FROM content_blocks
                              WHERE first_content <= content_series.content_id
                              ORDER BY first_content DESC LIMIT 1)
       AND content_series.content_id < b.first_content + b.count));

CREATE TABLE series_banks (
    series_id INTEGER NOT NULL,
    bank_id   INTEGER NOT NULL,
    members   INTEGER NOT NULL,
    PRIMARY KEY (series_id, bank_id)
);
CREATE INDEX series_banks_bank ON series_banks (bank_id, series_id);

INSERT INTO series_banks (series_id, bank_id, members)
SELECT series_id, bank_id, COUNT(*) FROM content_series
WHERE bank_id IS NOT NULL GROUP BY series_id, bank_id;
