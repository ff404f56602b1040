//! Checks made before any backend writes a case, so that every backend refuses the same inputs
//! with the same error instead of whatever its driver happens to say.
//!
//! PostgreSQL cannot store the character U+0000 in `TEXT` nor in `JSONB` (SQLite can); a form
//! field pasted from a binary file would then be a 500 on one backend and a stored case on the
//! other. Refusing it on both keeps them interchangeable. The error names the field, never its
//! content (which is personal data).

use serde_json::Value;

use crate::records::{
    TIMER_BREACH, TIMER_FOR_ASSIST, TIMER_FOR_CLOCK, TIMER_FOR_DISPUTE, TIMER_WARN,
};
use crate::{CaseUpdate, NewCase, NewEvent, StoreError, TimerChange};

pub(crate) fn new_case(c: &NewCase) -> Result<(), StoreError> {
    for (field, value) in [
        ("kind", &c.kind),
        ("number_scope", &c.number_scope),
        ("number_period", &c.number_period),
        ("state", &c.state),
        ("channel", &c.channel),
    ] {
        text(field, value)?;
    }
    if let Some(idem) = &c.idempotency {
        text("idempotency key", &idem.key)?;
        text("request hash", &idem.request_hash)?;
    }
    json("snapshot", &c.snapshot)?;
    events(&c.events)?;
    timers(&c.timers)
}

pub(crate) fn case_update(u: &CaseUpdate) -> Result<(), StoreError> {
    text("state", &u.state)?;
    json("snapshot", &u.snapshot)?;
    events(&u.events)?;
    timers(&u.timers)
}

/// Conduct recorded without a case ([`crate::Store::record_conduct`]).
pub(crate) fn conduct(c: &crate::NewConduct) -> Result<(), StoreError> {
    for (field, value) in [("kind", &c.kind), ("rule", &c.rule), ("clause", &c.clause)] {
        text(field, value)?;
    }
    if let Some(idem) = &c.idempotency {
        text("idempotency key", &idem.key)?;
        text("request hash", &idem.request_hash)?;
    }
    json("detail", &c.detail)
}

fn events(events: &[NewEvent]) -> Result<(), StoreError> {
    for e in events {
        text("event action", &e.action)?;
        if let Some(clause) = &e.clause {
            text("event clause", clause)?;
        }
        json("event payload", &e.payload)?;
    }
    Ok(())
}

fn timers(changes: &[TimerChange]) -> Result<(), StoreError> {
    for change in changes {
        let clock = match change {
            TimerChange::Schedule {
                clock,
                kind,
                purpose,
                ..
            } => {
                if kind != TIMER_WARN && kind != TIMER_BREACH {
                    return Err(invalid(format!(
                        "timer kind `{}` is neither `{TIMER_WARN}` nor `{TIMER_BREACH}`",
                        kind.escape_debug()
                    )));
                }
                if ![TIMER_FOR_CLOCK, TIMER_FOR_ASSIST, TIMER_FOR_DISPUTE]
                    .contains(&purpose.as_str())
                {
                    return Err(invalid(format!(
                        "timer purpose `{}` of clock `{}` is none of `{TIMER_FOR_CLOCK}`, \
                         `{TIMER_FOR_ASSIST}`, `{TIMER_FOR_DISPUTE}`",
                        purpose.escape_debug(),
                        clock.escape_debug()
                    )));
                }
                clock
            }
            TimerChange::CancelClock { clock } => clock,
        };
        if clock.is_empty() {
            return Err(invalid("a timer names an empty clock".to_owned()));
        }
        text("timer clock", clock)?;
    }
    Ok(())
}

/// A timer of one case cannot fire an update of another: a caller's bug, refused.
pub(crate) fn check_same_case(
    timer_id: i64,
    case_id: i64,
    u: &CaseUpdate,
) -> Result<(), StoreError> {
    if u.id == case_id {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            what: "timer",
            reason: format!(
                "timer {timer_id} belongs to case id {case_id}, not to the updated case id {}",
                u.id
            ),
        })
    }
}

pub(crate) fn unknown_timer(timer_id: i64) -> StoreError {
    StoreError::NotFound {
        what: "timer",
        key: format!("id {timer_id}"),
    }
}

fn text(field: &str, s: &str) -> Result<(), StoreError> {
    if s.contains('\0') {
        return Err(invalid(format!(
            "{field} contains the character U+0000, which cannot be stored"
        )));
    }
    Ok(())
}

/// Walks a JSON value iteratively (a hostile document cannot overflow the stack).
fn json(field: &str, v: &Value) -> Result<(), StoreError> {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => text(field, s)?,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (key, value) in map {
                    text(field, key)?;
                    stack.push(value);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    Ok(())
}

fn invalid(reason: String) -> StoreError {
    StoreError::Invalid {
        what: "case",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nul_character_anywhere_in_a_json_document_is_found_without_echoing_it() {
        assert!(json("snapshot", &json!({"a": [1, {"b": "ok"}], "c": null})).is_ok());
        for bad in [
            json!({"a": [1, {"b": "x\u{0}y"}]}),
            json!({"k\u{0}": 1}),
            json!("\u{0}"),
        ] {
            let err = json("snapshot", &bad).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains("snapshot")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_timer_kind_other_than_warn_or_breach_is_refused() {
        let schedule = |kind: &str| TimerChange::Schedule {
            clock: "response".into(),
            kind: kind.into(),
            purpose: TIMER_FOR_CLOCK.into(),
            generation: 1,
            due_at: jiff::Timestamp::UNIX_EPOCH,
        };
        assert!(timers(&[schedule("warn"), schedule("breach")]).is_ok());
        assert!(timers(&[schedule("remind")]).is_err());
        assert!(timers(&[TimerChange::CancelClock { clock: "".into() }]).is_err());
    }
}
