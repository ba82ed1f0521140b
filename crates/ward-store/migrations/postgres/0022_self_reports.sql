-- Self-reports: a person in an image, or a parent or carer, sends the hashes their browser
-- made of their own pictures and videos (never the files) and gets a case number and a
-- code. Each file is a content item of a bank of kind self_report; the case links them so
-- that the person can add more files or withdraw the case, which removes its items (a
-- tombstone in every feed). Only the SHA-256 digest of the code is kept; nothing about the
-- person or their device is. The SQLite migration of the same name makes the same tables.
CREATE TABLE self_reports (
    id           BIGSERIAL PRIMARY KEY,
    number       TEXT    NOT NULL UNIQUE,
    code_sha256  TEXT    NOT NULL,
    bank_id      BIGINT NOT NULL REFERENCES banks (id),
    country      TEXT    NOT NULL,
    opened_at    BIGINT NOT NULL,
    withdrawn_at BIGINT
);

CREATE TABLE self_report_content (
    self_report_id BIGINT NOT NULL REFERENCES self_reports (id),
    content_id     BIGINT NOT NULL PRIMARY KEY REFERENCES content (id),
    added_at       BIGINT NOT NULL
);
CREATE INDEX self_report_content_case ON self_report_content (self_report_id);
