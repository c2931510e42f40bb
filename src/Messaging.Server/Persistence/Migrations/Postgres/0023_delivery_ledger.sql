-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- The delivery ledger (issue 15): exactly-once emails across several server instances. One row per delivery id (the
-- hex id that is also the email's Message-ID local part; no address, no content). A claim is the insert of this row
-- (the primary key makes it atomic: of two instances claiming one id at once, one inserts, the other finds the row).
-- state: 1 claimed (an attempt is handing the message over: holder and claimed_at say which and since when; holder is
-- NULL once given back), 2 sent (the mail server accepted the end of DATA). outcome_unknown: an earlier attempt handed
-- the message over and learnt nothing (connection broken, claim lapsed after a crash), so the next one resends it with
-- the same Message-ID.
CREATE TABLE delivery_ledger (
    delivery_id      TEXT COLLATE "C"    PRIMARY KEY,
    state            BIGINT NOT NULL CHECK (state IN (1, 2)),
    holder           TEXT COLLATE "C"    NULL,
    claimed_at       BIGINT NOT NULL,
    outcome_unknown  BIGINT NOT NULL CHECK (outcome_unknown IN (0, 1)),
    sent_at          BIGINT NULL
);
