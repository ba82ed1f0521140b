-- A request to fetch an exchange at once ("fetch now" in the console): any node's fetch loop
-- finds the exchange due while the request stands, whatever its interval or backoff, and the
-- next claim of its lease spends it. NULL: none. The PostgreSQL migration of the same
-- name adds the same column.
ALTER TABLE exchanges ADD COLUMN fetch_requested_at INTEGER;
