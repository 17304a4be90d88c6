-- pgbench script (bench/compare.sh): the logical write of RegisterCustomer as ONE
-- statement, hence one transaction and one round trip: the first event of a new
-- stream (version 1; the primary key (stream_id, version) is the version check,
-- as ExpectedVersion::NoStream is in the suite), its outbox row, and the
-- customer's projection row (upsert). :payload and :row are hex strings of random
-- bytes (pgbench -D), as large as the suite's event and customer row.
\set sid random(1, 9223372036854775806)
WITH e AS (
  INSERT INTO events (stream_id, version, type, payload)
  VALUES (:sid, 1, 'crm.customer.v1.CustomerRegistered', decode(':payload', 'hex'))
  RETURNING position
), o AS (
  INSERT INTO outbox (position) SELECT position FROM e
)
INSERT INTO projections (name, key, value)
SELECT 'customers', :sid::text, decode(':row', 'hex') FROM e
ON CONFLICT (name, key) DO UPDATE SET value = EXCLUDED.value;
