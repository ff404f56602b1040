//! Quick find with a cap on the keys read: for a prefix that many keys share (a fragment every
//! case number has, such as the year `2026`, matches every case), the newest-first lookup
//! ([`Store::find_cases`]) must gather every matching key before it can order the cases —
//! 1,000,000 keys at 1,000,000 cases. [`Store::find_cases_capped`] walks the key range in key
//! order instead and stops after `limit + 1` keys of cases within the reader's jurisdiction:
//! its cost follows the cap, not the number of matches, and the answer says whether it was
//! cut short (`partial`), so the page can ask for more characters.
//!
//! The walk itself is bounded too ([`WALK`] keys): a teller sees about one case in a thousand,
//! so `limit + 1` visible cases may lie 50,000 keys into the range. When the first [`WALK`]
//! keys do not hold enough visible cases, the range is large and the reader's jurisdiction
//! small compared with it, and the jurisdiction's own cases are read instead, newest first,
//! each number tested for the fragment (the same test as the keys: it starts at a position
//! that leaves at least four characters) — a few thousand rows rather than the whole range.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::find::{FindQuery, prefix_end};
use crate::tree::subtree_range;
use crate::{Backend, CaseRecord, Store, StoreError, Visibility, page_size};

/// How many keys of the range the capped lookup reads before it reads the reader's own cases
/// instead (module doc).
pub const WALK: usize = 2_000;

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
pub(crate) fn capped_ids_query<DB>(
    f: &FindQuery,
    walk: usize,
) -> Result<QueryBuilder<DB>, StoreError>
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
    // The first `walk` keys of the range, then those of visible cases among them.
    let mut q = QueryBuilder::<DB>::new(
        "SELECT k.case_id FROM (SELECT key, case_id FROM case_find WHERE kind = ",
    );
    q.push_bind(f.kind.clone());
    q.push(" AND key >= ").push_bind(f.prefix.clone());
    q.push(" AND key < ").push_bind(prefix_end(&f.prefix));
    q.push(" ORDER BY kind, key, case_id LIMIT ")
        .push_bind(i64::try_from(walk).unwrap_or(i64::MAX));
    q.push(") k");
    if let Some(v) = &f.visible_to {
        q.push(" JOIN cases c ON c.id = k.case_id");
        push_visible(&mut q, v)?;
    }
    q.push(" ORDER BY k.key, k.case_id LIMIT ")
        .push_bind(i64::from(page_size(f.limit)) + 1);
    Ok(q)
}

/// How many keys the range has, counted up to `walk`: `walk` means the walk may have stopped
/// before the range's end.
pub(crate) fn walked_count_query<DB>(f: &FindQuery, walk: usize) -> QueryBuilder<DB>
where
    DB: Database,
    <DB as Database>::Arguments: Default,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let mut q =
        QueryBuilder::<DB>::new("SELECT count(*) FROM (SELECT 1 FROM case_find WHERE kind = ");
    q.push_bind(f.kind.clone());
    q.push(" AND key >= ").push_bind(f.prefix.clone());
    q.push(" AND key < ").push_bind(prefix_end(&f.prefix));
    q.push(" LIMIT ")
        .push_bind(i64::try_from(walk).unwrap_or(i64::MAX));
    q.push(") w");
    q
}

/// The newest `limit + 1` cases of the reader's jurisdiction whose number holds the fragment
/// at a position that leaves at least four characters (where a number key starts:
/// `migrations/*/0015_find_numbers.sql`). `position` is the dialect's "where does the second
/// string first occur in the first, 1-based, 0 if nowhere" (`instr`, `strpos`).
pub(crate) fn scan_ids_query<DB>(
    f: &FindQuery,
    v: &Visibility,
    position: &str,
) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    <DB as Database>::Arguments: Default,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let mut q = QueryBuilder::<DB>::new("SELECT c.id FROM cases c WHERE ");
    q.push(position).push("(upper(c.number), ");
    q.push_bind(f.prefix.clone());
    q.push(") BETWEEN 1 AND length(c.number) - 3");
    push_visible(&mut q, v)?;
    q.push(" ORDER BY c.id DESC LIMIT ")
        .push_bind(i64::from(page_size(f.limit)) + 1);
    Ok(q)
}

/// ` AND` the case `c` is within `v`'s jurisdiction (its owner's subtree, or registered by `v`).
fn push_visible<DB>(q: &mut QueryBuilder<DB>, v: &Visibility) -> Result<(), StoreError>
where
    DB: Database,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    let (lo, hi) = subtree_range(&v.unit_path)?;
    q.push(" AND ((c.owner_unit_path >= ").push_bind(lo);
    q.push(" AND c.owner_unit_path < ").push_bind(hi);
    q.push(") OR c.first_contact_id = ").push_bind(v.user_id);
    q.push(")");
    Ok(())
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
        self.find_cases_capped_walking(q, WALK).await
    }

    /// [`Store::find_cases_capped`] with the walk's bound given (tests use a small one).
    #[doc(hidden)]
    pub async fn find_cases_capped_walking(
        &self,
        q: &FindQuery,
        walk: usize,
    ) -> Result<CappedFind, StoreError> {
        let walk = walk.max(page_size(q.limit) as usize + 1);
        let ids: Vec<i64> = match &self.backend {
            Backend::Sqlite(b) => b.capped_ids(q, walk).await?,
            Backend::Postgres(b) => b.capped_ids(q, walk).await?,
        };
        let (mut ids, mut partial) = cap(&ids, q.limit);
        if let (false, Some(v)) = (partial, &q.visible_to) {
            let walked = match &self.backend {
                Backend::Sqlite(b) => b.walked_count(q, walk).await?,
                Backend::Postgres(b) => b.walked_count(q, walk).await?,
            };
            // The walk stopped before the range's end with too few visible cases: read the
            // jurisdiction's own cases instead.
            if usize::try_from(walked).unwrap_or(usize::MAX) >= walk {
                let scanned = match &self.backend {
                    Backend::Sqlite(b) => b.scanned_ids(q, v).await?,
                    Backend::Postgres(b) => b.scanned_ids(q, v).await?,
                };
                (ids, partial) = cap(&scanned, q.limit);
            }
        }
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
