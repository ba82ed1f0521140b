-- Feedback owed to exchanges: an organisation's confirmation or dispute of an item that one
-- of its exchanges brought, to be sent back to that exchange in its own form. A row is made
-- in the transaction that records the opinion, and is `pending` until the exchange accepts
-- it (`sent`), refuses it for good (`refused`), or it cannot be sent at all (`unsent`: the
-- type takes no feedback, or the item lacks what its form needs); a later opinion of the same
-- organisation on the same item supersedes a row not yet sent (`superseded`). A sender
-- claims a row until `claimed_until` (ms), so that one node at a time sends it;
-- `parts_done` lists the parts already accepted (NCMEC takes one per fingerprint type,
-- ThreatExchange one per descriptor), so that a retry never sends a part twice. The SQLite
-- migration of the same name makes the same table.
CREATE TABLE exchange_feedback (
    id            BIGSERIAL PRIMARY KEY,
    exchange_id   BIGINT NOT NULL REFERENCES exchanges (id),
    content_id    BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs (id),
    opinion       TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending',
    created_at    BIGINT NOT NULL,
    tries         BIGINT NOT NULL DEFAULT 0,
    next_try_at   BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    done_at       BIGINT,
    parts_done    TEXT    NOT NULL DEFAULT '',
    last_error    TEXT
);
CREATE INDEX exchange_feedback_due ON exchange_feedback (next_try_at) WHERE state = 'pending';
CREATE INDEX exchange_feedback_content ON exchange_feedback (content_id);
