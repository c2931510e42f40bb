-- The PostgreSQL twin of the SQLite migration with the same number and name.
-- One notice of a kind about an interview per mandate, not per interview: the two services on a case may each follow
-- the person under a mandate of their own, and one's notice must not block the other's (the notice gate now checks that
-- the interview involves the sender's service, under the notice's case reference, and has started).
DROP INDEX ux_notices_interview_kind;
CREATE UNIQUE INDEX ux_notices_mandate_interview_kind ON notices (mandate_id, interview_id, kind) WHERE interview_id IS NOT NULL;
