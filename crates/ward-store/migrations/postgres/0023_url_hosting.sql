-- Where a reported URL is hosted: the addresses its host stood for when intake last fetched
-- it, each with the country and network (AS number and name) the node's IP-to-country
-- databases give (`ward serve --geoip-db`), as a JSON array; NULL until it is known. The
-- SQLite migration of the same name adds the same column.
ALTER TABLE reported_urls ADD COLUMN hosting TEXT;
