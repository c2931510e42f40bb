-- The PostgreSQL twin of the SQLite migration with the same number and name: BIGINT for integers and instants (Unix ms),
-- BYTEA for blobs, TEXT COLLATE "C" for text and GUIDs (byte order, as SQLite's BINARY), identity for AUTOINCREMENT.
-- Partner directory, partner lifecycle, referral metadata and consent (issue 4).
-- The server stores about a referral only its pseudonymous case reference, the two organisations, its status and
-- timestamps; referral contents, identities and case files travel end to end encrypted in envelopes.

ALTER TABLE organisations ADD COLUMN level TEXT COLLATE "C" NOT NULL DEFAULT 'local' CHECK (level IN ('local', 'regional', 'community'));
ALTER TABLE organisations ADD COLUMN region TEXT COLLATE "C" NULL CHECK (region IS NULL OR region IN ('brussels', 'wallonia'));
ALTER TABLE organisations ADD COLUMN accepts_referrals BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE organisations ADD COLUMN partner_status TEXT COLLATE "C" NOT NULL DEFAULT 'active' CHECK (partner_status IN ('active', 'withdrawing', 'withdrawn'));
ALTER TABLE organisations ADD COLUMN withdrawn_at BIGINT  NULL;
UPDATE organisations SET accepts_referrals = 1 WHERE type = 'prevention-service';

CREATE TABLE communes (
    nis_code  TEXT COLLATE "C" PRIMARY KEY,
    name      TEXT COLLATE "C" NOT NULL,
    region    TEXT COLLATE "C" NOT NULL CHECK (region IN ('brussels', 'wallonia'))
);

CREATE TABLE organisation_communes (
    organisation_id  TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    nis_code         TEXT COLLATE "C" NOT NULL REFERENCES communes (nis_code),
    PRIMARY KEY (organisation_id, nis_code)
);
CREATE INDEX ix_organisation_communes_commune ON organisation_communes (nis_code);

CREATE TABLE partner_join_requests (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    name                TEXT COLLATE "C" NOT NULL,
    type                TEXT COLLATE "C" NOT NULL,
    level               TEXT COLLATE "C" NOT NULL,
    region              TEXT COLLATE "C" NULL,
    commune_codes       TEXT COLLATE "C" NOT NULL,
    accepts_referrals   BIGINT  NOT NULL,
    filed_by_member_id  TEXT COLLATE "C" NULL,
    filed_at            BIGINT  NOT NULL,
    objection_deadline  BIGINT  NOT NULL,
    status              TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'admitted', 'rejected')),
    organisation_id     TEXT COLLATE "C" NULL,
    decided_at          BIGINT  NULL
);
CREATE INDEX ix_partner_join_requests_due ON partner_join_requests (status, objection_deadline);

CREATE TABLE partner_objections (
    join_request_id        TEXT COLLATE "C" NOT NULL REFERENCES partner_join_requests (id),
    organisation_id        TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    reason                 TEXT COLLATE "C" NOT NULL,
    objected_by_member_id  TEXT COLLATE "C" NOT NULL,
    objected_at            BIGINT  NOT NULL,
    PRIMARY KEY (join_request_id, organisation_id)
);

CREATE TABLE partner_withdrawals (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    organisation_id     TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    filed_by_member_id  TEXT COLLATE "C" NULL,
    filed_at            BIGINT  NOT NULL,
    effective_at        BIGINT  NOT NULL,
    status              TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'effective')),
    completed_at        BIGINT  NULL
);
CREATE UNIQUE INDEX ux_partner_withdrawals_pending ON partner_withdrawals (organisation_id) WHERE status = 'pending';
CREATE INDEX ix_partner_withdrawals_due ON partner_withdrawals (status, effective_at);

-- status: 1 proposed, 2 tripartite-proposed, 3 accepted, 4 declined, 5 withdrawn, 6 expired, 7 closed.
CREATE TABLE referrals (
    case_reference             TEXT COLLATE "C" PRIMARY KEY,
    id                         TEXT COLLATE "C" NOT NULL UNIQUE,
    referring_organisation_id  TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    receiving_organisation_id  TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    status                     BIGINT  NOT NULL CHECK (status BETWEEN 1 AND 7),
    decline_reason             BIGINT  NULL,
    opened_at                  BIGINT  NOT NULL,
    status_changed_at          BIGINT  NOT NULL,
    expires_at                 BIGINT  NULL,
    tripartite_proposed_at     BIGINT  NULL,
    accepted_at                BIGINT  NULL,
    declined_at                BIGINT  NULL
);
CREATE INDEX ix_referrals_referring ON referrals (referring_organisation_id);
CREATE INDEX ix_referrals_receiving ON referrals (receiving_organisation_id);
CREATE INDEX ix_referrals_due ON referrals (status, expires_at);

CREATE TABLE consents (
    id                         TEXT COLLATE "C" PRIMARY KEY,
    case_reference             TEXT COLLATE "C" NOT NULL REFERENCES referrals (case_reference),
    receiving_organisation_id  TEXT COLLATE "C" NOT NULL REFERENCES organisations (id),
    recorded_by_member_id      TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    recorded_at                BIGINT  NOT NULL,
    valid_until                BIGINT  NOT NULL,
    revoked_at                 BIGINT  NULL,
    revoked_by_member_id       TEXT COLLATE "C" NULL
);
CREATE INDEX ix_consents_case ON consents (case_reference);

-- Seed: the 19 communes of the Brussels-Capital region and the Walloon communes of the signatory cities (NIS codes).
INSERT INTO communes (nis_code, name, region) VALUES
    ('21001', 'Anderlecht', 'brussels'),
    ('21002', 'Auderghem', 'brussels'),
    ('21003', 'Berchem-Sainte-Agathe', 'brussels'),
    ('21004', 'Bruxelles', 'brussels'),
    ('21005', 'Etterbeek', 'brussels'),
    ('21006', 'Evere', 'brussels'),
    ('21007', 'Forest', 'brussels'),
    ('21008', 'Ganshoren', 'brussels'),
    ('21009', 'Ixelles', 'brussels'),
    ('21010', 'Jette', 'brussels'),
    ('21011', 'Koekelberg', 'brussels'),
    ('21012', 'Molenbeek-Saint-Jean', 'brussels'),
    ('21013', 'Saint-Gilles', 'brussels'),
    ('21014', 'Saint-Josse-ten-Noode', 'brussels'),
    ('21015', 'Schaerbeek', 'brussels'),
    ('21016', 'Uccle', 'brussels'),
    ('21017', 'Watermael-Boitsfort', 'brussels'),
    ('21018', 'Woluwe-Saint-Lambert', 'brussels'),
    ('21019', 'Woluwe-Saint-Pierre', 'brussels'),
    ('52011', 'Charleroi', 'wallonia'),
    ('62063', 'Liège', 'wallonia'),
    ('63079', 'Verviers', 'wallonia'),
    ('92094', 'Namur', 'wallonia');

-- Seed: the signatories and their services (protocol section 3 and DESIGN.md section 1). Fixed ids so that every
-- installation names them alike; created_at is the migration's epoch (2024-01-01T00:00:00Z).
INSERT INTO organisations (id, name, type, created_at, level, region, accepts_referrals) VALUES
    ('5eed0000-0000-4000-8000-000000000001', 'Réseau de prise en charge des radicalismes et extrémismes violents (FWB)', 'coordination', 1704067200000, 'community', NULL, 0),
    ('5eed0000-0000-4000-8000-000000000002', 'CAPREV', 'prevention-service', 1704067200000, 'community', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000003', 'CREA', 'prevention-service', 1704067200000, 'community', NULL, 0),
    ('5eed0000-0000-4000-8000-000000000004', 'Référent radicalisme du Ministère de la Communauté française', 'coordination', 1704067200000, 'community', NULL, 0),
    ('5eed0000-0000-4000-8000-000000000005', 'Référents sectoriels de la Communauté française', 'coordination', 1704067200000, 'community', NULL, 0),
    ('5eed0000-0000-4000-8000-000000000006', 'Référents radicalisme de l''Aide à la Jeunesse', 'coordination', 1704067200000, 'community', NULL, 0),
    ('5eed0000-0000-4000-8000-000000000007', 'Région wallonne — dispositif régional', 'prevention-service', 1704067200000, 'regional', 'wallonia', 1),
    ('5eed0000-0000-4000-8000-000000000008', 'Région de Bruxelles-Capitale', 'coordination', 1704067200000, 'regional', 'brussels', 0),
    ('5eed0000-0000-4000-8000-000000000009', 'BPS — Brussels Prevention & Security', 'prevention-service', 1704067200000, 'regional', 'brussels', 1),
    ('5eed0000-0000-4000-8000-000000000010', 'Ville de Bruxelles', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000011', 'Commune d''Anderlecht', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000012', 'Commune de Molenbeek-Saint-Jean', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000013', 'Ville de Liège', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000014', 'Ville de Verviers — SAFER', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000015', 'Ville de Namur', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000016', 'Ville de Charleroi', 'prevention-service', 1704067200000, 'local', NULL, 1),
    ('5eed0000-0000-4000-8000-000000000017', 'Maisons de justice (AGMJ)', 'justice-house', 1704067200000, 'community', NULL, 0);

INSERT INTO organisation_communes (organisation_id, nis_code) VALUES
    ('5eed0000-0000-4000-8000-000000000010', '21004'),
    ('5eed0000-0000-4000-8000-000000000011', '21001'),
    ('5eed0000-0000-4000-8000-000000000012', '21012'),
    ('5eed0000-0000-4000-8000-000000000013', '62063'),
    ('5eed0000-0000-4000-8000-000000000014', '63079'),
    ('5eed0000-0000-4000-8000-000000000015', '92094'),
    ('5eed0000-0000-4000-8000-000000000016', '52011');
