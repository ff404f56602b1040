//! jinbi-property 第七条附则 (引起投诉人再次投诉) through the index of repeat keys: a repeat
//! complaint is found exactly (normalised key fields, the lowest open case below the new one),
//! complaints registered at the same time record each repeat once, and the catch-up records a
//! repeat a crashed request left pending — once, however often it runs.

use hyper::StatusCode;
use jiff::SignedDuration;
use manyi_store::{CreateOutcome, FindKey, NewCase, NewEvent, NewUser, REPEAT, REPEAT_PENDING};
use serde_json::{Value, json};

use crate::helpers::{ApiClient, TestApp, shipped_policy, spawn_app, token};

async fn jinbi() -> TestApp {
    let app = spawn_app().await;
    let now = app.state.clock.now();
    manyi_server::policies::install(
        &app.store,
        &app.state.policies,
        "jinbi-property.toml",
        &shipped_policy("jinbi-property.toml"),
        now,
        true,
    )
    .await
    .expect("the shipped policy installs");
    for (login, roles) in [
        ("duty", &["duty_staff"][..]),
        ("sup", &["dispatch_supervisor"][..]),
        ("cs", &["customer_service"][..]),
    ] {
        let user = app
            .store
            .insert_user(NewUser {
                login: login.into(),
                name: login.into(),
                unit_code: "BJHD01".into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: None,
            })
            .await
            .expect("user");
        app.store
            .create_api_token(
                &manyi_server::auth::token_hash(&token(login)),
                user.id,
                "test",
                now,
            )
            .await
            .expect("token");
    }
    app
}

async fn complaint(api: &ApiClient, phone: &str, location: &str) -> String {
    let (status, _, body) = api
        .create_case(
            &token("duty"),
            &json!({"policy": "jinbi-property", "kind": "complaint", "channel": "phone",
                "fields": {"complainant": "李先生", "contact_phone": phone,
                    "matter": "楼上漏水", "location": location}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    body["number"].as_str().unwrap().to_owned()
}

/// The case numbers the repeat complaints recorded on `number` name, in the log's order.
async fn repeats_on(app: &TestApp, number: &str) -> Vec<String> {
    let (status, _, body) = app
        .get(&format!("/api/v1/cases/{number}/violations"), &token("cs"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let ledger = body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "repeat_complaint")
        .count();
    let related: Vec<String> = app
        .events(number, &token("cs"))
        .await
        .iter()
        .filter(|e| e["action"] == "repeat_complaint")
        .map(related_case)
        .collect();
    assert_eq!(ledger, related.len(), "one ledger row per logged repeat");
    related
}

/// The event's `related_case`, wherever the event's JSON nests it.
fn related_case(event: &Value) -> String {
    fn find(v: &Value) -> Option<&str> {
        match v {
            Value::Object(map) => map
                .get("related_case")
                .and_then(Value::as_str)
                .or_else(|| map.values().find_map(find)),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    find(event).expect("a related case").to_owned()
}

#[tokio::test]
async fn jinbi_7_concurrent_repeats_each_record_one_violation_on_the_first_case() {
    let app = jinbi().await;
    let first = complaint(&app.api, "13800138000", "3栋101").await;
    let other = complaint(&app.api, "13800138000", "5栋202").await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let api = app.api.clone();
        // Written differently, the same matter: full-width digits, extra spaces.
        let location = if i % 2 == 0 {
            "3栋101"
        } else {
            " ３栋１０１ "
        };
        tasks.push(tokio::spawn(async move {
            complaint(&api, "13800138000", location).await
        }));
    }
    let mut repeats = Vec::new();
    for t in tasks {
        repeats.push(t.await.expect("task"));
    }
    let mut recorded = repeats_on(&app, &first).await;
    recorded.sort();
    repeats.sort();
    assert_eq!(recorded, repeats, "each repeat once, all on the first case");
    for n in repeats.iter().chain([&other]) {
        assert!(repeats_on(&app, n).await.is_empty(), "{n}");
    }
}

#[tokio::test]
async fn jinbi_7_two_complaints_registered_at_once_record_one_repeat_on_the_earlier() {
    let app = jinbi().await;
    for round in 0..3 {
        let phone = format!("1390013900{round}");
        let (a, b) = tokio::join!(
            complaint(&app.api, &phone, "8栋808"),
            complaint(&app.api, &phone, "8栋808")
        );
        // Numbers come from the counter in commit order, like the ids.
        let (earlier, later) = if a < b { (a, b) } else { (b, a) };
        assert_eq!(repeats_on(&app, &earlier).await, vec![later.clone()]);
        assert!(repeats_on(&app, &later).await.is_empty());
    }
}

#[tokio::test]
async fn jinbi_7_a_closed_first_case_is_skipped_for_the_next_open_one() {
    let app = jinbi().await;
    let first = complaint(&app.api, "13700137000", "1栋1").await;
    let second = complaint(&app.api, "13700137000", "1栋1").await;
    assert_eq!(repeats_on(&app, &first).await, vec![second.clone()]);
    // The first case is handled and closed (jinbi 第一条 回访 before closing).
    app.take(
        &first,
        &token("duty"),
        "dispatch",
        json!({"handling_department": "engineering", "reassured": "yes"}),
    )
    .await;
    app.take(
        &first,
        &token("sup"),
        "resolve",
        json!({"result": "已修复"}),
    )
    .await;
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/cases/{first}/callback/verdict"),
            &token("cs"),
            &json!({"verdict": "satisfied", "channel": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    app.take(&first, &token("cs"), "close", json!({})).await;
    let third = complaint(&app.api, "13700137000", "1栋1").await;
    assert_eq!(repeats_on(&app, &first).await, vec![second.clone()]);
    assert_eq!(repeats_on(&app, &second).await, vec![third]);
}

/// A create whose request died after its commit: a copy of case `template` with its keys and
/// the pending marker, the repeat not recorded (the store's create alone, as the server writes
/// it).
async fn orphan_of(app: &TestApp, template: &str) -> manyi_store::CaseRecord {
    let record = app.store.case_by_number(template).await.unwrap().unwrap();
    let events = app.store.case_events(record.id).await.unwrap();
    let policy = app
        .state
        .policies
        .get(&app.store, record.policy_id)
        .await
        .unwrap();
    let case = manyi_server::api::cases::case_of(&record).unwrap();
    let kind = policy.kind("complaint").unwrap();
    let key = manyi_core::find::repeat_key(&case.policy_id, kind, &case.fields).expect("a key");
    let date = record
        .created_at
        .to_zoned_datetime(manyi_core::china_tz())
        .date();
    let numbering = kind.numbering.clone();
    let orphan = NewCase {
        kind: record.kind.clone(),
        policy_id: record.policy_id,
        number_scope: numbering.pattern().to_owned(),
        number_period: numbering.period(date),
        state: record.state.clone(),
        owner_unit_id: record.owner_unit_id,
        first_contact_id: record.first_contact_id,
        assignee_id: record.assignee_id,
        channel: record.channel.clone(),
        created_at: app.state.clock.now(),
        snapshot: record.snapshot.clone(),
        events: vec![NewEvent {
            at: events[0].at,
            actor_id: events[0].actor_id,
            action: events[0].action.clone(),
            clause: events[0].clause.clone(),
            payload: events[0].payload.clone(),
        }],
        idempotency: None,
        timers: Vec::new(),
        find: vec![
            FindKey {
                kind: REPEAT.into(),
                key,
            },
            FindKey {
                kind: REPEAT_PENDING.into(),
                key: String::new(),
            },
        ],
        due_at: None,
    };
    let CreateOutcome::Created(orphan) = app
        .store
        .create_case(orphan, move |serial| numbering.format(date, serial))
        .await
        .expect("create")
    else {
        panic!("a new case");
    };
    orphan
}

#[tokio::test]
async fn jinbi_7_a_repeat_left_pending_by_a_crash_is_recorded_once_by_the_catch_up() {
    let app = jinbi().await;
    let first = complaint(&app.api, "13600136000", "2栋2").await;
    let template = complaint(&app.api, "13600136000", "2栋2").await;
    assert_eq!(repeats_on(&app, &first).await, vec![template.clone()]);

    // A create whose request died after its commit.
    let orphan = orphan_of(&app, &template).await;
    assert_eq!(repeats_on(&app, &first).await, vec![template.clone()]);

    // A marker younger than a minute belongs to a request still at work: left alone.
    let caught = manyi_server::api::violations::catch_up_repeats(&app.state)
        .await
        .unwrap();
    assert_eq!(caught, 0);
    app.clock.advance(SignedDuration::from_secs(61));
    let caught = manyi_server::api::violations::catch_up_repeats(&app.state)
        .await
        .unwrap();
    assert_eq!(caught, 1);
    // Twice (another instance, the next round): still one each.
    let again = manyi_server::api::violations::catch_up_repeats(&app.state)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        repeats_on(&app, &first).await,
        vec![template.clone(), orphan.number.clone()]
    );
}

/// The repeat was a fact when the complaint was registered: a transition that changes the
/// new case's key fields before the catch-up runs (a corrected address) neither loses it nor
/// moves it. The marker survives the update, and the catch-up checks the key the case was
/// registered with — once.
#[tokio::test]
async fn jinbi_7_a_pending_repeat_whose_key_fields_changed_before_the_catch_up_is_recorded_once() {
    let app = jinbi().await;
    let first = complaint(&app.api, "13700137000", "8栋8").await;
    let template = complaint(&app.api, "13700137000", "8栋8").await;
    assert_eq!(repeats_on(&app, &first).await, vec![template.clone()]);
    let orphan = orphan_of(&app, &template).await;

    // Dispatched with the location corrected: the case's keys are replaced by the update.
    let body = app
        .api
        .take(
            &orphan.number,
            &token("duty"),
            "dispatch",
            json!({"location": "9栋9", "handling_department": "engineering", "reassured": "yes"}),
        )
        .await;
    assert_eq!(body["fields"]["location"], "9栋9", "{body:#}");

    app.clock.advance(SignedDuration::from_secs(61));
    let caught = manyi_server::api::violations::catch_up_repeats(&app.state)
        .await
        .unwrap();
    assert_eq!(caught, 1, "the marker survived the update");
    let again = manyi_server::api::violations::catch_up_repeats(&app.state)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        repeats_on(&app, &first).await,
        vec![template.clone(), orphan.number.clone()],
        "recorded once, on the first case"
    );
    // The new address is the case's key now: a complaint about it repeats the orphan.
    let later = complaint(&app.api, "13700137000", "9栋9").await;
    assert_eq!(repeats_on(&app, &orphan.number).await, vec![later]);
}

#[tokio::test]
async fn jinbi_7_cases_stored_before_the_repeat_index_are_found_then_backfilled() {
    let app = jinbi().await;
    let first = complaint(&app.api, "13500135000", "6栋6").await;
    let second = complaint(&app.api, "13500135000", "6栋6").await;
    let _other = complaint(&app.api, "13500135001", "6栋6").await;
    // As a database migrated to 0016 with these cases in it: no repeat keys, backfill to do.
    app.store
        .raw_execute_for_tests("DELETE FROM case_find WHERE kind = 'repeat'")
        .await
        .expect("drop the keys");
    app.store
        .raw_execute_for_tests("UPDATE case_repeat_backfill SET done = FALSE, last_case_id = 0")
        .await
        .expect("reset the progress");

    // Until the backfill is done, the newest open cases are scanned as well.
    let third = complaint(&app.api, "13500135000", "6栋6").await;
    assert_eq!(
        repeats_on(&app, &first).await,
        vec![second.clone(), third.clone()]
    );

    // In batches of two: several rounds, resumable.
    let examined = manyi_server::find::backfill_repeat(&app.state, 2)
        .await
        .expect("backfill");
    assert!(examined >= 4, "{examined}");
    assert!(app.store.repeat_backfill().await.expect("progress").done);
    assert_eq!(
        manyi_server::find::backfill_repeat(&app.state, 2)
            .await
            .expect("again"),
        0
    );
    // The first case is found through its backfilled key alone.
    let record = app.store.case_by_number(&first).await.unwrap().unwrap();
    let case = manyi_server::api::cases::case_of(&record).unwrap();
    let policy = app
        .state
        .policies
        .get(&app.store, record.policy_id)
        .await
        .unwrap();
    let key = manyi_core::find::repeat_key(
        &case.policy_id,
        policy.kind("complaint").unwrap(),
        &case.fields,
    )
    .unwrap();
    let third_id = app.store.case_by_number(&third).await.unwrap().unwrap().id;
    let found = app.store.repeat_first(&key, third_id).await.unwrap();
    assert_eq!(found.map(|c| c.number), Some(first.clone()));
    let fourth = complaint(&app.api, "13500135000", "6栋6").await;
    assert_eq!(repeats_on(&app, &first).await, vec![second, third, fourth]);
}
