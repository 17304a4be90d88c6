-- pgbench script (bench/compare.sh --pg_script=bench/postgresql/register_explicit_tx.sql):
-- the same write as register.sql, written the way an application usually does it:
-- BEGIN, one statement per row, COMMIT (five round trips instead of one).
\set sid random(1, 9223372036854775806)
BEGIN;
INSERT INTO events (stream_id, version, type, payload)
  VALUES (:sid, 1, 'crm.customer.v1.CustomerRegistered', decode(':payload', 'hex'))
  RETURNING position \gset
INSERT INTO outbox (position) VALUES (:position);
INSERT INTO projections (name, key, value) VALUES ('customers', :sid::text, decode(':row', 'hex'))
  ON CONFLICT (name, key) DO UPDATE SET value = EXCLUDED.value;
COMMIT;
