-- Conduct recorded without a case (issue 5), PostgreSQL dialect
-- (`migrations/sqlite/0020_conduct.sql` is the same change).
--
-- A supervisor's daily review sees a teller without a badge: a `conduct` violation with no
-- complaint case. `violations.case_id` and `event_seq` become nullable (both set, or both
-- NULL), every violation names the policy version its rule came from (`policy_id`: the case's
-- policy for the rows already there), and `penalties.case_id` becomes nullable with it.
-- `conduct_keys` holds the idempotency keys of conduct recorded without a case.
--
-- Filling `policy_id` is an UPDATE of an append-only table: its update trigger is switched
-- off for that one statement, inside this migration's transaction.

ALTER TABLE violations ADD COLUMN policy_id BIGINT REFERENCES policy_versions (id);
ALTER TABLE violations DISABLE TRIGGER violations_are_append_only_update;
UPDATE violations v SET policy_id = c.policy_id FROM cases c WHERE c.id = v.case_id;
ALTER TABLE violations ENABLE TRIGGER violations_are_append_only_update;
ALTER TABLE violations ALTER COLUMN policy_id SET NOT NULL;
ALTER TABLE violations ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE violations ALTER COLUMN event_seq DROP NOT NULL;
ALTER TABLE violations ADD CONSTRAINT violations_case_and_event
    CHECK ((case_id IS NULL) = (event_seq IS NULL));
ALTER TABLE penalties ALTER COLUMN case_id DROP NOT NULL;

-- The idempotency keys of conduct recorded without a case: a retried POST /api/v1/conduct
-- finds its violation instead of recording a second one.
CREATE TABLE conduct_keys (
    user_id         BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    violation_id    BIGINT NOT NULL REFERENCES violations (id),
    PRIMARY KEY (user_id, idempotency_key)
);
