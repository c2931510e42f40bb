-- Tripartite interviews (issue 13). What the server may know (DESIGN §2): slot, duration, place, the participants'
-- member ids and work addresses, the case reference, state, SEQUENCE and UID (derived from the id), the outcome. Never
-- the person's name, address or contact (only includes_person), nothing from the referral, no reply body.
CREATE TABLE interviews (
    id                        TEXT    PRIMARY KEY,
    case_reference            TEXT    NOT NULL,
    organiser_member_id       TEXT    NOT NULL REFERENCES members (id),
    organiser_organisation_id TEXT    NOT NULL REFERENCES organisations (id),
    organiser_email           TEXT    NOT NULL,
    service_name              TEXT    NOT NULL,
    start_at                  INTEGER NOT NULL,
    duration_minutes          INTEGER NOT NULL,
    place                     TEXT    NOT NULL,
    place_is_video            INTEGER NOT NULL,
    includes_person           INTEGER NOT NULL,
    status                    INTEGER NOT NULL,
    sequence                  INTEGER NOT NULL,
    organiser_delivery        INTEGER NOT NULL DEFAULT 0,
    organiser_reply_code      INTEGER NULL,
    held                      INTEGER NULL,
    attendance                INTEGER NULL,
    outcome_recorded_at       INTEGER NULL,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX ix_interviews_case ON interviews (case_reference);
CREATE INDEX ix_interviews_organiser ON interviews (organiser_member_id);
CREATE INDEX ix_interviews_status_start ON interviews (status, start_at);

-- One row per invited member (the person has none). answer follows the participant's PARTSTAT for the current SEQUENCE.
CREATE TABLE interview_participants (
    interview_id     TEXT    NOT NULL REFERENCES interviews (id),
    member_id        TEXT    NOT NULL REFERENCES members (id),
    role             INTEGER NOT NULL,
    work_email       TEXT    NOT NULL,
    answer           INTEGER NOT NULL DEFAULT 0,
    proposed_start   INTEGER NULL,
    delivery         INTEGER NOT NULL DEFAULT 0,
    reply_code       INTEGER NULL,
    PRIMARY KEY (interview_id, member_id)
);
CREATE INDEX ix_interview_participants_member ON interview_participants (member_id);

-- A reminder per interview and lead (day before, hour before): due_at moves with the interview, sent_at makes it once.
CREATE TABLE interview_reminders (
    interview_id  TEXT    NOT NULL REFERENCES interviews (id),
    lead_minutes  INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    sent_at       INTEGER NULL,
    PRIMARY KEY (interview_id, lead_minutes)
);

-- A member's availability: working hours and absences (JSON), and an optional external feed URL (a secret: never logged).
CREATE TABLE interview_availability (
    member_id      TEXT    PRIMARY KEY REFERENCES members (id),
    working_hours  TEXT    NOT NULL,
    absences       TEXT    NOT NULL,
    feed_url       TEXT    NULL,
    updated_at     INTEGER NOT NULL
);
