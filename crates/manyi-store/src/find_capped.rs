//! Quick find with a cap on the keys read: for a prefix that many keys share (a fragment every
//! case number has, such as the year `2026`, matches every case), the newest-first lookup
//! ([`Store::find_cases`]) must gather every matching key before it can order the cases —
//! 1,000,000 keys at 1,000,000 cases. [`Store::find_cases_capped`] walks the key range in key
//! order instead and stops after `limit + 1` keys of cases within the reader's jurisdiction:
//! its cost follows the cap, not the number of matches, and the answer says whether it was
//! cut short (`partial`), so the page can ask for more characters.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::find::{FindQuery, prefix_end};
use crate::tree::subtree_range;
use crate::{Backend, CaseRecord, Store, StoreError, page_size};

/// The cases [`Store::find_cases_capped`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct CappedFind {
    /// At most the query's limit, newest first.
    pub cases: Vec<CaseRecord>,
    /// More keys matched than were read: other cases may match too.
    pub partial: bool,
}

/// The first `limit + 1` keys (their case ids, in key order) of `f`'s range whose cases the
/// reader may see. The primary key `(kind, key, case_id)` gives the order; each key's case is
/// looked up by id for the jurisdiction check, so at most the keys read are.
pub(crate) fn capped_ids_query<DB>(f: &FindQuery) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    <DB as Database>::Arguments: Default,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    if f.prefix.is_empty() {
        return Err(StoreError::Invalid {
            what: "find query",
            reason: "an empty prefix would match every key".into(),
        });
    }
    let mut q = QueryBuilder::<DB>::new("SELECT k.case_id FROM case_find k");
    if f.visible_to.is_some() {
        q.push(" JOIN cases c ON c.id = k.case_id");
    }
    q.push(" WHERE k.kind = ").push_bind(f.kind.clone());
    q.push(" AND k.key >= ").push_bind(f.prefix.clone());
    q.push(" AND k.key < ").push_bind(prefix_end(&f.prefix));
    if let Some(v) = &f.visible_to {
        let (lo, hi) = subtree_range(&v.unit_path)?;
        q.push(" AND ((c.owner_unit_path >= ").push_bind(lo);
        q.push(" AND c.owner_unit_path < ").push_bind(hi);
        q.push(") OR c.first_contact_id = ").push_bind(v.user_id);
        q.push(")");
    }
    q.push(" ORDER BY k.kind, k.key, k.case_id LIMIT ")
        .push_bind(i64::from(page_size(f.limit)) + 1);
    Ok(q)
}

/// From the ids of the keys read (in key order, a case once per key): the distinct cases to
/// fetch (at most `limit`) and whether the answer is partial (`limit + 1` keys were read).
pub(crate) fn cap(ids: &[i64], limit: u32) -> (Vec<i64>, bool) {
    let limit = page_size(limit) as usize;
    let partial = ids.len() > limit;
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .take(limit)
        .collect();
    (distinct, partial)
}

impl Store {
    /// The cases with a key of `q.kind` starting with `q.prefix`, visible as `q` says, found
    /// by reading at most `q.limit + 1` keys in key order (not the newest cases: the first
    /// keys); `partial` when the last of those was read, i.e. there may be more.
    pub async fn find_cases_capped(&self, q: &FindQuery) -> Result<CappedFind, StoreError> {
        let ids: Vec<i64> = match &self.backend {
            Backend::Sqlite(b) => b.capped_ids(q).await?,
            Backend::Postgres(b) => b.capped_ids(q).await?,
        };
        let (ids, partial) = cap(&ids, q.limit);
        if ids.is_empty() {
            return Ok(CappedFind {
                cases: Vec::new(),
                partial,
            });
        }
        let mut cases = self.cases_by_ids(&ids).await?;
        cases.sort_by_key(|c| std::cmp::Reverse(c.id));
        Ok(CappedFind { cases, partial })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_distinct_cases_in_key_order_and_says_when_it_cut() {
        assert_eq!(cap(&[5, 3, 5, 9], 3), (vec![5, 3, 9], true));
        assert_eq!(cap(&[5, 3, 9], 3), (vec![5, 3, 9], false));
        assert_eq!(cap(&[4, 4, 4], 2), (vec![4], true));
        assert_eq!(cap(&[], 2), (vec![], false));
    }
}
