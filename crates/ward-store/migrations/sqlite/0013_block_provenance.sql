-- What a match answer shows of a bulk item (its provenance) read without its block's row:
-- the row's digests come before these columns, and reading past a 32 KiB blob walks its
-- overflow pages. This index holds them beside the block's first content id, so the read is
-- one index entry. The PostgreSQL migration of the same name has nothing to do (no blocks).
CREATE INDEX content_blocks_provenance ON content_blocks
    (first_content, count, bank_id, added_by, added_by_key, added_by_org, source, added_at);
