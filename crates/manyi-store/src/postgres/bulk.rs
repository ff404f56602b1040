//! PostgreSQL: bulk loading of generated cases (see `crate::bulk`). One transaction per call,
//! holding `cases` in EXCLUSIVE mode (normal creates wait, reads go on); the rows streamed with
//! `COPY … FROM STDIN` in text format (several times faster than multi-row `INSERT`s with bound
//! parameters: no statement to plan, no parameter limit, JSON sent once as text), with explicit
//! case ids after the highest one, the id sequence moved past them and the counters advanced in
//! the same transaction. `COPY` fires the same triggers as `INSERT` — the statement-level
//! `case_stats` trigger sees the copied rows in its transition table, the breach trigger runs
//! per `clock_breached` event, and the foreign keys are checked — so the generated cases are
//! counted and checked exactly as inserted ones.

use std::collections::HashMap;
use std::io::Write as _;

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::PgStore;
use crate::NewEvent;
use crate::StoreError;
use crate::bulk::{
    BulkCase, BulkTimer, BulkWrite, CASE_ROWS, EVENT_ROWS, TIMER_ROWS, check, check_counter,
    closed_at,
};
use crate::time::to_millis;

/// The columns of `cases` written by a bulk load, in the order [`case_row`] writes them.
const CASE_COLUMNS: &str = "id, number, number_scope, number_period, serial, kind, policy_id, \
     state, owner_unit_id, owner_unit_path, first_contact_id, assignee_id, channel, created_at, \
     updated_at, closed, version, snapshot, due_at, closed_at";
const EVENT_COLUMNS: &str = "case_id, seq, occurred_at, actor_id, action, clause, payload";
const TIMER_COLUMNS: &str = "case_id, clock, kind, generation, due_at";

/// A case of the batch: its id, itself, its owner unit's path.
type Row<'a> = (i64, &'a BulkCase, &'a str);

/// Bytes of `COPY` data sent per message: large enough that the round trips do not count,
/// small enough that a batch is not held twice in memory.
const SEND_BYTES: usize = 1 << 20;

impl PgStore {
    pub(crate) async fn bulk_insert_cases(
        &self,
        cases: &[BulkCase],
        how: BulkWrite,
    ) -> Result<(), StoreError> {
        let groups = check(cases)?;
        let mut tx = self.tx().await?;
        // Explicit ids need the table to ourselves until commit: a normal create meanwhile
        // would take the same id from the sequence.
        sqlx::query("LOCK TABLE cases IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let paths: HashMap<i64, String> = sqlx::query_as("SELECT id, path FROM units")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        for ((scope, period), (lo, hi, _)) in &groups {
            let stored: Option<i64> = sqlx::query_scalar(
                "SELECT last_serial FROM number_counters WHERE scope = $1 AND period = $2 FOR UPDATE",
            )
            .bind(scope)
            .bind(period)
            .fetch_optional(&mut *tx)
            .await?;
            check_counter(scope, period, stored, *lo)?;
            sqlx::query(
                "INSERT INTO number_counters (scope, period, last_serial) VALUES ($1, $2, $3) \
                 ON CONFLICT (scope, period) DO UPDATE SET last_serial = excluded.last_serial",
            )
            .bind(scope)
            .bind(period)
            .bind(i64::try_from(*hi).map_err(|_| crate::error::corrupt("serial"))?)
            .execute(&mut *tx)
            .await?;
        }
        let first_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")
            .fetch_one(&mut *tx)
            .await?;
        let mut rows = Vec::with_capacity(cases.len());
        for (id, c) in (first_id..).zip(cases) {
            let path = paths
                .get(&c.owner_unit_id)
                .ok_or_else(|| StoreError::Invalid {
                    what: "bulk case",
                    reason: format!("unknown owner unit id {}", c.owner_unit_id),
                })?;
            rows.push((id, c, path.as_str()));
        }
        match how {
            BulkWrite::Copy => copy_rows(&mut tx, &rows).await?,
            BulkWrite::Insert => insert_rows(&mut tx, &rows).await?,
        }
        super::find::insert_keys(
            &mut tx,
            rows.iter()
                .flat_map(|(id, c, _)| c.find.iter().map(move |k| (*id, k))),
        )
        .await?;
        if let Some((last, _, _)) = rows.last() {
            sqlx::query("SELECT setval(pg_get_serial_sequence('cases', 'id'), $1)")
                .bind(*last)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The rows of a batch, each table with one `COPY`.
async fn copy_rows(conn: &mut PgConnection, rows: &[Row<'_>]) -> Result<(), StoreError> {
    let mut out = CopyText::default();
    let mut copy = CopyIn::begin(&mut *conn, "cases", CASE_COLUMNS).await?;
    for (id, c, path) in rows {
        if let Err(e) = case_row(&mut out, *id, c, path) {
            return Err(copy.abort(e).await);
        }
        copy.flush_if_full(&mut out).await?;
    }
    copy.finish(&mut out).await?;

    let mut copy = CopyIn::begin(&mut *conn, "case_events", EVENT_COLUMNS).await?;
    for (id, c, _) in rows {
        for (seq, e) in (1_i64..).zip(&c.events) {
            if let Err(e) = event_row(&mut out, *id, seq, e) {
                return Err(copy.abort(e).await);
            }
        }
        copy.flush_if_full(&mut out).await?;
    }
    copy.finish(&mut out).await?;

    if rows.iter().any(|(_, c, _)| !c.timers.is_empty()) {
        let mut copy = CopyIn::begin(&mut *conn, "timers", TIMER_COLUMNS).await?;
        for (id, c, _) in rows {
            for t in &c.timers {
                timer_row(&mut out, *id, t);
            }
            copy.flush_if_full(&mut out).await?;
        }
        copy.finish(&mut out).await?;
    }
    Ok(())
}

/// The rows of a batch with multi-row `INSERT`s (the earlier way; see [`BulkWrite`]).
async fn insert_rows(conn: &mut PgConnection, rows: &[Row<'_>]) -> Result<(), StoreError> {
    for chunk in rows.chunks(CASE_ROWS) {
        let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO cases ({CASE_COLUMNS}) "));
        q.push_values(chunk, |mut b, (id, c, path)| {
            b.push_bind(*id)
                .push_bind(&c.number)
                .push_bind(&c.number_scope)
                .push_bind(&c.number_period)
                .push_bind(i64::try_from(c.serial).unwrap_or(i64::MAX))
                .push_bind(&c.kind)
                .push_bind(c.policy_id)
                .push_bind(&c.state)
                .push_bind(c.owner_unit_id)
                .push_bind(*path)
                .push_bind(c.first_contact_id)
                .push_bind(c.assignee_id)
                .push_bind(&c.channel)
                .push_bind(to_millis(c.created_at))
                .push_bind(to_millis(c.updated_at))
                .push_bind(c.closed)
                .push_bind(i64::try_from(c.events.len()).unwrap_or(i64::MAX))
                .push_bind(Json(&c.snapshot))
                .push_bind(c.due_at.map(to_millis))
                .push_bind(closed_at(c));
        });
        q.build().execute(&mut *conn).await?;
    }
    let events: Vec<_> = rows
        .iter()
        .flat_map(|(id, c, _)| (1_i64..).zip(&c.events).map(move |(seq, e)| (*id, seq, e)))
        .collect();
    for chunk in events.chunks(EVENT_ROWS) {
        let mut q =
            QueryBuilder::<Postgres>::new(format!("INSERT INTO case_events ({EVENT_COLUMNS}) "));
        q.push_values(chunk, |mut b, (id, seq, e)| {
            b.push_bind(*id)
                .push_bind(*seq)
                .push_bind(to_millis(e.at))
                .push_bind(e.actor_id)
                .push_bind(&e.action)
                .push_bind(&e.clause)
                .push_bind(Json(crate::rows::StoredView::of(e)));
        });
        q.build().execute(&mut *conn).await?;
    }
    let timers: Vec<_> = rows
        .iter()
        .flat_map(|(id, c, _)| c.timers.iter().map(move |t| (*id, t)))
        .collect();
    for chunk in timers.chunks(TIMER_ROWS) {
        let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO timers ({TIMER_COLUMNS}) "));
        q.push_values(chunk, |mut b, (id, t)| {
            b.push_bind(*id)
                .push_bind(&t.clock)
                .push_bind(&t.kind)
                .push_bind(t.generation)
                .push_bind(to_millis(t.due_at));
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One row of `cases`, in the order of [`CASE_COLUMNS`].
fn case_row(out: &mut CopyText, id: i64, c: &BulkCase, path: &str) -> Result<(), StoreError> {
    out.int(id);
    out.text(&c.number);
    out.text(&c.number_scope);
    out.text(&c.number_period);
    out.int(i64::try_from(c.serial).map_err(|_| crate::error::corrupt("serial"))?);
    out.text(&c.kind);
    out.int(c.policy_id);
    out.text(&c.state);
    out.int(c.owner_unit_id);
    out.text(path);
    out.int(c.first_contact_id);
    out.opt_int(c.assignee_id);
    out.text(&c.channel);
    out.int(to_millis(c.created_at));
    out.int(to_millis(c.updated_at));
    out.bool(c.closed);
    out.int(i64::try_from(c.events.len()).map_err(|_| crate::error::corrupt("version"))?);
    out.json(&c.snapshot)?;
    out.opt_int(c.due_at.map(to_millis));
    out.opt_int(closed_at(c));
    out.end_row();
    Ok(())
}

/// One row of `case_events`, in the order of [`EVENT_COLUMNS`].
fn event_row(out: &mut CopyText, id: i64, seq: i64, e: &NewEvent) -> Result<(), StoreError> {
    out.int(id);
    out.int(seq);
    out.int(to_millis(e.at));
    out.opt_int(e.actor_id);
    out.text(&e.action);
    out.opt_text(e.clause.as_deref());
    out.json(&crate::rows::StoredView::of(e))?;
    out.end_row();
    Ok(())
}

/// One row of `timers`, in the order of [`TIMER_COLUMNS`].
fn timer_row(out: &mut CopyText, id: i64, t: &BulkTimer) {
    out.int(id);
    out.text(&t.clock);
    out.text(&t.kind);
    out.int(t.generation);
    out.int(to_millis(t.due_at));
    out.end_row();
}

/// A `COPY … FROM STDIN` in progress on the transaction's connection.
struct CopyIn<'c> {
    copy: sqlx::postgres::PgCopyIn<&'c mut PgConnection>,
}

impl<'c> CopyIn<'c> {
    async fn begin(
        conn: &'c mut PgConnection,
        table: &str,
        columns: &str,
    ) -> Result<Self, StoreError> {
        let copy = conn
            .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
            .await?;
        Ok(Self { copy })
    }

    async fn flush_if_full(&mut self, out: &mut CopyText) -> Result<(), StoreError> {
        if out.0.len() >= SEND_BYTES {
            self.copy.send(out.0.as_slice()).await?;
            out.0.clear();
        }
        Ok(())
    }

    /// Ends the `COPY` with an error (the transaction is then rolled back by its drop).
    async fn abort(self, e: StoreError) -> StoreError {
        // The abort's own outcome (PostgreSQL answers with the message it was given) adds
        // nothing to the error that caused it.
        let _ = self.copy.abort(e.to_string()).await;
        e
    }

    async fn finish(mut self, out: &mut CopyText) -> Result<(), StoreError> {
        if !out.0.is_empty() {
            self.copy.send(out.0.as_slice()).await?;
            out.0.clear();
        }
        self.copy.finish().await?;
        Ok(())
    }
}

/// Rows in `COPY`'s text format: fields separated by tabs, rows ended by a newline, `\N` for
/// NULL, and a backslash, tab, newline or carriage return inside a value written as a
/// backslash escape (<https://www.postgresql.org/docs/15/sql-copy.html>, "Text Format").
/// Every other byte, UTF-8 included, goes through as it is.
#[derive(Default)]
pub(crate) struct CopyText(pub(crate) Vec<u8>);

impl CopyText {
    fn sep(&mut self) {
        self.0.push(b'\t');
    }

    pub(crate) fn int(&mut self, v: i64) {
        let _ = write!(self.0, "{v}");
        self.sep();
    }

    pub(crate) fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.0.push(if v { b't' } else { b'f' });
        self.sep();
    }

    pub(crate) fn null(&mut self) {
        self.0.extend_from_slice(b"\\N");
        self.sep();
    }

    pub(crate) fn text(&mut self, v: &str) {
        escape_into(&mut self.0, v.as_bytes());
        self.sep();
    }

    pub(crate) fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// JSON as text (PostgreSQL parses it into `jsonb`); escaped on the way, since JSON's own
    /// escapes (`\"`, `\n`, `\\`) are backslashes too.
    pub(crate) fn json(&mut self, v: &impl serde::Serialize) -> Result<(), StoreError> {
        serde_json::to_writer(Escaping(&mut self.0), v).map_err(|e| StoreError::Invalid {
            what: "bulk case",
            reason: format!("JSON that cannot be written: {e}"),
        })?;
        self.sep();
        Ok(())
    }

    /// Ends a row: its last separator becomes the newline.
    pub(crate) fn end_row(&mut self) {
        if let Some(last) = self.0.last_mut() {
            *last = b'\n';
        }
    }
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// A writer that escapes what goes through it for `COPY`'s text format.
struct Escaping<'a>(&'a mut Vec<u8>);

impl std::io::Write for Escaping<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        escape_into(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_format_escapes_backslashes_tabs_and_newlines_and_keeps_utf8() {
        let mut out = CopyText::default();
        out.int(7);
        out.text("投诉\t\"引号\"\\反斜杠\r\n第二行");
        out.opt_int(None);
        out.bool(true);
        out.json(&json!({"matter": "换行\n和\\和\"", "n": 1}))
            .expect("json");
        out.end_row();
        let s = String::from_utf8(out.0).expect("utf-8");
        assert_eq!(
            s,
            "7\t投诉\\t\"引号\"\\\\反斜杠\\r\\n第二行\t\\N\tt\t\
             {\"matter\":\"换行\\\\n和\\\\\\\\和\\\\\"\",\"n\":1}\n"
        );
    }
}
