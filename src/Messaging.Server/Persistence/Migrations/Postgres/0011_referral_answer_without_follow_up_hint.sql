-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Issue 11, item 8. A lasting tripartite_proposed_at beside accepted_at or declined_at told anyone reading the database
-- that the receiving service's first answer was a tripartite interview — which protocol 7.A makes the only first
-- answer when a follow-up already runs elsewhere. The answer is stored without that hint: while a proposal waits, its
-- time is status_changed_at (status 2); once answered, nothing records that an interview was proposed. Existing rows
-- keep every other column.
ALTER TABLE referrals DROP COLUMN tripartite_proposed_at;
