-- Organisations stay apart. The SQLite migration of the same name makes the same changes
-- (and reads its content blocks too).

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
-- the append-only trigger is lifted for this one statement (inside the migration's
-- transaction) and put back.
ALTER TABLE audit_log ADD COLUMN org_id BIGINT;

ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change;

UPDATE audit_log SET org_id = CASE
    WHEN target ~ '^org:[0-9]{1,18}$' THEN
        (SELECT id FROM orgs WHERE id = substr(target, 5)::BIGINT)
    WHEN target ~ '^key:[0-9]{1,18}$' THEN
        (SELECT org_id FROM api_keys WHERE id = substr(target, 5)::BIGINT)
    WHEN target ~ '^bank:[0-9]{1,18}$' THEN
        (SELECT org_id FROM banks WHERE id = substr(target, 6)::BIGINT)
    WHEN target ~ '^user:[0-9]{1,18}$' THEN
        (SELECT org_id FROM users WHERE id = substr(target, 6)::BIGINT)
    WHEN target ~ '^partner:[0-9]{1,18}$' THEN
        (SELECT b.org_id FROM partners p JOIN banks b ON b.id = p.bank_id
         WHERE p.id = substr(target, 9)::BIGINT)
    WHEN target ~ '^content:[0-9]{1,18}$' THEN
        (SELECT b.org_id FROM content c JOIN banks b ON b.id = c.bank_id
         WHERE c.id = substr(target, 9)::BIGINT)
END
WHERE target ~ '^(org|key|bank|user|partner|content):[0-9]{1,18}$';

ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;

CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_actor_org ON audit_log (actor_org, id);

-- What a caller sees of a series is its members in the banks it sees. Each member's bank
-- (an item never changes bank; NULL for an id that is no content), and each series' member
-- count per bank, which the keeper's saves keep, so that counts of what a caller sees read
-- a row per series and bank rather than the members.
ALTER TABLE content_series ADD COLUMN bank_id BIGINT;

UPDATE content_series SET bank_id = c.bank_id FROM content c WHERE c.id = content_series.content_id;

CREATE TABLE series_banks (
    series_id BIGINT NOT NULL,
    bank_id   BIGINT NOT NULL,
    members   BIGINT NOT NULL,
    PRIMARY KEY (series_id, bank_id)
);
CREATE INDEX series_banks_bank ON series_banks (bank_id, series_id);

INSERT INTO series_banks (series_id, bank_id, members)
SELECT series_id, bank_id, COUNT(*) FROM content_series
WHERE bank_id IS NOT NULL GROUP BY series_id, bank_id;
