//! Deadline arithmetic on a calendar seen through one unit's overlay.
//!
//! The rules themselves (what "N working days" means, the end of a day, the roll of a
//! calendar-day period, pause and resume) are stated in the module documentation of
//! [`crate::calendar`]; this file implements them. Internally every instant is an `i128` of
//! nanoseconds since the Unix epoch and every date a table index, so there is no rounding and
//! no overflow anywhere in the supported range.

use std::fmt;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::overlay::{EMPTY_OVERLAY, Overlay, OverlayError};
use super::table::{
    LEN, MAX_YEAR, MIN_YEAR, NANOS_PER_DAY, NANOS_PER_SECOND, OFFSET_NANOS, ORIGIN,
    date_of_epoch_day, date_of_index, index_of, split_local, weekday_of_epoch_day,
};
use super::{Calendar, DayKind};

/// Largest accepted count in a [`Duration`]. Regulations speak of days and months; 10 000 of
/// any unit is far beyond them, and the bound keeps every result inside the supported range
/// for realistic start dates.
pub const MAX_COUNT: u32 = 10_000;

/// A time limit as a regulation states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duration {
    /// N个工作日.
    WorkingDays(u32),
    /// N日 / N天.
    CalendarDays(u32),
    /// Elapsed hours.
    Hours(u32),
    /// Elapsed minutes.
    Minutes(u32),
    /// Hours of the unit's opening time on working days.
    BusinessHours(u32),
    /// Minutes of the unit's opening time on working days.
    BusinessMinutes(u32),
}

/// The unit of a [`Duration`], without its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    WorkingDays,
    CalendarDays,
    Hours,
    Minutes,
    BusinessHours,
    BusinessMinutes,
}

impl Duration {
    pub fn new(unit: DurationUnit, count: u32) -> Duration {
        match unit {
            DurationUnit::WorkingDays => Duration::WorkingDays(count),
            DurationUnit::CalendarDays => Duration::CalendarDays(count),
            DurationUnit::Hours => Duration::Hours(count),
            DurationUnit::Minutes => Duration::Minutes(count),
            DurationUnit::BusinessHours => Duration::BusinessHours(count),
            DurationUnit::BusinessMinutes => Duration::BusinessMinutes(count),
        }
    }

    pub fn count(self) -> u32 {
        match self {
            Duration::WorkingDays(n)
            | Duration::CalendarDays(n)
            | Duration::Hours(n)
            | Duration::Minutes(n)
            | Duration::BusinessHours(n)
            | Duration::BusinessMinutes(n) => n,
        }
    }

    pub fn unit(self) -> DurationUnit {
        match self {
            Duration::WorkingDays(_) => DurationUnit::WorkingDays,
            Duration::CalendarDays(_) => DurationUnit::CalendarDays,
            Duration::Hours(_) => DurationUnit::Hours,
            Duration::Minutes(_) => DurationUnit::Minutes,
            Duration::BusinessHours(_) => DurationUnit::BusinessHours,
            Duration::BusinessMinutes(_) => DurationUnit::BusinessMinutes,
        }
    }
}

impl DurationUnit {
    /// Units whose period ends at the end (or close of business) of a day.
    pub fn is_day_based(self) -> bool {
        matches!(self, DurationUnit::WorkingDays | DurationUnit::CalendarDays)
    }

    /// Units that count opening hours.
    pub fn needs_business_hours(self) -> bool {
        matches!(
            self,
            DurationUnit::BusinessHours | DurationUnit::BusinessMinutes
        )
    }

    fn name(self) -> &'static str {
        match self {
            DurationUnit::WorkingDays => "working days",
            DurationUnit::CalendarDays => "calendar days",
            DurationUnit::Hours => "hours",
            DurationUnit::Minutes => "minutes",
            DurationUnit::BusinessHours => "business hours",
            DurationUnit::BusinessMinutes => "business minutes",
        }
    }
}

impl DurationUnit {
    /// Reads a unit word as policies and the CLI write it: `workdays` / `working_days` / `wd` /
    /// `工作日`, `days` / `日` / `天`, `hours` / `小时`, `minutes` / `分钟`, `business_hours`,
    /// `business_minutes` (singular forms too).
    pub fn parse(word: &str) -> Option<DurationUnit> {
        Some(match word.trim() {
            "workdays" | "workday" | "working_days" | "working_day" | "working-days"
            | "working-day" | "wd" | "工作日" | "个工作日" => DurationUnit::WorkingDays,
            "days" | "day" | "calendar_days" | "calendar_day" | "日" | "天" => {
                DurationUnit::CalendarDays
            }
            "hours" | "hour" | "h" | "小时" | "个小时" => DurationUnit::Hours,
            "minutes" | "minute" | "min" | "分钟" => DurationUnit::Minutes,
            "business_hours" | "business_hour" | "营业小时" => DurationUnit::BusinessHours,
            "business_minutes" | "business_minute" | "营业分钟" => {
                DurationUnit::BusinessMinutes
            }
            _ => return None,
        })
    }
}

impl std::str::FromStr for Duration {
    type Err = String;

    /// `"1 workday"`, `"5 minutes"`, `"3 工作日"`, `"2个工作日"`: a count from 1 to
    /// [`MAX_COUNT`] and a unit word ([`DurationUnit::parse`]).
    fn from_str(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let digits = s.chars().take_while(char::is_ascii_digit).count();
        let (count, unit) = s.split_at(digits);
        let count: u32 = count.parse().map_err(|_| {
            format!("`{s}`: a time limit starts with a whole number, e.g. \"2 workdays\"")
        })?;
        if count == 0 || count > MAX_COUNT {
            return Err(format!("`{s}`: the count must be from 1 to {MAX_COUNT}"));
        }
        let unit = DurationUnit::parse(unit).ok_or_else(|| {
            format!(
                "`{s}`: unknown unit; use workdays, days, hours, minutes, business_hours or business_minutes"
            )
        })?;
        Ok(Duration::new(unit, count))
    }
}

impl fmt::Display for DurationUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count(), self.unit())
    }
}

/// A computed deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The instant the period ends. For day periods: the end of the last day (the next day's
    /// 00:00 +08:00) or its close of business.
    pub due: Timestamp,
    /// The instant the period's clock measure runs out, before the end-of-day rules; equal to
    /// `due` except for day periods. Pause/resume arithmetic starts from here.
    pub clock_end: Timestamp,
    /// The time limit this deadline implements.
    pub duration: Duration,
    /// Some examined day lies where the official notice is not loaded: computed on the
    /// Monday–Friday rule and to be recomputed when the data arrives.
    pub provisional: bool,
    /// [`CalendarView::version`] of the calendar used.
    pub calendar_version: String,
}

impl Deadline {
    /// The Asia/Shanghai date on which the deadline falls, reading 00:00 as the end of the
    /// previous day: a deadline due `2026-10-09T00:00+08:00` is due on 2026-10-08.
    pub fn due_day(&self) -> Date {
        end_day_of(self.due.as_nanosecond())
            .and_then(date_of_epoch_day)
            .unwrap_or_else(|| self.due.to_zoned_datetime(crate::china_tz()).date())
    }
}

/// Why a deadline could not be computed. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{duration}: the count must be a whole number from 1 to {MAX_COUNT}")]
    CountOutOfRange { duration: Duration },
    #[error("date {date} is outside the supported years {MIN_YEAR}..={MAX_YEAR}")]
    DateOutOfRange { date: Date },
    #[error("instant {instant} is outside the supported years {MIN_YEAR}..={MAX_YEAR}")]
    InstantOutOfRange { instant: Timestamp },
    #[error("the deadline would fall after the end of the supported range ({MAX_YEAR}-12-31)")]
    ResultOutOfRange,
    #[error(
        "{unit} need business hours, and this unit's calendar overlay defines none \
         (set business_hours in the overlay)"
    )]
    NoBusinessHours { unit: DurationUnit },
    #[error("the clock cannot resume at {resumed_at} before it paused at {paused_at}")]
    ResumeBeforePause {
        paused_at: Timestamp,
        resumed_at: Timestamp,
    },
    #[error("pause at {paused_at} starts before the previous pause ended or the clock started")]
    PausesOutOfOrder { paused_at: Timestamp },
    #[error("year {year} is outside the supported years {MIN_YEAR}..={MAX_YEAR}")]
    YearOutOfRange { year: i64 },
}

/// Opening intervals compiled to nanoseconds from local midnight.
#[derive(Debug, Clone)]
struct DayHours {
    weekdays: [Vec<(i128, i128)>; 5],
    weekend_as: usize,
}

/// The official calendar as one unit sees it: with the unit's overlay applied. Construct it
/// once per (calendar, overlay) and reuse it; construction sorts the overlay, queries are
/// O(log n).
#[derive(Debug, Clone)]
pub struct CalendarView<'a> {
    calendar: &'a Calendar,
    overlay: &'a Overlay,
    /// Table indices where the overlay changes the official answer, ascending.
    changes: Vec<u32>,
    /// `true` where the change opens a day, `false` where it closes one.
    opens: Vec<bool>,
    /// `net[k]` = days opened minus days closed among `changes[..k]`.
    net: Vec<i64>,
    /// Number of days the overlay opens / closes.
    opened: i64,
    closed: i64,
    hours: Option<DayHours>,
    version: String,
}

/// Nanoseconds since the Unix epoch of local (Asia/Shanghai) midnight starting table day `i`
/// (`i` may be `LEN`, the midnight ending the range).
fn start_of(i: i64) -> i128 {
    i128::from(ORIGIN + i) * NANOS_PER_DAY - OFFSET_NANOS
}

/// The epoch day on which an instant *ends* a day: 00:00 belongs to the day before.
fn end_day_of(ns: i128) -> Option<i64> {
    let (z, into) = split_local(ns.checked_add(OFFSET_NANOS)?);
    Some(if into == 0 { z - 1 } else { z })
}

fn timestamp(ns: i128) -> Result<Timestamp, CalendarError> {
    Timestamp::from_nanosecond(ns).map_err(|_| CalendarError::ResultOutOfRange)
}

fn unit_nanos(d: Duration) -> i128 {
    let n = i128::from(d.count());
    match d.unit() {
        DurationUnit::Hours | DurationUnit::BusinessHours => n * 3_600 * NANOS_PER_SECOND,
        DurationUnit::Minutes | DurationUnit::BusinessMinutes => n * 60 * NANOS_PER_SECOND,
        DurationUnit::WorkingDays | DurationUnit::CalendarDays => n * NANOS_PER_DAY,
    }
}

impl<'a> CalendarView<'a> {
    /// The calendar through `overlay`. Fails if the overlay is invalid.
    pub fn new(
        calendar: &'a Calendar,
        overlay: &'a Overlay,
    ) -> Result<CalendarView<'a>, OverlayError> {
        overlay.validate()?;
        let mut changed: Vec<(u32, bool)> = Vec::new();
        for (dates, open) in [(&overlay.closures, false), (&overlay.extra_workdays, true)] {
            for &date in dates {
                // `validate` checked the range, so `index_of` always succeeds here.
                if let Some(i) = index_of(date) {
                    // Only a real change counts: closing an official rest day changes nothing.
                    if calendar.table().get(i) != open {
                        changed.push((i, open));
                    }
                }
            }
        }
        changed.sort_unstable();
        changed.dedup();
        let mut net = Vec::with_capacity(changed.len() + 1);
        let mut sum = 0i64;
        net.push(0);
        for &(_, open) in &changed {
            sum += if open { 1 } else { -1 };
            net.push(sum);
        }
        let hours = overlay.business_hours.as_ref().map(|b| DayHours {
            weekdays: super::overlay::WorkWeekday::ALL.map(|d| {
                b.day(d)
                    .iter()
                    .map(|iv| {
                        (
                            i128::from(iv.start_minute()) * 60 * NANOS_PER_SECOND,
                            i128::from(iv.end_minute()) * 60 * NANOS_PER_SECOND,
                        )
                    })
                    .collect()
            }),
            weekend_as: b.weekend_workday_as.index(),
        });
        let version = if overlay.is_empty() {
            calendar.version().to_owned()
        } else {
            format!("{}+{:016x}", calendar.version(), overlay.content_hash())
        };
        Ok(CalendarView {
            calendar,
            overlay,
            changes: changed.iter().map(|c| c.0).collect(),
            opens: changed.iter().map(|c| c.1).collect(),
            opened: changed.iter().filter(|c| c.1).count() as i64,
            closed: changed.iter().filter(|c| !c.1).count() as i64,
            net,
            hours,
            version,
        })
    }

    pub(crate) fn official(calendar: &'a Calendar) -> CalendarView<'a> {
        CalendarView {
            calendar,
            overlay: &EMPTY_OVERLAY,
            changes: Vec::new(),
            opens: Vec::new(),
            net: vec![0],
            opened: 0,
            closed: 0,
            hours: None,
            version: calendar.version().to_owned(),
        }
    }

    pub fn calendar(&self) -> &'a Calendar {
        self.calendar
    }

    pub fn overlay(&self) -> &'a Overlay {
        self.overlay
    }

    /// The calendar version, plus `+` and the overlay's hash when the overlay is not empty:
    /// a deadline depends on both.
    pub fn version(&self) -> &str {
        &self.version
    }

    // ----- days -------------------------------------------------------------------------

    fn change_at(&self, i: u32) -> Option<bool> {
        self.changes.binary_search(&i).ok().map(|k| self.opens[k])
    }

    fn workday_at(&self, i: u32) -> bool {
        match self.change_at(i) {
            Some(open) => open,
            None => self.calendar.table().get(i),
        }
    }

    /// Working days at indices `0..=i`.
    fn rank(&self, i: u32) -> i64 {
        let official = i64::from(self.calendar.table().rank(i));
        if self.changes.is_empty() {
            official
        } else {
            official + self.net[self.changes.partition_point(|&c| c <= i)]
        }
    }

    /// Working days at indices `0..i` (0 for `i == 0`).
    fn rank_before(&self, i: i64) -> i64 {
        match u32::try_from(i - 1) {
            Ok(j) => self.rank(j),
            Err(_) => 0,
        }
    }

    /// The smallest index with `rank >= k`, i.e. the day of the k-th working day.
    fn select(&self, k: i64) -> Option<u32> {
        if k < 1 {
            return None;
        }
        if self.changes.is_empty() {
            return self.calendar.table().select(u32::try_from(k).ok()?);
        }
        let last = u32::try_from(LEN - 1).ok()?;
        if self.rank(last) < k {
            return None;
        }
        // rank = official rank + net change, and the net change up to any day lies in
        // [-closed, +opened]; so the answer lies between the official selects of
        // k - opened and k + closed. With a typical overlay that is a few weeks, not the
        // whole table.
        let table = self.calendar.table();
        let official_select = |x: i64| u32::try_from(x).ok().and_then(|x| table.select(x));
        let lo = official_select(k - self.opened).unwrap_or(0);
        let hi = official_select(k + self.closed).unwrap_or(last);
        let (mut lo, mut hi) = (lo.min(last), hi.min(last));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.rank(mid) >= k {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(lo)
    }

    /// `i` if it is a working day, else the next working day.
    fn workday_on_or_after(&self, i: u32) -> Result<u32, CalendarError> {
        if self.workday_at(i) {
            Ok(i)
        } else {
            self.select(self.rank(i) + 1)
                .ok_or(CalendarError::ResultOutOfRange)
        }
    }

    fn index(date: Date) -> Result<u32, CalendarError> {
        index_of(date).ok_or(CalendarError::DateOutOfRange { date })
    }

    /// Whether `date` is a working day for this unit. Outside the supported range the
    /// Monday–Friday rule applies.
    pub fn is_workday(&self, date: Date) -> bool {
        match index_of(date) {
            Some(i) => self.workday_at(i),
            None => self.calendar.is_workday(date),
        }
    }

    /// The kind of `date` for this unit: the overlay's changes, else the official kind.
    pub fn day_kind(&self, date: Date) -> DayKind {
        match index_of(date).and_then(|i| self.change_at(i)) {
            Some(true) => DayKind::OrgWorkday,
            Some(false) => DayKind::OrgClosure,
            None => self.calendar.day_kind(date),
        }
    }

    /// The N-th working day strictly after `date` (N from 1 to [`MAX_COUNT`]).
    pub fn add_working_days(&self, date: Date, n: u32) -> Result<Date, CalendarError> {
        check_count(Duration::WorkingDays(n))?;
        let i = Self::index(date)?;
        let due = self
            .select(self.rank(i) + i64::from(n))
            .ok_or(CalendarError::ResultOutOfRange)?;
        date_of_index(due).ok_or(CalendarError::ResultOutOfRange)
    }

    /// Working days strictly after `from` up to and including `to`; negative (the same count,
    /// negated) when `to` is before `from`.
    pub fn working_days_between(&self, from: Date, to: Date) -> Result<i64, CalendarError> {
        let (a, b) = (Self::index(from)?, Self::index(to)?);
        Ok(self.rank(b) - self.rank(a))
    }

    /// Whether every date in `from..=to` is settled (see [`Calendar::is_range_settled`]).
    pub fn is_range_settled(&self, from: Date, to: Date) -> bool {
        self.calendar.is_range_settled(from, to)
    }

    fn settled_indices(&self, from: i64, to: i64) -> bool {
        match (
            date_of_epoch_day(ORIGIN + from),
            date_of_epoch_day(ORIGIN + to),
        ) {
            (Some(a), Some(b)) => self.calendar.is_range_settled(a, b),
            _ => false,
        }
    }

    // ----- hours ------------------------------------------------------------------------

    /// Opening intervals of table day `i` (empty on a day that is not a working day).
    fn intervals_at(&self, i: u32) -> &[(i128, i128)] {
        let Some(hours) = &self.hours else {
            return &[];
        };
        if !self.workday_at(i) {
            return &[];
        }
        let wd = usize::from(weekday_of_epoch_day(ORIGIN + i64::from(i)));
        if wd < 5 {
            &hours.weekdays[wd]
        } else {
            &hours.weekdays[hours.weekend_as]
        }
    }

    /// The end of a period whose last day is table day `i`: close of business if business
    /// hours are set and the day has opening hours, else 24:00.
    fn day_deadline(&self, i: u32) -> i128 {
        match self.intervals_at(i).last() {
            Some(&(_, end)) => start_of(i64::from(i)) + end,
            None => start_of(i64::from(i) + 1),
        }
    }

    /// Table index of the local day containing `ns`, allowing `LEN` for the midnight that
    /// ends the range only when `allow_end`.
    fn day_of(ns: i128, allow_end: bool) -> Option<(i64, i128)> {
        let (z, into) = split_local(ns.checked_add(OFFSET_NANOS)?);
        let i = z - ORIGIN;
        let ok = (0..LEN).contains(&i) || (allow_end && i == LEN && into == 0);
        ok.then_some((i, into))
    }

    fn check_instant(t: Timestamp) -> Result<(i64, i128), CalendarError> {
        Self::day_of(t.as_nanosecond(), true).ok_or(CalendarError::InstantOutOfRange { instant: t })
    }

    // ----- clock measures ---------------------------------------------------------------

    /// Working-day time before `ns`: 24 h for each whole working day, plus the elapsed part
    /// of the current day if it is a working day.
    fn working_time_at(&self, ns: i128) -> Result<i128, CalendarError> {
        let (i, into) = Self::day_of(ns, true).ok_or(CalendarError::ResultOutOfRange)?;
        let before = i128::from(self.rank_before(i)) * NANOS_PER_DAY;
        let today = match u32::try_from(i) {
            Ok(j) if i < LEN && self.workday_at(j) => into,
            _ => 0,
        };
        Ok(before + today)
    }

    /// The earliest instant at which working-day time reaches `x` (> 0).
    fn working_time_inverse(&self, x: i128) -> Result<i128, CalendarError> {
        let whole = i64::try_from(x.div_euclid(NANOS_PER_DAY))
            .map_err(|_| CalendarError::ResultOutOfRange)?;
        let part = x.rem_euclid(NANOS_PER_DAY);
        if part == 0 {
            let day = self.select(whole).ok_or(CalendarError::ResultOutOfRange)?;
            Ok(start_of(i64::from(day) + 1))
        } else {
            let day = self
                .select(whole + 1)
                .ok_or(CalendarError::ResultOutOfRange)?;
            Ok(start_of(i64::from(day)) + part)
        }
    }

    /// Opening time between `a` and `b` (`a <= b`).
    fn business_between(&self, a: i128, b: i128) -> Result<i128, CalendarError> {
        let (ia, _) = Self::day_of(a, true).ok_or(CalendarError::ResultOutOfRange)?;
        let (ib, _) = Self::day_of(b, true).ok_or(CalendarError::ResultOutOfRange)?;
        let mut total = 0;
        for i in ia..=ib.min(LEN - 1) {
            let Ok(j) = u32::try_from(i) else { continue };
            let day = start_of(i);
            for &(s, e) in self.intervals_at(j) {
                let lo = (day + s).max(a);
                let hi = (day + e).min(b);
                if hi > lo {
                    total += hi - lo;
                }
            }
        }
        Ok(total)
    }

    /// The earliest instant after `from` with `amount` (> 0) of opening time since `from`.
    fn business_advance(&self, from: i128, mut amount: i128) -> Result<i128, CalendarError> {
        let (first, _) = Self::day_of(from, true).ok_or(CalendarError::ResultOutOfRange)?;
        for i in first..LEN {
            let Ok(j) = u32::try_from(i) else { continue };
            let day = start_of(i);
            for &(s, e) in self.intervals_at(j) {
                let lo = (day + s).max(from);
                let hi = day + e;
                if hi > lo {
                    if amount <= hi - lo {
                        return Ok(lo + amount);
                    }
                    amount -= hi - lo;
                }
            }
        }
        Err(CalendarError::ResultOutOfRange)
    }

    /// How much of a `unit` period elapses between `a` and `b` (`a <= b`).
    fn measure(&self, unit: DurationUnit, a: i128, b: i128) -> Result<i128, CalendarError> {
        match unit {
            DurationUnit::WorkingDays => Ok(self.working_time_at(b)? - self.working_time_at(a)?),
            DurationUnit::CalendarDays | DurationUnit::Hours | DurationUnit::Minutes => Ok(b - a),
            DurationUnit::BusinessHours | DurationUnit::BusinessMinutes => {
                self.business_between(a, b)
            }
        }
    }

    /// The earliest instant at or after `from` by which `amount` of `unit` has elapsed.
    fn advance(&self, unit: DurationUnit, from: i128, amount: i128) -> Result<i128, CalendarError> {
        if amount <= 0 {
            return Ok(from);
        }
        let t = match unit {
            DurationUnit::WorkingDays => {
                self.working_time_inverse(self.working_time_at(from)? + amount)?
            }
            DurationUnit::CalendarDays | DurationUnit::Hours | DurationUnit::Minutes => {
                from + amount
            }
            DurationUnit::BusinessHours | DurationUnit::BusinessMinutes => {
                self.business_advance(from, amount)?
            }
        };
        // Results must stay inside the table (the midnight ending it included).
        Self::day_of(t, true).ok_or(CalendarError::ResultOutOfRange)?;
        Ok(t)
    }

    fn require_hours(&self, unit: DurationUnit) -> Result<(), CalendarError> {
        if unit.needs_business_hours() && self.hours.is_none() {
            Err(CalendarError::NoBusinessHours { unit })
        } else {
            Ok(())
        }
    }

    /// The due instant and due day for a period whose measure runs out at `clock_end`.
    fn finish(&self, unit: DurationUnit, clock_end: i128) -> Result<(i128, i64), CalendarError> {
        let end_day = end_day_of(clock_end).ok_or(CalendarError::ResultOutOfRange)? - ORIGIN;
        if !unit.is_day_based() {
            return Ok((clock_end, end_day));
        }
        let last = u32::try_from(end_day)
            .ok()
            .filter(|&i| i64::from(i) < LEN)
            .ok_or(CalendarError::ResultOutOfRange)?;
        // For working days `last` is already a working day; for calendar days this is the
        // roll off a rest day.
        let due_day = self.workday_on_or_after(last)?;
        Ok((self.day_deadline(due_day), i64::from(due_day)))
    }

    // ----- deadlines --------------------------------------------------------------------

    /// The deadline of a period of `duration` starting at `start` (the receipt).
    pub fn add(&self, start: Timestamp, duration: Duration) -> Result<Deadline, CalendarError> {
        check_count(duration)?;
        let unit = duration.unit();
        self.require_hours(unit)?;
        let (receipt, _) = Self::check_instant(start)?;
        let start_ns = start.as_nanosecond();
        let (clock_end, first_examined) = match duration {
            Duration::WorkingDays(n) => {
                let receipt =
                    u32::try_from(receipt).map_err(|_| CalendarError::ResultOutOfRange)?;
                let day = self
                    .select(self.rank(receipt) + i64::from(n))
                    .ok_or(CalendarError::ResultOutOfRange)?;
                (start_of(i64::from(day) + 1), receipt.into())
            }
            Duration::CalendarDays(n) => {
                let last = receipt + i64::from(n);
                if last >= LEN {
                    return Err(CalendarError::ResultOutOfRange);
                }
                (start_of(last + 1), receipt)
            }
            Duration::Hours(_) | Duration::Minutes(_) => {
                (self.advance(unit, start_ns, unit_nanos(duration))?, receipt)
            }
            Duration::BusinessHours(_) | Duration::BusinessMinutes(_) => (
                self.advance(unit, start_ns, unit_nanos(duration))?,
                // The start day's own opening hours count, so it is examined.
                receipt - 1,
            ),
        };
        let (due, due_day) = self.finish(unit, clock_end)?;
        let provisional = match unit {
            DurationUnit::Hours | DurationUnit::Minutes => false,
            _ => !self.settled_indices(first_examined + 1, due_day),
        };
        Ok(Deadline {
            due: timestamp(due)?,
            clock_end: timestamp(clock_end)?,
            duration,
            provisional,
            calendar_version: self.version.clone(),
        })
    }

    /// The clock time of `deadline`'s period left at `at` (negative once it has run out), in
    /// the period's own measure (see the module documentation).
    pub fn remaining(
        &self,
        deadline: &Deadline,
        at: Timestamp,
    ) -> Result<SignedDuration, CalendarError> {
        let unit = deadline.duration.unit();
        self.require_hours(unit)?;
        Self::check_instant(at)?;
        Self::check_instant(deadline.clock_end)?;
        let (at, end) = (at.as_nanosecond(), deadline.clock_end.as_nanosecond());
        let left = if at <= end {
            self.measure(unit, at, end)?
        } else {
            -self.measure(unit, end, at)?
        };
        SignedDuration::try_from_nanos_i128(left).ok_or(CalendarError::ResultOutOfRange)
    }

    /// The deadline after the clock was paused at `paused_at` and resumed at `resumed_at`:
    /// moved by exactly the clock time of the pause (see the module documentation). A pause
    /// that starts at or after the due instant does not move it.
    pub fn resume(
        &self,
        was: &Deadline,
        paused_at: Timestamp,
        resumed_at: Timestamp,
    ) -> Result<Deadline, CalendarError> {
        let unit = was.duration.unit();
        self.require_hours(unit)?;
        check_count(was.duration)?;
        if resumed_at < paused_at {
            return Err(CalendarError::ResumeBeforePause {
                paused_at,
                resumed_at,
            });
        }
        let (paused_day, _) = Self::check_instant(paused_at)?;
        let (resumed_day, _) = Self::check_instant(resumed_at)?;
        Self::check_instant(was.clock_end)?;
        Self::check_instant(was.due)?;
        if paused_at >= was.clock_end || paused_at >= was.due {
            return Ok(was.clone());
        }
        let old_end = was.clock_end.as_nanosecond();
        let remaining = self.measure(unit, paused_at.as_nanosecond(), old_end)?;
        let clock_end = self.advance(unit, resumed_at.as_nanosecond(), remaining)?;
        let (due, due_day) = self.finish(unit, clock_end)?;
        let provisional = match unit {
            DurationUnit::Hours | DurationUnit::Minutes => false,
            _ => {
                let old_last = end_day_of(old_end).ok_or(CalendarError::ResultOutOfRange)?;
                !self.settled_indices(paused_day, old_last - ORIGIN)
                    || !self.settled_indices(resumed_day, due_day)
            }
        };
        Ok(Deadline {
            due: timestamp(due)?,
            clock_end: timestamp(clock_end)?,
            duration: was.duration,
            provisional,
            calendar_version: self.version.clone(),
        })
    }

    /// Recomputes a deadline from its history: the period starting at `start`, then each
    /// `(paused_at, resumed_at)` in order. This is what the shell runs when the calendar data
    /// or the overlay changes (e.g. for provisional deadlines once a notice is imported).
    pub fn replay(
        &self,
        start: Timestamp,
        duration: Duration,
        pauses: &[(Timestamp, Timestamp)],
    ) -> Result<Deadline, CalendarError> {
        let mut deadline = self.add(start, duration)?;
        let mut provisional = deadline.provisional;
        let mut last = start;
        for &(paused_at, resumed_at) in pauses {
            if paused_at < last {
                return Err(CalendarError::PausesOutOfOrder { paused_at });
            }
            deadline = self.resume(&deadline, paused_at, resumed_at)?;
            provisional |= deadline.provisional;
            last = resumed_at;
        }
        deadline.provisional = provisional;
        Ok(deadline)
    }

    /// The instant that ends `date` for this unit: close of business if the unit has
    /// opening hours that day, else 24:00 (the next day's 00:00 +08:00).
    pub fn end_of_day(&self, date: Date) -> Result<Timestamp, CalendarError> {
        let i = Self::index(date)?;
        timestamp(self.day_deadline(i))
    }
}

fn check_count(duration: Duration) -> Result<(), CalendarError> {
    if (1..=MAX_COUNT).contains(&duration.count()) {
        Ok(())
    } else {
        Err(CalendarError::CountOutOfRange { duration })
    }
}
