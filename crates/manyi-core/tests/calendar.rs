//! Golden and property tests for `manyi_core::calendar`: the official 2026 calendar day by
//! day, the PRODUCT.md examples, the known quirks of the data, error reporting on crafted bad
//! files, and properties (add/count round trip, monotonicity, pause/resume exactness, no
//! panics) over random inputs. The differential test against the `chinese_calendar` Python
//! package is in `calendar_oracle.rs`.

use jiff::Timestamp;
use jiff::civil::{Date, date};
use manyi_core::calendar::{
    BusinessHours, Calendar, CalendarError, CalendarView, DataError, DayKind, Deadline, Duration,
    DurationUnit, EMBEDDED_FILES, EntryKind, GapAlert, GapReason, HolidayData, MAX_COUNT,
    NoticeFile, Overlay, render_year,
};
use proptest::prelude::*;

fn t(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test timestamp {s}: {e}"))
}

/// The instant that ends `d`: its next day's 00:00 +08:00.
fn end_of(d: Date) -> Timestamp {
    t(&format!("{}T00:00:00+08:00", d.tomorrow().unwrap()))
}

fn cal() -> &'static Calendar {
    Calendar::official()
}

fn days_of(year: i16) -> Vec<Date> {
    let mut v = Vec::new();
    let mut d = date(year, 1, 1);
    while d.year() == year {
        v.push(d);
        d = d.tomorrow().unwrap();
    }
    v
}

fn range(a: Date, b: Date) -> Vec<Date> {
    let mut v = Vec::new();
    let mut d = a;
    while d <= b {
        v.push(d);
        d = d.tomorrow().unwrap();
    }
    v
}

fn weekday(d: Date) -> bool {
    d.weekday().to_monday_zero_offset() < 5
}

fn lunch_hours() -> BusinessHours {
    BusinessHours::weekdays(&["09:00-12:00", "13:30-17:30"]).unwrap()
}

// ----- the 2026 calendar, every day ----------------------------------------------------------

const REST_2026: &[(i8, i8, i8)] = &[
    (1, 1, 3),
    (2, 15, 23),
    (4, 4, 6),
    (5, 1, 5),
    (6, 19, 21),
    (9, 25, 27),
    (10, 1, 7),
];
const MAKEUP_2026: &[(i8, i8)] = &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)];

#[test]
fn every_day_of_2026_matches_the_notice() {
    let rest: Vec<Date> = REST_2026
        .iter()
        .flat_map(|&(m, a, b)| (a..=b).map(move |d| date(2026, m, d)))
        .collect();
    let makeup: Vec<Date> = MAKEUP_2026.iter().map(|&(m, d)| date(2026, m, d)).collect();
    assert_eq!(rest.len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
    for d in days_of(2026) {
        let expected = if rest.contains(&d) {
            false
        } else if makeup.contains(&d) {
            true
        } else {
            weekday(d)
        };
        assert_eq!(cal().is_workday(d), expected, "{d}");
        assert_eq!(cal().view().is_workday(d), expected, "{d} (view)");
        let kind = cal().day_kind(d);
        assert_eq!(kind.is_workday(), expected, "{d}: {kind:?}");
        match kind {
            DayKind::Holiday { .. } => assert!(rest.contains(&d), "{d}"),
            DayKind::MakeUpWorkday { .. } => assert!(makeup.contains(&d), "{d}"),
            DayKind::Workday => assert!(weekday(d), "{d}"),
            DayKind::Weekend => assert!(!weekday(d), "{d}"),
            other => panic!("{d}: official calendar returned {other:?}"),
        }
    }
    assert_eq!(
        cal().day_kind(date(2026, 10, 1)),
        DayKind::Holiday {
            name: "国庆节".into()
        }
    );
    assert_eq!(
        cal().day_kind(date(2026, 2, 14)),
        DayKind::MakeUpWorkday {
            name: "春节".into()
        }
    );
    let working = days_of(2026)
        .into_iter()
        .filter(|d| cal().is_workday(*d))
        .count();
    // 261 weekdays − 19 rest days on weekdays + 6 make-up days.
    assert_eq!(working, 248);
}

// ----- PRODUCT.md examples and the data's known quirks --------------------------------------

#[test]
fn product_md_examples() {
    let v = cal().view();
    let d = v
        .add(t("2026-09-30T14:00:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(d.due, t("2026-10-09T00:00:00+08:00"));
    assert_eq!(d.due_day(), date(2026, 10, 8));
    assert!(!d.provisional);
    assert_eq!(d.calendar_version, cal().version());

    let d = v
        .add(t("2026-02-13T09:00:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(d.due, end_of(date(2026, 2, 14)));
    assert_eq!(d.due_day(), date(2026, 2, 14));
    assert_eq!(d.due.to_string(), "2026-02-14T16:00:00Z");
}

#[test]
fn data_quirks() {
    // The COVID amendment cancelled the 2020-02-01 make-up day.
    assert!(!cal().is_workday(date(2020, 2, 1)));
    assert_eq!(
        cal().day_kind(date(2020, 2, 1)),
        DayKind::Holiday {
            name: "春节".into()
        }
    );
    // 2020-02-03 is a Monday listed as a make-up day: a working day either way.
    assert!(cal().is_workday(date(2020, 2, 3)));
    assert!(matches!(
        cal().day_kind(date(2020, 2, 3)),
        DayKind::MakeUpWorkday { .. }
    ));
    // A Sunday make-up day.
    assert!(cal().is_workday(date(2016, 10, 9)));
    // Dates listed by the next year's notice.
    assert!(cal().is_workday(date(2006, 12, 30)));
    assert!(cal().is_workday(date(2007, 12, 29)));
    assert!(!cal().is_workday(date(2007, 12, 31)));
    assert!(!cal().is_workday(date(2022, 12, 31)));
    assert!(!cal().is_workday(date(2018, 12, 31)));
}

#[test]
fn receipt_on_a_rest_day_counts_from_the_next_working_day() {
    let v = cal().view();
    // Saturday inside the National Day rest.
    let d = v
        .add(t("2026-10-03T11:00:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(d.due_day(), date(2026, 10, 8));
    // An ordinary Sunday.
    let d = v
        .add(t("2026-03-01T23:59:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(d.due_day(), date(2026, 3, 2));
    // A make-up Saturday is itself a working day, but the receipt day is never counted.
    assert_eq!(
        v.add_working_days(date(2026, 2, 14), 1).unwrap(),
        date(2026, 2, 24)
    );
    // Receipt one minute after midnight still does not count its own day.
    let d = v
        .add(t("2026-03-02T00:01:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(d.due_day(), date(2026, 3, 3));
    // 12315: accept or reject within 7 working days, received before the Spring Festival:
    // 02-13, 02-14 (make-up), 02-24..27, 02-28 (make-up).
    assert_eq!(
        v.add_working_days(date(2026, 2, 12), 7).unwrap(),
        date(2026, 2, 28)
    );
}

#[test]
fn working_days_between_golden() {
    let v = cal().view();
    assert_eq!(
        v.working_days_between(date(2026, 9, 30), date(2026, 10, 8)),
        Ok(1)
    );
    assert_eq!(
        v.working_days_between(date(2026, 10, 8), date(2026, 9, 30)),
        Ok(-1)
    );
    assert_eq!(
        v.working_days_between(date(2025, 12, 31), date(2026, 12, 31)),
        Ok(248)
    );
    assert_eq!(
        v.working_days_between(date(2026, 5, 1), date(2026, 5, 1)),
        Ok(0)
    );
}

// ----- calendar days, hours, business hours ---------------------------------------------------

#[test]
fn calendar_days() {
    let v = cal().view();
    // Last day 2026-10-05 is in the National Day rest: ends with the first working day after.
    let d = v
        .add(t("2026-09-20T10:00:00+08:00"), Duration::CalendarDays(15))
        .unwrap();
    assert_eq!(d.due_day(), date(2026, 10, 8));
    assert_eq!(d.clock_end, end_of(date(2026, 10, 5)));
    // An ordinary Saturday rolls to Monday (法定休假日 includes the weekend).
    let d = v
        .add(t("2026-03-06T10:00:00+08:00"), Duration::CalendarDays(1))
        .unwrap();
    assert_eq!(d.due_day(), date(2026, 3, 9));
    // A make-up Saturday is a working day: no roll.
    let d = v
        .add(t("2026-02-13T10:00:00+08:00"), Duration::CalendarDays(1))
        .unwrap();
    assert_eq!(d.due, end_of(date(2026, 2, 14)));
    // A working last day: plain N days.
    let d = v
        .add(t("2026-03-02T10:00:00+08:00"), Duration::CalendarDays(15))
        .unwrap();
    assert_eq!(d.due, end_of(date(2026, 3, 17)));
}

#[test]
fn hours_and_minutes_are_elapsed_time() {
    let v = cal().view();
    let d = v
        .add(t("2026-10-01T10:00:00+08:00"), Duration::Hours(24))
        .unwrap();
    assert_eq!(d.due, t("2026-10-02T10:00:00+08:00"));
    assert!(!d.provisional);
    let d = v
        .add(t("2030-10-01T10:00:30.5+08:00"), Duration::Minutes(5))
        .unwrap();
    assert_eq!(d.due, t("2030-10-01T10:05:30.5+08:00"));
    assert!(!d.provisional, "elapsed time never depends on the calendar");
}

#[test]
fn business_hours() {
    let overlay = Overlay {
        business_hours: Some(lunch_hours()),
        ..Overlay::default()
    };
    let v = CalendarView::new(cal(), &overlay).unwrap();
    // Friday 16:30 + 2 h: one hour Friday, one hour on the make-up Saturday (Monday's hours).
    let d = v
        .add(t("2026-02-13T16:30:00+08:00"), Duration::BusinessHours(2))
        .unwrap();
    assert_eq!(d.due, t("2026-02-14T10:00:00+08:00"));
    // Across lunch.
    let d = v
        .add(
            t("2026-03-02T11:30:00+08:00"),
            Duration::BusinessMinutes(60),
        )
        .unwrap();
    assert_eq!(d.due, t("2026-03-02T14:00:00+08:00"));
    // Ending exactly at a close ends at that close.
    let d = v
        .add(t("2026-03-02T09:00:00+08:00"), Duration::BusinessHours(7))
        .unwrap();
    assert_eq!(d.due, t("2026-03-02T17:30:00+08:00"));
    // Starting at night counts from the next opening.
    let d = v
        .add(t("2026-09-30T20:00:00+08:00"), Duration::BusinessMinutes(1))
        .unwrap();
    assert_eq!(d.due, t("2026-10-08T09:01:00+08:00"));
    // Day periods end at the close of business.
    let d = v
        .add(t("2026-09-30T14:00:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(d.due, t("2026-10-08T17:30:00+08:00"));
    assert_eq!(d.clock_end, end_of(date(2026, 10, 8)));
    assert_eq!(d.due_day(), date(2026, 10, 8));
    let d = v
        .add(t("2026-03-06T10:00:00+08:00"), Duration::CalendarDays(1))
        .unwrap();
    assert_eq!(d.due, t("2026-03-09T17:30:00+08:00"));
    // Without business hours, business durations are refused.
    assert_eq!(
        cal()
            .view()
            .add(t("2026-03-02T09:00:00+08:00"), Duration::BusinessHours(1)),
        Err(CalendarError::NoBusinessHours {
            unit: DurationUnit::BusinessHours
        })
    );
}

#[test]
fn weekend_workday_hours_are_configurable() {
    let mut hours = lunch_hours();
    hours.friday = vec!["09:00-11:00".parse().unwrap()];
    hours.weekend_workday_as = manyi_core::calendar::WorkWeekday::Friday;
    let overlay = Overlay {
        business_hours: Some(hours),
        ..Overlay::default()
    };
    let v = CalendarView::new(cal(), &overlay).unwrap();
    let d = v
        .add(t("2026-02-13T08:00:00+08:00"), Duration::BusinessHours(3))
        .unwrap();
    // Friday 2 h, then Saturday 02-14 opens with Friday's hours.
    assert_eq!(d.due, t("2026-02-14T10:00:00+08:00"));
    assert_eq!(
        v.end_of_day(date(2026, 2, 14)),
        Ok(t("2026-02-14T11:00:00+08:00"))
    );
    // A rest day has no close of business: its end is 24:00.
    assert_eq!(
        v.end_of_day(date(2026, 2, 15)),
        Ok(end_of(date(2026, 2, 15)))
    );
}

// ----- overlays --------------------------------------------------------------------------------

#[test]
fn overlay_closures_and_extra_workdays() {
    let closed = Overlay {
        closures: vec![date(2026, 10, 8)],
        ..Overlay::default()
    };
    let v = CalendarView::new(cal(), &closed).unwrap();
    assert_eq!(
        v.add_working_days(date(2026, 9, 30), 1),
        Ok(date(2026, 10, 9))
    );
    assert_eq!(v.day_kind(date(2026, 10, 8)), DayKind::OrgClosure);
    assert_ne!(v.version(), cal().version());
    assert!(v.version().starts_with(cal().version()));

    let open = Overlay {
        extra_workdays: vec![date(2026, 10, 3)],
        ..Overlay::default()
    };
    let v = CalendarView::new(cal(), &open).unwrap();
    assert_eq!(
        v.add_working_days(date(2026, 9, 30), 1),
        Ok(date(2026, 10, 3))
    );
    assert_eq!(v.day_kind(date(2026, 10, 3)), DayKind::OrgWorkday);
    assert_eq!(
        v.working_days_between(date(2026, 9, 30), date(2026, 10, 8)),
        Ok(2)
    );

    // Closing a day that is already a rest day changes nothing.
    let noop = Overlay {
        closures: vec![date(2026, 10, 1)],
        ..Overlay::default()
    };
    let v = CalendarView::new(cal(), &noop).unwrap();
    assert_eq!(
        v.day_kind(date(2026, 10, 1)),
        DayKind::Holiday {
            name: "国庆节".into()
        }
    );

    // Inheritance: the branch re-opens a day the region closed.
    let region = Overlay {
        closures: vec![date(2026, 3, 2), date(2026, 3, 3)],
        ..Overlay::default()
    };
    let branch = Overlay {
        extra_workdays: vec![date(2026, 3, 3)],
        ..Overlay::default()
    };
    let merged = Overlay::merge(&region, &branch);
    let v = CalendarView::new(cal(), &merged).unwrap();
    assert!(!v.is_workday(date(2026, 3, 2)));
    assert!(v.is_workday(date(2026, 3, 3)));

    // At the very start of the table, where the search bounds are tightest.
    let early = Overlay {
        closures: (1..=5).map(|d| date(1900, 1, d)).collect(),
        extra_workdays: vec![date(1900, 1, 6), date(1900, 1, 7)],
        ..Overlay::default()
    };
    let v = CalendarView::new(cal(), &early).unwrap();
    assert_eq!(
        v.add_working_days(date(1900, 1, 1), 1),
        Ok(date(1900, 1, 6))
    );
    assert_eq!(
        v.add_working_days(date(1900, 1, 1), 2),
        Ok(date(1900, 1, 7))
    );
    assert_eq!(
        v.add_working_days(date(1900, 1, 1), 3),
        Ok(date(1900, 1, 8))
    );
    assert_eq!(
        v.working_days_between(date(1900, 1, 1), date(1900, 1, 8)),
        Ok(3)
    );

    let bad = Overlay {
        closures: vec![date(2026, 3, 2)],
        extra_workdays: vec![date(2026, 3, 2)],
        ..Overlay::default()
    };
    assert!(CalendarView::new(cal(), &bad).is_err());
}

// ----- years without data ----------------------------------------------------------------------

#[test]
fn unpublished_years_are_provisional() {
    let v = cal().view();
    assert!(!cal().is_covered(2027));
    assert!((2007..=2026).all(|y| cal().is_covered(y)));
    assert_eq!(cal().covered_years(), (2007..=2026).collect::<Vec<i16>>());
    assert!(!cal().is_covered(2006));

    let d = v
        .add(t("2027-03-01T10:00:00+08:00"), Duration::WorkingDays(5))
        .unwrap();
    assert!(d.provisional);
    assert_eq!(d.due_day(), date(2027, 3, 8), "Monday–Friday assumed");
    // Crossing into 2027.
    let d = v
        .add(t("2026-12-30T10:00:00+08:00"), Duration::WorkingDays(3))
        .unwrap();
    assert!(d.provisional);
    // Late December waits for the next notice (it may reach back, as 2023's did).
    assert!(!cal().is_date_settled(date(2026, 12, 28)));
    assert!(cal().is_date_settled(date(2026, 12, 24)));
    assert!(cal().is_date_settled(date(2025, 12, 31)));
    let d = v
        .add(t("2026-12-24T10:00:00+08:00"), Duration::WorkingDays(2))
        .unwrap();
    assert!(d.provisional);
    let d = v
        .add(t("2026-12-01T10:00:00+08:00"), Duration::WorkingDays(3))
        .unwrap();
    assert!(!d.provisional);
    // The examined days start the day after receipt: the receipt day's own year and kind
    // do not matter.
    let wd1 = |s: &str| v.add(t(s), Duration::WorkingDays(1)).unwrap();
    assert!(
        wd1("2006-12-30T10:00:00+08:00").provisional,
        "2006-12-31 is examined"
    );
    assert!(
        !wd1("2006-12-31T10:00:00+08:00").provisional,
        "only 2007 is examined"
    );
    assert!(!wd1("2026-12-23T10:00:00+08:00").provisional);
    assert!(wd1("2026-12-24T10:00:00+08:00").provisional);
    // Before the first notice.
    let d = v
        .add(t("2006-12-01T10:00:00+08:00"), Duration::WorkingDays(3))
        .unwrap();
    assert!(d.provisional);
    assert!(
        !v.add(t("2027-03-01T10:00:00+08:00"), Duration::Hours(5))
            .unwrap()
            .provisional
    );
}

#[test]
fn gap_alerts() {
    assert_eq!(cal().gap_alerts(date(2026, 8, 7)), vec![]);
    assert_eq!(cal().gap_alerts(date(2026, 9, 30)), vec![]);
    assert_eq!(
        cal().gap_alerts(date(2026, 10, 1)),
        vec![GapAlert {
            year: 2027,
            reason: GapReason::NextYearMissing
        }]
    );
    assert_eq!(
        cal().gap_alerts(date(2027, 1, 4)),
        vec![GapAlert {
            year: 2027,
            reason: GapReason::CurrentYearMissing
        }]
    );
    assert_eq!(cal().gap_alerts(date(2027, 11, 1)).len(), 2);
    let text = cal().gap_alerts(date(2026, 12, 1))[0].to_string();
    assert!(text.contains("2027"), "{text}");
}

#[test]
fn importing_next_years_notice_settles_it() {
    let notice = r#"{"year": 2027, "papers": ["https://www.gov.cn/example"],
        "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#;
    let updated = Calendar::official_with_updates([("2027.json", notice.as_bytes())]).unwrap();
    assert!(updated.is_covered(2027));
    assert!(updated.is_date_settled(date(2026, 12, 28)));
    assert_ne!(updated.version(), cal().version());
    assert!(!updated.is_workday(date(2027, 1, 1)));
    let d = updated
        .view()
        .add(t("2027-03-01T10:00:00+08:00"), Duration::WorkingDays(5))
        .unwrap();
    assert!(!d.provisional);
}

// ----- data files: errors that name the file -----------------------------------------------

fn notice(year: i64, papers: &str, days: &str) -> Vec<u8> {
    format!(r#"{{"year": {year}, "papers": [{papers}], "days": [{days}]}}"#).into_bytes()
}

fn day(d: &str, off: bool) -> String {
    format!(r#"{{"name": "测试", "date": "{d}", "isOffDay": {off}}}"#)
}

#[test]
fn bad_json_names_the_file() {
    let err = Calendar::from_files([("broken-2030.json", &b"{\"year\": 2030, \"papers\": ["[..])])
        .unwrap_err();
    assert!(matches!(&err, DataError::Json { file, .. } if file == "broken-2030.json"));
    assert!(err.to_string().starts_with("broken-2030.json: "), "{err}");
    let err = NoticeFile::parse(
        "x.json",
        br#"{"year": 2030, "papers": [], "days": [{"name": "a", "date": "2030-01-01"}]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("isOffDay"), "{err}");
}

#[test]
fn bad_date_names_file_and_entry() {
    let days = format!("{}, {}", day("2030-01-01", true), day("2030-02-30", true));
    let err = NoticeFile::parse("2030.json", &notice(2030, r#""p""#, &days)).unwrap_err();
    assert!(
        matches!(&err, DataError::BadDate { file, index: 1, value, .. }
            if file == "2030.json" && value == "2030-02-30"),
        "{err:?}"
    );
    assert!(err.to_string().contains("days[1]"), "{err}");
    let err = NoticeFile::parse(
        "2030.json",
        &notice(2030, r#""p""#, &day("2030/01/01", true)),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::BadDate { .. }), "{err:?}");
}

#[test]
fn date_far_from_its_notice_year_is_rejected() {
    let err = NoticeFile::parse(
        "2030.json",
        &notice(2030, r#""p""#, &day("2032-01-01", true)),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::DateOutsideYear {
                index: 0,
                year: 2030,
                ..
            }
        ),
        "{err:?}"
    );
    // One year either side is normal (2023.json lists 2022-12-31).
    assert!(
        NoticeFile::parse(
            "2030.json",
            &notice(2030, r#""p""#, &day("2029-12-31", true))
        )
        .is_ok()
    );
    let err = NoticeFile::parse("x.json", &notice(2500, "", "")).unwrap_err();
    assert!(
        matches!(err, DataError::YearOutOfRange { year: 2500, .. }),
        "{err:?}"
    );
}

#[test]
fn conflicting_kinds_are_detected_across_and_within_files() {
    let a = notice(2030, r#""p""#, &day("2030-12-31", true));
    let b = notice(2031, r#""p""#, &day("2030-12-31", false));
    let err = Calendar::from_files([("2030.json", &a), ("2031.json", &b)]).unwrap_err();
    match &err {
        DataError::Conflict {
            file,
            other_file,
            date: d,
            kind,
            other_kind,
            ..
        } => {
            assert_eq!(
                (file.as_str(), other_file.as_str()),
                ("2031.json", "2030.json")
            );
            assert_eq!(*d, date(2030, 12, 31));
            assert_eq!(
                (*kind, *other_kind),
                (EntryKind::MakeUpWorkday, EntryKind::Rest)
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("2030-12-31"), "{err}");

    let within = notice(
        2030,
        r#""p""#,
        &format!("{}, {}", day("2030-10-01", true), day("2030-10-01", false)),
    );
    let err = Calendar::from_files([("2030.json", &within)]).unwrap_err();
    assert!(
        matches!(
            &err,
            DataError::Conflict {
                index: 1,
                other_index: 0,
                ..
            }
        ),
        "{err:?}"
    );

    // The same date twice with the same kind is harmless.
    let twice = notice(
        2030,
        r#""p""#,
        &format!("{}, {}", day("2030-10-01", true), day("2030-10-01", true)),
    );
    let c = Calendar::from_files([("2030.json", &twice)]).unwrap();
    assert!(!c.is_workday(date(2030, 10, 1)));

    // Two files for one notice year.
    let err = Calendar::from_files([("a.json", &twice), ("b.json", &twice)]).unwrap_err();
    assert!(
        matches!(&err, DataError::DuplicateYear { year: 2030, file, other_file }
            if file == "b.json" && other_file == "a.json"),
        "{err:?}"
    );
}

#[test]
fn unpublished_file_is_not_coverage() {
    let empty = notice(2030, "", "");
    let c = Calendar::from_files([("2030.json", &empty)]).unwrap();
    assert!(!c.is_covered(2030));
    let published = notice(2030, r#""p""#, "");
    let c = Calendar::from_files([("2030.json", &published)]).unwrap();
    assert!(c.is_covered(2030));
}

#[test]
fn version_is_a_content_hash() {
    let a = notice(2030, r#""p""#, &day("2030-10-01", true));
    let b = notice(2031, r#""p""#, &day("2031-10-01", true));
    let ab = Calendar::from_files([("2030.json", &a), ("2031.json", &b)]).unwrap();
    let ba = Calendar::from_files([("y.json", &b), ("x.json", &a)]).unwrap();
    assert_eq!(ab.version(), ba.version());
    assert_eq!(ab.version().len(), 16);
    let a2 = notice(2030, r#""p""#, &day("2030-10-02", true));
    let changed = Calendar::from_files([("2030.json", &a2), ("2031.json", &b)]).unwrap();
    assert_ne!(ab.version(), changed.version());
    // Pin the shipped data's version: a change to data/holiday-cn must be deliberate.
    assert_eq!(
        cal().version(),
        Calendar::from_files(EMBEDDED_FILES.iter().copied())
            .unwrap()
            .version()
    );
}

#[test]
fn every_shipped_file_is_embedded() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/holiday-cn");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 9 && n.ends_with(".json") && n[..4].parse::<u16>().is_ok())
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = EMBEDDED_FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, embedded);
    for (name, text) in EMBEDDED_FILES {
        let disk = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(&disk, text, "{name}");
    }
    // And the data parse strictly, file by file.
    let data = HolidayData::from_files(EMBEDDED_FILES.iter().copied()).unwrap();
    assert_eq!(data.files().len(), EMBEDDED_FILES.len());
}

// ----- bounds ----------------------------------------------------------------------------------

#[test]
fn counts_and_ranges_are_checked() {
    let v = cal().view();
    let start = t("2026-03-02T10:00:00+08:00");
    for dur in [
        Duration::WorkingDays(0),
        Duration::CalendarDays(0),
        Duration::Hours(0),
        Duration::Minutes(MAX_COUNT + 1),
        Duration::WorkingDays(u32::MAX),
    ] {
        assert_eq!(
            v.add(start, dur),
            Err(CalendarError::CountOutOfRange { duration: dur })
        );
    }
    assert!(v.add(start, Duration::WorkingDays(MAX_COUNT)).is_ok());
    assert_eq!(
        v.add_working_days(date(1899, 12, 31), 1),
        Err(CalendarError::DateOutOfRange {
            date: date(1899, 12, 31)
        })
    );
    assert_eq!(
        v.add_working_days(date(2200, 12, 31), 1),
        Err(CalendarError::ResultOutOfRange)
    );
    assert_eq!(
        v.add(t("2200-12-20T10:00:00+08:00"), Duration::CalendarDays(30)),
        Err(CalendarError::ResultOutOfRange)
    );
    assert!(matches!(
        v.add(t("1850-01-01T00:00:00+08:00"), Duration::Hours(1)),
        Err(CalendarError::InstantOutOfRange { .. })
    ));
    for extreme in [Timestamp::MIN, Timestamp::MAX, Timestamp::UNIX_EPOCH] {
        for dur in [
            Duration::WorkingDays(1),
            Duration::CalendarDays(5),
            Duration::Hours(MAX_COUNT),
        ] {
            let _ = v.add(extreme, dur);
        }
    }
    assert!(render_year(&v, 1899).is_err());
    assert!(render_year(&v, 2201).is_err());
    // Dates outside the range still answer is_workday (Monday–Friday).
    assert!(cal().is_workday(date(1800, 1, 1)) == weekday(date(1800, 1, 1)));
}

// ----- pause and resume ---------------------------------------------------------------------

#[test]
fn pause_and_resume_golden() {
    let v = cal().view();
    let was = v
        .add(t("2026-03-02T10:00:00+08:00"), Duration::WorkingDays(5))
        .unwrap();
    assert_eq!(was.due_day(), date(2026, 3, 9));
    // Two whole working days paused.
    let now = v
        .resume(
            &was,
            t("2026-03-04T00:00:00+08:00"),
            t("2026-03-06T00:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(now.due, end_of(date(2026, 3, 11)));
    // Paused over a weekend only: no working time paused, nothing moves.
    let now = v
        .resume(
            &was,
            t("2026-03-07T00:00:00+08:00"),
            t("2026-03-09T00:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(now.due, was.due);
    // Paused Friday 15:00 (9 h of Friday left), resumed Monday 09:00: the remaining 9 h end
    // Monday 18:00, so one working day later: the end of Tuesday 03-10.
    let now = v
        .resume(
            &was,
            t("2026-03-06T15:00:00+08:00"),
            t("2026-03-09T09:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(now.due_day(), date(2026, 3, 10));
    assert_eq!(now.clock_end, t("2026-03-10T18:00:00+08:00"));
    // Pause after the deadline: too late to move it.
    let late = v
        .resume(
            &was,
            t("2026-03-10T09:00:00+08:00"),
            t("2026-03-12T09:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(late, was);
    assert!(matches!(
        v.resume(
            &was,
            t("2026-03-04T00:00:00+08:00"),
            t("2026-03-03T00:00:00+08:00")
        ),
        Err(CalendarError::ResumeBeforePause { .. })
    ));

    // A calendar-day period rolled off Saturday: a short pause on that Saturday does not
    // push it past the Monday it had already been rolled to.
    let was = v
        .add(t("2026-03-06T10:00:00+08:00"), Duration::CalendarDays(1))
        .unwrap();
    assert_eq!(was.due_day(), date(2026, 3, 9));
    assert_eq!(was.clock_end, end_of(date(2026, 3, 7)));
    let now = v
        .resume(
            &was,
            t("2026-03-07T12:00:00+08:00"),
            t("2026-03-07T18:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(now.due_day(), date(2026, 3, 9));
    assert_eq!(now.clock_end, t("2026-03-08T06:00:00+08:00"));

    // With business hours a working-day period ends at the close of business (17:30) while
    // its clock runs to 24:00. A pause at 20:00 on the last day comes after the deadline has
    // passed: it must not revive the clock.
    let overlay = Overlay {
        business_hours: Some(lunch_hours()),
        ..Overlay::default()
    };
    let bv = CalendarView::new(cal(), &overlay).unwrap();
    let was = bv
        .add(t("2026-03-02T10:00:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    assert_eq!(was.due, t("2026-03-03T17:30:00+08:00"));
    let late = bv
        .resume(
            &was,
            t("2026-03-03T20:00:00+08:00"),
            t("2026-03-04T09:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(late, was);
    // Paused at 16:00 on the last day and resumed the next morning: the period again ends at
    // the close of business of a working day.
    let now = bv
        .resume(
            &was,
            t("2026-03-03T16:00:00+08:00"),
            t("2026-03-04T09:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(now.due, t("2026-03-04T17:30:00+08:00"));
    assert_eq!(now.clock_end, t("2026-03-04T17:00:00+08:00"));

    // Hours: exactly the paused wall time.
    let was = v
        .add(t("2026-03-02T10:00:00+08:00"), Duration::Hours(24))
        .unwrap();
    let now = v
        .resume(
            &was,
            t("2026-03-02T12:00:00+08:00"),
            t("2026-03-02T12:30:00+08:00"),
        )
        .unwrap();
    assert_eq!(now.due, t("2026-03-03T10:30:00+08:00"));

    // Replay = add then resume in order.
    let pauses = [
        (
            t("2026-03-03T08:00:00+08:00"),
            t("2026-03-03T20:00:00+08:00"),
        ),
        (
            t("2026-03-04T08:00:00+08:00"),
            t("2026-03-05T08:00:00+08:00"),
        ),
    ];
    let replayed = v
        .replay(
            t("2026-03-02T10:00:00+08:00"),
            Duration::WorkingDays(5),
            &pauses,
        )
        .unwrap();
    let step = v
        .add(t("2026-03-02T10:00:00+08:00"), Duration::WorkingDays(5))
        .unwrap();
    let step = v.resume(&step, pauses[0].0, pauses[0].1).unwrap();
    let step = v.resume(&step, pauses[1].0, pauses[1].1).unwrap();
    assert_eq!(replayed, step);
    assert_eq!(replayed.due_day(), date(2026, 3, 11));
    assert!(matches!(
        v.replay(
            t("2026-03-02T10:00:00+08:00"),
            Duration::WorkingDays(5),
            &[pauses[1], pauses[0]]
        ),
        Err(CalendarError::PausesOutOfOrder { .. })
    ));
}

#[test]
fn remaining_time() {
    let v = cal().view();
    let d = v
        .add(t("2026-09-30T14:00:00+08:00"), Duration::WorkingDays(1))
        .unwrap();
    // Over the holiday only the 24 h of 10-08 remain.
    assert_eq!(
        v.remaining(&d, t("2026-10-01T00:00:00+08:00")).unwrap(),
        jiff::SignedDuration::from_hours(24)
    );
    assert_eq!(
        v.remaining(&d, t("2026-10-09T06:00:00+08:00")).unwrap(),
        jiff::SignedDuration::from_hours(-6)
    );
}

// ----- the month grid --------------------------------------------------------------------------

#[test]
fn month_grid_golden() {
    let text = render_year(&cal().view(), 2026).unwrap();
    assert!(text.contains("工作日 working days: 248"), "{text}");
    assert!(text.contains("12-25..12-31 待 2027 年通知确认"), "{text}");
    let october = text
        .split("\n\n")
        .find(|s| s.starts_with("2026 年 10 月"))
        .unwrap();
    assert_eq!(
        october,
        "2026 年 10 月 October
 一   二   三   四   五   六   日
                 1休  2休  3休  4休
  5休  6休  7休  8    9   10班 11
 12   13   14   15   16   17   18
 19   20   21   22   23   24   25
 26   27   28   29   30   31
  休 1–7 国庆节 · 班 10 国庆节"
    );
    let february = text
        .split("\n\n")
        .find(|s| s.starts_with("2026 年 2 月"))
        .unwrap();
    assert_eq!(
        february,
        "2026 年 2 月 February
 一   二   三   四   五   六   日
                                1
  2    3    4    5    6    7    8
  9   10   11   12   13   14班 15休
 16休 17休 18休 19休 20休 21休 22休
 23休 24   25   26   27   28班
  班 14 春节 · 休 15–23 春节 · 班 28 春节"
    );
    let unpublished = render_year(&cal().view(), 2027).unwrap();
    assert!(unpublished.contains("NOT PUBLISHED"), "{unpublished}");
}

// ----- properties ----------------------------------------------------------------------------

/// Table dates from 2005 to 2030: covered years, the gap before and the gap after.
fn any_date() -> impl Strategy<Value = Date> {
    (0i64..(26 * 365)).prop_map(|k| {
        date(2005, 1, 1)
            .checked_add(jiff::Span::new().days(k))
            .unwrap()
    })
}

fn any_instant() -> impl Strategy<Value = Timestamp> {
    let lo = t("2005-01-01T00:00:00+08:00").as_second();
    let hi = t("2030-12-31T00:00:00+08:00").as_second();
    (lo..hi).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn any_overlay() -> impl Strategy<Value = Overlay> {
    (
        proptest::collection::vec(any_date(), 0..40),
        proptest::collection::vec(any_date(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(closures, extra, hours)| {
            let extra_workdays = extra
                .into_iter()
                .filter(|d| !closures.contains(d))
                .collect();
            Overlay {
                closures,
                extra_workdays,
                business_hours: hours.then(lunch_hours),
            }
        })
}

fn any_duration(with_business: bool) -> impl Strategy<Value = Duration> {
    let units = if with_business { 6 } else { 4 };
    (0..units, 1u32..60).prop_map(|(u, n)| match u {
        0 => Duration::WorkingDays(n),
        1 => Duration::CalendarDays(n),
        2 => Duration::Hours(n * 7),
        3 => Duration::Minutes(n * 97),
        4 => Duration::BusinessHours(n),
        _ => Duration::BusinessMinutes(n * 37),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn add_then_count_round_trips(d in any_date(), n in 1u32..600, overlay in any_overlay()) {
        for v in [cal().view(), CalendarView::new(cal(), &overlay).unwrap()] {
            let due = v.add_working_days(d, n).unwrap();
            prop_assert!(v.is_workday(due));
            prop_assert_eq!(v.working_days_between(d, due).unwrap(), i64::from(n));
            let before = due.yesterday().unwrap();
            prop_assert_eq!(v.working_days_between(d, before).unwrap(), i64::from(n) - 1);
            prop_assert_eq!(v.working_days_between(due, d).unwrap(), -i64::from(n));
        }
    }

    #[test]
    fn deadline_agrees_with_day_arithmetic(start in any_instant(), n in 1u32..300) {
        let v = cal().view();
        let deadline = v.add(start, Duration::WorkingDays(n)).unwrap();
        let receipt = start.to_zoned_datetime(manyi_core::china_tz()).date();
        let due_day = v.add_working_days(receipt, n).unwrap();
        prop_assert_eq!(deadline.due, end_of(due_day));
        prop_assert_eq!(deadline.due_day(), due_day);
        prop_assert_eq!(v.working_days_between(receipt, deadline.due_day()).unwrap(), i64::from(n));
        let settled = cal().is_range_settled(receipt.tomorrow().unwrap(), due_day);
        prop_assert_eq!(deadline.provisional, !settled);
    }

    #[test]
    fn due_is_monotonic_in_n(start in any_instant(), n in 1u32..300, overlay in any_overlay()) {
        let v = CalendarView::new(cal(), &overlay).unwrap();
        let wd = |k| v.add(start, Duration::WorkingDays(k)).unwrap().due;
        prop_assert!(wd(n) < wd(n + 1));
        let cd = |k| v.add(start, Duration::CalendarDays(k)).unwrap().due;
        prop_assert!(cd(n) <= cd(n + 1));
        let h = |k| v.add(start, Duration::Hours(k)).unwrap().due;
        prop_assert!(h(n) < h(n + 1));
        if overlay.business_hours.is_some() {
            let b = |k| v.add(start, Duration::BusinessMinutes(k)).unwrap().due;
            prop_assert!(b(n) < b(n + 1));
        }
    }

    #[test]
    fn calendar_day_period_ends_on_the_first_working_day_from_the_last_day(
        start in any_instant(), n in 1u32..400, overlay in any_overlay()
    ) {
        let v = CalendarView::new(cal(), &overlay).unwrap();
        let d = v.add(start, Duration::CalendarDays(n)).unwrap();
        let receipt = start.to_zoned_datetime(manyi_core::china_tz()).date();
        let last = receipt.checked_add(jiff::Span::new().days(i64::from(n))).unwrap();
        let due_day = d.due_day();
        prop_assert!(v.is_workday(due_day));
        prop_assert!(due_day >= last);
        for day in range(last, due_day.yesterday().unwrap()) {
            prop_assert!(!v.is_workday(day), "{} is a working day before {}", day, due_day);
        }
        prop_assert_eq!(d.clock_end, end_of(last));
    }

    #[test]
    fn make_up_days_are_working_days(d in any_date(), overlay in any_overlay()) {
        let v = CalendarView::new(cal(), &overlay).unwrap();
        if let DayKind::MakeUpWorkday { .. } = v.day_kind(d) {
            prop_assert!(v.is_workday(d));
            prop_assert!(cal().is_workday(d));
        }
        prop_assert_eq!(v.day_kind(d).is_workday(), v.is_workday(d));
        prop_assert_eq!(cal().day_kind(d).is_workday(), cal().is_workday(d));
    }

    #[test]
    fn pause_and_resume_move_the_deadline_by_exactly_the_paused_time(
        start in any_instant(),
        duration in any_duration(true),
        pause_after_s in 0i64..(40 * 86_400),
        pause_len_s in 0i64..(20 * 86_400),
        overlay in any_overlay(),
    ) {
        let mut overlay = overlay;
        overlay.business_hours = Some(lunch_hours());
        let v = CalendarView::new(cal(), &overlay).unwrap();
        let was = v.add(start, duration).unwrap();
        let paused = start.checked_add(jiff::SignedDuration::from_secs(pause_after_s)).unwrap();
        let resumed = paused.checked_add(jiff::SignedDuration::from_secs(pause_len_s)).unwrap();
        let now = v.resume(&was, paused, resumed).unwrap();
        if paused >= was.clock_end || paused >= was.due {
            prop_assert_eq!(&now, &was);
        } else {
            // The clock time left when paused is exactly the clock time left when resumed.
            let left_at_pause = v.remaining(&was, paused).unwrap();
            let left_at_resume = v.remaining(&now, resumed).unwrap();
            prop_assert_eq!(left_at_pause, left_at_resume);
            prop_assert!(left_at_pause > jiff::SignedDuration::ZERO);
            prop_assert!(now.clock_end >= was.clock_end);
            prop_assert!(now.due >= was.due);
            // Elapsed-time periods move by exactly the wall time paused.
            if matches!(duration.unit(), DurationUnit::Hours | DurationUnit::Minutes) {
                prop_assert_eq!(now.due.duration_since(was.due), resumed.duration_since(paused));
            }
            // Day periods still end at the end of a working day (close of business here).
            if duration.unit().is_day_based() {
                prop_assert!(v.is_workday(now.due_day()));
                prop_assert_eq!(now.due, v.end_of_day(now.due_day()).unwrap());
            }
            // Replaying the history gives the same deadline.
            prop_assert_eq!(v.replay(start, duration, &[(paused, resumed)]).unwrap().due, now.due);
        }
    }

    #[test]
    fn no_panics_on_any_input(
        secs in any::<i64>(),
        count in any::<u32>(),
        unit in 0usize..6,
        other in any::<i64>(),
    ) {
        let units = [
            DurationUnit::WorkingDays,
            DurationUnit::CalendarDays,
            DurationUnit::Hours,
            DurationUnit::Minutes,
            DurationUnit::BusinessHours,
            DurationUnit::BusinessMinutes,
        ];
        let (min, max) = (Timestamp::MIN.as_second() + 1, Timestamp::MAX.as_second() - 1);
        let clamp = |s: i64| Timestamp::from_second(s.clamp(min, max)).unwrap();
        let (a, b) = (clamp(secs), clamp(other));
        let overlay = Overlay { business_hours: Some(lunch_hours()), ..Overlay::default() };
        let v = CalendarView::new(cal(), &overlay).unwrap();
        let duration = Duration::new(units[unit], count);
        let _ = cal().view().add(a, duration);
        if let Ok(d) = v.add(a, duration) {
            let _ = v.resume(&d, a.min(b), a.max(b));
            let _ = v.remaining(&d, b);
        }
        let forged = Deadline {
            due: b,
            clock_end: a,
            duration,
            provisional: false,
            calendar_version: String::new(),
        };
        let _ = v.resume(&forged, a.min(b), a.max(b));
        let _ = v.remaining(&forged, b);
        let _ = forged.due_day();
    }

    #[test]
    fn parsing_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        s in ".{0,80}",
    ) {
        let _ = NoticeFile::parse("fuzz.json", &bytes);
        let _ = NoticeFile::parse("fuzz.json", s.as_bytes());
        let wrapped = format!(
            r#"{{"year": 2030, "papers": ["p"],
                "days": [{{"name": "x", "date": "{s}", "isOffDay": true}}]}}"#
        );
        let _ = NoticeFile::parse("fuzz.json", wrapped.as_bytes());
    }
}

#[test]
fn official_calendar_agrees_with_an_independent_walk_over_all_data() {
    // Independent of the rank/select table: walk day by day.
    let v = cal().view();
    let mut d = date(2006, 12, 1);
    let end = date(2027, 2, 1);
    while d < end {
        let mut expected = d;
        for _ in 0..10 {
            expected = expected.tomorrow().unwrap();
            while !cal().is_workday(expected) {
                expected = expected.tomorrow().unwrap();
            }
        }
        assert_eq!(v.add_working_days(d, 10).unwrap(), expected, "{d}");
        d = d.tomorrow().unwrap();
    }
    // Every listed make-up day is a working day, every listed rest day is not.
    for e in cal().data().entries() {
        assert_eq!(
            cal().is_workday(e.date),
            e.kind == EntryKind::MakeUpWorkday,
            "{e:?}"
        );
    }
}
