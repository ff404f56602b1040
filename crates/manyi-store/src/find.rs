//! Quick find: the search keys of cases (`case_find`, migration 0013), written with the case in
//! one transaction, and the prefix lookups over them. What a key is (reversed phone digits,
//! name suffixes) is `manyi_core::find`'s business; the store only keeps `(kind, key, case)`
//! rows and answers "which cases have a key of this kind starting with this prefix", within
//! a reader's jurisdiction, newest case first.
//!
//! One kind is written by the database itself: `number`, every suffix of the case number
//! (migration 0015's trigger on insert, mirroring `manyi_core::find::number_keys`), since the
//! number is only known inside the insert. The keys a case update replaces are the others.
//!
//! The backends differ only in their SQL dialect and connection types; the query shapes and
//! checks are here.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::records::Visibility;
use crate::tree::subtree_range;
use crate::{Backend, CaseRecord, Store, StoreError, page_size};

/// The key kind the database writes from the case number (migration 0015).
pub const NUMBER_KIND: &str = "number";

/// One search key of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindKey {
    /// e.g. `phone`, `name`.
    pub kind: String,
    /// Matched by prefix. Personal data: never logged.
    pub key: String,
}

/// A prefix lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindQuery {
    pub kind: String,
    /// Not empty.
    pub prefix: String,
    /// Only cases this person may see (their unit's subtree and the cases they registered);
    /// `None`: all.
    pub visible_to: Option<Visibility>,
    /// At most this many cases, newest first.
    pub limit: u32,
}

/// How far the backfill of cases stored before migration 0013 has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindBackfill {
    /// Every case with a higher id is still to be examined.
    pub last_case_id: i64,
    /// Every case has its keys: lookups are complete.
    pub done: bool,
}

/// The exclusive upper bound of the keys starting with `prefix`: no valid character sorts
/// after U+10FFFF in UTF-8 byte order (SQLite's BINARY, PostgreSQL's "C" collation).
pub(crate) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The `SELECT` of [`Store::find_cases`]: the key range first (the primary key, byte order),
/// then the cases it names, within the reader's jurisdiction, newest first. Both backends run
/// it as built (`QueryBuilder` writes each dialect's placeholders).
pub(crate) fn find_cases_query<DB>(f: &FindQuery) -> Result<QueryBuilder<DB>, StoreError>
where
    DB: Database,
    <DB as Database>::Arguments: Default,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    check(f)?;
    let mut q = QueryBuilder::<DB>::new(concat!(
        "SELECT ",
        crate::rows::case_columns!(),
        " FROM cases WHERE id IN (SELECT case_id FROM case_find WHERE kind = "
    ));
    q.push_bind(f.kind.clone());
    q.push(" AND key >= ").push_bind(f.prefix.clone());
    q.push(" AND key < ").push_bind(prefix_end(&f.prefix));
    q.push(")");
    if let Some(v) = &f.visible_to {
        let (lo, hi) = subtree_range(&v.unit_path)?;
        q.push(" AND ((owner_unit_path >= ").push_bind(lo);
        q.push(" AND owner_unit_path < ").push_bind(hi);
        q.push(") OR first_contact_id = ").push_bind(v.user_id);
        q.push(")");
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(page_size(f.limit)));
    Ok(q)
}

/// `INSERT`s of `(case, key)` rows, at most 1,000 a statement (3 parameters a row, under
/// SQLite's 32,766 and PostgreSQL's 65,535); a duplicate is skipped: keys are a set.
pub(crate) fn insert_keys_queries<DB>(rows: &[(i64, &FindKey)]) -> Vec<QueryBuilder<DB>>
where
    DB: Database,
    <DB as Database>::Arguments: Default,
    String: for<'t> Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    rows.chunks(1_000)
        .map(|chunk| {
            let mut q = QueryBuilder::<DB>::new("INSERT INTO case_find (kind, key, case_id) ");
            q.push_values(chunk, |mut b, (case_id, k)| {
                b.push_bind(k.kind.clone())
                    .push_bind(k.key.clone())
                    .push_bind(*case_id);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q
        })
        .collect()
}

/// How far the backfill of the number keys of cases stored before migration 0015 has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberBackfill {
    /// Every case with an id at or below it has its number keys.
    pub last_case_id: i64,
    /// The highest case id when migration 0015 ran: later cases were keyed by its trigger.
    pub upto: i64,
}

impl NumberBackfill {
    /// Every case has its number keys: lookups by number are complete.
    pub fn done(&self) -> bool {
        self.last_case_id >= self.upto
    }
}

fn check(q: &FindQuery) -> Result<(), StoreError> {
    if q.prefix.is_empty() {
        return Err(StoreError::Invalid {
            what: "find query",
            reason: "an empty prefix would match every key".into(),
        });
    }
    Ok(())
}

impl Store {
    /// The cases with a key of `q.kind` starting with `q.prefix`, visible as `q` says, newest
    /// first, at most `q.limit`.
    pub async fn find_cases(&self, q: &FindQuery) -> Result<Vec<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.find_cases(q).await,
            Backend::Postgres(b) => b.find_cases(q).await,
        }
    }

    /// How far the backfill of the number keys has come.
    pub async fn number_backfill(&self) -> Result<NumberBackfill, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.number_backfill().await,
            Backend::Postgres(b) => b.number_backfill().await,
        }
    }

    /// Writes the number keys of the next `limit` cases the number backfill has not examined
    /// (lowest id first; a key already there is skipped) and records the progress, in one
    /// transaction; returns the progress. Any number of callers may run it at once.
    pub async fn backfill_number_keys(&self, limit: u32) -> Result<NumberBackfill, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.backfill_number_keys(limit.max(1)).await,
            Backend::Postgres(b) => b.backfill_number_keys(limit.max(1)).await,
        }
    }

    /// How far the backfill has come.
    pub async fn find_backfill(&self) -> Result<FindBackfill, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.find_backfill().await,
            Backend::Postgres(b) => b.find_backfill().await,
        }
    }

    /// Up to `limit` cases with an id above `after`, lowest id first: the backfill's next
    /// batch.
    pub async fn cases_after(&self, after: i64, limit: u32) -> Result<Vec<CaseRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.cases_after(after, limit).await,
            Backend::Postgres(b) => b.cases_after(after, limit).await,
        }
    }

    /// Writes the keys of a backfill batch — only for cases that have none yet, so that keys a
    /// concurrent create or update wrote are never overwritten with older ones — and records
    /// the progress (`done` once a batch came back short), in one transaction.
    pub async fn backfill_find_keys(
        &self,
        batch: &[(i64, Vec<FindKey>)],
        progress: FindBackfill,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.backfill_find_keys(batch, progress).await,
            Backend::Postgres(b) => b.backfill_find_keys(batch, progress).await,
        }
    }
}
