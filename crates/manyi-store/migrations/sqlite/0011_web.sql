-- The web interface's tables, SQLite dialect (`migrations/postgres/0011_web.sql` is the same
-- schema): users that can be disabled and that choose their language, attachments stored in
-- the database, and the public pages' rate-limit windows.
--
-- Attachments and rate limits are rows, not files or memory, because several instances share
-- one database and none of them may keep state of its own.

-- A disabled user cannot sign in; their sessions and API tokens stop working at once.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
-- 'zh' or 'en'; NULL = follow the browser (cookie, then Accept-Language)
ALTER TABLE users ADD COLUMN lang TEXT;

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    -- as the uploader named it (personal data possible: never logged)
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL CHECK (size_bytes >= 0),
    -- NULL when the customer uploaded it through the public complaint page
    uploaded_by  INTEGER REFERENCES users (id),
    uploaded_at  INTEGER NOT NULL,
    content      BLOB    NOT NULL
);
CREATE INDEX attachments_by_case ON attachments (case_id, id);

-- Fixed windows: one row per (bucket, window start), counting the hits in it. A bucket names
-- what is limited, e.g. 'complaint:ip:127.0.0.1' or 'track:phone:<hash>'.
CREATE TABLE rate_limits (
    bucket       TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL CHECK (hits >= 1),
    PRIMARY KEY (bucket, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
