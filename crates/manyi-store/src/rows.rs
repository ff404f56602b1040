//! Turning result rows into records, once for every backend.
//!
//! Each backend implements [`RowExt`] for its row type: a handful of typed getters in which
//! the dialect differences live (0/1 integers vs BOOLEAN, TEXT vs JSONB). The decoders below
//! are written against `RowExt` only, so a column added to a record is decoded in one place.
//! They rely on the backends selecting the same column names, which the `*_columns!` macros
//! below spell once for every backend (they contain no placeholders, so no dialect).

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::time::from_millis;
use crate::{CaseRecord, EventRecord, NewEvent, PolicyRecord, TimerRecord, Unit, User};

/// The columns [`unit`] decodes.
macro_rules! unit_columns {
    () => {
        "id, code, name, level, parent_id, path"
    };
}

/// Users with their unit and one row per role, as [`users`] expects. Callers add `WHERE` and
/// `ORDER BY … r.role`.
macro_rules! select_users {
    () => {
        "SELECT u.id, u.login, u.name, u.unit_id, un.code AS unit_code, un.path AS unit_path, \
                u.password_hash, u.disabled, u.lang, r.role \
         FROM users u \
         JOIN units un ON un.id = u.unit_id \
         LEFT JOIN user_roles r ON r.user_id = u.id"
    };
}

/// The columns [`policy`] decodes.
macro_rules! policy_columns {
    () => {
        "id, name, version, source, source_hash, created_at, activated_at, active"
    };
}

/// The columns [`case`] decodes.
macro_rules! case_columns {
    () => {
        "id, number, kind, policy_id, state, owner_unit_id, owner_unit_path, first_contact_id, \
         assignee_id, channel, created_at, updated_at, closed, version, snapshot, due_at"
    };
}

/// The columns [`event`] decodes.
macro_rules! event_columns {
    () => {
        "case_id, seq, occurred_at, actor_id, action, clause, payload"
    };
}

/// The columns [`timer`] decodes.
macro_rules! timer_columns {
    () => {
        "id, case_id, clock, kind, purpose, generation, due_at, fired_at, cancelled_at"
    };
}

pub(crate) use {
    case_columns, event_columns, policy_columns, select_users, timer_columns, unit_columns,
};

/// Typed column access by name.
pub(crate) trait RowExt {
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
    fn json(&self, col: &str) -> Result<Value, sqlx::Error>;

    /// An instant stored as Unix milliseconds.
    fn instant(&self, col: &str) -> Result<Timestamp, sqlx::Error> {
        from_millis(self.int(col)?)
    }

    fn opt_instant(&self, col: &str) -> Result<Option<Timestamp>, sqlx::Error> {
        self.opt_int(col)?.map(from_millis).transpose()
    }
}

/// Columns: `id, code, name, level, parent_id, path`.
pub(crate) fn unit(row: &impl RowExt) -> Result<Unit, sqlx::Error> {
    Ok(Unit {
        id: row.int("id")?,
        code: row.text("code")?,
        name: row.text("name")?,
        level: row.text("level")?,
        parent_id: row.opt_int("parent_id")?,
        path: row.text("path")?,
    })
}

/// Users from rows of `id, login, name, unit_id, unit_code, unit_path, password_hash, role`:
/// one row per (user, role), `role` NULL for a user without roles, rows of one user adjacent.
/// Reading users and roles in one statement gives a consistent snapshot without a transaction.
pub(crate) fn users<R: RowExt>(rows: &[R]) -> Result<Vec<User>, sqlx::Error> {
    let mut out: Vec<User> = Vec::new();
    for row in rows {
        let id = row.int("id")?;
        let role = row.opt_text("role")?;
        match out.last_mut() {
            Some(user) if user.id == id => user.roles.extend(role),
            _ => out.push(User {
                id,
                login: row.text("login")?,
                name: row.text("name")?,
                unit_id: row.int("unit_id")?,
                unit_code: row.text("unit_code")?,
                unit_path: row.text("unit_path")?,
                roles: role.into_iter().collect(),
                password_hash: row.opt_text("password_hash")?,
                disabled: row.flag("disabled")?,
                lang: row.opt_text("lang")?,
            }),
        }
    }
    Ok(out)
}

/// Columns: `id, name, version, source, source_hash, created_at, activated_at, active`.
pub(crate) fn policy(row: &impl RowExt) -> Result<PolicyRecord, sqlx::Error> {
    Ok(PolicyRecord {
        id: row.int("id")?,
        name: row.text("name")?,
        version: row.int("version")?,
        source: row.text("source")?,
        source_hash: row.text("source_hash")?,
        created_at: row.instant("created_at")?,
        activated_at: row.opt_instant("activated_at")?,
        active: row.flag("active")?,
    })
}

/// Columns: `id, number, kind, policy_id, state, owner_unit_id, owner_unit_path,
/// first_contact_id, assignee_id, channel, created_at, updated_at, closed, version, snapshot,
/// due_at`.
pub(crate) fn case(row: &impl RowExt) -> Result<CaseRecord, sqlx::Error> {
    Ok(CaseRecord {
        id: row.int("id")?,
        number: row.text("number")?,
        kind: row.text("kind")?,
        policy_id: row.int("policy_id")?,
        state: row.text("state")?,
        owner_unit_id: row.int("owner_unit_id")?,
        owner_unit_path: row.text("owner_unit_path")?,
        first_contact_id: row.int("first_contact_id")?,
        assignee_id: row.opt_int("assignee_id")?,
        channel: row.text("channel")?,
        created_at: row.instant("created_at")?,
        updated_at: row.instant("updated_at")?,
        closed: row.flag("closed")?,
        version: row.int("version")?,
        snapshot: row.json("snapshot")?,
        due_at: row.opt_instant("due_at")?,
    })
}

/// Columns: `case_id, seq, occurred_at, actor_id, action, clause, payload`.
pub(crate) fn event(row: &impl RowExt) -> Result<EventRecord, sqlx::Error> {
    let at = row.instant("occurred_at")?;
    let action = row.text("action")?;
    let clause = row.opt_text("clause")?;
    let payload = read_payload(row.json("payload")?, at, &action, clause.as_deref())?;
    Ok(EventRecord {
        case_id: row.int("case_id")?,
        seq: row.int("seq")?,
        at,
        actor_id: row.opt_int("actor_id")?,
        action,
        clause,
        payload,
    })
}

// ---------------------------------------------------------------------------------------------
// Event payloads without what their row already holds
// ---------------------------------------------------------------------------------------------
//
// An event's payload (the domain's whole `Event`) repeats three columns of its own row: `at`
// (`occurred_at`), `action` and `clause` — ~85 bytes of JSON per event, ~16 % of `case_events`
// on generated data (BENCHMARKS.md, "Synthetic data"). The store writes such a payload without
// them, marked with [`SLIM`], and puts them back when it reads the row, so readers get exactly
// the payload they gave. A payload is slimmed only when the three restored values are *equal*
// to its own (an instant with sub-millisecond digits, a payload without those keys or with
// other values is written whole), so the round trip is exact by construction. Rows written
// before this (whole payloads) read as they are. SQL that reads `case_events` (the statistics
// and breach triggers, `case_stats_from_cases`) reads the columns only, never the payload.

/// The top-level key marking a payload stored without its row's `at`, `action` and `clause`
/// (`true`), or a payload that itself had this key, stored wrapped under `payload` (`"raw"`).
const SLIM: &str = "~row";

/// What an event's payload is stored as (see above).
pub(crate) fn stored_payload(e: &NewEvent) -> Cow<'_, Value> {
    let Value::Object(m) = &e.payload else {
        return Cow::Borrowed(&e.payload);
    };
    if m.contains_key(SLIM) {
        let mut wrapped = Map::new();
        wrapped.insert(SLIM.into(), Value::String("raw".into()));
        wrapped.insert("payload".into(), e.payload.clone());
        return Cow::Owned(Value::Object(wrapped));
    }
    // What the read will put back: the instant as stored (milliseconds), the row's texts.
    let Ok(at) = from_millis(crate::time::to_millis(e.at)) else {
        return Cow::Borrowed(&e.payload);
    };
    let same = m.get("at") == Some(&Value::String(at.to_string()))
        && m.get("action") == Some(&Value::String(e.action.clone()))
        && m.get("clause") == Some(&clause_value(e.clause.as_deref()));
    if !same {
        return Cow::Borrowed(&e.payload);
    }
    let mut slim: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "at" | "action" | "clause"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    slim.insert(SLIM.into(), Value::Bool(true));
    Cow::Owned(Value::Object(slim))
}

/// [`stored_payload`] as a view that serialises to the same JSON without copying the payload
/// first: the bulk load (`manyi gen`) writes millions of events, and copying each payload's
/// tree only to write it out was measurable there.
pub(crate) struct StoredView<'a>(&'a NewEvent);

impl<'a> StoredView<'a> {
    pub(crate) fn of(e: &'a NewEvent) -> Self {
        StoredView(e)
    }
}

impl serde::Serialize for StoredView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let e = self.0;
        let Value::Object(m) = &e.payload else {
            return e.payload.serialize(s);
        };
        if m.contains_key(SLIM) {
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("payload", &e.payload)?;
            map.serialize_entry(SLIM, "raw")?;
            return map.end();
        }
        if !is_slim(e, m) {
            return e.payload.serialize(s);
        }
        // The keys in the order a `Map` holds them (sorted; `~` sorts after every letter), so
        // the text is the one `stored_payload` gives.
        let mut map = s.serialize_map(None)?;
        for (k, v) in m {
            if !matches!(k.as_str(), "at" | "action" | "clause") {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry(SLIM, &true)?;
        map.end()
    }
}

/// Whether `m`, `e`'s payload, holds exactly the `at`, `action` and `clause` its row will put
/// back.
fn is_slim(e: &NewEvent, m: &Map<String, Value>) -> bool {
    let Ok(at) = from_millis(crate::time::to_millis(e.at)) else {
        return false;
    };
    m.get("at").and_then(Value::as_str) == Some(at.to_string().as_str())
        && m.get("action").and_then(Value::as_str) == Some(e.action.as_str())
        && m.get("clause") == Some(&clause_value(e.clause.as_deref()))
}

/// The payload a reader gets from a stored one and its row's columns.
fn read_payload(
    stored: Value,
    at: Timestamp,
    action: &str,
    clause: Option<&str>,
) -> Result<Value, sqlx::Error> {
    let Value::Object(mut m) = stored else {
        return Ok(stored);
    };
    match m.get(SLIM) {
        Some(Value::Bool(true)) => {
            m.remove(SLIM);
            m.insert("at".into(), Value::String(at.to_string()));
            m.insert("action".into(), Value::String(action.to_owned()));
            m.insert("clause".into(), clause_value(clause));
            Ok(Value::Object(m))
        }
        Some(Value::String(raw)) if raw == "raw" => m
            .remove("payload")
            .ok_or_else(|| crate::error::corrupt("event payload")),
        _ => Ok(Value::Object(m)),
    }
}

fn clause_value(clause: Option<&str>) -> Value {
    clause.map_or(Value::Null, |c| Value::String(c.to_owned()))
}

/// Columns: `id, case_id, clock, kind, purpose, generation, due_at, fired_at, cancelled_at`.
pub(crate) fn timer(row: &impl RowExt) -> Result<TimerRecord, sqlx::Error> {
    Ok(TimerRecord {
        id: row.int("id")?,
        case_id: row.int("case_id")?,
        clock: row.text("clock")?,
        kind: row.text("kind")?,
        purpose: row.text("purpose")?,
        generation: row.int("generation")?,
        due_at: row.instant("due_at")?,
        fired_at: row.opt_instant("fired_at")?,
        cancelled_at: row.opt_instant("cancelled_at")?,
    })
}

/// The columns [`attachment`] decodes (the content is read apart, only when served).
macro_rules! attachment_columns {
    () => {
        "id, case_id, filename, content_type, size_bytes, uploaded_by, uploaded_at"
    };
}
pub(crate) use attachment_columns;

/// Columns: [`attachment_columns`].
pub(crate) fn attachment(row: &impl RowExt) -> Result<crate::AttachmentRecord, sqlx::Error> {
    Ok(crate::AttachmentRecord {
        id: row.int("id")?,
        case_id: row.int("case_id")?,
        filename: row.text("filename")?,
        content_type: row.text("content_type")?,
        size_bytes: row.int("size_bytes")?,
        uploaded_by: row.opt_int("uploaded_by")?,
        uploaded_at: row.instant("uploaded_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_event(at: Timestamp, clause: Option<&str>, payload: Value) -> NewEvent {
        NewEvent {
            at,
            actor_id: Some(7),
            action: "assess".into(),
            clause: clause.map(str::to_owned),
            payload,
        }
    }

    /// Writes and reads back as the store does (the columns from the event, the payload from
    /// `stored_payload`).
    fn round_trip(e: &NewEvent) -> (Value, Value) {
        let stored = stored_payload(e).into_owned();
        // The bulk load's view writes the very same text.
        assert_eq!(
            serde_json::to_string(&StoredView::of(e)).expect("view"),
            serde_json::to_string(&stored).expect("stored"),
        );
        let at = from_millis(crate::time::to_millis(e.at)).expect("instant");
        let read = read_payload(stored.clone(), at, &e.action, e.clause.as_deref()).expect("read");
        (stored, read)
    }

    #[test]
    fn a_domain_payload_is_stored_without_its_rows_columns_and_read_back_whole() {
        let at = Timestamp::from_millisecond(1_764_160_000_428).expect("instant");
        for clause in [Some("第十九条"), None] {
            let payload = json!({
                "at": at.to_string(), "action": "assess", "clause": clause,
                "actor": {"id": 7, "login": "a", "name": "张三"},
                "change": {"type": "transitioned", "from": "registered", "to": "assessed"},
            });
            let e = new_event(at, clause, payload.clone());
            let (stored, read) = round_trip(&e);
            assert_eq!(read, payload);
            let keys: Vec<&str> = stored
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["actor", "change", SLIM], "{stored}");
        }
    }

    #[test]
    fn a_payload_that_differs_from_its_row_is_stored_whole() {
        let at = Timestamp::from_millisecond(1_764_160_000_428).expect("instant");
        let fine = Timestamp::new(1_764_160_000, 428_000_001).expect("instant");
        let cases = [
            // sub-millisecond digits: the column cannot give them back
            new_event(
                fine,
                None,
                json!({"at": fine.to_string(), "action": "assess", "clause": null}),
            ),
            // another action, another clause, a missing key, not an object
            new_event(
                at,
                None,
                json!({"at": at.to_string(), "action": "other", "clause": null}),
            ),
            new_event(
                at,
                Some("x"),
                json!({"at": at.to_string(), "action": "assess", "clause": "y"}),
            ),
            new_event(at, None, json!({"at": at.to_string(), "action": "assess"})),
            new_event(at, None, json!({"channel": "counter"})),
            new_event(at, None, json!({})),
            new_event(at, None, json!([1, 2])),
            new_event(at, None, json!("text")),
        ];
        for e in cases {
            let (stored, read) = round_trip(&e);
            assert_eq!(stored, e.payload);
            assert_eq!(read, e.payload);
        }
    }

    #[test]
    fn a_payload_that_has_the_marker_key_itself_is_wrapped_and_read_back_unchanged() {
        let at = Timestamp::from_millisecond(1_764_160_000_428).expect("instant");
        for marker in [json!(true), json!("raw"), json!(1)] {
            let payload =
                json!({"at": at.to_string(), "action": "assess", "clause": null, SLIM: marker});
            let e = new_event(at, None, payload.clone());
            let (stored, read) = round_trip(&e);
            assert_eq!(stored[SLIM], json!("raw"));
            assert_eq!(read, payload);
        }
    }

    #[test]
    fn a_whole_payload_written_before_slimming_reads_as_it_is() {
        let at = Timestamp::from_millisecond(1_764_160_000_428).expect("instant");
        let whole = json!({"at": at.to_string(), "action": "assess", "clause": null, "n": 1});
        assert_eq!(
            read_payload(whole.clone(), at, "assess", None).expect("read"),
            whole
        );
    }
}
