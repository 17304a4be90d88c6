-- bench/compare.sh: a PostgreSQL event store, the peer of the suite's RocksDB one.
-- events: the log. (stream_id, version) is the optimistic concurrency check: an
--   append that lost the race for a version fails on the primary key; `position`
--   is the global order.
-- outbox: one row per event for a publisher to pick up (none runs in the bench).
-- projections: read-model rows, upserted in the same transaction as the event.
CREATE TABLE events (
  position bigserial UNIQUE,
  stream_id bigint NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  payload bytea NOT NULL,
  PRIMARY KEY (stream_id, version)
);
CREATE TABLE outbox (
  position bigint PRIMARY KEY,
  published boolean NOT NULL DEFAULT false
);
CREATE TABLE projections (
  name text NOT NULL,
  key text NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (name, key)
);
