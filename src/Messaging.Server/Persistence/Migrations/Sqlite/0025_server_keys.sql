-- Keys the server makes for itself: generated at first use (a random value), then read by every instance of a
-- scaled-out deployment from here, so all of them compute the same values. name says what a key is for; key_bytes is
-- the key (a secret: never logged, never returned to any client, never in a job argument).
-- interview-uids: the HMAC key of the interview invitations' UIDs, whose per-attendee token authenticates iMIP replies
-- (Messaging.Scheduling's InvitationUids).
CREATE TABLE server_keys (
    name        TEXT    PRIMARY KEY,
    key_bytes   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
