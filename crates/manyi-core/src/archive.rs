//! Archive (归档) and need-to-know access to archived cases.
//!
//! ccb-counter 第二十二条 (做好客户投诉档案管理), regional-complaint 四(四) (存档…分权限查阅) and
//! lawfirm 三(一) (按年度建立案宗): a closed case becomes a read-only archive entry once the
//! period the policy sets has passed, filed by the year it was closed in. Archiving is derived,
//! not stored: a case *is* archived when it is closed and `closed_at + after <= now`, so no
//! scheduler has to run for it and every reader agrees on the same instant. Reading an archived
//! case needs one of the policy's reader roles (CLAUSES.md A25), or being its first-contact
//! owner when the policy allows it; the shell logs every read.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::calendar::Duration;
use crate::case::Case;
use crate::engine::{Refusal, RefusalReason};

/// `[kind.<id>.archive]`: when a closed case is archived and who may read it then.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveRule {
    /// How long after closing the case is archived: calendar days (the closing day not
    /// counted: archived at 24:00 of the N-th day), hours or minutes.
    pub after: Duration,
    /// Roles that may read an archived case (within their jurisdiction).
    pub readers: Vec<String>,
    /// Whether the first-contact owner keeps reading it (A20: the intake owner archives).
    pub first_contact_reads: bool,
    pub clause: String,
}

/// A case's archive entry, when it is archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveEntry {
    pub archived_at: Timestamp,
    /// The year it is filed under (按年度建立案宗): the year it was closed, Asia/Shanghai.
    pub year: i16,
    /// `YYYY-<case number>`.
    pub reference: String,
    pub clause: String,
}

/// When a closed case closed: the recorded instant, or (for cases closed before it was
/// recorded) the last change.
pub fn closed_at(case: &Case) -> Option<Timestamp> {
    case.closed
        .then(|| case.closed_at.unwrap_or(case.updated_at))
}

/// The instant a closed case is (or will be) archived under `rule`.
pub fn archive_instant(rule: &ArchiveRule, closed_at: Timestamp) -> Timestamp {
    match rule.after {
        Duration::Hours(n) | Duration::BusinessHours(n) => closed_at
            .saturating_add(SignedDuration::from_hours(i64::from(n)))
            .unwrap_or(Timestamp::MAX),
        Duration::Minutes(n) | Duration::BusinessMinutes(n) => closed_at
            .saturating_add(SignedDuration::from_mins(i64::from(n)))
            .unwrap_or(Timestamp::MAX),
        // Calendar (and, read as calendar, working) days: the closing day is not counted; the
        // period ends at 24:00 of the N-th day (Civil Code art. 201).
        Duration::CalendarDays(n) | Duration::WorkingDays(n) => {
            // Asia/Shanghai is a fixed +08:00 (see `china_tz`): local midnights are whole days
            // from the epoch, shifted by eight hours.
            const OFFSET: i64 = 8 * 3600;
            let day = (closed_at.as_second() + OFFSET).div_euclid(86_400);
            let end = (day + i64::from(n) + 1) * 86_400 - OFFSET;
            Timestamp::from_second(end).unwrap_or(Timestamp::MAX)
        }
    }
}

/// The case's archive entry at `now`, if it is archived.
pub fn entry(rule: &ArchiveRule, case: &Case, now: Timestamp) -> Option<ArchiveEntry> {
    let closed = closed_at(case)?;
    let at = archive_instant(rule, closed);
    if now < at {
        return None;
    }
    let year = closed.to_zoned_datetime(crate::china_tz()).year();
    Some(ArchiveEntry {
        archived_at: at,
        year,
        reference: format!("{year}-{}", case.number),
        clause: rule.clause.clone(),
    })
}

/// Refuses any transition of an archived case (it is read-only), naming the clause.
pub fn check_writable(
    rule: Option<&ArchiveRule>,
    case: &Case,
    now: Timestamp,
) -> Result<(), Refusal> {
    let Some(entry) = rule.and_then(|r| entry(r, case, now)) else {
        return Ok(());
    };
    Err(Refusal::new(
        RefusalReason::Archived,
        Some(&entry.clause),
        format!(
            "案件{}已归档（档案号 {}），只读，不能再办理",
            case.number, entry.reference
        ),
        format!(
            "case {} is archived (reference {}) and read-only: no action may be taken",
            case.number, entry.reference
        ),
    ))
}

/// Whether a person may read an archived case (need-to-know, CLAUSES.md A25): a holder of a
/// reader role, or the first-contact owner when the rule allows it. The caller has already
/// checked jurisdiction; `admin` administers the system and reads no archive by that alone.
pub fn may_read(
    rule: &ArchiveRule,
    case: &Case,
    user_id: i64,
    roles: &[String],
) -> Result<(), Refusal> {
    if rule.first_contact_reads && case.first_contact.id == user_id {
        return Ok(());
    }
    if roles.iter().any(|r| rule.readers.contains(r)) {
        return Ok(());
    }
    Err(Refusal::new(
        RefusalReason::RoleNotAllowed,
        Some(&rule.clause),
        format!(
            "案件{}已归档，只有{}可以查阅",
            case.number,
            readers_zh(rule)
        ),
        format!(
            "case {} is archived: only {} may read it",
            case.number,
            readers_en(rule)
        ),
    ))
}

fn readers_zh(rule: &ArchiveRule) -> String {
    let mut who = rule.readers.join("、");
    if rule.first_contact_reads {
        if !who.is_empty() {
            who.push('或');
        }
        who.push_str("首问负责人");
    }
    who
}

fn readers_en(rule: &ArchiveRule) -> String {
    let mut who = rule.readers.join(", ");
    if rule.first_contact_reads {
        if !who.is_empty() {
            who.push_str(" or ");
        }
        who.push_str("the first-contact owner");
    }
    who
}

/// One line for `policy explain`.
pub fn explain(rule: &ArchiveRule) -> String {
    format!(
        "归档: a closed case is archived (read-only, filed by year) {} after closing; read by {}; every read logged",
        rule.after,
        readers_en(rule)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("instant")
    }

    fn rule(after: &str) -> ArchiveRule {
        ArchiveRule {
            after: after.parse().expect("duration"),
            readers: vec!["service_mgmt".into()],
            first_contact_reads: true,
            clause: "第二十二条".into(),
        }
    }

    #[test]
    fn calendar_days_do_not_count_the_closing_day_and_end_at_local_midnight() {
        let closed = t("2026-03-10T23:30:00+08:00");
        assert_eq!(
            archive_instant(&rule("30 days"), closed),
            t("2026-04-10T00:00:00+08:00")
        );
        // Just after local midnight is the next day in Asia/Shanghai, though still the 10th UTC.
        let closed = t("2026-03-11T00:10:00+08:00");
        assert_eq!(
            archive_instant(&rule("1 days"), closed),
            t("2026-03-13T00:00:00+08:00")
        );
        assert_eq!(
            archive_instant(&rule("2 hours"), closed),
            t("2026-03-11T02:10:00+08:00")
        );
    }

    #[test]
    fn readers_and_the_first_contact_may_read_others_are_refused_naming_the_clause() {
        let r = rule("30 days");
        let now = t("2026-03-10T10:00:00+08:00");
        let person = crate::case::PersonRef {
            id: 7,
            login: "teller".into(),
            name: "柜员".into(),
        };
        let case = Case {
            number: "CCB2026000001".into(),
            kind: "complaint".into(),
            policy_id: "ccb-counter".into(),
            policy_version: 1,
            state: "closed".into(),
            channel: "counter".into(),
            owner_unit: crate::org::UnitRef::from_path(1, "O1", "网点", "outlet", "/1/"),
            first_contact: person.clone(),
            assignee: Some(person),
            fields: Default::default(),
            created_at: now,
            updated_at: now,
            closed: true,
            closed_at: Some(now),
            version: 4,
            clocks: Default::default(),
            callbacks: Vec::new(),
            assists: Vec::new(),
            disputes: Vec::new(),
        };
        let entry = entry(&r, &case, t("2026-04-10T00:00:00+08:00")).expect("archived");
        assert_eq!(entry.reference, "2026-CCB2026000001");
        assert!(super::entry(&r, &case, t("2026-04-09T23:59:59+08:00")).is_none());
        assert!(may_read(&r, &case, 7, &[]).is_ok());
        assert!(may_read(&r, &case, 8, &["service_mgmt".into()]).is_ok());
        let refusal = may_read(&r, &case, 8, &["teller".into()]).expect_err("refused");
        assert_eq!(refusal.reason, RefusalReason::RoleNotAllowed);
        assert_eq!(refusal.clause.as_deref(), Some("第二十二条"));
        let r = ArchiveRule {
            first_contact_reads: false,
            ..r
        };
        assert!(may_read(&r, &case, 7, &[]).is_err());
    }
}
