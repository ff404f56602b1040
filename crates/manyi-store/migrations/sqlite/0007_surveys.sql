-- Satisfaction surveys, SQLite dialect (`migrations/postgres/0007_surveys.sql` is the same
-- schema).
--
-- A survey is issued for a case as a tokenised link the customer opens without logging in.
-- Only a hash of the token is stored. One answer per token: the answer is a conditional
-- update (`answered_at IS NULL`), so a second submission finds it taken. What the results are
-- grouped by (the owning unit, the handler, the category) is recorded when it is issued.

CREATE TABLE surveys (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    kind        TEXT    NOT NULL,
    -- the unit that owned the case when the survey was issued: whose jurisdiction it is in
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    -- the handler (assignee) then, if any
    handler_id  INTEGER REFERENCES users (id),
    category    TEXT,
    issued_by   INTEGER REFERENCES users (id),
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    answered_at INTEGER,
    -- JSON object: question id → answer (personal data)
    answers     TEXT
);
CREATE INDEX surveys_by_case ON surveys (case_id);
CREATE INDEX surveys_by_answer ON surveys (answered_at);
