-- When each API key was last used (ms), as nodes report it: at most a minute late, so that
-- an administrator sees the keys no one has used for a long time. Not audited (a use is not
-- a change). The SQLite migration of the same name adds the same column.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
