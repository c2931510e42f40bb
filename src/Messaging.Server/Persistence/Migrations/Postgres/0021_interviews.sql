-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Tripartite interviews (issue 13). What the server may know (DESIGN §2): slot, duration, place, the participants'
-- member ids and work addresses, the case reference, state, SEQUENCE and UID (derived from the id), the outcome. Never
-- the person's name, address or contact (only includes_person), nothing from the referral, no reply body.
CREATE TABLE interviews (
    id                        TEXT COLLATE "C" PRIMARY KEY,
    case_reference            TEXT COLLATE "C" NOT NULL,
    organiser_member_id       TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    organiser_organisation_id TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    organiser_email           TEXT COLLATE "C" NOT NULL,
    service_name              TEXT COLLATE "C" NOT NULL,
    start_at                  BIGINT  NOT NULL,
    duration_minutes          BIGINT  NOT NULL,
    place                     TEXT COLLATE "C" NOT NULL,
    place_is_video            BIGINT  NOT NULL,
    includes_person           BIGINT  NOT NULL,
    status                    BIGINT  NOT NULL,
    sequence                  BIGINT  NOT NULL,
    organiser_delivery        BIGINT  NOT NULL DEFAULT 0,
    organiser_reply_code      BIGINT  NULL,
    held                      BIGINT  NULL,
    attendance                BIGINT  NULL,
    outcome_recorded_at       BIGINT  NULL,
    created_at                BIGINT  NOT NULL,
    updated_at                BIGINT  NOT NULL
);
CREATE INDEX ix_interviews_case ON interviews (case_reference);
CREATE INDEX ix_interviews_organiser ON interviews (organiser_member_id);
CREATE INDEX ix_interviews_status_start ON interviews (status, start_at);

-- One row per invited member (the person has none). answer follows the participant's PARTSTAT for the current SEQUENCE.
CREATE TABLE interview_participants (
    interview_id     TEXT COLLATE "C" NOT NULL REFERENCES interviews (id),
    member_id        TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    role             BIGINT  NOT NULL,
    work_email       TEXT COLLATE "C" NOT NULL,
    answer           BIGINT  NOT NULL DEFAULT 0,
    proposed_start   BIGINT  NULL,
    delivery         BIGINT  NOT NULL DEFAULT 0,
    reply_code       BIGINT  NULL,
    PRIMARY KEY (interview_id, member_id)
);
CREATE INDEX ix_interview_participants_member ON interview_participants (member_id);

-- A reminder per interview and lead (day before, hour before): due_at moves with the interview, sent_at makes it once.
CREATE TABLE interview_reminders (
    interview_id  TEXT COLLATE "C" NOT NULL REFERENCES interviews (id),
    lead_minutes  BIGINT  NOT NULL,
    due_at        BIGINT  NOT NULL,
    sent_at       BIGINT  NULL,
    PRIMARY KEY (interview_id, lead_minutes)
);

-- A member's availability: working hours and absences (JSON), and an optional external feed URL (a secret: never logged).
CREATE TABLE interview_availability (
    member_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES members (id),
    working_hours  TEXT COLLATE "C" NOT NULL,
    absences       TEXT COLLATE "C" NOT NULL,
    feed_url       TEXT COLLATE "C" NULL,
    updated_at     BIGINT  NOT NULL
);
