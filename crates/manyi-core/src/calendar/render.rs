//! The year's month grids as plain text (`manyi calendar show YEAR`; the server can show the
//! same text). Weeks start on Monday, as Chinese calendars do. Marks follow the notices' own
//! words: 休 for a rest day, 班 for a make-up working day; a unit's overlay adds 闭 (closed)
//! and 开 (open). Each month is followed by its named days so the grid can be checked against
//! the notice.
//!
//! Layout: every day cell is five terminal columns — a space, the day right-aligned in two
//! columns, and a two-column mark (a CJK character is two columns wide, a blank mark is two
//! spaces) — so the grid stays aligned in a terminal. Lines carry no trailing spaces.

use std::fmt::Write as _;

use jiff::civil::Date;

use super::view::{CalendarError, CalendarView};
use super::{DayKind, MAX_YEAR, MIN_YEAR};

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn mark(kind: &DayKind) -> (&'static str, Option<&str>) {
    match kind {
        DayKind::Holiday { name } => ("休", Some(name.as_str())),
        DayKind::MakeUpWorkday { name } => ("班", Some(name.as_str())),
        DayKind::OrgClosure => ("闭", None),
        DayKind::OrgWorkday => ("开", None),
        DayKind::Workday | DayKind::Weekend => ("  ", None),
    }
}

/// Renders the twelve month grids of `year` for `view` (the official calendar when the
/// view's overlay is empty).
pub fn render_year(view: &CalendarView<'_>, year: i16) -> Result<String, CalendarError> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(CalendarError::YearOutOfRange {
            year: i64::from(year),
        });
    }
    let calendar = view.calendar();
    let first = Date::new(year, 1, 1).map_err(|_| CalendarError::YearOutOfRange {
        year: i64::from(year),
    })?;
    let mut days: Vec<Date> = Vec::with_capacity(366);
    let mut d = first;
    while d.year() == year {
        days.push(d);
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    let working = days.iter().filter(|d| view.is_workday(**d)).count();

    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "{year} 年工作日历 · working-day calendar {year}");
    let _ = writeln!(out, "数据版本 calendar version: {}", view.version());
    if calendar.is_covered(year) {
        let _ = writeln!(out, "官方通知 official notice: 已加载 loaded");
        if year < MAX_YEAR && !calendar.is_covered(year + 1) {
            let _ = writeln!(
                out,
                "注意 note: 12-25..12-31 待 {} 年通知确认 provisional until the {} notice is loaded",
                year + 1,
                year + 1
            );
        }
    } else {
        let _ = writeln!(
            out,
            "官方通知 official notice: 未发布，按周一至周五推定 NOT PUBLISHED — Monday–Friday \
             assumed, every date is provisional"
        );
    }
    let _ = writeln!(
        out,
        "图例 legend: 休 rest day (法定节假日/调休放假) · 班 make-up working day (调休上班)"
    );
    if !view.overlay().closures.is_empty() || !view.overlay().extra_workdays.is_empty() {
        let _ = writeln!(
            out,
            "            闭 closed by this unit (本单位停业) · 开 opened by this unit (本单位加班)"
        );
    }
    let _ = writeln!(out, "工作日 working days: {working}");

    for month in 1..=12i8 {
        let _ = writeln!(
            out,
            "\n{year} 年 {month} 月 {}",
            MONTHS_EN[usize::try_from(month - 1).unwrap_or(0)]
        );
        let _ = writeln!(out, " 一   二   三   四   五   六   日");
        let in_month: Vec<(Date, DayKind)> = days
            .iter()
            .filter(|d| d.month() == month)
            .map(|&d| (d, view.day_kind(d)))
            .collect();
        let mut line = String::new();
        if let Some((d, _)) = in_month.first() {
            for _ in 0..d.weekday().to_monday_zero_offset() {
                line.push_str("     ");
            }
        }
        for (d, kind) in &in_month {
            let _ = write!(line, " {:>2}{}", d.day(), mark(kind).0);
            if d.weekday().to_monday_zero_offset() == 6 {
                let _ = writeln!(out, "{}", line.trim_end());
                line.clear();
            }
        }
        if !line.trim().is_empty() {
            let _ = writeln!(out, "{}", line.trim_end());
        }
        // Named runs: consecutive days with the same mark and name.
        let mut runs: Vec<(&str, Option<&str>, i8, i8)> = Vec::new();
        for (d, kind) in &in_month {
            let (m, name) = mark(kind);
            if m == "  " {
                continue;
            }
            match runs.last_mut() {
                Some(run) if run.0 == m && run.1 == name && run.3 + 1 == d.day() => {
                    run.3 = d.day();
                }
                _ => runs.push((m, name, d.day(), d.day())),
            }
        }
        if !runs.is_empty() {
            let text: Vec<String> = runs
                .iter()
                .map(|(m, name, a, b)| {
                    let days = if a == b {
                        format!("{a}")
                    } else {
                        format!("{a}–{b}")
                    };
                    match name {
                        Some(n) => format!("{m} {days} {n}"),
                        None => format!("{m} {days}"),
                    }
                })
                .collect();
            let _ = writeln!(out, "  {}", text.join(" · "));
        }
    }
    Ok(out)
}
