//! Presenting what the shell returns: field values as people read them, masked personal data,
//! the working time left of a clock, instants in Beijing time, and the policy of a case.

use std::collections::HashMap;
use std::sync::Arc;

use manyi_core::policy::{CaseKind, Field, FieldType, TaxonomyNode};
use manyi_core::values::{Money, PhoneNumber, ResidentId};
use serde::Serialize;
use serde_json::Value;

use super::i18n::{Lang, tr, tr_with};
use crate::AppState;
use crate::api::cases::{CaseBody, ClockBody};
use crate::error::AppError;
use crate::policies::Compiled;

/// The compiled policies of the cases on one page, by (policy id, version): a `CaseBody`
/// names its policy, the labels in the other language live in the policy.
pub struct PolicyLookup<'a> {
    state: &'a AppState,
    found: HashMap<(String, i64), Arc<Compiled>>,
}

impl<'a> PolicyLookup<'a> {
    pub fn new(state: &'a AppState) -> Self {
        PolicyLookup {
            state,
            found: HashMap::new(),
        }
    }

    pub async fn get(&mut self, name: &str, version: i64) -> Result<Arc<Compiled>, AppError> {
        let key = (name.to_owned(), version);
        if let Some(p) = self.found.get(&key) {
            return Ok(p.clone());
        }
        let record = self
            .state
            .store
            .policy_versions(name)
            .await?
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| AppError::Internal(format!("policy {name} v{version} is missing")))?;
        let compiled = self.state.policies.compile(&record)?;
        self.found.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// The policy and kind of a case.
    pub async fn of_case(
        &mut self,
        case: &CaseBody,
    ) -> Result<(Arc<Compiled>, Option<usize>), AppError> {
        let policy = self.get(&case.policy.id, case.policy.version).await?;
        let kind = policy.kinds.iter().position(|k| k.id == case.kind);
        Ok((policy, kind))
    }
}

/// A state's label in `lang`.
pub fn state_label(kind: Option<&CaseKind>, state: &str, lang: Lang) -> String {
    kind.and_then(|k| k.state(state)).map_or_else(
        || state.to_owned(),
        |s| lang.pick(&s.label, s.label_en.as_deref()).to_owned(),
    )
}

/// A kind's label in `lang`.
pub fn kind_label(kind: Option<&CaseKind>, id: &str, lang: Lang) -> String {
    kind.map_or_else(
        || id.to_owned(),
        |k| lang.pick(&k.label, k.label_en.as_deref()).to_owned(),
    )
}

/// A field's label in `lang`.
pub fn field_label(field: &Field, lang: Lang) -> String {
    lang.pick(&field.label, field.label_en.as_deref())
        .to_owned()
}

/// A channel code as people read it (the usual ones are in the table; others stay codes).
pub fn channel_label(code: &str, lang: Lang) -> String {
    let key = format!("channel.{code}");
    let text = tr(lang, &key);
    if text == key {
        code.to_owned()
    } else {
        text.to_owned()
    }
}

/// A field's value as people read it: option labels, yuan, dates.
pub fn display_value(field: Option<&Field>, value: &Value) -> String {
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let Some(field) = field else {
        return plain(value);
    };
    match (&field.field_type, value) {
        (FieldType::Choice { options }, Value::String(code)) => options
            .iter()
            .find(|o| &o.code == code)
            .map_or_else(|| code.clone(), |o| o.label.clone()),
        (FieldType::MultiChoice { options }, Value::Array(codes)) => codes
            .iter()
            .map(|c| {
                let code = plain(c);
                options
                    .iter()
                    .find(|o| o.code == code)
                    .map_or(code, |o| o.label.clone())
            })
            .collect::<Vec<_>>()
            .join("、"),
        (FieldType::Taxonomy { nodes }, Value::String(code)) => TaxonomyNode::find(nodes, code)
            .map_or_else(|| code.clone(), |n| format!("{} {}", n.code, n.label)),
        (FieldType::Code { list }, Value::String(code)) => list
            .get(code)
            .map_or_else(|| code.clone(), |c| format!("{} {}", c.code, c.label)),
        (FieldType::Money, Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| n.to_string(), |fen| format!("¥{}", Money::from_fen(fen))),
        _ => plain(value),
    }
}

/// A personal value masked for lists: phone numbers and resident IDs by the usual
/// convention (`138****5678`, `110105********002X`); other values unchanged.
pub fn masked_value(field: &Field, value: &Value) -> String {
    let Some(s) = value.as_str() else {
        return display_value(Some(field), value);
    };
    match field.field_type {
        FieldType::Phone => PhoneNumber::parse(s).map_or_else(|_| s.to_owned(), |p| p.masked()),
        FieldType::ResidentId => ResidentId::parse(s).map_or_else(|_| s.to_owned(), |r| r.masked()),
        _ => s.to_owned(),
    }
}

/// The customer's name: the personal text field whose id contains `name` (the field quick
/// find indexes, `manyi_core::find::name_field`).
pub fn customer_name(
    kind: &CaseKind,
    fields: &std::collections::BTreeMap<String, Value>,
) -> String {
    manyi_core::find::name_field(kind)
        .and_then(|id| fields.get(id))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The customer's phone fields' values (canonical), for quick find and display.
pub fn phones(
    kind: &CaseKind,
    fields: &std::collections::BTreeMap<String, Value>,
) -> Vec<(String, String)> {
    kind.fields
        .iter()
        .filter(|f| f.field_type == FieldType::Phone)
        .filter_map(|f| {
            let v = fields.get(&f.id)?;
            Some((v.as_str()?.to_owned(), masked_value(f, v)))
        })
        .collect()
}

/// The category: the `category` field, as its option label.
pub fn category(kind: &CaseKind, fields: &std::collections::BTreeMap<String, Value>) -> String {
    kind.field("category")
        .and_then(|f| fields.get("category").map(|v| display_value(Some(f), v)))
        .unwrap_or_default()
}

/// An RFC 3339 instant of the API as a Beijing wall-clock time, `2026-03-10 10:00`.
/// A size in bytes as people read it: `512 B`, `12.3 KB`, `4.0 MB`.
pub fn file_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else {
        format!("{:.1} MB", b / (KB * KB))
    }
}

pub fn local_time(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned_datetime(manyi_core::china_tz())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// The date part of an API instant, `2026-03-10`.
pub fn local_date(rfc3339: &str) -> String {
    local_time(rfc3339).chars().take(10).collect()
}

/// How urgent a clock is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Ok,
    /// Less than 20 % of the limit or less than 4 hours left (or past its warning point).
    Soon,
    Overdue,
}

/// A clock as a list row or the case page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClockView {
    pub label: String,
    pub clause: String,
    pub status: &'static str,
    /// "剩 1天3小时" / "已逾期 5小时"; empty when the clock is not running.
    pub left: String,
    pub urgency: Urgency,
    pub provisional: bool,
    pub due: String,
    pub due_day: Option<String>,
    pub limit: String,
    pub started: String,
    /// For stopped clocks: met or missed.
    pub met: Option<bool>,
    pub breached: bool,
    /// For sorting: the due instant.
    #[serde(skip)]
    pub due_at: Option<jiff::Timestamp>,
}

/// The time left of a running clock in words.
pub fn time_left(seconds: i64, lang: Lang) -> String {
    let over = seconds < 0;
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    let prefix = if over { "clock.over" } else { "clock.left" };
    let (suffix, args): (&str, Vec<(&str, String)>) = if d > 0 && h > 0 {
        (
            "days_hours",
            vec![("d", d.to_string()), ("h", h.to_string())],
        )
    } else if d > 0 {
        ("days", vec![("d", d.to_string())])
    } else if h > 0 && m > 0 {
        (
            "hours_minutes",
            vec![("h", h.to_string()), ("m", m.to_string())],
        )
    } else if h > 0 {
        ("hours", vec![("h", h.to_string())])
    } else {
        ("minutes", vec![("m", m.max(1).to_string())])
    };
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tr_with(lang, &format!("{prefix}.{suffix}"), &args)
}

/// The clock's whole limit in seconds of clock time, from the limit as the API writes it
/// (`"2 working days"`), for the 20 % rule; `None` for units without a fixed length.
fn limit_seconds(limit: &str) -> Option<i64> {
    let (count, unit) = limit.trim().split_once(' ')?;
    let count: i64 = count.parse().ok()?;
    let unit_secs = match unit.trim() {
        "working days" | "calendar days" => 86_400,
        "hours" | "business hours" => 3_600,
        "minutes" | "business minutes" => 60,
        _ => return None,
    };
    Some(count * unit_secs)
}

/// A limit as the API writes it (`"2 working days"`) in `lang` ("2个工作日").
pub fn limit_text(limit: &str, lang: Lang) -> String {
    let Some((count, unit)) = limit.trim().split_once(' ') else {
        return limit.to_owned();
    };
    let key = match unit.trim() {
        "working days" => "limit.working_days",
        "calendar days" => "limit.calendar_days",
        "hours" => "limit.hours",
        "minutes" => "limit.minutes",
        "business hours" => "limit.business_hours",
        "business minutes" => "limit.business_minutes",
        _ => return limit.to_owned(),
    };
    tr_with(lang, key, &[("n", count)])
}

/// The due instant as people read it: the end of a day period is "2026-12-01 24:00" (the
/// end of the due day, 民法典 第二百零三条), not the next day's 00:00.
fn due_text(due: &str, due_day: Option<&str>) -> String {
    let local = local_time(due);
    if let Some(day) = due_day
        && let Ok(d) = day.parse::<jiff::civil::Date>()
        && let Ok(next) = d.tomorrow()
        && local == format!("{next} 00:00")
    {
        return format!("{d} 24:00");
    }
    local
}

/// What a case's clocks say when none is running: paused, or stopped in time or late.
pub fn clock_note(clocks: &[ClockBody], lang: Lang) -> Option<String> {
    use manyi_core::deadlines::ClockStatus;
    if clocks.iter().any(|c| c.status == ClockStatus::Running) {
        return None;
    }
    let c = clocks.first()?;
    let key = match (c.status, c.met) {
        (ClockStatus::Paused, _) => "clock.paused",
        (_, Some(true)) => "clock.met",
        (_, Some(false)) => "clock.missed",
        _ => "clock.stopped",
    };
    Some(tr(lang, key).to_owned())
}

/// Presents one clock of a case.
pub fn clock_view(c: &ClockBody, lang: Lang) -> ClockView {
    let running = matches!(c.status, manyi_core::deadlines::ClockStatus::Running);
    let status = match c.status {
        manyi_core::deadlines::ClockStatus::Running => "clock.running",
        manyi_core::deadlines::ClockStatus::Paused => "clock.paused",
        manyi_core::deadlines::ClockStatus::Stopped => "clock.stopped",
    };
    let urgency = match c.remaining_seconds {
        _ if c.overdue => Urgency::Overdue,
        Some(s) if s < 0 => Urgency::Overdue,
        Some(s) => {
            let fifth = limit_seconds(&c.limit).map(|total| total / 5);
            if s < 4 * 3_600 || fifth.is_some_and(|f| s < f) || c.warned {
                Urgency::Soon
            } else {
                Urgency::Ok
            }
        }
        None => Urgency::Ok,
    };
    ClockView {
        label: c.label.clone(),
        clause: c.clause.clone(),
        status,
        left: match (running, c.remaining_seconds) {
            (true, Some(s)) => time_left(s, lang),
            _ => String::new(),
        },
        urgency: if running { urgency } else { Urgency::Ok },
        provisional: c.provisional,
        due: due_text(&c.due, c.due_day.as_deref()),
        due_day: c.due_day.clone(),
        limit: limit_text(&c.limit, lang),
        started: local_time(&c.started_at),
        met: c.met,
        breached: c.breached_at.is_some(),
        due_at: c.due.parse().ok(),
    }
}

/// The running clock that is due first, if any.
pub fn first_running(clocks: &[ClockBody], lang: Lang) -> Option<ClockView> {
    clocks
        .iter()
        .filter(|c| matches!(c.status, manyi_core::deadlines::ClockStatus::Running))
        .map(|c| clock_view(c, lang))
        .min_by_key(|c| c.due_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_a_person_says_it() {
        assert_eq!(time_left(86_400 + 3 * 3_600 + 59, Lang::Zh), "剩 1天3小时");
        assert_eq!(time_left(-5 * 3_600, Lang::Zh), "已逾期 5小时");
        assert_eq!(time_left(2 * 86_400, Lang::Zh), "剩 2天");
        assert_eq!(time_left(3 * 3_600 + 20 * 60, Lang::Zh), "剩 3小时20分");
        assert_eq!(time_left(30, Lang::Zh), "剩 1分钟");
        assert_eq!(time_left(-90 * 60, Lang::En), "overdue 1 h 30 min");
    }

    #[test]
    fn a_day_period_ends_at_24_00_of_its_last_day() {
        assert_eq!(
            due_text("2026-12-02T00:00:00+08:00", Some("2026-12-01")),
            "2026-12-01 24:00"
        );
        assert_eq!(
            due_text("2026-12-02T10:05:00+08:00", None),
            "2026-12-02 10:05"
        );
        assert_eq!(limit_text("2 working days", Lang::Zh), "2个工作日");
    }

    #[test]
    fn the_limit_is_read_back_from_its_display() {
        let d: manyi_core::calendar::Duration = "2 workdays".parse().expect("a duration");
        assert_eq!(limit_seconds(&d.to_string()), Some(2 * 86_400));
        let d: manyi_core::calendar::Duration = "5 minutes".parse().expect("a duration");
        assert_eq!(limit_seconds(&d.to_string()), Some(300));
    }
}
