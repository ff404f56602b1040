-- To whom a survey link was addressed, when it is not the complainant (lawfirm-complaint
-- 三(二)(三): the person complained about is surveyed too). Same schema on both backends.
--
-- Keyed by the token's hash, not the survey id, so that the row is written *before* the
-- survey itself: a crash between the two leaves an unused row, never a subject's survey that
-- would count as the complainant's. A survey without a row here was addressed to the customer
-- (every survey issued before this migration).
CREATE TABLE survey_parties (
    token_hash TEXT PRIMARY KEY,
    -- `subject` (the kind's `subject_field`); `customer` is never written
    party      TEXT NOT NULL
);
