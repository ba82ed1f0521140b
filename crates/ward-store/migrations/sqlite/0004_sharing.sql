-- Sharing with named organisations, and the dispute policy. The PostgreSQL migration of
-- the same name makes the same changes.

-- The organisations a bank with sharing 'organisations' is shared with (besides its own).
CREATE TABLE bank_shares (
    bank_id INTEGER NOT NULL REFERENCES banks (id),
    org_id  INTEGER NOT NULL REFERENCES orgs (id),
    PRIMARY KEY (bank_id, org_id)
);

-- How many organisations' disputes disable a content item of the bank (NULL: never).
ALTER TABLE banks ADD COLUMN dispute_limit INTEGER CHECK (dispute_limit > 0);

-- The seqs the bank's live items took when its sharing last changed (reshared_after,
-- reshared_until]: an organisation that may no longer see the bank reads them in the feed
-- as tombstones.
ALTER TABLE banks ADD COLUMN reshared_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE banks ADD COLUMN reshared_until INTEGER NOT NULL DEFAULT 0;
