-- Cross-signing (issue 10): each member's current signing key, and the certificates that key signed for the member's
-- devices. A certificate row also keeps the member key sealed to that device by the approving device (opaque here).
-- A reset replaces the member_keys row and deletes the member's certificate rows.
CREATE TABLE member_keys (
    member_id     TEXT    PRIMARY KEY REFERENCES members (id),
    public_key    BLOB    NOT NULL,
    announcement  BLOB    NOT NULL,
    published_at  INTEGER NOT NULL
);

CREATE TABLE device_certificates (
    device_id          TEXT    PRIMARY KEY REFERENCES devices (id),
    member_id          TEXT    NOT NULL REFERENCES members (id),
    certificate        BLOB    NOT NULL,
    sealed_member_key  BLOB    NULL,
    certified_at       INTEGER NOT NULL
);
CREATE INDEX ix_device_certificates_member ON device_certificates (member_id);
