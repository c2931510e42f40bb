-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Attendance notices to justice assistants (issue 14, protocol 7.C). Metadata only: ids, status and kind codes,
-- instants. The notices themselves travel end-to-end encrypted; a signed notice is stored here only while it waits
-- for delivery to a Maison de justice's own intake system, and its body is cleared once delivered.

-- A case under judicial mandate: one case reference, the following service, one justice assistant.
-- status: 1 proposed, 2 accepted, 3 ended. At most one live mandate per case reference and service.
CREATE TABLE mandates (
    id                       TEXT COLLATE "C"    PRIMARY KEY,
    case_reference           TEXT COLLATE "C"    NOT NULL,
    service_organisation_id  TEXT COLLATE "C"    NOT NULL REFERENCES organisations (id),
    assistant_member_id      TEXT COLLATE "C"    NOT NULL REFERENCES members (id),
    justice_house_id         TEXT COLLATE "C"    NOT NULL REFERENCES organisations (id),
    status                   BIGINT NOT NULL CHECK (status IN (1, 2, 3)),
    proposed_by_member_id    TEXT COLLATE "C"    NOT NULL REFERENCES members (id),
    proposed_at              BIGINT NOT NULL,
    status_changed_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_mandates_live ON mandates (case_reference, service_organisation_id) WHERE status IN (1, 2);
CREATE INDEX ix_mandates_assistant ON mandates (assistant_member_id);
CREATE INDEX ix_mandates_service ON mandates (service_organisation_id);

-- One row per relayed notice (written in the same transaction as its envelope): the kind (DESIGN.md section 2 lets the
-- server see it), the interview it is about when there is one (a second notice of the same kind for the same interview
-- is refused), and when the content-free email went out.
CREATE TABLE notices (
    id                 TEXT COLLATE "C"    PRIMARY KEY,
    mandate_id         TEXT COLLATE "C"    NOT NULL REFERENCES mandates (id),
    kind               BIGINT NOT NULL CHECK (kind BETWEEN 1 AND 6),
    interview_id       TEXT COLLATE "C"    NULL,
    issuer_member_id   TEXT COLLATE "C"    NOT NULL,
    issuer_device_id   TEXT COLLATE "C"    NOT NULL,
    relayed_at         BIGINT NOT NULL,
    email_sent_at      BIGINT NULL
);
CREATE UNIQUE INDEX ux_notices_interview_kind ON notices (interview_id, kind) WHERE interview_id IS NOT NULL;
CREATE INDEX ix_notices_email_pending ON notices (relayed_at) WHERE email_sent_at IS NULL;

-- The durable outbox of deliveries to a Maison de justice's intake endpoint. state: pending, delivered, dead-letter.
-- body is the exact JSON posted (the signed notice and nothing more), cleared once delivered.
CREATE TABLE notice_intake_outbox (
    notice_id         TEXT COLLATE "C"    PRIMARY KEY REFERENCES notices (id),
    justice_house_id  TEXT COLLATE "C"    NOT NULL,
    body              BYTEA    NULL,
    state             TEXT COLLATE "C"    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead-letter')),
    attempts          BIGINT NOT NULL,
    next_attempt_at   BIGINT NULL,
    last_status       BIGINT NULL,
    created_at        BIGINT NOT NULL,
    finished_at       BIGINT NULL
);
CREATE INDEX ix_notice_intake_outbox_state ON notice_intake_outbox (state);

-- Outcome chases: an interview under mandate that ended without a recorded outcome. remind_at = end + grace period;
-- escalate_at = the next working day's deadline. Each stage is stamped once.
CREATE TABLE notice_outcome_chases (
    interview_id      TEXT COLLATE "C"    PRIMARY KEY,
    mandate_id        TEXT COLLATE "C"    NOT NULL REFERENCES mandates (id),
    host_member_id    TEXT COLLATE "C"    NOT NULL,
    ended_at          BIGINT NOT NULL,
    remind_at         BIGINT NOT NULL,
    escalate_at       BIGINT NOT NULL,
    reminded_at       BIGINT NULL,
    escalated_at      BIGINT NULL,
    resolved_at       BIGINT NULL
);
CREATE INDEX ix_notice_outcome_chases_host ON notice_outcome_chases (host_member_id) WHERE resolved_at IS NULL;
