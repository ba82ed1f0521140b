-- The SQLite migration of the same name indexes its content blocks' provenance; PostgreSQL
-- keeps a row per item and has no blocks, so there is nothing to do here.
SELECT 1;
