-- Initial schema. Ids are canonical GUID text, instants are Unix milliseconds, keys and ciphertext are BLOBs.
-- Personal data (display names, work emails) lives in `members` only; everything else refers to ids.

CREATE TABLE organisations (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE members (
    id               TEXT    PRIMARY KEY,
    organisation_id  TEXT    NOT NULL REFERENCES organisations (id),
    display_name     TEXT    NOT NULL,
    role             TEXT    NOT NULL,
    work_email       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX ix_members_organisation ON members (organisation_id);

CREATE TABLE devices (
    id                       TEXT    PRIMARY KEY,
    member_id                TEXT    NOT NULL REFERENCES members (id),
    identity_key             BLOB    NOT NULL UNIQUE,
    signed_prekey_id         INTEGER NOT NULL,
    signed_prekey_public     BLOB    NOT NULL,
    signed_prekey_signature  BLOB    NOT NULL,
    status                   TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at               INTEGER NOT NULL,
    revoked_at               INTEGER NULL
);
CREATE INDEX ix_devices_member ON devices (member_id, status);

CREATE TABLE one_time_prekeys (
    device_id   TEXT    NOT NULL REFERENCES devices (id),
    key_id      INTEGER NOT NULL,
    public_key  BLOB    NOT NULL,
    PRIMARY KEY (device_id, key_id)
);

-- Only the SHA-256 of a code is stored; the code itself is shown once to the admin.
CREATE TABLE enrolment_codes (
    code_hash             BLOB    PRIMARY KEY,
    member_id             TEXT    NOT NULL REFERENCES members (id),
    issued_by_member_id   TEXT    NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER NULL,
    device_id             TEXT    NULL
);

CREATE TABLE auth_challenges (
    challenge   BLOB    PRIMARY KEY,
    device_id   TEXT    NOT NULL REFERENCES devices (id),
    expires_at  INTEGER NOT NULL
);

-- Only the SHA-256 of a token is stored.
CREATE TABLE access_tokens (
    token_hash  BLOB    PRIMARY KEY,
    device_id   TEXT    NOT NULL REFERENCES devices (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX ix_access_tokens_device ON access_tokens (device_id);

-- Append-only, hash-chained (see docs/server.md for the canonical encoding).
CREATE TABLE key_log (
    idx           INTEGER PRIMARY KEY,
    occurred_at   INTEGER NOT NULL,
    action        INTEGER NOT NULL,
    device_id     TEXT    NOT NULL,
    member_id     TEXT    NOT NULL,
    identity_key  BLOB    NOT NULL,
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL
);

-- Append-only, hash-chained metadata events: ids and codes only, never content, names or emails.
CREATE TABLE audit_log (
    idx              INTEGER PRIMARY KEY,
    occurred_at      INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    actor_member_id  TEXT    NULL,
    actor_device_id  TEXT    NULL,
    subjects         TEXT    NOT NULL,
    detail           TEXT    NULL,
    prev_hash        BLOB    NOT NULL,
    hash             BLOB    NOT NULL
);

CREATE TABLE conversations (
    id                    TEXT    PRIMARY KEY,
    collective            INTEGER NOT NULL,
    created_by_member_id  TEXT    NOT NULL REFERENCES members (id),
    created_at            INTEGER NOT NULL
);

CREATE TABLE conversation_members (
    conversation_id  TEXT    NOT NULL REFERENCES conversations (id),
    member_id        TEXT    NOT NULL REFERENCES members (id),
    added_at         INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, member_id)
);
CREATE INDEX ix_conversation_members_member ON conversation_members (member_id);

-- seq never repeats (AUTOINCREMENT), so an acknowledgement can never hit a later envelope.
CREATE TABLE envelopes (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_device_id  TEXT    NOT NULL,
    sender_member_id  TEXT    NOT NULL,
    envelope_id       TEXT    NOT NULL,
    conversation_id   TEXT    NOT NULL,
    kind              INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    UNIQUE (sender_device_id, envelope_id)
);
CREATE INDEX ix_envelopes_expires ON envelopes (expires_at);

CREATE TABLE envelope_recipients (
    recipient_device_id  TEXT    NOT NULL,
    envelope_seq         INTEGER NOT NULL REFERENCES envelopes (seq),
    ciphertext           BLOB    NOT NULL,
    PRIMARY KEY (recipient_device_id, envelope_seq)
);
CREATE INDEX ix_envelope_recipients_seq ON envelope_recipients (envelope_seq);
