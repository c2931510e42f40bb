-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Cross-signing (issue 10): each member's current signing key, and the certificates that key signed for the member's
-- devices. A certificate row also keeps the member key sealed to that device by the approving device (opaque here).
-- A reset replaces the member_keys row and deletes the member's certificate rows.
CREATE TABLE member_keys (
    member_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES members (id),
    public_key    BYTEA   NOT NULL,
    announcement  BYTEA   NOT NULL,
    published_at  BIGINT  NOT NULL
);

CREATE TABLE device_certificates (
    device_id          TEXT COLLATE "C" PRIMARY KEY REFERENCES devices (id),
    member_id          TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    certificate        BYTEA   NOT NULL,
    sealed_member_key  BYTEA   NULL,
    certified_at       BIGINT  NOT NULL
);
CREATE INDEX ix_device_certificates_member ON device_certificates (member_id);
