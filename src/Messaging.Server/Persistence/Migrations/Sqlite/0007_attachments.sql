-- Encrypted attachment blobs: the bytes live in files under the attachments folder; this table holds what the server
-- needs to serve, bound and expire them. No key, no name, no content type, no link to an envelope or a recipient.
CREATE TABLE attachments (
    id                  TEXT    PRIMARY KEY,
    uploader_device_id  TEXT    NOT NULL,
    size                INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL
);
CREATE INDEX ix_attachments_expires ON attachments (expires_at);
CREATE INDEX ix_attachments_uploader ON attachments (uploader_device_id, expires_at);
