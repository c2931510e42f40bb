-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Initial schema. Ids are canonical GUID text, instants are Unix milliseconds, keys and ciphertext are BLOBs.
-- Personal data (display names, work emails) lives in `members` only; everything else refers to ids.

CREATE TABLE organisations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE members (
    id               TEXT COLLATE "C" PRIMARY KEY,
    organisation_id  TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    display_name     TEXT COLLATE "C" NOT NULL,
    role             TEXT COLLATE "C" NOT NULL,
    work_email       TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX ix_members_organisation ON members (organisation_id);

CREATE TABLE devices (
    id                       TEXT COLLATE "C" PRIMARY KEY,
    member_id                TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    identity_key             BYTEA   NOT NULL UNIQUE,
    signed_prekey_id         BIGINT  NOT NULL,
    signed_prekey_public     BYTEA   NOT NULL,
    signed_prekey_signature  BYTEA   NOT NULL,
    status                   TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at               BIGINT  NOT NULL,
    revoked_at               BIGINT  NULL
);
CREATE INDEX ix_devices_member ON devices (member_id, status);

CREATE TABLE one_time_prekeys (
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
    key_id      BIGINT  NOT NULL,
    public_key  BYTEA   NOT NULL,
    PRIMARY KEY (device_id, key_id)
);

-- Only the SHA-256 of a code is stored; the code itself is shown once to the admin.
CREATE TABLE enrolment_codes (
    code_hash             BYTEA   PRIMARY KEY,
    member_id             TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    issued_by_member_id   TEXT COLLATE "C" NULL,
    created_at            BIGINT  NOT NULL,
    expires_at            BIGINT  NOT NULL,
    used_at               BIGINT  NULL,
    device_id             TEXT COLLATE "C" NULL
);

CREATE TABLE auth_challenges (
    challenge   BYTEA   PRIMARY KEY,
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
    expires_at  BIGINT  NOT NULL
);

-- Only the SHA-256 of a token is stored.
CREATE TABLE access_tokens (
    token_hash  BYTEA   PRIMARY KEY,
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices (id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX ix_access_tokens_device ON access_tokens (device_id);

-- Append-only, hash-chained (see docs/server.md for the canonical encoding).
CREATE TABLE key_log (
    idx           BIGINT  PRIMARY KEY,
    occurred_at   BIGINT  NOT NULL,
    action        BIGINT  NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    member_id     TEXT COLLATE "C" NOT NULL,
    identity_key  BYTEA   NOT NULL,
    prev_hash     BYTEA   NOT NULL,
    hash          BYTEA   NOT NULL
);

-- Append-only, hash-chained metadata events: ids and codes only, never content, names or emails.
CREATE TABLE audit_log (
    idx              BIGINT  PRIMARY KEY,
    occurred_at      BIGINT  NOT NULL,
    event_type       TEXT COLLATE "C" NOT NULL,
    actor_member_id  TEXT COLLATE "C" NULL,
    actor_device_id  TEXT COLLATE "C" NULL,
    subjects         TEXT COLLATE "C" NOT NULL,
    detail           TEXT COLLATE "C" NULL,
    prev_hash        BYTEA   NOT NULL,
    hash             BYTEA   NOT NULL
);

CREATE TABLE conversations (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    collective            BIGINT  NOT NULL,
    created_by_member_id  TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    created_at            BIGINT  NOT NULL
);

CREATE TABLE conversation_members (
    conversation_id  TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    member_id        TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    added_at         BIGINT  NOT NULL,
    PRIMARY KEY (conversation_id, member_id)
);
CREATE INDEX ix_conversation_members_member ON conversation_members (member_id);

-- seq never repeats (an identity column, like AUTOINCREMENT), so an acknowledgement can never hit a later envelope.
CREATE TABLE envelopes (
    seq               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_device_id  TEXT COLLATE "C" NOT NULL,
    sender_member_id  TEXT COLLATE "C" NOT NULL,
    envelope_id       TEXT COLLATE "C" NOT NULL,
    conversation_id   TEXT COLLATE "C" NOT NULL,
    kind              BIGINT  NOT NULL,
    created_at        BIGINT  NOT NULL,
    expires_at        BIGINT  NOT NULL,
    UNIQUE (sender_device_id, envelope_id)
);
CREATE INDEX ix_envelopes_expires ON envelopes (expires_at);

CREATE TABLE envelope_recipients (
    recipient_device_id  TEXT COLLATE "C" NOT NULL,
    envelope_seq         BIGINT  NOT NULL REFERENCES envelopes (seq),
    ciphertext           BYTEA   NOT NULL,
    PRIMARY KEY (recipient_device_id, envelope_seq)
);
CREATE INDEX ix_envelope_recipients_seq ON envelope_recipients (envelope_seq);
