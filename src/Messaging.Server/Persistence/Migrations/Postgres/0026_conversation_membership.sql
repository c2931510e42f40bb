-- The PostgreSQL twin of the SQLite migration with the same number and name.
-- Conversation membership signed by participants: each conversation's membership statements in order (index 0 the
-- creation, or a legacy snapshot of a conversation created before), each signed by the acting member's key. The server
-- checks each one against the caller's current member key before it changes conversation_members; clients verify the
-- whole log against the keys they trust and encrypt only to the members it justifies (docs/crypto.md section 12).
CREATE TABLE conversation_membership (
    conversation_id  TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    idx              BIGINT  NOT NULL,
    statement        BYTEA   NOT NULL,
    PRIMARY KEY (conversation_id, idx)
);
