-- The web interface's tables, PostgreSQL dialect (`migrations/sqlite/0011_web.sql` is the same
-- schema): users that can be disabled and that choose their language, attachments stored in
-- the database, and the public pages' rate-limit windows.
--
-- Attachments and rate limits are rows, not files or memory, because several instances share
-- one database and none of them may keep state of its own.

-- A disabled user cannot sign in; their sessions and API tokens stop working at once.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- 'zh' or 'en'; NULL = follow the browser (cookie, then Accept-Language)
ALTER TABLE users ADD COLUMN lang TEXT;

CREATE TABLE attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    -- as the uploader named it (personal data possible: never logged)
    filename     TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    size_bytes   BIGINT NOT NULL CHECK (size_bytes >= 0),
    -- NULL when the customer uploaded it through the public complaint page
    uploaded_by  BIGINT REFERENCES users (id),
    uploaded_at  BIGINT NOT NULL,
    content      BYTEA  NOT NULL
);
CREATE INDEX attachments_by_case ON attachments (case_id, id);

-- Fixed windows: one row per (bucket, window start), counting the hits in it. A bucket names
-- what is limited, e.g. 'complaint:ip:127.0.0.1' or 'track:phone:<hash>'.
CREATE TABLE rate_limits (
    bucket       TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL CHECK (hits >= 1),
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
