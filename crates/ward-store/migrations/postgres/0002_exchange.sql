-- Hash sharing: what exchanged lists say about their items. The SQLite migration of the
-- same name adds the same content columns, and blocks for content added in bulk; on
-- PostgreSQL every item keeps a row of its own.

-- The list's own id of an item (VICS MediaID, NCMEC's id, a partner's content id), on which
-- later imports' upserts and tombstones are keyed; the category label as the list gives it
-- (never turned into facts or another scheme's label); the list's other fields, as a JSON
-- object of strings.
ALTER TABLE content ADD COLUMN external_id TEXT;
ALTER TABLE content ADD COLUMN label_scheme TEXT;
ALTER TABLE content ADD COLUMN label_profile TEXT;
ALTER TABLE content ADD COLUMN label TEXT;
ALTER TABLE content ADD COLUMN attributes TEXT;
CREATE UNIQUE INDEX content_external ON content (bank_id, external_id)
    WHERE external_id IS NOT NULL AND removed_at IS NULL;
