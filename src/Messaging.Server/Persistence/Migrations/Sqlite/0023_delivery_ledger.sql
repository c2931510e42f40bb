-- The delivery ledger (issue 15): exactly-once emails across several server instances. One row per delivery id (the
-- hex id that is also the email's Message-ID local part; no address, no content). A claim is the insert of this row
-- (the primary key makes it atomic: of two instances claiming one id at once, one inserts, the other finds the row).
-- state: 1 claimed (an attempt is handing the message over: holder and claimed_at say which and since when; holder is
-- NULL once given back), 2 sent (the mail server accepted the end of DATA). outcome_unknown: an earlier attempt handed
-- the message over and learnt nothing (connection broken, claim lapsed after a crash), so the next one resends it with
-- the same Message-ID.
CREATE TABLE delivery_ledger (
    delivery_id      TEXT    PRIMARY KEY,
    state            INTEGER NOT NULL CHECK (state IN (1, 2)),
    holder           TEXT    NULL,
    claimed_at       INTEGER NOT NULL,
    outcome_unknown  INTEGER NOT NULL CHECK (outcome_unknown IN (0, 1)),
    sent_at          INTEGER NULL
);
