//! `manyi calendar …`: the official working-day calendar from the command line.
//!
//! A thin shell over [`manyi_core::calendar`]: parse and validate the arguments (clap reports
//! a bad value together with the argument's name), call the core, print. Everything that
//! decides lives in the core, so the server answers the same questions the same way.
//!
//! Output goes to stdout (plain, or JSON with `--json`); warnings about provisional answers
//! (a year whose official notice is not loaded) go to stderr, so scripts can rely on stdout.

use std::io::Write as _;

use anyhow::Context as _;
use jiff::civil::{Date, Time};
use manyi_core::calendar::{
    Calendar, DayKind, Deadline, Duration, DurationUnit, MAX_COUNT, MAX_YEAR, MIN_YEAR, render_year,
};
use serde_json::json;

/// `manyi calendar` subcommands.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum CalendarCommand {
    /// Print whether DATE is a working day in mainland China: true or false.
    IsWorkday {
        /// The date, YYYY-MM-DD.
        #[arg(value_name = "DATE", value_parser = parse_date)]
        date: Date,
        /// Print JSON (kind of day, holiday name, provisional flag).
        #[arg(long)]
        json: bool,
    },
    /// Print when a period of N units received on DATE ends, as ISO 8601 with +08:00.
    ///
    /// The day of receipt is not counted. A day period ends at 24:00 of its last day, printed
    /// as the next day's 00:00 (e.g. 1 working day from 2026-09-30 prints
    /// 2026-10-09T00:00:00+08:00: the end of 2026-10-08). A calendar-day period whose last day
    /// is not a working day ends with the first working day after it.
    Add {
        /// The date of receipt, YYYY-MM-DD (Asia/Shanghai).
        #[arg(value_name = "DATE", value_parser = parse_date)]
        date: Date,
        /// How many units, 1 to 10000.
        #[arg(value_name = "N", value_parser = parse_count, allow_hyphen_values = true)]
        n: u32,
        /// workdays (工作日), days (日/天), hours (小时) or minutes (分钟).
        #[arg(value_name = "UNIT", value_parser = parse_unit)]
        unit: DurationUnit,
        /// Time of receipt on DATE, HH:MM (Asia/Shanghai); default 00:00. Matters for hours
        /// and minutes.
        #[arg(long, value_name = "HH:MM", value_parser = parse_time)]
        at: Option<Time>,
        /// Print JSON (due instant, due day, provisional flag, calendar version).
        #[arg(long)]
        json: bool,
    },
    /// Count the working days strictly after FROM up to and including TO (negative if TO is
    /// before FROM).
    Between {
        #[arg(value_name = "FROM", value_parser = parse_date)]
        from: Date,
        #[arg(value_name = "TO", value_parser = parse_date)]
        to: Date,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the twelve month grids of YEAR, marking rest days 休 and make-up working days 班.
    Show {
        /// The year, 1900 to 2200.
        #[arg(value_name = "YEAR", value_parser = parse_year)]
        year: i16,
        /// Print JSON (every rest and make-up day with its name).
        #[arg(long)]
        json: bool,
    },
    /// Import official holiday notices (holiday-cn JSON files, e.g. 2027.json when the State
    /// Council publishes it) into the database: every instance switches to the new calendar
    /// and the deadlines of open cases are recomputed (provisional ones become final). A bad
    /// file is refused whole, naming the file and the entry; nothing is imported.
    Import {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        #[command(flatten)]
        db: crate::DbArgs,
    },
}

fn parse_date(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err("expected a date as YYYY-MM-DD, e.g. 2026-09-30".to_owned());
    }
    let date: Date = s
        .parse()
        .map_err(|e| format!("not a valid date (YYYY-MM-DD): {e}"))?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        return Err(format!(
            "the calendar covers the years {MIN_YEAR} to {MAX_YEAR}"
        ));
    }
    Ok(date)
}

fn parse_count(s: &str) -> Result<u32, String> {
    let bad = || format!("N must be a whole number from 1 to {MAX_COUNT}");
    let n: i64 = s.trim().parse().map_err(|_| bad())?;
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_COUNT).contains(n))
        .ok_or_else(bad)
}

fn parse_unit(s: &str) -> Result<DurationUnit, String> {
    match s.trim().to_lowercase().as_str() {
        "workdays" | "workday" | "working-days" | "working-day" | "wd" | "工作日" => {
            Ok(DurationUnit::WorkingDays)
        }
        "days" | "day" | "calendar-days" | "d" | "日" | "天" | "自然日" => {
            Ok(DurationUnit::CalendarDays)
        }
        "hours" | "hour" | "h" | "小时" => Ok(DurationUnit::Hours),
        "minutes" | "minute" | "min" | "分钟" => Ok(DurationUnit::Minutes),
        _ => Err(
            "unknown unit: use workdays, days, hours or minutes (or 工作日, 日/天, 小时, 分钟)"
                .to_owned(),
        ),
    }
}

fn parse_time(s: &str) -> Result<Time, String> {
    let bad = || "expected a time of day as HH:MM, 00:00 to 23:59".to_owned();
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

fn parse_year(s: &str) -> Result<i16, String> {
    s.trim()
        .parse::<i16>()
        .ok()
        .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))
        .ok_or_else(|| format!("expected a year from {MIN_YEAR} to {MAX_YEAR}"))
}

/// What a command prints: `stdout`, and warnings for stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub warnings: Vec<String>,
}

/// Runs a `manyi calendar` subcommand against `calendar`, printing to stdout and stderr.
pub fn run(cmd: CalendarCommand, calendar: &Calendar) -> anyhow::Result<()> {
    let out = execute(&cmd, calendar)?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.stdout.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn provisional_warning(calendar: &Calendar, from: Date, to: Date) -> String {
    let (from, to) = if from <= to { (from, to) } else { (to, from) };
    // Next year's notice matters too when the range reaches 25–31 December: notices reach
    // back into the previous December.
    let reaches_back = to.month() == 12 && to.day() >= 25;
    let last = to.year().saturating_add(i16::from(reaches_back));
    let missing: Vec<String> = (from.year()..=last)
        .filter(|y| !calendar.is_covered(*y))
        .map(|y| y.to_string())
        .collect();
    format!(
        "provisional: the official holiday notice for {} is not loaded, Monday–Friday is \
         assumed for the days concerned (calendar version {})",
        missing.join(", "),
        calendar.version()
    )
}

fn iso(ts: jiff::Timestamp) -> String {
    ts.display_with_offset(jiff::tz::offset(8)).to_string()
}

/// Runs a subcommand and returns what it would print (used by [`run`] and by tests).
pub fn execute(cmd: &CalendarCommand, calendar: &Calendar) -> anyhow::Result<Output> {
    let view = calendar.view();
    let mut out = Output::default();
    match *cmd {
        CalendarCommand::IsWorkday { date, json } => {
            let workday = view.is_workday(date);
            let settled = calendar.is_date_settled(date);
            if !settled {
                out.warnings.push(provisional_warning(calendar, date, date));
            }
            out.stdout = if json {
                let mut v = json!({
                    "date": date.to_string(),
                    "workday": workday,
                    "provisional": !settled,
                    "calendar_version": calendar.version(),
                });
                if let (Some(obj), Ok(serde_json::Value::Object(kind))) =
                    (v.as_object_mut(), serde_json::to_value(view.day_kind(date)))
                {
                    obj.extend(kind);
                }
                format!("{v}\n")
            } else {
                format!("{workday}\n")
            };
        }
        CalendarCommand::Add {
            date,
            n,
            unit,
            at,
            json,
        } => {
            let time = at.unwrap_or(Time::midnight());
            let start = date
                .to_datetime(time)
                .to_zoned_datetime(manyi_core::china_tz())
                .with_context(|| format!("invalid start {date} {time}"))?
                .timestamp();
            let duration = Duration::new(unit, n);
            let deadline: Deadline = view
                .add(start, duration)
                .with_context(|| format!("cannot compute {date} + {duration}"))?;
            if deadline.provisional {
                out.warnings
                    .push(provisional_warning(calendar, date, deadline.due_day()));
            }
            out.stdout = if json {
                let v = json!({
                    "start": iso(start),
                    "duration": duration,
                    "due": iso(deadline.due),
                    "due_day": deadline.due_day().to_string(),
                    "clock_end": iso(deadline.clock_end),
                    "provisional": deadline.provisional,
                    "calendar_version": deadline.calendar_version,
                });
                format!("{v}\n")
            } else if deadline.due_day()
                != deadline
                    .due
                    .to_zoned_datetime(manyi_core::china_tz())
                    .date()
            {
                // "End of 2026-10-08" is the instant 2026-10-09T00:00+08:00: say which day
                // ends there, so nobody reads the deadline as a day late.
                format!(
                    "{}  (end of {} / {} 24:00 截止)\n",
                    iso(deadline.due),
                    deadline.due_day(),
                    deadline.due_day()
                )
            } else {
                format!("{}\n", iso(deadline.due))
            };
        }
        CalendarCommand::Between { from, to, json } => {
            let count = view
                .working_days_between(from, to)
                .with_context(|| format!("cannot count working days from {from} to {to}"))?;
            let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
            let first = lo.tomorrow().unwrap_or(lo);
            let settled = calendar.is_range_settled(first, hi);
            if !settled {
                out.warnings.push(provisional_warning(calendar, first, hi));
            }
            out.stdout = if json {
                let v = json!({
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "working_days": count,
                    "provisional": !settled,
                    "calendar_version": calendar.version(),
                });
                format!("{v}\n")
            } else {
                format!("{count}\n")
            };
        }
        CalendarCommand::Import { .. } => {
            anyhow::bail!("internal: `calendar import` needs the database and runs elsewhere")
        }
        CalendarCommand::Show { year, json } => {
            out.stdout = if json {
                let mut days = Vec::new();
                let mut working = 0;
                let mut d = Date::new(year, 1, 1).context("invalid year")?;
                while d.year() == year {
                    if view.is_workday(d) {
                        working += 1;
                    }
                    let kind = view.day_kind(d);
                    if matches!(
                        kind,
                        DayKind::Holiday { .. } | DayKind::MakeUpWorkday { .. }
                    ) {
                        let mut entry = json!({ "date": d.to_string() });
                        if let (Some(obj), Ok(serde_json::Value::Object(k))) =
                            (entry.as_object_mut(), serde_json::to_value(&kind))
                        {
                            obj.extend(k);
                        }
                        days.push(entry);
                    }
                    match d.tomorrow() {
                        Ok(next) => d = next,
                        Err(_) => break,
                    }
                }
                let v = json!({
                    "year": year,
                    "published": calendar.is_covered(year),
                    "calendar_version": calendar.version(),
                    "working_days": working,
                    "days": days,
                });
                format!("{v}\n")
            } else {
                render_year(&view, year).with_context(|| format!("cannot show {year}"))?
            };
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: CalendarCommand,
    }

    fn parse(args: &[&str]) -> Result<CalendarCommand, String> {
        Cli::try_parse_from(std::iter::once("calendar").chain(args.iter().copied()))
            .map(|c| c.cmd)
            .map_err(|e| e.to_string())
    }

    fn exec(args: &[&str]) -> Output {
        let cmd = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        execute(&cmd, Calendar::official()).unwrap()
    }

    #[test]
    fn is_workday() {
        assert_eq!(exec(&["is-workday", "2026-02-14"]).stdout, "true\n");
        assert_eq!(exec(&["is-workday", "2026-10-01"]).stdout, "false\n");
        assert_eq!(exec(&["is-workday", "2026-03-07"]).stdout, "false\n");
        let out = exec(&["is-workday", "2026-10-01", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["workday"], false);
        assert_eq!(v["kind"], "holiday");
        assert_eq!(v["name"], "国庆节");
        assert_eq!(v["provisional"], false);
        assert!(out.warnings.is_empty());
        let out = exec(&["is-workday", "2027-03-01"]);
        assert_eq!(out.stdout, "true\n");
        assert!(
            out.warnings[0].contains("notice for 2027 is"),
            "{:?}",
            out.warnings
        );
        let out = exec(&["is-workday", "2026-12-28"]);
        assert!(
            out.warnings[0].contains("notice for 2027 is"),
            "{:?}",
            out.warnings
        );
        assert!(exec(&["is-workday", "2026-12-24"]).warnings.is_empty());
    }

    #[test]
    fn add() {
        assert_eq!(
            exec(&["add", "2026-09-30", "1", "workdays"]).stdout,
            "2026-10-09T00:00:00+08:00  (end of 2026-10-08 / 2026-10-08 24:00 截止)\n"
        );
        assert_eq!(
            exec(&["add", "2026-02-13", "1", "工作日"]).stdout,
            "2026-02-15T00:00:00+08:00  (end of 2026-02-14 / 2026-02-14 24:00 截止)\n"
        );
        assert_eq!(
            exec(&["add", "2026-03-06", "1", "days"]).stdout,
            "2026-03-10T00:00:00+08:00  (end of 2026-03-09 / 2026-03-09 24:00 截止)\n"
        );
        assert_eq!(
            exec(&["add", "2026-10-01", "90", "minutes", "--at", "23:00"]).stdout,
            "2026-10-02T00:30:00+08:00\n"
        );
        let out = exec(&["add", "2026-09-30", "1", "wd", "--at", "14:00", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["start"], "2026-09-30T14:00:00+08:00");
        assert_eq!(v["due"], "2026-10-09T00:00:00+08:00");
        assert_eq!(v["due_day"], "2026-10-08");
        assert_eq!(v["duration"], json!({"working_days": 1}));
        assert_eq!(v["provisional"], false);
        let out = exec(&["add", "2027-03-01", "5", "workdays"]);
        assert_eq!(
            out.stdout,
            "2027-03-09T00:00:00+08:00  (end of 2027-03-08 / 2027-03-08 24:00 截止)\n"
        );
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn between_and_show() {
        assert_eq!(exec(&["between", "2026-09-30", "2026-10-08"]).stdout, "1\n");
        assert_eq!(
            exec(&["between", "2025-12-31", "2026-12-31"]).stdout,
            "248\n"
        );
        let v: serde_json::Value =
            serde_json::from_str(&exec(&["between", "2026-10-08", "2026-09-30", "--json"]).stdout)
                .unwrap();
        assert_eq!(v["working_days"], -1);
        let grid = exec(&["show", "2026"]).stdout;
        assert!(grid.contains(" 14班 15休"), "{grid}");
        let v: serde_json::Value =
            serde_json::from_str(&exec(&["show", "2026", "--json"]).stdout).unwrap();
        assert_eq!(v["working_days"], 248);
        assert_eq!(v["published"], true);
        assert_eq!(
            v["days"][0],
            json!({"date": "2026-01-01", "kind": "holiday", "name": "元旦"})
        );
        let v: serde_json::Value =
            serde_json::from_str(&exec(&["show", "2027", "--json"]).stdout).unwrap();
        assert_eq!(v["published"], false);
    }

    #[test]
    fn bad_input_names_the_argument_and_value() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["is-workday", "2026-02-30"], &["2026-02-30", "<DATE>"]),
            (&["is-workday", "30/09/2026"], &["30/09/2026", "<DATE>"]),
            (&["add", "2026-09-30", "-3", "workdays"], &["-3", "<N>"]),
            (&["add", "2026-09-30", "0", "workdays"], &["'0'", "<N>"]),
            (
                &["add", "2026-09-30", "10001", "workdays"],
                &["10001", "<N>"],
            ),
            (&["add", "2026-09-30", "1.5", "days"], &["1.5", "<N>"]),
            (&["add", "2026-09-30", "3", "weeks"], &["weeks", "<UNIT>"]),
            (
                &["add", "2026-09-30", "3", "hours", "--at", "25:00"],
                &["25:00", "--at"],
            ),
            (
                &["between", "2026-09-30", "1899-01-01"],
                &["1899-01-01", "<TO>"],
            ),
            (&["show", "3000"], &["3000", "<YEAR>"]),
        ];
        for (args, needles) in cases {
            let err = parse(args).expect_err(&format!("{args:?} should be refused"));
            for needle in *needles {
                assert!(err.contains(needle), "{args:?}: {needle:?} not in: {err}");
            }
        }
    }

    #[test]
    fn core_errors_are_reported() {
        let cmd = parse(&["add", "2200-12-31", "1", "workdays"]).unwrap();
        let err = execute(&cmd, Calendar::official()).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("2200-12-31 + 1 working days"), "{text}");
        assert!(text.contains("supported range"), "{text}");
    }
}
