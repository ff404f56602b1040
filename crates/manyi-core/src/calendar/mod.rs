//! # The official working-day calendar and deadline arithmetic
//!
//! Regulations give time limits in working days (工作日), calendar days (日), hours and minutes;
//! a complaint system that gets one due date wrong tells a handler they have time they do not
//! have. This module is the single place where manyi turns "within N units of receipt" into an
//! instant, following PRODUCT.md "Deadline semantics (normative)" and the Civil Code's rules
//! for periods (民法典 第二百零一条、第二百零三条).
//!
//! Pure: it reads no files and no clock. The official data is compiled in
//! ([`EMBEDDED_FILES`]) or handed in as bytes; "today" is always a parameter.
//!
//! ## Pieces
//!
//! - [`HolidayData`] / [`NoticeFile`] — the State Council notices (holiday-cn JSON), parsed and
//!   merged, with typed errors that name the file and entry.
//! - [`Calendar`] — the official calendar compiled into a working-day table for 1900..=2200;
//!   knows which notice years are published ([`Calendar::is_covered`]) and carries a content
//!   [`Calendar::version`].
//! - [`Overlay`] — one organisation unit's closures, extra working days and business hours;
//!   inherited down the org tree with [`Overlay::merge`].
//! - [`CalendarView`] — a calendar plus an overlay: all deadline arithmetic ([`CalendarView::add`],
//!   [`CalendarView::resume`], [`CalendarView::working_days_between`], …).
//! - [`render_year`] — the month grid of `manyi calendar show YEAR`, reusable by the server.
//!
//! ## Time zone
//!
//! Every civil date is a date in Asia/Shanghai, handled as the fixed offset +08:00
//! ([`crate::china_tz`]). That is exact, not an approximation: the People's Republic has
//! observed no daylight-saving time since 1991 (and manyi's deadlines concern the present), so
//! no time-zone database is needed, and day boundaries are plain integer arithmetic.
//!
//! ## Semantics (decisions, each deliberate)
//!
//! **Working day.** Monday–Friday unless an official notice makes it a rest day, plus every
//! official make-up working day (调休上班, e.g. Saturday 2026-02-14). An overlay can close a
//! working day or open a rest day for one unit.
//!
//! **End of a day.** "The end of day D" (24:00 of D, Asia/Shanghai) is represented as the
//! instant of D+1 at 00:00 +08:00: `2026-10-08` ends at `2026-10-09T00:00:00+08:00`. An instant
//! is something a scheduler can compare with; "23:59:59" would lose the last second and is not
//! what the law says. [`Deadline::due_day`] maps such an instant back to D for display. Where
//! the overlay defines business hours, a day-based period ends instead at the close of
//! business of its last day (the end of that day's last opening interval; a working day with
//! no opening interval ends at 24:00), as art. 203 provides.
//!
//! **N working days** ([`Duration::WorkingDays`]). The day of receipt is not counted, even if
//! it is a working day received at 00:01; the N-th working day strictly after it is the last
//! day. Receipt on a rest day therefore counts from the next working day without a special
//! case. Wed 2026-09-30 + 1 → end of Thu 2026-10-08; Fri 2026-02-13 + 1 → end of Sat
//! 2026-02-14 (a make-up working day).
//!
//! **N calendar days** ([`Duration::CalendarDays`]). The start day is not counted; the last day
//! is receipt day + N. If the last day is not a working day, the period ends at the end of the
//! first working day after it. PRODUCT.md says "a statutory rest day" and the Civil Code
//! says 法定休假日; in Chinese legal practice (and the Supreme People's Court's reading of the
//! procedure laws) 法定休假日 includes the ordinary weekend (公休日) as well as the holidays, so
//! a last day on an ordinary Saturday rolls to Monday, and a last day on a make-up Saturday
//! does not roll at all. The roll uses the view's working days, so a unit's closure also rolls
//! the end of a period forward (the unit cannot act on a day it is closed).
//!
//! **N = 0.** Refused for every unit ([`CalendarError::CountOutOfRange`]): "within 0 working
//! days" has no meaning in a regulation, and silently mapping it to "end of the receipt day"
//! would hide a policy typo. N above [`MAX_COUNT`] (10 000) is refused too.
//!
//! **Hours and minutes.** Elapsed wall-clock time from the start instant; the calendar is not
//! consulted and the result is never provisional. **Business hours/minutes** count only the
//! opening intervals of working days and need business hours in the overlay
//! ([`CalendarError::NoBusinessHours`] otherwise). A period ending exactly at a close ends at
//! that close, not at the next opening.
//!
//! **Unpublished years.** A date is *settled* when the notice of its year is loaded and —
//! for 25–31 December — the notice of the next year too, because a notice reaches back into
//! the last days of the previous December (the 2007, 2008, 2012, 2019 and 2023 notices all
//! did, as far back as 29 December). Days that are not settled follow the Monday–Friday rule,
//! and every deadline whose examined days include one is marked
//! [`Deadline::provisional`]. "Examined" = from the day after receipt to the due day for day
//! periods, from the start day to the due day for business-hour periods.
//! [`Calendar::gap_alerts`] tells administrators from 1 October that next year's notice is
//! missing. When the data changes, the calendar version changes; the shell recomputes
//! provisional deadlines with [`CalendarView::replay`].
//!
//! **Pause and resume.** Each unit has a *clock measure* — how much of the period elapses
//! between two instants: wall time for calendar days, hours and minutes; opening time of
//! working days for business hours/minutes; and for working days, working-day time: each
//! working day counts whole (24 h), a rest day counts nothing. A [`Deadline`] keeps, besides
//! `due`, its `clock_end`: the instant at which the period's measure runs out, *before* the
//! end-of-day rules (close of business, the rest-day roll) are applied. Resuming computes
//! `remaining = measure(paused_at, clock_end)` and the new `clock_end` as the earliest instant
//! after `resumed_at` with that much measure; the new `due` applies the end-of-day rules to it
//! again. So the deadline moves by exactly the paused clock time, pauses compose exactly
//! (no rounding accumulates), and a day period still ends at the end (or close of business) of
//! a working day; the roll of a calendar-day period is never counted as budget. A pause
//! starting after `due` (or after `clock_end`) comes too late: the deadline stays as it was.
//!
//! **Bounds.** Dates and instants outside 1900-01-01..=2200-12-31 (Asia/Shanghai) and results
//! beyond it are typed errors; nothing here panics on any input.

mod data;
mod overlay;
mod render;
mod table;
mod view;

use std::sync::OnceLock;

use jiff::civil::Date;
use serde::Serialize;

pub use data::{
    DataError, EMBEDDED_FILES, EntryKind, HolidayData, HolidayEntry, NoticeDay, NoticeFile,
};
pub use overlay::{BusinessHours, OpenInterval, Overlay, OverlayError, WorkWeekday};
pub use render::render_year;
pub use table::{MAX_YEAR, MIN_YEAR};
pub use view::{CalendarError, CalendarView, Deadline, Duration, DurationUnit, MAX_COUNT};

use table::{DayTable, ORIGIN, epoch_day, index_of, weekday_of_epoch_day};

/// What kind of day a date is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayKind {
    /// An ordinary Monday–Friday working day.
    Workday,
    /// An ordinary Saturday or Sunday.
    Weekend,
    /// An official rest day (法定节假日 or 调休放假), named after its festival.
    Holiday { name: String },
    /// An official make-up working day (调休上班).
    MakeUpWorkday { name: String },
    /// Closed by the unit's overlay although officially a working day.
    OrgClosure,
    /// Opened by the unit's overlay although officially a rest day.
    OrgWorkday,
}

impl DayKind {
    pub fn is_workday(&self) -> bool {
        matches!(
            self,
            DayKind::Workday | DayKind::MakeUpWorkday { .. } | DayKind::OrgWorkday
        )
    }
}

/// Why administrators should import a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// The current year's notice is not loaded: deadlines are being computed provisionally.
    CurrentYearMissing,
    /// It is October or later and next year's notice is not loaded: deadlines reaching into
    /// late December or next year are provisional.
    NextYearMissing,
}

/// A missing official notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GapAlert {
    pub year: i16,
    pub reason: GapReason,
}

impl std::fmt::Display for GapAlert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = match self.reason {
            GapReason::CurrentYearMissing => "this year",
            GapReason::NextYearMissing => "next year",
        };
        write!(
            f,
            "the official holiday notice for {} ({when}) is not loaded: deadlines touching it \
             are provisional (Monday–Friday assumed); import the notice \
             (国务院办公厅关于{}年部分节假日安排的通知) as soon as it is published",
            self.year, self.year
        )
    }
}

/// The official calendar, compiled for fast queries. Cheap to share (`&Calendar` is all the
/// arithmetic needs); build it once per data version.
#[derive(Debug, Clone)]
pub struct Calendar {
    data: HolidayData,
    workdays: DayTable,
    /// Bit `y - MIN_YEAR` set when notice year `y` is covered.
    covered: [u64; 5],
    version: String,
}

impl Calendar {
    /// The calendar shipped in the binary (`data/holiday-cn/` at build time), built once.
    pub fn official() -> &'static Calendar {
        static OFFICIAL: OnceLock<Calendar> = OnceLock::new();
        OFFICIAL.get_or_init(|| {
            // The embedded files are part of the build and checked by the test suite, so a
            // failure here is a broken build, not bad input.
            Calendar::from_files(EMBEDDED_FILES.iter().copied())
                .expect("the embedded holiday-cn data is valid (checked by tests)")
        })
    }

    /// A calendar from holiday-cn files given as `(file name, bytes)`.
    pub fn from_files<I, N, B>(files: I) -> Result<Calendar, DataError>
    where
        I: IntoIterator<Item = (N, B)>,
        N: AsRef<str>,
        B: AsRef<[u8]>,
    {
        Ok(Calendar::from_data(HolidayData::from_files(files)?))
    }

    /// The shipped calendar with some notice files replaced or added at run time (e.g. the
    /// 2027 notice imported by an administrator): an update replaces the shipped file of the
    /// same notice year.
    pub fn official_with_updates<I, N, B>(updates: I) -> Result<Calendar, DataError>
    where
        I: IntoIterator<Item = (N, B)>,
        N: AsRef<str>,
        B: AsRef<[u8]>,
    {
        let updates = updates
            .into_iter()
            .map(|(n, b)| NoticeFile::parse(n.as_ref(), b.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut files = EMBEDDED_FILES
            .iter()
            .map(|(n, b)| NoticeFile::parse(n, b.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        files.retain(|f| !updates.iter().any(|u| u.year == f.year));
        files.extend(updates);
        Ok(Calendar::from_data(HolidayData::merge(files)?))
    }

    /// Compiles merged data.
    pub fn from_data(data: HolidayData) -> Calendar {
        // Entries as (table index, is working day), in index order, consumed while the
        // table is built in one pass.
        let overrides: Vec<(u32, bool)> = data
            .entries()
            .filter_map(|e| index_of(e.date).map(|i| (i, e.kind == EntryKind::MakeUpWorkday)))
            .collect();
        let mut next = overrides.iter().peekable();
        let workdays = DayTable::build(|i| {
            while next.peek().is_some_and(|(j, _)| *j < i) {
                next.next();
            }
            match next.peek() {
                Some(&&(j, work)) if j == i => work,
                _ => weekday_of_epoch_day(ORIGIN + i64::from(i)) < 5,
            }
        });
        let mut covered = [0u64; 5];
        for y in data.covered_years() {
            if let Some(bit) = year_bit(y) {
                covered[bit / 64] |= 1 << (bit % 64);
            }
        }
        let version = format!("{:016x}", data.content_hash());
        Calendar {
            data,
            workdays,
            covered,
            version,
        }
    }

    /// A content hash of the data (16 hex digits). Every deadline records the version it was
    /// computed with.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The merged notices.
    pub fn data(&self) -> &HolidayData {
        &self.data
    }

    /// The official calendar without an overlay.
    pub fn view(&self) -> CalendarView<'_> {
        CalendarView::official(self)
    }

    /// Whether `date` is an official working day. Outside the supported range (and in years
    /// without a notice) the Monday–Friday rule applies.
    pub fn is_workday(&self, date: Date) -> bool {
        match index_of(date) {
            Some(i) => self.workdays.get(i),
            None => weekday_of_epoch_day(epoch_day(date)) < 5,
        }
    }

    /// What the official calendar says about `date`.
    pub fn day_kind(&self, date: Date) -> DayKind {
        match self.data.entry(date) {
            Some(e) => match e.kind {
                EntryKind::Rest => DayKind::Holiday {
                    name: e.name.clone(),
                },
                EntryKind::MakeUpWorkday => DayKind::MakeUpWorkday {
                    name: e.name.clone(),
                },
            },
            None if weekday_of_epoch_day(epoch_day(date)) < 5 => DayKind::Workday,
            None => DayKind::Weekend,
        }
    }

    /// Whether the notice for `year` is published and loaded.
    pub fn is_covered(&self, year: i16) -> bool {
        year_bit(year).is_some_and(|b| self.covered[b / 64] >> (b % 64) & 1 == 1)
    }

    /// Covered notice years, ascending.
    pub fn covered_years(&self) -> Vec<i16> {
        self.data.covered_years().collect()
    }

    /// Whether the official kind of `date` is final: its year's notice is loaded and, for
    /// 25–31 December, next year's notice too (see the module documentation).
    pub fn is_date_settled(&self, date: Date) -> bool {
        self.is_range_settled(date, date)
    }

    /// Whether every date in `from..=to` is settled (true for an empty range).
    pub fn is_range_settled(&self, from: Date, to: Date) -> bool {
        if from > to {
            return true;
        }
        if !(from.year()..=to.year()).all(|y| self.is_covered(y)) {
            return false;
        }
        let reach_back_starts = Date::new(to.year(), 12, 25).unwrap_or(to);
        to < reach_back_starts || self.is_covered(to.year().saturating_add(1))
    }

    /// Missing notices to report on `today`: this year's if it is missing, and from 1 October
    /// on, next year's if it is missing.
    pub fn gap_alerts(&self, today: Date) -> Vec<GapAlert> {
        let year = today.year();
        let mut alerts = Vec::new();
        if !self.is_covered(year) {
            alerts.push(GapAlert {
                year,
                reason: GapReason::CurrentYearMissing,
            });
        }
        if today.month() >= 10 && year < MAX_YEAR && !self.is_covered(year + 1) {
            alerts.push(GapAlert {
                year: year + 1,
                reason: GapReason::NextYearMissing,
            });
        }
        alerts
    }

    pub(crate) fn table(&self) -> &DayTable {
        &self.workdays
    }
}

fn year_bit(year: i16) -> Option<usize> {
    (MIN_YEAR..=MAX_YEAR)
        .contains(&year)
        .then(|| usize::try_from(year - MIN_YEAR).unwrap_or(0))
}
