//! Monthly statistics: which month a query means, the on-time statuses a case is counted
//! under, and the totals of a table of counts.
//!
//! The counts themselves are kept by the store (a table maintained by database triggers); this
//! module only says what they mean, so that the API, the CLI and the tests agree.
//!
//! **On time.** A case is *late* once any of its clocks has breached — once a
//! `clock_breached` event is in its log, which the deadline scheduler writes at the due instant
//! (or at start-up, for a deadline that passed while manyi was down). The log, not the
//! clock's current state, decides: a clock restarted after a hand-up starts clean, but the case
//! was late. So a case is counted under exactly one of [`OnTime`]'s four statuses, from two
//! facts: closed or not, breached ever or not.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;

/// The on-time status a case is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OnTime {
    /// Open, no clock ever breached (在办未超时).
    OpenOnTime,
    /// Open, a clock has breached (在办已超时).
    OpenOverdue,
    /// Closed, no clock ever breached (按时办结).
    ClosedOnTime,
    /// Closed, a clock breached at some point (超时办结).
    ClosedLate,
}

impl OnTime {
    /// Every status, in report order.
    pub const ALL: [OnTime; 4] = [
        OnTime::OpenOnTime,
        OnTime::OpenOverdue,
        OnTime::ClosedOnTime,
        OnTime::ClosedLate,
    ];

    /// The rule: from whether the case is closed and whether any clock of it ever breached.
    pub fn of(closed: bool, breached: bool) -> OnTime {
        match (closed, breached) {
            (false, false) => OnTime::OpenOnTime,
            (false, true) => OnTime::OpenOverdue,
            (true, false) => OnTime::ClosedOnTime,
            (true, true) => OnTime::ClosedLate,
        }
    }

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnTime::OpenOnTime => "open_on_time",
            OnTime::OpenOverdue => "open_overdue",
            OnTime::ClosedOnTime => "closed_on_time",
            OnTime::ClosedLate => "closed_late",
        }
    }

    /// The Chinese label for reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            OnTime::OpenOnTime => "在办未超时",
            OnTime::OpenOverdue => "在办已超时",
            OnTime::ClosedOnTime => "按时办结",
            OnTime::ClosedLate => "超时办结",
        }
    }

    pub fn parse(s: &str) -> Option<OnTime> {
        OnTime::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A calendar month in Asia/Shanghai, e.g. `2026-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    first: Date,
}

impl Month {
    /// Parses `YYYY-MM` (exactly: four digits, a hyphen, two digits; years 1992–9998, since
    /// the fixed +08:00 offset is right only after China's last daylight-saving time, 1991).
    /// The error names the value and the rule.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("month `{s}`: expected YYYY-MM, e.g. 2026-03");
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i16 = s[..4].parse().map_err(|_| bad())?;
        let month: i8 = s[5..].parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(format!("month `{s}`: the month must be 01–12"));
        }
        if !(1992..=9998).contains(&year) {
            return Err(format!("month `{s}`: the year must be 1992–9998"));
        }
        let first = Date::new(year, month, 1).map_err(|_| bad())?;
        Ok(Month { first })
    }

    /// The month an instant falls in, in Asia/Shanghai.
    pub fn of(t: Timestamp) -> Month {
        let d = t.to_zoned_datetime(crate::china_tz()).date();
        Month {
            first: d.first_of_month(),
        }
    }

    /// `[start, end)`: from 00:00 on the 1st to 00:00 on the 1st of the next month, +08:00.
    pub fn bounds(self) -> (Timestamp, Timestamp) {
        let at = |d: Date| {
            d.to_zoned_datetime(crate::china_tz())
                .map(|z| z.timestamp())
                // Both ends are midnights of years 1992–9999 at a fixed offset: in range.
                .unwrap_or(Timestamp::MAX)
        };
        let next = self.first.last_of_month().tomorrow().unwrap_or(Date::MAX);
        (at(self.first), at(next))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// One count: cases of a unit, category and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub unit: String,
    /// `None` while the case has no category yet.
    pub category: Option<String>,
    pub status: OnTime,
    pub cases: i64,
}

/// The sums of a table of counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub cases: i64,
    pub by_status: BTreeMap<&'static str, i64>,
    /// By category; uncategorised cases under `""`.
    pub by_category: BTreeMap<String, i64>,
    pub by_unit: BTreeMap<String, i64>,
    /// Closed on time / all closed, when any is closed.
    pub on_time_rate: Option<f64>,
}

/// Sums the counts; every status appears in `by_status`, with 0 if it has none.
pub fn totals(counts: &[Count]) -> Totals {
    let mut t = Totals {
        by_status: OnTime::ALL.iter().map(|s| (s.as_str(), 0)).collect(),
        ..Totals::default()
    };
    for c in counts {
        t.cases += c.cases;
        *t.by_status.entry(c.status.as_str()).or_default() += c.cases;
        *t.by_category
            .entry(c.category.clone().unwrap_or_default())
            .or_default() += c.cases;
        *t.by_unit.entry(c.unit.clone()).or_default() += c.cases;
    }
    let on_time = t.by_status[OnTime::ClosedOnTime.as_str()];
    let closed = on_time + t.by_status[OnTime::ClosedLate.as_str()];
    #[expect(
        clippy::cast_precision_loss,
        reason = "a ratio of counts far below 2^52"
    )]
    if closed > 0 {
        t.on_time_rate = Some(on_time as f64 / closed as f64);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("an instant")
    }

    #[test]
    fn a_month_runs_from_midnight_to_midnight_in_beijing() {
        let m = Month::parse("2026-03").expect("a month");
        assert_eq!(m.to_string(), "2026-03");
        assert_eq!(
            m.bounds(),
            (ts("2026-02-28T16:00:00Z"), ts("2026-03-31T16:00:00Z"))
        );
        let dec = Month::parse("2026-12").expect("a month").bounds();
        assert_eq!(dec.1, ts("2026-12-31T16:00:00Z"));
        // 23:59 on 31 March in Beijing is March; 00:00 on 1 April is April.
        assert_eq!(Month::of(ts("2026-03-31T15:59:59Z")), m);
        assert_eq!(Month::of(ts("2026-03-31T16:00:00Z")).to_string(), "2026-04");
        assert_eq!(Month::of(ts("2026-02-28T16:00:00Z")), m);
    }

    #[test]
    fn a_malformed_month_is_refused_naming_the_value() {
        for bad in [
            "2026-3",
            "2026/03",
            "26-03",
            "2026-13",
            "2026-00",
            "",
            "2026-03x",
            "1980-01",
            "２０２６-03",
        ] {
            let e = Month::parse(bad).expect_err(bad);
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn a_case_is_late_once_any_clock_breached() {
        assert_eq!(OnTime::of(false, false), OnTime::OpenOnTime);
        assert_eq!(OnTime::of(false, true), OnTime::OpenOverdue);
        assert_eq!(OnTime::of(true, false), OnTime::ClosedOnTime);
        assert_eq!(OnTime::of(true, true), OnTime::ClosedLate);
        for s in OnTime::ALL {
            assert_eq!(OnTime::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn totals_sum_every_way() {
        let c = |unit: &str, cat: Option<&str>, status, cases| Count {
            unit: unit.into(),
            category: cat.map(Into::into),
            status,
            cases,
        };
        let t = totals(&[
            c("A", Some("attitude"), OnTime::ClosedOnTime, 3),
            c("A", None, OnTime::OpenOnTime, 2),
            c("B", Some("attitude"), OnTime::ClosedLate, 1),
        ]);
        assert_eq!(t.cases, 6);
        assert_eq!(t.by_status["closed_on_time"], 3);
        assert_eq!(t.by_status["open_overdue"], 0);
        assert_eq!(t.by_category["attitude"], 4);
        assert_eq!(t.by_category[""], 2);
        assert_eq!(t.by_unit["B"], 1);
        assert_eq!(t.on_time_rate, Some(0.75));
        assert_eq!(totals(&[]).on_time_rate, None);
    }
}
