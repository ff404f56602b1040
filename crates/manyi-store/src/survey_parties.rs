//! To whom a survey link was addressed (migration 0018): the complainant (no row, as every
//! survey before the migration) or the person complained about ([`SUBJECT`], lawfirm-complaint
//! 三(二)(三)). The row is keyed by the token's hash and written before the survey, so that a
//! crash between the two can never turn a subject's survey into the complainant's.

use crate::{Backend, Store, StoreError};

/// The party of a survey addressed to the person complained about.
pub const SUBJECT: &str = "subject";

impl Store {
    /// Records that the survey with token hash `token_hash` (not stored yet) is addressed to
    /// `party`. Call before [`Store::insert_survey`].
    pub async fn record_survey_party(
        &self,
        token_hash: &str,
        party: &str,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.record_survey_party(token_hash, party).await,
            Backend::Postgres(b) => b.record_survey_party(token_hash, party).await,
        }
    }

    /// The party the survey with this token hash was addressed to, if it is not the customer.
    pub async fn survey_party(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.survey_party(token_hash).await,
            Backend::Postgres(b) => b.survey_party(token_hash).await,
        }
    }

    /// Of the surveys `ids`, those not addressed to the customer: (survey id, party), by id.
    pub async fn survey_parties(&self, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(b) => b.survey_parties(ids).await,
            Backend::Postgres(b) => b.survey_parties(ids).await,
        }
    }
}
