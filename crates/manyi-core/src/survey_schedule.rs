//! Routine surveys started by a schedule (sht-bigcustomer 5.1.3 "大客户服务质量常态调查",
//! csg-custservice 2.1.8): a kind's `[[kind.<id>.survey.schedule]]` says which customers are
//! surveyed (the complainants of cases closed in the period, or a sample of N per unit) and how
//! often (monthly, quarterly, or left to the organisation's configuration, CLAUSES.md A16).
//!
//! This module is the pure part: the periods (Asia/Shanghai, a fixed UTC+8), which round is
//! due at an instant, which cases a round surveys and the state shown to the service
//! department. Claiming a round exactly once and issuing its links is the shell's.

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// How often a routine survey runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Monthly,
    Quarterly,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "monthly" => Some(Period::Monthly),
            "quarterly" => Some(Period::Quarterly),
            _ => None,
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            Period::Monthly => "monthly",
            Period::Quarterly => "quarterly",
        }
    }

    fn months(self) -> i8 {
        match self {
            Period::Monthly => 1,
            Period::Quarterly => 3,
        }
    }
}

/// The period as the policy gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSetting {
    Fixed(Period),
    /// `period = "configured"`: the regulation gives none ("常态", "定期"); the organisation
    /// sets it (`PUT /api/v1/survey-schedules/{kind}/{id}`). Until then nothing runs and the
    /// schedule shows "period not configured".
    Configured,
}

/// Which customers a round surveys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Customers {
    /// The complainant of every case of the kind closed in the period.
    ClosedInPeriod,
    /// Of those, at most N per owning unit, picked by a hash of the case number and the round
    /// (reproducible, and not always the same cases first).
    SamplePerUnit(u32),
}

/// A `[[kind.<id>.survey.schedule]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRule {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub clause: String,
    pub period: PeriodSetting,
    pub customers: Customers,
}

/// The identity of a schedule across policy versions: `<policy>/<kind>/<id>` (two policies may
/// both have a `complaint` kind).
pub fn schedule_key(policy: &str, kind: &str, id: &str) -> String {
    format!("{policy}/{kind}/{id}")
}

/// One period's round: its key (`2026-10`, `2026-Q3`) and the instants it covers, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    pub key: String,
    pub from: Timestamp,
    pub to: Timestamp,
}

fn china() -> TimeZone {
    TimeZone::fixed(Offset::constant(8))
}

/// The first day of the period containing `day`.
fn period_start(period: Period, day: Date) -> Date {
    let m = day.month();
    let first_month = m - (m - 1) % period.months();
    Date::new(day.year(), first_month, 1).unwrap_or(day)
}

fn start_instant(day: Date) -> Timestamp {
    china()
        .to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
        .unwrap_or(Timestamp::MIN)
}

fn key_of(period: Period, start: Date) -> String {
    match period {
        Period::Monthly => format!("{:04}-{:02}", start.year(), start.month()),
        Period::Quarterly => format!("{:04}-Q{}", start.year(), (start.month() - 1) / 3 + 1),
    }
}

/// The key of the period containing `at` (`2026-10`, `2026-Q4`), in China time: what results
/// `by=month` / `by=quarter` group by.
pub fn period_key(period: Period, at: Timestamp) -> String {
    let day = Offset::constant(8).to_datetime(at).date();
    key_of(period, period_start(period, day))
}

/// The round due at `now`: the last complete period before it (in October, monthly: September).
pub fn due_round(period: Period, now: Timestamp) -> Round {
    let today = Offset::constant(8).to_datetime(now).date();
    let current = period_start(period, today);
    let previous = current
        .checked_sub(period.months().months())
        .unwrap_or(current);
    Round {
        key: key_of(period, previous),
        from: start_instant(previous),
        to: start_instant(current),
    }
}

/// When the round after the one due at `now` falls due: the start of the next period.
pub fn next_run(period: Period, now: Timestamp) -> Timestamp {
    let today = Offset::constant(8).to_datetime(now).date();
    let current = period_start(period, today);
    start_instant(
        current
            .checked_add(period.months().months())
            .unwrap_or(current),
    )
}

/// The period in force: the policy's, else the organisation's configuration.
pub fn effective_period(setting: PeriodSetting, configured: Option<Period>) -> Option<Period> {
    match setting {
        PeriodSetting::Fixed(p) => Some(p),
        PeriodSetting::Configured => configured,
    }
}

/// A schedule's state as the service department sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleState {
    /// The policy leaves the period to the organisation and none is set: nothing runs.
    NotConfigured,
    /// The round `round` is due and has not run (the scheduler runs it on its next tick).
    Due { round: Round },
    /// The due round has run; the next falls due at `next_run`.
    UpToDate { next_run: Timestamp },
}

/// The state of a schedule at `now`, given the rounds it has run (their keys).
pub fn state(period: Option<Period>, ran: &[String], now: Timestamp) -> ScheduleState {
    let Some(period) = period else {
        return ScheduleState::NotConfigured;
    };
    let round = due_round(period, now);
    if ran.contains(&round.key) {
        ScheduleState::UpToDate {
            next_run: next_run(period, now),
        }
    } else {
        ScheduleState::Due { round }
    }
}

/// A case a round may survey: its owning unit and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub unit_id: i64,
    pub number: String,
}

/// FNV-1a, 64 bits: a stable hash (the std hasher may change between releases), so that the
/// sample of a round is the same on every instance and every run.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The indexes into `candidates` that round `round_key` surveys, in input order.
pub fn pick(customers: Customers, round_key: &str, candidates: &[Candidate]) -> Vec<usize> {
    match customers {
        Customers::ClosedInPeriod => (0..candidates.len()).collect(),
        Customers::SamplePerUnit(n) => {
            let mut order: Vec<(i64, u64, &str, usize)> = candidates
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let h = fnv(format!("{round_key}\u{0}{}", c.number).as_bytes());
                    (c.unit_id, h, c.number.as_str(), i)
                })
                .collect();
            order.sort_unstable();
            let mut out = Vec::new();
            let mut unit = None;
            let mut taken = 0u32;
            for (u, _, _, i) in order {
                if unit != Some(u) {
                    unit = Some(u);
                    taken = 0;
                }
                if taken < n {
                    out.push(i);
                    taken += 1;
                }
            }
            out.sort_unstable();
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_due_round_is_the_last_complete_period_in_china_time() {
        let r = due_round(Period::Monthly, at("2026-11-27T10:00:00Z"));
        assert_eq!(r.key, "2026-10");
        assert_eq!(r.from, at("2026-09-30T16:00:00Z"));
        assert_eq!(r.to, at("2026-10-31T16:00:00Z"));
        // 1 December 00:30 in Shanghai is still 30 November in UTC: November is complete.
        assert_eq!(
            due_round(Period::Monthly, at("2026-11-30T16:30:00Z")).key,
            "2026-11"
        );
        // January: the previous year's December.
        assert_eq!(
            due_round(Period::Monthly, at("2027-01-05T00:00:00Z")).key,
            "2026-12"
        );
        let q = due_round(Period::Quarterly, at("2026-11-27T10:00:00Z"));
        assert_eq!(q.key, "2026-Q3");
        assert_eq!(q.from, at("2026-06-30T16:00:00Z"));
        assert_eq!(q.to, at("2026-09-30T16:00:00Z"));
        assert_eq!(
            due_round(Period::Quarterly, at("2027-02-01T00:00:00Z")).key,
            "2026-Q4"
        );
        assert_eq!(
            period_key(Period::Monthly, at("2026-10-31T16:00:00Z")),
            "2026-11"
        );
        assert_eq!(
            period_key(Period::Quarterly, at("2026-10-31T15:59:59Z")),
            "2026-Q4"
        );
        assert_eq!(
            next_run(Period::Quarterly, at("2026-11-27T10:00:00Z")),
            at("2026-12-31T16:00:00Z")
        );
        assert_eq!(
            next_run(Period::Monthly, at("2026-12-27T10:00:00Z")),
            at("2026-12-31T16:00:00Z")
        );
    }

    #[test]
    fn a_configured_period_not_set_is_shown_not_passed() {
        assert_eq!(
            effective_period(PeriodSetting::Configured, None),
            None,
            "no built-in period (CLAUSES.md A16)"
        );
        assert_eq!(
            state(None, &[], at("2026-11-27T10:00:00Z")),
            ScheduleState::NotConfigured
        );
        assert_eq!(
            effective_period(PeriodSetting::Configured, Some(Period::Monthly)),
            Some(Period::Monthly)
        );
        assert_eq!(
            effective_period(
                PeriodSetting::Fixed(Period::Quarterly),
                Some(Period::Monthly)
            ),
            Some(Period::Quarterly),
            "the policy's period wins over the configuration"
        );
    }

    #[test]
    fn a_round_is_due_until_it_has_run() {
        let now = at("2026-11-27T10:00:00Z");
        match state(Some(Period::Monthly), &["2026-09".into()], now) {
            ScheduleState::Due { round } => assert_eq!(round.key, "2026-10"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            state(Some(Period::Monthly), &["2026-10".into()], now),
            ScheduleState::UpToDate {
                next_run: at("2026-11-30T16:00:00Z")
            }
        );
    }

    #[test]
    fn a_sample_takes_at_most_n_per_unit_the_same_on_every_run() {
        let cands: Vec<Candidate> = (0..10)
            .map(|i| Candidate {
                unit_id: if i < 7 { 1 } else { 2 },
                number: format!("C{i:03}"),
            })
            .collect();
        let all = pick(Customers::ClosedInPeriod, "2026-10", &cands);
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let s = pick(Customers::SamplePerUnit(2), "2026-10", &cands);
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(s.iter().filter(|&&i| cands[i].unit_id == 1).count(), 2);
        assert_eq!(s.iter().filter(|&&i| cands[i].unit_id == 2).count(), 2);
        assert_eq!(s, pick(Customers::SamplePerUnit(2), "2026-10", &cands));
        // Another round picks by another hash: over a few rounds not always the same cases.
        let rounds: std::collections::BTreeSet<Vec<usize>> =
            ["2026-10", "2026-11", "2026-12", "2027-01"]
                .iter()
                .map(|k| pick(Customers::SamplePerUnit(2), k, &cands))
                .collect();
        assert!(rounds.len() > 1);
        assert!(pick(Customers::SamplePerUnit(0), "2026-10", &cands).is_empty());
    }
}
