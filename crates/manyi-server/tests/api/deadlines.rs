//! Deadlines through the API with a controlled clock: ccb-counter 第十九条 breached and
//! escalated, the National Day holiday, a restart between creation and deadline, jinbi's
//! five-minute dispatch, and the due-soon / overdue list. Time moves by `ManualClock`; the
//! scheduler is ticked explicitly (never a sleep).

use std::sync::Arc;

use hyper::StatusCode;
use jiff::{SignedDuration, Timestamp};
use manyi_core::clock::{Clock, ManualClock};
use manyi_server::{AppState, ServerConfig, scheduler};
use manyi_store::{NewUser, Store, StoreOptions};
use serde_json::{Value, json};

use crate::helpers::{
    Auth, BRANCH_HEAD, OUTLET_HEAD, TELLER, ccb_complaint, shipped_policy, spawn_app, token,
};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn clock<'a>(case: &'a Value, id: &str) -> &'a Value {
    case["clocks"]
        .as_array()
        .expect("clocks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no clock {id} in {case:#}"))
}

fn breaches(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["action"] == "clock_breached")
        .collect()
}

#[tokio::test]
async fn an_outlet_complaint_received_before_national_day_is_due_at_the_end_of_october_8() {
    let app = spawn_app().await;
    app.clock.set(t("2026-09-30T10:00:00+08:00"));
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let c = clock(&case, "handling");
    assert_eq!(c["status"], "running");
    assert_eq!(c["level"], "outlet");
    assert_eq!(c["due"], "2026-10-09T00:00:00+08:00");
    assert_eq!(c["due_day"], "2026-10-08");
    assert_eq!(c["clause"], "第十九条");
    assert_eq!(c["provisional"], false);
    // Working time left: the rest of 09-30 (14 h) and all of 10-08 (24 h).
    assert_eq!(c["remaining_seconds"], 38 * 3600);
}

#[tokio::test]
async fn an_unanswered_outlet_complaint_breaches_article_19_and_goes_up_to_the_tier_2_branch() {
    let app = spawn_app().await;
    app.clock.set(t("2026-09-30T10:00:00+08:00"));
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();

    // Nothing is due before the end of 10-08.
    app.clock.set(t("2026-10-08T23:59:00+08:00"));
    scheduler::tick(&app.state).await.unwrap();
    assert!(breaches(&app.events(&number, &token(TELLER)).await).is_empty());

    app.clock.set(t("2026-10-09T00:00:00+08:00"));
    scheduler::tick(&app.state).await.unwrap();
    let events = app.events(&number, &token(TELLER)).await;
    let fired = breaches(&events);
    assert_eq!(fired.len(), 1, "{events:#?}");
    let breach = fired[0];
    assert_eq!(breach["clause"], "第十九条");
    assert_eq!(
        breach["actor"]["login"], "system",
        "the system acts, not a user"
    );
    let violation = &breach["violation"];
    assert_eq!(violation["clause"], "第十九条");
    let liable: Vec<&str> = violation["liable_persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap())
        .collect();
    assert_eq!(liable, [TELLER, OUTLET_HEAD]);
    assert_eq!(breach["notify"], json!(["service_mgmt"]));
    assert_eq!(breach["owner_unit"]["after"]["code"], "BJHD");

    // At the tier-2 branch a 2-working-day clock runs from the hand-up.
    let (status, _, case) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["owner_unit"]["code"], "BJHD");
    assert_eq!(case["first_contact"]["login"], TELLER);
    let c = clock(&case, "handling");
    assert_eq!(c["level"], "branch2");
    assert_eq!(c["due_day"], "2026-10-12");
    assert_eq!(c["overdue"], false);
    // The tier-2 branch can take it (第二十三条).
    let taken = app
        .take(&number, &token(BRANCH_HEAD), "accept_escalated", json!({}))
        .await;
    assert_eq!(taken["state"], "coordinating");

    // Ticking again fires nothing more.
    let report = scheduler::tick(&app.state).await.unwrap();
    assert_eq!(report.fired, 0);
    assert_eq!(
        breaches(&app.events(&number, &token(TELLER)).await).len(),
        1
    );
}

#[tokio::test]
async fn a_warning_fires_at_80_percent_and_a_reply_in_time_stops_the_clock() {
    let app = spawn_app().await;
    app.clock.set(t("2026-09-30T10:00:00+08:00"));
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    assert_eq!(
        clock(&case, "handling")["warn_at"],
        "2026-10-08T19:12:00+08:00"
    );
    app.clock.set(t("2026-10-08T19:12:00+08:00"));
    scheduler::tick(&app.state).await.unwrap();
    let events = app.events(&number, &token(TELLER)).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["action"] == "clock_warning")
            .count(),
        1
    );
    app.take(&number, &token(TELLER), "start_handling", json!({}))
        .await;
    let replied = app
        .take(
            &number,
            &token(TELLER),
            "reply",
            json!({"handling_result": "已当面致歉并办结", "reply_channel": "in_person"}),
        )
        .await;
    let c = clock(&replied, "handling");
    assert_eq!(c["status"], "stopped");
    assert_eq!(c["met"], true);
    app.clock.set(t("2026-10-20T00:00:00+08:00"));
    scheduler::tick(&app.state).await.unwrap();
    // (The callback owed since the reply has its own clock, 第二十二条; not this one.)
    let events = app.events(&number, &token(TELLER)).await;
    assert!(
        breaches(&events).iter().all(|e| e["clock"] != "handling"),
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_deadline_that_passes_while_manyi_is_down_fires_once_at_start_up() {
    let app = spawn_app().await;
    app.clock.set(t("2026-09-30T10:00:00+08:00"));
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    let url = app.url.clone();
    // Keep the temp dir alive while the first server goes away.
    let first = app;

    // A second process on the same database, started after the deadline.
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let later = ManualClock::new(t("2026-10-09T09:00:00+08:00"));
    let second = AppState::new(
        store.clone(),
        Arc::new(later.clone()),
        ServerConfig::default(),
    );
    // Both instances tick at once, as two servers would: the breach fires exactly once (the
    // warning, due before the deadline, is retired without effect: the breach says it all).
    let (a, b) = tokio::join!(scheduler::tick(&second), scheduler::tick(&second));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.fired + b.fired, 1, "{a:?} {b:?}");
    let again = scheduler::tick(&second).await.unwrap();
    assert_eq!(again.fired, 0);

    let events = first.events(&number, &token(TELLER)).await;
    assert_eq!(breaches(&events).len(), 1, "{events:#?}");
    assert!(!events.iter().any(|e| e["action"] == "clock_warning"));
    drop(first);
}

#[tokio::test]
async fn the_jinbi_dispatch_breaches_at_five_minutes_wall_clock() {
    let app = spawn_app().await;
    manyi_server::policies::install(
        &app.store,
        &app.state.policies,
        "jinbi-property.toml",
        &shipped_policy("jinbi-property.toml"),
        app.clock.now(),
        true,
    )
    .await
    .unwrap();
    let duty = app
        .store
        .insert_user(NewUser {
            login: "duty".into(),
            name: "当班小刘".into(),
            unit_code: "BJHD01".into(),
            roles: vec!["duty_staff".into()],
            password_hash: None,
        })
        .await
        .unwrap();
    app.store
        .create_api_token(
            &manyi_server::auth::token_hash("duty-token"),
            duty.id,
            "test",
            app.clock.now(),
        )
        .await
        .unwrap();
    // A Saturday night of the National Day holiday: wall-clock minutes still count.
    app.clock.set(t("2026-10-03T22:58:00+08:00"));
    let (status, _, case) = app
        .create_case(
            "duty-token",
            &json!({
                "policy": "jinbi-property",
                "kind": "complaint",
                "channel": "phone",
                "fields": {"complainant": "陈先生", "contact_phone": "13912345678", "matter": "楼上漏水"},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    let number = case["number"].as_str().unwrap().to_owned();
    assert_eq!(clock(&case, "dispatch")["due"], "2026-10-03T23:03:00+08:00");

    app.clock.advance(SignedDuration::from_secs(4 * 60 + 59));
    scheduler::tick(&app.state).await.unwrap();
    assert!(breaches(&app.events(&number, "duty-token").await).is_empty());
    app.clock.advance(SignedDuration::from_secs(1));
    scheduler::tick(&app.state).await.unwrap();
    let events = app.events(&number, "duty-token").await;
    let fired = breaches(&events);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["clause"], "第七条");
    assert_eq!(fired[0]["violation"]["liable_persons"][0]["login"], "duty");
}

#[tokio::test]
async fn the_deadline_list_shows_what_is_overdue_and_what_is_due_soon_in_a_subtree() {
    // default-complaint's 2-working-day reply clock records a breach but does not move the
    // case, so the list is the same whether or not the background scheduler fired it yet.
    let app = spawn_app().await;
    app.clock.set(t("2026-06-01T09:00:00+08:00")); // Monday: due at the end of Wednesday
    let late = app.open_complaint(&token(TELLER)).await;
    app.clock.set(t("2026-06-03T09:00:00+08:00")); // Wednesday: due at the end of Friday
    let soon = app.open_complaint(&token(TELLER)).await;
    app.clock.set(t("2026-06-04T10:00:00+08:00")); // Thursday
    let (status, _, list) = app
        .get(
            "/api/v1/deadlines?unit=BJHD01&within_hours=48",
            &token(OUTLET_HEAD),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list:#}");
    let numbers = |key: &str| -> Vec<String> {
        list[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["number"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(numbers("overdue"), [late["number"].as_str().unwrap()]);
    assert_eq!(numbers("due_soon"), [soon["number"].as_str().unwrap()]);
    assert_eq!(list["complete"], true);
    // Another branch's head sees neither.
    let (_, _, other) = app
        .get(
            "/api/v1/deadlines?within_hours=48",
            &token(crate::helpers::SH_TELLER),
        )
        .await;
    assert!(other["overdue"].as_array().unwrap().is_empty(), "{other:#}");
    let _ = ccb_complaint;
}

#[tokio::test]
async fn importing_next_years_notice_makes_provisional_deadlines_final() {
    use crate::helpers::ADMIN;
    let app = spawn_app().await;
    // 2026-12-30 (Wednesday) + 1 working day = 12-31, which depends on the 2027 notice (a
    // notice may reach back into the last days of December): provisional.
    app.clock.set(t("2026-12-30T10:00:00+08:00"));
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    let c = clock(&case, "handling");
    assert_eq!(c["due_day"], "2026-12-31");
    assert_eq!(c["provisional"], true);

    // A malformed notice is refused whole, naming the file; nothing changes.
    let (status, _, problem) = app
        .post_raw(
            "/api/v1/calendar/files?name=2027.json",
            &token(ADMIN),
            "application/json",
            r#"{"year": 2027, "papers": ["x"], "days": [{"name": "元旦", "date": "2027-13-01", "isOffDay": true}]}"#.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem:#}");
    assert!(
        problem["detail"].as_str().unwrap().contains("2027.json"),
        "{problem:#}"
    );
    let (_, _, alerts) = app.get("/api/v1/calendar/alerts", &token(ADMIN)).await;
    assert!(
        !alerts["covered_years"]
            .as_array()
            .unwrap()
            .contains(&json!(2027))
    );

    // Only an administrator imports.
    let notice = r#"{"year": 2027, "papers": ["https://www.gov.cn/notice-2027"], "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#.as_bytes().to_vec();
    let (status, _, _) = app
        .post_raw(
            "/api/v1/calendar/files?name=2027.json",
            &token(TELLER),
            "application/json",
            notice.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _, report) = app
        .post_raw(
            "/api/v1/calendar/files?name=2027.json",
            &token(ADMIN),
            "application/json",
            notice,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report:#}");
    assert_eq!(report["cases_recomputed"], 1, "{report:#}");
    assert!(
        report["covered_years"]
            .as_array()
            .unwrap()
            .contains(&json!(2027))
    );

    let (_, _, case) = app.show(&number, &token(TELLER)).await;
    let c = clock(&case, "handling");
    assert_eq!(c["provisional"], false, "{case:#}");
    assert_eq!(c["due_day"], "2026-12-31");
    assert_eq!(c["calendar_version"], report["calendar_version"]);
    let events = app.events(&number, &token(TELLER)).await;
    assert!(events.iter().any(|e| e["action"] == "deadlines_recomputed"));
}

#[tokio::test]
async fn a_units_own_calendar_moves_its_deadlines_and_its_outlets_inherit_business_hours() {
    use crate::helpers::ADMIN;
    let app = spawn_app().await;
    app.clock.set(t("2026-09-30T10:00:00+08:00"));
    let case = app.open_ccb_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().unwrap().to_owned();
    assert_eq!(clock(&case, "handling")["due_day"], "2026-10-08");

    // The outlet is closed on Thursday 10-08 (say, for renovation): its 1 working day is
    // Friday 10-09. Open cases are recomputed at once.
    let (status, _, report) = app
        .send(
            hyper::Method::PUT,
            "/api/v1/units/BJHD01/calendar",
            Auth::Bearer(&token(ADMIN)),
            &[],
            json_body(json!({"closures": ["2026-10-08"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report:#}");
    assert_eq!(report["cases_recomputed"], 1);
    let (_, _, case) = app.show(&number, &token(TELLER)).await;
    assert_eq!(
        clock(&case, "handling")["due_day"],
        "2026-10-09",
        "{case:#}"
    );

    // The tier-1 branch sets business hours with a lunch break; the outlet inherits them, so
    // the period ends at close of business (17:30) instead of 24:00.
    let (status, _, _) = app
        .send(
            hyper::Method::PUT,
            "/api/v1/units/BJ/calendar",
            Auth::Bearer(&token(ADMIN)),
            &[],
            json_body(json!({"business_hours": {
                "monday": ["09:00-12:00", "13:30-17:30"], "tuesday": ["09:00-12:00", "13:30-17:30"],
                "wednesday": ["09:00-12:00", "13:30-17:30"], "thursday": ["09:00-12:00", "13:30-17:30"],
                "friday": ["09:00-12:00", "13:30-17:30"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, case) = app.show(&number, &token(TELLER)).await;
    assert_eq!(
        clock(&case, "handling")["due"],
        "2026-10-09T17:30:00+08:00",
        "{case:#}"
    );
    let (_, _, cal) = app
        .get("/api/v1/units/BJHD01/calendar", &token(TELLER))
        .await;
    assert_eq!(cal["own"]["closures"], json!(["2026-10-08"]));
    assert!(
        cal["effective"]["business_hours"]["monday"].is_array(),
        "{cal:#}"
    );

    // A contradictory overlay is refused and nothing changes.
    let (status, _, _) = app
        .send(
            hyper::Method::PUT,
            "/api/v1/units/BJHD01/calendar",
            Auth::Bearer(&token(ADMIN)),
            &[],
            json_body(json!({"closures": ["2026-10-10"], "extra_workdays": ["2026-10-10"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Only administrators set calendars.
    let (status, _, _) = app
        .send(
            hyper::Method::DELETE,
            "/api/v1/units/BJHD01/calendar",
            Auth::Bearer(&token(TELLER)),
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn json_body(v: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

/// The numbers and due instants of one page of `GET /api/v1/cases` (`query`).
async fn due_page(app: &crate::helpers::TestApp, query: &str) -> (Vec<(String, String)>, Value) {
    let (status, _, body) = app
        .get(&format!("/api/v1/cases?{query}"), &token(TELLER))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let rows = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            let due = c["clocks"]
                .as_array()
                .expect("clocks")
                .iter()
                .filter(|k| k["status"] == "running")
                .filter_map(|k| k["due"].as_str())
                .map(|d| d.parse::<Timestamp>().expect("due"))
                .min()
                .map_or_else(|| "-".to_owned(), |d| d.to_string());
            (c["number"].as_str().expect("number").to_owned(), due)
        })
        .collect();
    (rows, body["next_cursor"].clone())
}

#[tokio::test]
async fn the_work_queue_lists_open_cases_soonest_due_first_and_pages_by_a_due_cursor() {
    let app = spawn_app().await;
    // Registered on Friday and Monday: an outlet has one working day, so the Friday cases are
    // due at the end of Monday, the Monday ones at the end of Tuesday. The clock never passes
    // a deadline, so the server's scheduler changes nothing while the list is read.
    let mut opened = Vec::new();
    for at in [
        "2026-09-25T10:00:00+08:00",
        "2026-09-25T11:00:00+08:00",
        "2026-09-28T09:00:00+08:00",
        "2026-09-28T10:00:00+08:00",
        "2026-09-28T11:00:00+08:00",
    ] {
        app.clock.set(t(at));
        opened.push(app.open_ccb_complaint(&token(TELLER)).await);
    }
    let (all, cursor) = due_page(&app, "closed=false&order=due&limit=50").await;
    assert_eq!(cursor, Value::Null);
    assert_eq!(all.len(), 5, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(all, sorted, "soonest due first");
    // Ties (the two Friday cases, the three Monday ones) go by id: the order of registration.
    let numbers: Vec<&str> = opened
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        all.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        numbers
    );
    // The newest-first list is another order.
    let (newest, _) = due_page(&app, "closed=false&limit=50").await;
    assert_ne!(
        newest.iter().map(|r| &r.0).collect::<Vec<_>>(),
        all.iter().map(|r| &r.0).collect::<Vec<_>>()
    );

    // Page by page, one case at a time, the cursor walks the same list.
    let mut walked = Vec::new();
    let mut query = "closed=false&order=due&limit=1".to_owned();
    loop {
        let (rows, cursor) = due_page(&app, &query).await;
        walked.extend(rows);
        match cursor.as_str() {
            Some(c) => query = format!("closed=false&order=due&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(walked, all);
}

#[tokio::test]
async fn an_unknown_order_is_refused_with_422_naming_the_field_and_a_cursor_of_the_other_order_with_400()
 {
    let app = spawn_app().await;
    let reply = app
        .get("/api/v1/cases?order=sideways", &token(TELLER))
        .await;
    let problem =
        crate::helpers::assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        crate::helpers::field_errors(&problem),
        [("order".to_owned(), "unknown".to_owned())]
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("sideways"),
        "{problem:#}"
    );
    let reply = app
        .get("/api/v1/cases?order=due&cursor=1234", &token(TELLER))
        .await;
    crate::helpers::assert_problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
}

/// The dashboard counts from the index of open cases by due time, the index by creation time
/// and the monthly aggregate; before, it read and decoded the cases. Both must give the same
/// figures — for every unit's subtree, while deadlines pass unrecorded and after the scheduler
/// recorded the breaches.
#[tokio::test]
async fn the_dashboards_figures_from_indexes_and_the_aggregate_equal_a_scan_of_the_cases() {
    use manyi_server::web::dashboard::{Span, figures, figures_by_scan};
    let app = spawn_app().await;
    let mut at = t("2026-08-20T10:00:00+08:00");
    for i in 0..14 {
        app.clock.set(at);
        app.open_ccb_complaint(&token(TELLER)).await;
        if i % 3 == 0 {
            app.open_complaint(&token(TELLER)).await;
        }
        if i % 4 == 1 {
            app.open_complaint(&token(BRANCH_HEAD)).await;
        }
        at += SignedDuration::from_hours(24 * 3 + 5 * i);
    }
    let units = app.state.store.list_units().await.expect("units");
    let compare = |what: &'static str| {
        let app = &app;
        let units = &units;
        async move {
            let span = Span::at(app.state.clock.now()).expect("span");
            for unit in units {
                // The server's own scheduler may still be handing a case up: compare only
                // figures that did not move while the scan ran.
                for attempt in 0..10 {
                    let new = figures(&app.state, &unit.path, span)
                        .await
                        .expect("figures");
                    let (old, complete) = figures_by_scan(&app.state, &unit.path, span)
                        .await
                        .expect("scan");
                    let again = figures(&app.state, &unit.path, span)
                        .await
                        .expect("figures");
                    if new != again && attempt < 9 {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                    assert!(complete);
                    assert_eq!(new, old, "{what}: {}", unit.code);
                    break;
                }
            }
        }
    };
    // Due soon for some, overdue for others. The server's own scheduler may record breaches at
    // any moment: tick it first, so that nothing changes between the two computations.
    app.clock.set(at - SignedDuration::from_hours(24 * 2));
    scheduler::tick(&app.state).await.expect("tick");
    compare("with the breaches recorded").await;
    let figures_hq = {
        let span = Span::at(app.state.clock.now()).expect("span");
        figures(&app.state, &units[0].path, span)
            .await
            .expect("figures")
    };
    let sum = |f: &dyn Fn(&manyi_server::web::dashboard::UnitFigures) -> usize| {
        figures_hq.units.values().map(f).sum::<usize>()
    };
    // The data covers open cases and late ones.
    assert!(sum(&|u| u.stopped) > 0, "{figures_hq:?}");
    assert!(sum(&|u| u.open) > 0, "{figures_hq:?}");
    assert_eq!(
        figures_hq.per_month.iter().sum::<usize>(),
        sum(&|u| u.created)
    );
    app.clock.set(at + SignedDuration::from_hours(24 * 5));
    scheduler::tick(&app.state).await.expect("tick");
    compare("five days later").await;
}
