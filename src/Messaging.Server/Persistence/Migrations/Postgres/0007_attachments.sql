-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Encrypted attachment blobs: the bytes live in files under the attachments folder; this table holds what the server
-- needs to serve, bound and expire them. No key, no name, no content type, no link to an envelope or a recipient.
CREATE TABLE attachments (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    uploader_device_id  TEXT COLLATE "C" NOT NULL,
    size                BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL
);
CREATE INDEX ix_attachments_expires ON attachments (expires_at);
CREATE INDEX ix_attachments_uploader ON attachments (uploader_device_id, expires_at);
