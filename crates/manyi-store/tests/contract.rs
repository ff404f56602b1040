//! The store's contract: what every backend must do, written once.
//!
//! Each test body is an `async fn(&Store)` (or `(&Store, &Store)` for two instances sharing one
//! database) that uses only the public interface, so the same bodies run on every backend. The
//! [`contract!`] macro at the bottom turns the list of bodies into one `#[tokio::test]` per
//! backend — `sqlite::name` and `postgres::name` — each on a fresh database from
//! `manyi_store::testing::TestDb` (SQLite: a new file in a temporary directory; PostgreSQL: a
//! new database, dropped afterwards even when the test fails).
//!
//! `MANYI_TEST_PG` names the PostgreSQL server (default `postgres://postgres@127.0.0.1:5432`);
//! when it cannot be reached the PostgreSQL tests fail, unless `MANYI_TEST_PG=skip`, in which
//! case they say they were skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use jiff::Timestamp;
use manyi_store::testing::TestDb;
use manyi_store::{
    CaseFilter, CaseOrder, CaseRecord, CaseUpdate, CreateOutcome, FireOutcome, Idempotency,
    LedgerFilter, NewAttachment, NewCase, NewEvent, NewPenalty, NewUnit, NewUser, NewViolation,
    PenaltyStep, Store, StoreError, StoreOptions, TIMER_FOR_ASSIST, TIMER_FOR_CLOCK,
    TIMER_FOR_DISPUTE, TimerChange, TimerRecord, Unit, User, Visibility,
};
use serde_json::json;
use tokio::sync::Barrier;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// 2026-09-01T00:00:00Z plus `minutes`.
fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_788_220_800 + minutes * 60).expect("in range")
}

fn new_unit(code: &str, parent: Option<&str>) -> NewUnit {
    NewUnit {
        code: code.into(),
        name: format!("unit {code}"),
        level: if parent.is_none() { "总行" } else { "分行" }.into(),
        parent_code: parent.map(Into::into),
    }
}

fn new_user(login: &str, unit: &str, roles: &[&str]) -> NewUser {
    NewUser {
        login: login.into(),
        name: format!("name of {login}"),
        unit_code: unit.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        password_hash: None,
    }
}

/// A small bank:
///
/// ```text
/// HQ ─┬─ B1 ── O1      clerk (O1), manager (B1)
///     └─ B2            other (B2)
/// ```
struct Org {
    hq: Unit,
    b1: Unit,
    o1: Unit,
    b2: Unit,
    clerk: User,
    manager: User,
    other: User,
    policy_id: i64,
}

async fn org(store: &Store) -> Org {
    let hq = store.insert_unit(new_unit("HQ", None)).await.expect("HQ");
    let b1 = store
        .insert_unit(new_unit("B1", Some("HQ")))
        .await
        .expect("B1");
    let o1 = store
        .insert_unit(new_unit("O1", Some("B1")))
        .await
        .expect("O1");
    let b2 = store
        .insert_unit(new_unit("B2", Some("HQ")))
        .await
        .expect("B2");
    let clerk = store
        .insert_user(new_user("clerk", "O1", &["agent"]))
        .await
        .expect("clerk");
    let manager = store
        .insert_user(new_user("manager", "B1", &["head", "agent"]))
        .await
        .expect("manager");
    let other = store
        .insert_user(new_user("other", "B2", &["agent"]))
        .await
        .expect("other");
    let policy = store
        .store_policy_version("bank", "[policy]\nname = 'bank'", "hash-1", at(0))
        .await
        .expect("policy");
    let policy = store
        .activate_policy(policy.id, at(0))
        .await
        .expect("activate");
    Org {
        hq,
        b1,
        o1,
        b2,
        clerk,
        manager,
        other,
        policy_id: policy.id,
    }
}

fn numbering(serial: u64) -> String {
    format!("TS-202609-{serial:06}")
}

fn serial_of(number: &str) -> u64 {
    number
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("a number made by `numbering`")
}

/// A complaint owned by `owner`, first contact `first_contact`, opened by two events.
fn complaint(org: &Org, owner: &Unit, first_contact: &User) -> NewCase {
    NewCase {
        kind: "complaint".into(),
        policy_id: org.policy_id,
        number_scope: "bank/complaint".into(),
        number_period: "2026-09".into(),
        state: "received".into(),
        owner_unit_id: owner.id,
        first_contact_id: first_contact.id,
        assignee_id: None,
        channel: "counter".into(),
        created_at: at(10),
        snapshot: json!({ "customer": { "name": "张三", "mobile": "13800138000" } }),
        events: vec![
            NewEvent {
                at: at(10),
                actor_id: Some(first_contact.id),
                action: "create".into(),
                clause: Some("第八条".into()),
                payload: json!({ "channel": "counter" }),
            },
            NewEvent {
                at: at(10),
                actor_id: None,
                action: "clock_started".into(),
                clause: None,
                payload: json!({ "clock": "response" }),
            },
        ],
        idempotency: None,
        timers: Vec::new(),
        find: Vec::new(),
        due_at: None,
    }
}

async fn create(store: &Store, c: NewCase) -> CaseRecord {
    match store.create_case(c, numbering).await.expect("create_case") {
        CreateOutcome::Created(case) => case,
        other => panic!("expected a new case, got {other:?}"),
    }
}

fn update_of(case: &CaseRecord, state: &str, minutes: i64) -> CaseUpdate {
    CaseUpdate {
        id: case.id,
        expected_version: case.version,
        state: state.into(),
        owner_unit_id: case.owner_unit_id,
        assignee_id: case.assignee_id,
        first_contact_id: None,
        closed: false,
        updated_at: at(minutes),
        snapshot: case.snapshot.clone(),
        events: vec![NewEvent {
            at: at(minutes),
            actor_id: None,
            action: state.into(),
            clause: None,
            payload: json!({}),
        }],
        timers: Vec::new(),
        violations: Vec::new(),
        find: None,
        due_at: None,
    }
}

/// Polls `fut` up to `polls` times, pausing between polls, and drops it if still pending.
async fn poll_then_drop<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = pin!(fut);
    for _ in 0..polls {
        if let Poll::Ready(out) = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
            return Some(out);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

/// Every page of `filter`, following cursors; the ids in the order they came.
async fn walk(store: &Store, filter: &CaseFilter) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut filter = filter.clone();
    loop {
        let page = store.list_cases(&filter).await.expect("list_cases");
        ids.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(cursor) => filter.after = Some(cursor),
            None => return ids,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The organisation tree
// ---------------------------------------------------------------------------------------------

async fn units_get_materialised_paths_from_the_root(store: &Store) {
    let o = org(store).await;
    assert_eq!(o.hq.path, format!("/{}/", o.hq.id));
    assert_eq!(o.b1.path, format!("/{}/{}/", o.hq.id, o.b1.id));
    assert_eq!(o.o1.path, format!("/{}/{}/{}/", o.hq.id, o.b1.id, o.o1.id));
    assert_eq!(o.o1.parent_id, Some(o.b1.id));
    assert_eq!(o.hq.parent_id, None);

    let listed = store.list_units().await.expect("list");
    assert_eq!(listed.len(), 4);
    for pair in listed.windows(2) {
        assert!(pair[0].path < pair[1].path, "ordered by path");
    }
    assert_eq!(
        store.unit_by_code("O1").await.expect("by code"),
        Some(o.o1.clone())
    );
    assert_eq!(store.unit_by_id(o.o1.id).await.expect("by id"), Some(o.o1));
    assert_eq!(store.unit_by_code("nope").await.expect("by code"), None);
}

async fn a_unit_with_an_unknown_parent_or_a_taken_code_is_refused(store: &Store) {
    let err = store.insert_unit(new_unit("X", Some("ghost"))).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    store
        .insert_unit(new_unit("HQ", None))
        .await
        .expect("first HQ");
    let err = store.insert_unit(new_unit("HQ", None)).await.err();
    assert!(matches!(&err, Some(StoreError::Duplicate { what: "unit", key }) if key == "HQ"));
    assert_eq!(store.list_units().await.expect("list").len(), 1);
}

async fn moving_a_unit_rewrites_the_paths_of_its_subtree_and_of_the_cases_owned_there(
    store: &Store,
) {
    let o = org(store).await;
    let in_outlet = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let elsewhere = create(store, complaint(&o, &o.hq, &o.clerk)).await;

    let moved = store.move_unit("B1", "B2").await.expect("move");
    assert_eq!(moved.parent_id, Some(o.b2.id));
    assert_eq!(moved.path, format!("{}{}/", o.b2.path, o.b1.id));

    let o1 = store.unit_by_code("O1").await.expect("read").expect("O1");
    assert_eq!(o1.path, format!("{}{}/", moved.path, o.o1.id));
    assert_eq!(o1.parent_id, Some(o.b1.id), "children keep their parent");
    let b2 = store.unit_by_code("B2").await.expect("read").expect("B2");
    assert_eq!(b2, o.b2, "units outside the subtree are untouched");

    let case = store
        .case_by_number(&in_outlet.number)
        .await
        .expect("read")
        .expect("case");
    assert_eq!(case.owner_unit_path, o1.path);
    let untouched = store
        .case_by_number(&elsewhere.number)
        .await
        .expect("read")
        .expect("case");
    assert_eq!(untouched.owner_unit_path, o.hq.path);

    // The jurisdiction filter follows the move: B2 now sees the outlet's case.
    let page = store
        .list_cases(&CaseFilter {
            unit_subtree: Some(b2.path.clone()),
            ..CaseFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(
        page.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [in_outlet.id]
    );
}

async fn moving_a_unit_under_itself_or_its_descendant_is_refused(store: &Store) {
    let o = org(store).await;
    for target in ["O1", "B1"] {
        let err = store.move_unit("B1", target).await.err();
        assert!(
            matches!(err, Some(StoreError::Invalid { .. })),
            "{target}: {err:?}"
        );
    }
    let err = store.move_unit("B1", "ghost").await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
    let units = store.list_units().await.expect("list");
    assert!(
        units.contains(&o.b1) && units.contains(&o.o1),
        "nothing moved"
    );
}

async fn users_belong_to_a_unit_and_hold_a_sorted_set_of_roles(store: &Store) {
    let o = org(store).await;
    let mut with_dupes = new_user("dup", "O1", &["b", "a", "b"]);
    with_dupes.password_hash = Some("$argon2id$v=19$first".into());
    let u = store.insert_user(with_dupes).await.expect("insert");
    assert_eq!(u.roles, ["a", "b"]);
    assert_eq!(u.unit_id, o.o1.id);
    assert_eq!(u.unit_code, "O1");
    assert_eq!(u.unit_path, o.o1.path);
    assert_eq!(
        store.user_by_login("dup").await.expect("read"),
        Some(u.clone())
    );
    assert_eq!(store.user_by_id(u.id).await.expect("read"), Some(u.clone()));
    assert_eq!(store.user_by_login("nobody").await.expect("read"), None);
    assert_eq!(o.manager.roles, ["agent", "head"]);

    store
        .set_password_hash("dup", "$argon2id$v=19$second")
        .await
        .expect("set hash");
    let changed = store
        .set_user("dup", "new name", "B2", vec!["head".into()])
        .await
        .expect("set user");
    assert_eq!(changed.name, "new name");
    assert_eq!(changed.unit_id, o.b2.id);
    assert_eq!(changed.roles, ["head"]);
    assert_eq!(
        changed.password_hash.as_deref(),
        Some("$argon2id$v=19$second")
    );

    let users = store.list_users().await.expect("list");
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["clerk", "manager", "other", "dup"]);

    let err = store.set_password_hash("nobody", "h").await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn a_user_in_an_unknown_unit_or_with_a_taken_login_is_refused_without_naming_the_login(
    store: &Store,
) {
    org(store).await;
    let err = store
        .insert_user(new_user("zhangsan", "ghost", &[]))
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    let err = store.insert_user(new_user("clerk", "O1", &[])).await.err();
    assert!(
        matches!(err, Some(StoreError::Duplicate { what: "user", .. })),
        "{err:?}"
    );
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(!text.contains("clerk"), "a login is personal data: {text}");
}

async fn importing_an_org_places_parents_first_and_updates_on_a_second_import(store: &Store) {
    // Children before parents, as an HR export might list them.
    let units = vec![
        new_unit("O1", Some("B1")),
        new_unit("B1", Some("HQ")),
        new_unit("HQ", None),
        new_unit("B2", Some("HQ")),
    ];
    let users = vec![
        new_user("clerk", "O1", &["agent"]),
        new_user("boss", "HQ", &["head"]),
    ];
    let summary = store.import_org(units, users).await.expect("import");
    assert_eq!((summary.units_inserted, summary.users_inserted), (4, 2));
    let b1 = store.unit_by_code("B1").await.expect("read").expect("B1");
    let o1 = store.unit_by_code("O1").await.expect("read").expect("O1");
    assert!(o1.path.starts_with(&b1.path));

    // Second import: O1 moves to B2, the clerk moves to B1 and changes roles.
    store
        .set_password_hash("clerk", "$argon2id$kept")
        .await
        .expect("set hash");
    let units = vec![new_unit("HQ", None), new_unit("O1", Some("B2"))];
    let users = vec![new_user("clerk", "B1", &["head"])];
    let summary = store.import_org(units, users).await.expect("re-import");
    assert_eq!((summary.units_inserted, summary.units_updated), (0, 2));
    assert_eq!((summary.users_inserted, summary.users_updated), (0, 1));
    let b2 = store.unit_by_code("B2").await.expect("read").expect("B2");
    let o1 = store.unit_by_code("O1").await.expect("read").expect("O1");
    assert_eq!(o1.path, format!("{}{}/", b2.path, o1.id));
    let clerk = store
        .user_by_login("clerk")
        .await
        .expect("read")
        .expect("clerk");
    assert_eq!(
        (clerk.unit_code.as_str(), clerk.roles.clone()),
        ("B1", vec!["head".to_string()])
    );
    assert_eq!(clerk.password_hash.as_deref(), Some("$argon2id$kept"));
}

async fn an_import_with_a_bad_unit_code_on_the_third_user_leaves_nothing_imported(store: &Store) {
    let units = vec![new_unit("HQ", None), new_unit("B1", Some("HQ"))];
    let users = vec![
        new_user("a", "HQ", &[]),
        new_user("b", "B1", &[]),
        new_user("c", "NO-SUCH-UNIT", &[]),
        new_user("d", "B1", &[]),
    ];
    let err = store.import_org(units, users).await.err();
    assert!(matches!(&err, Some(StoreError::Invalid { reason, .. }) if reason.contains("#3")));
    assert_eq!(store.list_units().await.expect("units"), []);
    assert_eq!(store.list_users().await.expect("users"), []);
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

async fn a_session_finds_its_user_until_it_expires(store: &Store) {
    let o = org(store).await;
    store
        .create_session("session-hash", o.clerk.id, at(0), at(30))
        .await
        .expect("create");
    assert_eq!(
        store
            .session_user("session-hash", at(29))
            .await
            .expect("read"),
        Some(o.clerk.clone())
    );
    assert_eq!(
        store
            .session_user("session-hash", at(30))
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store.session_user("other-hash", at(0)).await.expect("read"),
        None
    );

    assert_eq!(
        store.delete_expired_sessions(at(30)).await.expect("sweep"),
        1
    );
    store
        .create_session("second", o.clerk.id, at(0), at(30))
        .await
        .expect("create");
    store.delete_session("second").await.expect("delete");
    assert_eq!(
        store.session_user("second", at(1)).await.expect("read"),
        None
    );

    let err = store
        .create_session("third", 999_999, at(0), at(30))
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
}

async fn an_api_token_finds_its_user_until_revoked(store: &Store) {
    let o = org(store).await;
    store
        .create_api_token("token-hash", o.manager.id, "reporting", at(0))
        .await
        .expect("create");
    assert_eq!(
        store.token_user("token-hash").await.expect("read"),
        Some(o.manager)
    );
    let err = store
        .create_api_token("token-hash", o.clerk.id, "again", at(0))
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Duplicate { .. })), "{err:?}");
    store.delete_api_token("token-hash").await.expect("revoke");
    assert_eq!(store.token_user("token-hash").await.expect("read"), None);
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

async fn storing_the_same_policy_source_twice_returns_the_same_version(store: &Store) {
    let v1 = store
        .store_policy_version("bank", "a", "h1", at(0))
        .await
        .expect("v1");
    let again = store
        .store_policy_version("bank", "a", "h1", at(5))
        .await
        .expect("again");
    assert_eq!(again, v1);
    assert_eq!((v1.version, v1.active, v1.activated_at), (1, false, None));

    let v2 = store
        .store_policy_version("bank", "b", "h2", at(6))
        .await
        .expect("v2");
    assert_eq!(v2.version, 2);
    let other = store
        .store_policy_version("power", "a", "h1", at(7))
        .await
        .expect("other");
    assert_eq!(other.version, 1, "versions count per name");
    let versions = store.policy_versions("bank").await.expect("versions");
    assert_eq!(versions, [v1, v2.clone()]);
    assert_eq!(store.policy_by_id(v2.id).await.expect("by id"), Some(v2));
}

async fn activating_a_policy_version_deactivates_the_previous_one(store: &Store) {
    let v1 = store
        .store_policy_version("bank", "a", "h1", at(0))
        .await
        .expect("v1");
    let v2 = store
        .store_policy_version("bank", "b", "h2", at(1))
        .await
        .expect("v2");
    let power = store
        .store_policy_version("power", "p", "hp", at(1))
        .await
        .expect("power");
    assert_eq!(store.active_policy("bank").await.expect("read"), None);

    let a1 = store
        .activate_policy(v1.id, at(2))
        .await
        .expect("activate v1");
    assert!(a1.active);
    assert_eq!(a1.activated_at, Some(at(2)));
    store
        .activate_policy(power.id, at(2))
        .await
        .expect("activate power");

    let a2 = store
        .activate_policy(v2.id, at(3))
        .await
        .expect("activate v2");
    assert_eq!(
        store.active_policy("bank").await.expect("read"),
        Some(a2.clone())
    );
    let v1_now = store.policy_by_id(v1.id).await.expect("read").expect("v1");
    assert!(!v1_now.active);
    let names: Vec<String> = store
        .active_policies()
        .await
        .expect("active")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["bank", "power"]);

    let same = store
        .activate_policy(v2.id, at(9))
        .await
        .expect("re-activate");
    assert_eq!(same, a2, "activating the active version changes nothing");
    let err = store.activate_policy(987_654, at(9)).await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn a_stored_policy_version_cannot_be_edited_even_with_raw_sql(store: &Store) {
    let v1 = store
        .store_policy_version("bank", "a", "h1", at(0))
        .await
        .expect("v1");
    assert!(
        store
            .raw_execute_for_tests("UPDATE policy_versions SET source = 'forged'")
            .await
            .is_err()
    );
    assert!(
        store
            .raw_execute_for_tests("DELETE FROM policy_versions")
            .await
            .is_err()
    );
    assert_eq!(store.policy_by_id(v1.id).await.expect("read"), Some(v1));
}

// ---------------------------------------------------------------------------------------------
// Cases: numbering
// ---------------------------------------------------------------------------------------------

async fn cases_are_numbered_one_two_three_per_scope_and_period(store: &Store) {
    let o = org(store).await;
    let mut serials = Vec::new();
    for _ in 0..3 {
        serials.push(serial_of(
            &create(store, complaint(&o, &o.o1, &o.clerk)).await.number,
        ));
    }
    assert_eq!(serials, [1, 2, 3]);

    let mut next_month = complaint(&o, &o.o1, &o.clerk);
    next_month.number_period = "2026-10".into();
    let numbers = |serial| format!("TS-202610-{serial:06}");
    let CreateOutcome::Created(case) = store
        .create_case(next_month, numbers)
        .await
        .expect("create")
    else {
        panic!("expected a new case");
    };
    assert_eq!(
        case.number, "TS-202610-000001",
        "a new period starts again at 1"
    );
    assert_eq!((case.version, case.closed), (1, false));
    assert_eq!(case.owner_unit_path, o.o1.path);
    assert_eq!(case.snapshot["customer"]["name"], "张三");
}

async fn a_thousand_cases_created_concurrently_from_sixteen_tasks_get_serials_one_to_a_thousand(
    store: &Store,
) {
    let o = org(store).await;
    let template = complaint(&o, &o.o1, &o.clerk);
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let store = store.clone();
            let template = template.clone();
            tokio::spawn(async move {
                let mut numbers = Vec::new();
                for _ in (task..1000).step_by(16) {
                    match store.create_case(template.clone(), numbering).await {
                        Ok(CreateOutcome::Created(case)) => numbers.push(case.number),
                        other => panic!("task {task}: {other:?}"),
                    }
                }
                numbers
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.extend(task.await.expect("task finished"));
    }
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 1000);
    let mut serials: Vec<u64> = numbers.iter().map(|n| serial_of(n)).collect();
    serials.sort_unstable();
    assert_eq!(serials, (1..=1000).collect::<Vec<u64>>());

    // The page size is clamped to 500, and the pages together hold every case once.
    let page = store
        .list_cases(&CaseFilter {
            limit: 10_000,
            ..CaseFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 500);
    let ids = walk(
        store,
        &CaseFilter {
            limit: 10_000,
            ..CaseFilter::default()
        },
    )
    .await;
    assert_eq!(ids.len(), 1000);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 1000);
}

/// Two handles on one database: two server instances, or the CLI importing beside the server.
async fn two_stores_sharing_a_database_number_cases_concurrently_without_gaps(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let template = complaint(&o, &o.o1, &o.clerk);
    let mut tasks = Vec::new();
    for (i, store) in [first, second].into_iter().cycle().take(8).enumerate() {
        let store = store.clone();
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let mut numbers = Vec::new();
            for _ in 0..40 {
                match store.create_case(template.clone(), numbering).await {
                    Ok(CreateOutcome::Created(case)) => numbers.push(case.number),
                    other => panic!("task {i}: {other:?}"),
                }
            }
            numbers
        }));
    }
    let mut serials = Vec::new();
    for task in tasks {
        serials.extend(
            task.await
                .expect("task finished")
                .iter()
                .map(|n| serial_of(n)),
        );
    }
    serials.sort_unstable();
    assert_eq!(serials, (1..=320).collect::<Vec<u64>>());
}

/// On SQLite concurrent writes share one transaction (group commit), each in a savepoint: a
/// failing write must roll back alone, get its own error, and give its serial back, while the
/// writes batched with it succeed. On PostgreSQL each write is its own transaction anyway.
async fn failing_writes_mixed_into_concurrent_creates_fail_alone_and_leave_no_gap(store: &Store) {
    let o = org(store).await;
    let victim = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let keyed = |hash: &str| {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.idempotency = Some(Idempotency {
            user_id: o.clerk.id,
            key: "mixed-batch".into(),
            request_hash: hash.into(),
        });
        c
    };
    let first_keyed = create(store, keyed("first")).await;
    let taken = victim.number.clone();
    let mut tasks = Vec::new();
    for i in 0..120_u32 {
        let store = store.clone();
        let mut c = complaint(&o, &o.o1, &o.clerk);
        let stale = update_of(&victim, "accepted", 5);
        let reused = keyed("another request");
        let taken = taken.clone();
        tasks.push(tokio::spawn(async move {
            match i % 6 {
                // An unknown owner unit: refused after nothing, inside its savepoint.
                1 => {
                    c.owner_unit_id = 999_999;
                    ("unknown unit", store.create_case(c, numbering).await)
                }
                // A number that collides: fails after its serial was taken.
                2 => (
                    "duplicate number",
                    store.create_case(c, move |_| taken.clone()).await,
                ),
                // A key reused for another request: answered, nothing written.
                3 => ("key reused", store.create_case(reused, numbering).await),
                // A stale update: only the first of these can win the version.
                4 => {
                    let r = store.update_case(stale).await;
                    ("update", r.map(CreateOutcome::Created))
                }
                _ => ("create", store.create_case(c, numbering).await),
            }
        }));
    }
    let mut created = Vec::new();
    let mut updates_won = 0;
    for task in tasks {
        let (what, result) = task.await.expect("task finished");
        match (what, result) {
            ("create", Ok(CreateOutcome::Created(case))) => created.push(case),
            ("unknown unit", Err(StoreError::Invalid { .. })) => {}
            ("duplicate number", Err(StoreError::Duplicate { .. })) => {}
            ("key reused", Ok(CreateOutcome::KeyReused)) => {}
            ("update", Ok(_)) => updates_won += 1,
            ("update", Err(StoreError::Conflict)) => {}
            (what, other) => panic!("{what}: {other:?}"),
        }
    }
    assert_eq!(
        updates_won, 1,
        "one stale update wins the version, the rest conflict"
    );
    assert_eq!(created.len(), 40);
    let mut serials: Vec<u64> = created.iter().map(|c| serial_of(&c.number)).collect();
    serials.sort_unstable();
    // Serials 1 and 2 went to the cases made before the race.
    assert_eq!(serials, (3..=42).collect::<Vec<u64>>(), "no serial lost");
    for case in &created {
        let events = store.case_events(case.id).await.expect("events");
        assert_eq!(events.len(), 2, "case {} has all of its events", case.id);
    }
    assert_eq!(walk(store, &CaseFilter::default()).await.len(), 42);
    let replay = store
        .create_case(keyed("first"), numbering)
        .await
        .expect("replay");
    assert_eq!(replay, CreateOutcome::Replayed(first_keyed));
}

/// Instances cache the org tree, unit calendars and active policies behind this number.
async fn the_directory_revision_moves_with_units_unit_calendars_and_policies_only(store: &Store) {
    let r0 = store.directory_revision().await.expect("revision");
    let o = org(store).await;
    let r1 = store.directory_revision().await.expect("revision");
    assert!(r1 > r0, "units and a policy were written: {r0} → {r1}");
    create(store, complaint(&o, &o.o1, &o.clerk)).await;
    assert_eq!(
        store.directory_revision().await.expect("revision"),
        r1,
        "cases do not move it"
    );
    store
        .set_unit_calendar(&o.o1.code, Some(serde_json::json!({"closures": []})), at(1))
        .await
        .expect("unit calendar");
    let r2 = store.directory_revision().await.expect("revision");
    assert!(r2 > r1, "a unit calendar moves it");
    let v2 = store
        .store_policy_version("bank", "[policy]\nname = 'bank' # v2", "hash-2", at(2))
        .await
        .expect("policy");
    let r3 = store.directory_revision().await.expect("revision");
    assert!(r3 > r2, "a new policy version moves it");
    store.activate_policy(v2.id, at(3)).await.expect("activate");
    let r4 = store.directory_revision().await.expect("revision");
    assert!(r4 > r3, "activating a version moves it");
    store
        .move_unit(&o.o1.code, &o.b2.code)
        .await
        .expect("move unit");
    assert!(
        store.directory_revision().await.expect("revision") > r4,
        "moving a unit moves it"
    );
}

async fn a_failed_case_insert_gives_its_serial_back(store: &Store) {
    let o = org(store).await;
    let first = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    // A numbering that collides with an existing number makes the insert fail after the
    // serial was taken...
    let taken = first.number.clone();
    let err = store
        .create_case(complaint(&o, &o.o1, &o.clerk), move |_| taken.clone())
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Duplicate { .. })), "{err:?}");
    // ...and so does an unknown owner unit or user.
    let mut unknown_user = complaint(&o, &o.o1, &o.clerk);
    unknown_user.first_contact_id = 999_999;
    let err = store.create_case(unknown_user, numbering).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    let mut unknown_unit = complaint(&o, &o.o1, &o.clerk);
    unknown_unit.owner_unit_id = 999_999;
    let err = store.create_case(unknown_unit, numbering).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");

    let next = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    assert_eq!(serial_of(&next.number), 2, "no gap after failures");
    assert_eq!(walk(store, &CaseFilter::default()).await.len(), 2);
}

async fn a_create_cancelled_at_any_point_leaves_no_gap_and_no_half_written_case(store: &Store) {
    let o = org(store).await;
    // Poll a create a few times, with a pause between polls so the database makes progress,
    // then drop it, as a server drops a request whose client went away. Attempt n stops after
    // n steps, so cancellation lands at every stage: waiting for the writer, inside the
    // transaction, during the commit, after it.
    let mut cancelled = 0;
    for polls in 0..20 {
        let create = store.create_case(complaint(&o, &o.o1, &o.clerk), numbering);
        if poll_then_drop(create, polls).await.is_none() {
            cancelled += 1;
        }
    }
    assert!(cancelled > 0, "some attempts must actually be cancelled");
    let last = create(store, complaint(&o, &o.o1, &o.clerk)).await;

    let ids = walk(store, &CaseFilter::default()).await;
    let mut serials = Vec::new();
    for id in &ids {
        let case = store.case_by_id(*id).await.expect("read").expect("case");
        serials.push(serial_of(&case.number));
        let events = store.case_events(*id).await.expect("events");
        assert_eq!(events.len(), 2, "case {id} has all of its events");
    }
    serials.sort_unstable();
    let expected: Vec<u64> = (1..=serials.len() as u64).collect();
    assert_eq!(serials, expected);
    assert_eq!(serial_of(&last.number), serials.len() as u64);
}

// ---------------------------------------------------------------------------------------------
// Cases: idempotency, updates, events
// ---------------------------------------------------------------------------------------------

async fn a_replayed_idempotency_key_returns_the_first_case_and_a_different_request_is_refused(
    store: &Store,
) {
    let o = org(store).await;
    let keyed = |hash: &str| {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.idempotency = Some(Idempotency {
            user_id: o.clerk.id,
            key: "form-7f3a".into(),
            request_hash: hash.into(),
        });
        c
    };
    let first = create(store, keyed("req-1")).await;
    let replay = store
        .create_case(keyed("req-1"), numbering)
        .await
        .expect("replay");
    assert_eq!(replay, CreateOutcome::Replayed(first.clone()));
    let reused = store
        .create_case(keyed("req-2"), numbering)
        .await
        .expect("reuse");
    assert_eq!(reused, CreateOutcome::KeyReused);

    // The key is per user: another user may use the same one.
    let mut theirs = keyed("req-1");
    theirs.idempotency = theirs.idempotency.map(|i| Idempotency {
        user_id: o.manager.id,
        ..i
    });
    let second = create(store, theirs).await;
    assert_eq!(serial_of(&second.number), 2, "replays took no serial");
    assert_eq!(walk(store, &CaseFilter::default()).await.len(), 2);
}

async fn an_update_bumps_the_version_moves_the_owner_path_and_appends_events_in_order(
    store: &Store,
) {
    let o = org(store).await;
    let case = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let mut change = update_of(&case, "escalated", 20);
    change.owner_unit_id = o.b1.id;
    change.assignee_id = Some(o.manager.id);
    change.snapshot = json!({ "customer": { "name": "张三" }, "note": "escalated" });
    let updated = store.update_case(change).await.expect("update");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.state, "escalated");
    assert_eq!(updated.owner_unit_path, o.b1.path);
    assert_eq!(updated.assignee_id, Some(o.manager.id));
    assert_eq!(updated.updated_at, at(20));
    assert_eq!(updated.created_at, case.created_at);
    assert_eq!(updated.snapshot["note"], "escalated");
    // Without `first_contact_id` the intake owner stays (CLAUSES.md A20).
    assert_eq!(updated.first_contact_id, case.first_contact_id);

    // Handing the intake over moves it; the next update without one keeps the new owner.
    let mut hand = update_of(&updated, "escalated", 25);
    hand.first_contact_id = Some(o.manager.id);
    let updated = store.update_case(hand).await.expect("hand the intake over");
    assert_eq!(updated.first_contact_id, o.manager.id);

    let mut close = update_of(&updated, "closed", 30);
    close.closed = true;
    let closed = store.update_case(close).await.expect("close");
    assert_eq!((closed.version, closed.closed), (4, true));
    assert_eq!(closed.first_contact_id, o.manager.id);
    assert_eq!(
        store.case_by_number(&case.number).await.expect("read"),
        Some(closed)
    );

    let events = store.case_events(case.id).await.expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(
        actions,
        [
            "create",
            "clock_started",
            "escalated",
            "escalated",
            "closed"
        ]
    );
    assert_eq!(events[0].clause.as_deref(), Some("第八条"));
    assert_eq!(events[0].actor_id, Some(o.clerk.id));
    assert_eq!(events[0].at, at(10));
    assert_eq!(events[0].payload, json!({ "channel": "counter" }));
}

async fn an_update_with_a_stale_version_is_a_conflict_and_writes_nothing(store: &Store) {
    let o = org(store).await;
    let case = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let fresh = store
        .update_case(update_of(&case, "accepted", 20))
        .await
        .expect("update");

    let stale = update_of(&case, "rejected", 21);
    let err = store.update_case(stale).await.err();
    assert!(matches!(err, Some(StoreError::Conflict)), "{err:?}");
    assert_eq!(
        store.case_by_number(&case.number).await.expect("read"),
        Some(fresh)
    );
    assert_eq!(store.case_events(case.id).await.expect("events").len(), 3);

    let mut missing = update_of(&case, "x", 22);
    missing.id = 999_999;
    let err = store.update_case(missing).await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn events_cannot_be_updated_or_deleted_even_with_raw_sql(store: &Store) {
    let o = org(store).await;
    let case = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let before = store.case_events(case.id).await.expect("events");

    let update = store
        .raw_execute_for_tests("UPDATE case_events SET action = 'forged'")
        .await;
    assert!(update.is_err(), "update must be refused: {update:?}");
    let delete = store.raw_execute_for_tests("DELETE FROM case_events").await;
    assert!(delete.is_err(), "delete must be refused: {delete:?}");

    assert_eq!(store.case_events(case.id).await.expect("events"), before);
    // The refusals left no transaction open: the store still writes.
    store
        .update_case(update_of(&case, "accepted", 20))
        .await
        .expect("still writable");
}

// ---------------------------------------------------------------------------------------------
// Cases: listing
// ---------------------------------------------------------------------------------------------

async fn a_user_sees_cases_owned_in_their_subtree_and_cases_where_they_are_first_contact(
    store: &Store,
) {
    let o = org(store).await;
    let in_outlet = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let manager_first_in_b2 = create(store, complaint(&o, &o.b2, &o.manager)).await;
    let b2_own = create(store, complaint(&o, &o.b2, &o.other)).await;
    let in_b1 = create(store, complaint(&o, &o.b1, &o.manager)).await;
    let at_hq = create(store, complaint(&o, &o.hq, &o.other)).await;

    let visible = |user: &User| CaseFilter {
        visible_to: Some(Visibility {
            unit_path: user.unit_path.clone(),
            user_id: user.id,
        }),
        ..CaseFilter::default()
    };
    assert_eq!(
        walk(store, &visible(&o.manager)).await,
        [in_b1.id, manager_first_in_b2.id, in_outlet.id]
    );
    assert_eq!(
        walk(store, &visible(&o.other)).await,
        [at_hq.id, b2_own.id, manager_first_in_b2.id]
    );
    assert_eq!(walk(store, &visible(&o.clerk)).await, [in_outlet.id]);

    let subtree = CaseFilter {
        unit_subtree: Some(o.b1.path.clone()),
        ..CaseFilter::default()
    };
    assert_eq!(walk(store, &subtree).await, [in_b1.id, in_outlet.id]);
    let first_contact = CaseFilter {
        first_contact_id: Some(o.manager.id),
        ..CaseFilter::default()
    };
    assert_eq!(
        walk(store, &first_contact).await,
        [in_b1.id, manager_first_in_b2.id]
    );

    // A prefix without its trailing slash would also match `/1/20/`: refused, not guessed.
    let sloppy = CaseFilter {
        unit_subtree: Some(o.b1.path.trim_end_matches('/').to_owned()),
        ..CaseFilter::default()
    };
    let err = store.list_cases(&sloppy).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
}

async fn cases_can_be_filtered_by_kind_state_assignee_closure_and_creation_time(store: &Store) {
    let o = org(store).await;
    let early = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let mut later = complaint(&o, &o.o1, &o.clerk);
    later.created_at = at(100);
    later.kind = "inquiry".into();
    later.assignee_id = Some(o.manager.id);
    let later = create(store, later).await;
    let mut done = update_of(&early, "closed", 50);
    done.closed = true;
    let early = store.update_case(done).await.expect("close");

    let ids = |f: CaseFilter| async move { walk(store, &f).await };
    let all = CaseFilter::default;
    assert_eq!(
        ids(CaseFilter {
            kind: Some("inquiry".into()),
            ..all()
        })
        .await,
        [later.id]
    );
    assert_eq!(
        ids(CaseFilter {
            state: Some("closed".into()),
            ..all()
        })
        .await,
        [early.id]
    );
    assert_eq!(
        ids(CaseFilter {
            state: Some("received".into()),
            ..all()
        })
        .await,
        [later.id]
    );
    assert_eq!(
        ids(CaseFilter {
            assignee_id: Some(o.manager.id),
            ..all()
        })
        .await,
        [later.id]
    );
    assert_eq!(
        ids(CaseFilter {
            closed: Some(true),
            ..all()
        })
        .await,
        [early.id]
    );
    assert_eq!(
        ids(CaseFilter {
            closed: Some(false),
            ..all()
        })
        .await,
        [later.id]
    );
    assert_eq!(
        ids(CaseFilter {
            created_from: Some(at(100)),
            ..all()
        })
        .await,
        [later.id]
    );
    assert_eq!(
        ids(CaseFilter {
            created_to: Some(at(100)),
            ..all()
        })
        .await,
        [early.id]
    );
    let both = CaseFilter {
        created_from: Some(at(0)),
        created_to: Some(at(101)),
        kind: Some("complaint".into()),
        ..all()
    };
    assert_eq!(ids(both).await, [early.id]);
}

async fn cursor_pagination_walks_every_case_exactly_once_newest_first(store: &Store) {
    let o = org(store).await;
    let mut created = Vec::new();
    for i in 0..23 {
        let owner = if i % 2 == 0 { &o.o1 } else { &o.b2 };
        created.push(create(store, complaint(&o, owner, &o.clerk)).await.id);
    }
    created.reverse();

    for limit in [1, 5, 7, 23, 50] {
        let f = CaseFilter {
            limit,
            ..CaseFilter::default()
        };
        assert_eq!(walk(store, &f).await, created, "limit {limit}");
    }
    // A full last page says so: no cursor to an empty page.
    let page = store
        .list_cases(&CaseFilter {
            limit: 23,
            ..CaseFilter::default()
        })
        .await
        .expect("list");
    assert_eq!((page.items.len(), page.next_cursor), (23, None));
    // A limit of 0 is clamped to 1.
    let page = store
        .list_cases(&CaseFilter {
            limit: 0,
            ..CaseFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    // Filters and cursors combine.
    let in_b2 = CaseFilter {
        unit_subtree: Some(o.b2.path.clone()),
        limit: 4,
        ..CaseFilter::default()
    };
    assert_eq!(walk(store, &in_b2).await.len(), 11);
}

/// Every page of `filter` in the due order, following the (due time, id) cursor.
async fn walk_due(store: &Store, filter: &CaseFilter) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut filter = CaseFilter {
        order: CaseOrder::Due,
        ..filter.clone()
    };
    loop {
        let page = store.list_cases(&filter).await.expect("list_cases");
        ids.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(cursor) => {
                filter.after = Some(cursor);
                filter.after_due = page.items.last().and_then(|c| c.due_at);
            }
            None => return ids,
        }
    }
}

/// A case snapshot with clocks as the core writes them (`status`, `deadline.due`).
fn snapshot_with_clocks(clocks: &[(&str, &str, &str)]) -> serde_json::Value {
    let clocks: serde_json::Map<String, serde_json::Value> = clocks
        .iter()
        .map(|(id, status, due)| {
            (
                (*id).to_owned(),
                json!({ "id": id, "status": status, "deadline": { "due": due } }),
            )
        })
        .collect();
    json!({ "customer": { "name": "张三" }, "clocks": clocks })
}

async fn the_due_order_lists_soonest_first_cases_without_a_running_clock_last_ties_by_id(
    store: &Store,
) {
    let o = org(store).await;
    // (owner, first contact, due in minutes or none, closed afterwards)
    let plan: &[(&Unit, &User, Option<i64>, bool)] = &[
        (&o.o1, &o.clerk, Some(300), false),
        (&o.b1, &o.manager, None, false),
        (&o.o1, &o.clerk, Some(100), false),
        (&o.b2, &o.clerk, Some(200), false),
        (&o.b2, &o.manager, Some(100), false), // a tie with the third: by id
        (&o.hq, &o.other, Some(50), false),
        (&o.o1, &o.clerk, None, false),
        (&o.b1, &o.clerk, Some(10), true), // closed: out of the open lists
        (&o.b2, &o.other, Some(-30), false), // overdue: first
        (&o.o1, &o.manager, Some(200), false),
    ];
    let mut cases: Vec<CaseRecord> = Vec::new();
    for (owner, first, due, closed) in plan {
        let mut c = complaint(&o, owner, first);
        c.due_at = due.map(at);
        let case = create(store, c).await;
        assert_eq!(case.due_at, due.map(at), "due_at comes back as written");
        let case = if *closed {
            let mut u = update_of(&case, "closed", 20);
            u.closed = true;
            u.due_at = None;
            let closed = store.update_case(u).await.expect("close");
            assert_eq!(closed.due_at, None, "an update writes due_at too");
            closed
        } else {
            case
        };
        cases.push(case);
    }
    let expected = |keep: &dyn Fn(&CaseRecord) -> bool| -> Vec<i64> {
        let mut v: Vec<&CaseRecord> = cases.iter().filter(|c| keep(c)).collect();
        v.sort_by_key(|c| (c.due_at.is_none(), c.due_at, c.id));
        v.into_iter().map(|c| c.id).collect()
    };
    let open = |c: &CaseRecord| !c.closed;
    let in_path = |c: &CaseRecord, path: &str| c.owner_unit_path.starts_with(path);
    let filters: Vec<(&str, CaseFilter, Vec<i64>)> = vec![
        (
            "all open",
            CaseFilter {
                closed: Some(false),
                ..CaseFilter::default()
            },
            expected(&open),
        ),
        (
            "everything (closed cases have no due time)",
            CaseFilter::default(),
            expected(&|_| true),
        ),
        (
            "open in B1's subtree",
            CaseFilter {
                closed: Some(false),
                unit_subtree: Some(o.b1.path.clone()),
                ..CaseFilter::default()
            },
            expected(&|c| open(c) && in_path(c, &o.b1.path)),
        ),
        (
            "open cases the B1 manager may see (subtree or first contact)",
            CaseFilter {
                closed: Some(false),
                visible_to: Some(Visibility {
                    unit_path: o.manager.unit_path.clone(),
                    user_id: o.manager.id,
                }),
                ..CaseFilter::default()
            },
            expected(&|c| {
                open(c) && (in_path(c, &o.manager.unit_path) || c.first_contact_id == o.manager.id)
            }),
        ),
        (
            "open cases the clerk may see, within B2",
            CaseFilter {
                closed: Some(false),
                unit_subtree: Some(o.b2.path.clone()),
                visible_to: Some(Visibility {
                    unit_path: o.clerk.unit_path.clone(),
                    user_id: o.clerk.id,
                }),
                ..CaseFilter::default()
            },
            expected(&|c| {
                open(c)
                    && in_path(c, &o.b2.path)
                    && (in_path(c, &o.clerk.unit_path) || c.first_contact_id == o.clerk.id)
            }),
        ),
    ];
    for (what, filter, want) in &filters {
        assert!(!want.is_empty(), "{what}: the fixture lists something");
        for limit in [1, 2, 3, 50] {
            let f = CaseFilter {
                limit,
                ..filter.clone()
            };
            assert_eq!(&walk_due(store, &f).await, want, "{what}, pages of {limit}");
        }
    }
    // The newest-first order is unchanged by the new order's existence.
    let mut newest: Vec<i64> = cases.iter().filter(|c| open(c)).map(|c| c.id).collect();
    newest.reverse();
    assert_eq!(
        walk(
            store,
            &CaseFilter {
                closed: Some(false),
                limit: 3,
                ..CaseFilter::default()
            }
        )
        .await,
        newest
    );
}

/// A case of the backfill test: its clocks (id, status, due), closed, the due time expected.
type BackfillCase<'a> = (&'a [(&'a str, &'a str, &'a str)], bool, Option<Timestamp>);

/// Migration 0012 fills `due_at` of the cases already there from their snapshots, by the same
/// rule as the core: the soonest deadline of a running clock; paused and stopped clocks do not
/// count; closed cases have none.
async fn the_due_time_backfill_reads_running_clocks_from_the_snapshot(store: &Store) {
    let o = org(store).await;
    // (clocks as (id, status, due), closed, the due time expected)
    let rows: &[BackfillCase] = &[
        (
            &[
                ("reply", "running", "2026-09-03T16:00:00Z"),
                ("handling", "running", "2026-09-02T16:00:00.250Z"),
                ("dispatch", "stopped", "2026-09-01T00:05:00Z"),
            ],
            false,
            Some("2026-09-02T16:00:00.250Z".parse().expect("instant")),
        ),
        (
            &[
                ("reply", "paused", "2026-09-01T16:00:00Z"),
                ("handling", "running", "2026-09-04T16:00:00+08:00"),
            ],
            false,
            Some("2026-09-04T08:00:00Z".parse().expect("instant")),
        ),
        (&[("reply", "paused", "2026-09-01T16:00:00Z")], false, None),
        (&[], false, None),
        (&[("reply", "running", "2026-09-01T16:00:00Z")], true, None),
    ];
    let mut ids = Vec::new();
    for (clocks, closed, _) in rows {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.snapshot = snapshot_with_clocks(clocks);
        let case = create(store, c).await;
        if *closed {
            let mut u = update_of(&case, "closed", 20);
            u.closed = true;
            u.snapshot = case.snapshot.clone();
            store.update_case(u).await.expect("close");
        }
        ids.push(case.id);
    }
    // A snapshot without any `clocks` key at all (written before clocks existed).
    ids.push(create(store, complaint(&o, &o.o1, &o.clerk)).await.id);

    store
        .raw_execute_for_tests("UPDATE cases SET due_at = NULL")
        .await
        .expect("forget");
    let migration: &'static str = if store.backend_name() == "sqlite" {
        include_str!("../migrations/sqlite/0012_due.sql")
    } else {
        include_str!("../migrations/postgres/0012_due.sql")
    };
    // The backfill statement of the migration, as shipped.
    let start = migration.find("UPDATE cases").expect("the backfill");
    let len = migration[start..].find(';').expect("its end");
    let backfill: &'static str = &migration[start..start + len];
    store
        .raw_execute_for_tests(backfill)
        .await
        .expect("backfill");
    for (i, (_, _, want)) in rows.iter().enumerate() {
        let case = store.case_by_id(ids[i]).await.expect("read").expect("case");
        assert_eq!(case.due_at, *want, "case {i}");
    }
    let last = store
        .case_by_id(ids[rows.len()])
        .await
        .expect("read")
        .expect("case");
    assert_eq!(last.due_at, None);
}

// ---------------------------------------------------------------------------------------------
// Backend differences that must not show
// ---------------------------------------------------------------------------------------------

/// SQLite compares text byte by byte; a PostgreSQL database may have a linguistic collation
/// (the test databases have `zh-Hans-CN`). Sorted lists and subtree ranges must not notice.
async fn text_comes_back_in_byte_order_whatever_the_database_collation(store: &Store) {
    let o = org(store).await;
    let u = store
        .insert_user(new_user("mixed", "O1", &["中", "a", "Z", "b-c", "bc"]))
        .await
        .expect("insert");
    let mut expected = vec!["中", "a", "Z", "b-c", "bc"];
    expected.sort_unstable();
    assert_eq!(u.roles, expected, "roles in byte order");

    for name in ["Zeta", "电力", "air"] {
        let p = store
            .store_policy_version(name, "x", &format!("hash of {name}"), at(1))
            .await
            .expect("store");
        store.activate_policy(p.id, at(1)).await.expect("activate");
    }
    let names: Vec<String> = store
        .active_policies()
        .await
        .expect("active")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        ["Zeta", "air", "bank", "电力"],
        "policy names in byte order"
    );

    // Enough units that ids reach two digits, so that `/1/2/` and `/1/20/` can both exist,
    // and one case owned by each unit.
    for i in 0..20 {
        store
            .insert_unit(new_unit(
                &format!("X{i}"),
                Some(if i % 2 == 0 { "HQ" } else { "B1" }),
            ))
            .await
            .expect("unit");
    }
    let units = store.list_units().await.expect("units");
    let paths: Vec<&str> = units.iter().map(|u| u.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted, "units in byte order of their paths");
    let mut owned = Vec::new();
    for unit in &units {
        owned.push(create(store, complaint(&o, unit, &o.clerk)).await);
    }
    for unit in &units {
        let mut expected: Vec<i64> = owned
            .iter()
            .filter(|c| c.owner_unit_path.starts_with(&unit.path))
            .map(|c| c.id)
            .collect();
        expected.reverse();
        let subtree = CaseFilter {
            unit_subtree: Some(unit.path.clone()),
            ..CaseFilter::default()
        };
        assert_eq!(
            walk(store, &subtree).await,
            expected,
            "subtree {}",
            unit.path
        );
    }
}

/// Snapshots are JSON text on SQLite and JSONB on PostgreSQL: either way the same JSON value
/// comes back, whatever its numbers, strings and nesting.
async fn a_snapshot_and_a_payload_come_back_as_the_same_json_values(store: &Store) {
    let o = org(store).await;
    let value = json!({
        "text": "中文 😀 \"quoted\" back\\slash\nnew line\ttab",
        "键": { "值": ["", [], {}, null, true, false] },
        "numbers": [0, -1, 1.5, 1.0, 1e-7, 1e300, u64::MAX, i64::MIN, 0.1],
        "order": { "b": 1, "a": 2, "aa": 3 },
    });
    let mut c = complaint(&o, &o.o1, &o.clerk);
    c.snapshot = value.clone();
    c.events[0].payload = value.clone();
    let case = create(store, c).await;
    assert_eq!(case.snapshot, value);
    let read = store
        .case_by_id(case.id)
        .await
        .expect("read")
        .expect("case");
    assert_eq!(read.snapshot, value);
    assert_eq!(
        store.case_events(case.id).await.expect("events")[0].payload,
        value
    );
}

/// An event payload that repeats its row's `at`, `action` and `clause` (the domain's whole
/// `Event` does) is stored without them and read back whole; one that does not is stored as it
/// is; a whole payload stored before (or by hand) reads as it is.
async fn an_event_payload_is_stored_without_its_rows_columns_and_read_back_whole(store: &Store) {
    let o = org(store).await;
    let mut c = complaint(&o, &o.o1, &o.clerk);
    let whole = |e: &NewEvent| {
        json!({
            "at": e.at.to_string(), "action": e.action, "clause": e.clause,
            "actor": { "id": e.actor_id, "name": "张三" }, "change": { "type": "opened" },
        })
    };
    let first = whole(&c.events[0]);
    let second = whole(&c.events[1]);
    c.events[0].payload = first.clone();
    c.events[1].payload = second.clone();
    c.events.push(NewEvent {
        at: at(10),
        actor_id: None,
        action: "note".into(),
        clause: None,
        // differs from its row: stored whole
        payload: json!({ "at": "yesterday", "action": "note", "clause": null }),
    });
    let case = create(store, c).await;
    let events = store.case_events(case.id).await.expect("events");
    assert_eq!(events[0].payload, first);
    assert_eq!(events[1].payload, second);
    assert_eq!(
        events[2].payload,
        json!({ "at": "yesterday", "action": "note", "clause": null })
    );

    // The stored form: the first two without `action`, the third whole. Copied by SQL into new
    // rows (seq 100+) with another action, which the read puts back from the new row.
    let probe: &'static str = if store.backend_name() == "sqlite" {
        "INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, payload) \
         SELECT case_id, 100 + seq, occurred_at, actor_id, 'copied', clause, payload \
         FROM case_events WHERE json_type(payload, '$.action') IS NULL"
    } else {
        "INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, payload) \
         SELECT case_id, 100 + seq, occurred_at, actor_id, 'copied', clause, payload \
         FROM case_events WHERE NOT payload ? 'action'"
    };
    assert_eq!(store.raw_execute_for_tests(probe).await.expect("probe"), 2);
    // A whole payload written before the store slimmed them.
    store
        .raw_execute_for_tests(
            "INSERT INTO case_events (case_id, seq, occurred_at, actor_id, action, clause, payload) \
             SELECT MAX(case_id), 200, 0, NULL, 'old', NULL, \
                    '{\"at\":\"then\",\"action\":\"older\",\"clause\":null,\"n\":1}' \
             FROM case_events",
        )
        .await
        .expect("old row");
    let events = store.case_events(case.id).await.expect("events");
    assert_eq!(events.len(), 6);
    let mut copied = first.clone();
    copied["action"] = json!("copied");
    assert_eq!(events[3].seq, 101);
    assert_eq!(events[3].payload, copied);
    assert_eq!(events[4].payload["action"], json!("copied"));
    assert_eq!(events[4].payload["clause"], json!(null));
    assert_eq!(
        events[5].payload,
        json!({ "at": "then", "action": "older", "clause": null, "n": 1 })
    );
}

/// PostgreSQL cannot store U+0000 in text or JSONB, SQLite can: both refuse it, the same way,
/// before writing anything, and without echoing the text.
async fn a_nul_character_in_case_text_is_refused_alike_on_every_backend(store: &Store) {
    let o = org(store).await;
    let mut bad = complaint(&o, &o.o1, &o.clerk);
    bad.snapshot = json!({ "customer": { "name": "张\u{0}三" } });
    let err = store.create_case(bad, numbering).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(!text.contains('张'), "case text is personal data: {text}");

    let case = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    assert_eq!(serial_of(&case.number), 1, "the refusal took no serial");
    let mut update = update_of(&case, "accepted", 20);
    update.events[0].payload = json!({ "note": "\u{0}" });
    let err = store.update_case(update).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    assert_eq!(
        store.case_by_id(case.id).await.expect("read"),
        Some(case.clone())
    );
}

// ---------------------------------------------------------------------------------------------
// Several instances on one database
// ---------------------------------------------------------------------------------------------

/// A double-clicked submit whose two requests land on two instances at the same moment.
async fn the_same_idempotency_key_sent_to_two_instances_at_once_opens_one_case(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let tasks = 12;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for i in 0..tasks {
        let store = if i % 2 == 0 { first } else { second }.clone();
        // Most send the same request; a few send another one under the same key.
        let hash = if i % 3 == 0 { "req-b" } else { "req-a" };
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.idempotency = Some(Idempotency {
            user_id: o.clerk.id,
            key: "double-click".into(),
            request_hash: hash.into(),
        });
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let outcome = store.create_case(c, numbering).await;
            (hash, outcome.unwrap_or_else(|e| panic!("task {i}: {e:?}")))
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("task finished"));
    }
    let created: Vec<(&str, CaseRecord)> = outcomes
        .iter()
        .filter_map(|(hash, outcome)| match outcome {
            CreateOutcome::Created(case) => Some((*hash, case.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    let (winner_hash, winner) = &created[0];
    for (hash, outcome) in &outcomes {
        match outcome {
            CreateOutcome::Created(_) => {}
            CreateOutcome::Replayed(case) => {
                assert_eq!(hash, winner_hash);
                assert_eq!(case, winner);
            }
            CreateOutcome::KeyReused => assert_ne!(hash, winner_hash),
        }
    }
    assert_eq!(serial_of(&winner.number), 1);
    let next = create(second, complaint(&o, &o.o1, &o.clerk)).await;
    assert_eq!(
        serial_of(&next.number),
        2,
        "the losers gave their serials back"
    );
    assert_eq!(walk(first, &CaseFilter::default()).await.len(), 2);
}

async fn policy_versions_stored_and_activated_from_two_instances_at_once_stay_consistent(
    first: &Store,
    second: &Store,
) {
    let tasks: usize = 8;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for i in 0..tasks {
        let store = if i % 2 == 0 { first } else { second }.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let v = store
                .store_policy_version("bank", &format!("source {i}"), &format!("h{i}"), at(0))
                .await
                .unwrap_or_else(|e| panic!("store {i}: {e:?}"));
            store
                .activate_policy(v.id, at(1))
                .await
                .unwrap_or_else(|e| panic!("activate {i}: {e:?}"));
            v.version
        }));
    }
    let mut versions = Vec::new();
    for h in handles {
        versions.push(h.await.expect("task finished"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
    let stored = first.policy_versions("bank").await.expect("versions");
    assert_eq!(stored.len(), 8);
    assert_eq!(stored.iter().filter(|v| v.active).count(), 1);
    assert_eq!(second.active_policies().await.expect("active").len(), 1);
}

/// A unit move rewrites the paths of the cases in its subtree; a case opened meanwhile on
/// another instance must not keep its unit's old path.
async fn a_unit_moved_while_another_instance_opens_cases_in_it_leaves_every_case_on_its_owners_path(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let mut openers = Vec::new();
    for _ in 0..4 {
        let store = first.clone();
        let template = complaint(&o, &o.o1, &o.clerk);
        openers.push(tokio::spawn(async move {
            for _ in 0..25 {
                create(&store, template.clone()).await;
            }
        }));
    }
    let mover = {
        let store = second.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let target = if i % 2 == 0 { "B2" } else { "HQ" };
                store.move_unit("B1", target).await.expect("move");
            }
        })
    };
    for task in openers {
        task.await.expect("opener finished");
    }
    mover.await.expect("mover finished");

    let paths: BTreeMap<i64, String> = first
        .list_units()
        .await
        .expect("units")
        .into_iter()
        .map(|u| (u.id, u.path))
        .collect();
    let ids = walk(first, &CaseFilter::default()).await;
    assert_eq!(ids.len(), 100);
    for id in ids {
        let case = first.case_by_id(id).await.expect("read").expect("case");
        assert_eq!(
            case.owner_unit_path, paths[&case.owner_unit_id],
            "case {}",
            case.number
        );
    }
}

/// Two administrators on two instances move two branches under each other at the same moment:
/// one move wins and the other is refused as a cycle, never both.
async fn crossing_unit_moves_from_two_instances_never_make_a_cycle(first: &Store, second: &Store) {
    org(first).await;
    for round in 0..15 {
        let barrier = Arc::new(Barrier::new(2));
        let mover = |store: &Store, unit: &'static str, under: &'static str| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.move_unit(unit, under).await
            })
        };
        let a = mover(first, "B1", "B2");
        let b = mover(second, "B2", "B1");
        let results = [a.await.expect("task"), b.await.expect("task")];
        let moved = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(moved, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(_) | Err(StoreError::Invalid { .. }))),
            "round {round}: {results:?}"
        );
        assert_tree_is_consistent(first).await;
        first.move_unit("B1", "HQ").await.expect("back to HQ");
        first.move_unit("B2", "HQ").await.expect("back to HQ");
    }
}

/// Every unit's path is its parent's path plus its own id.
async fn assert_tree_is_consistent(store: &Store) {
    let units = store.list_units().await.expect("units");
    let paths: BTreeMap<i64, &str> = units.iter().map(|u| (u.id, u.path.as_str())).collect();
    for u in &units {
        let parent_path = u.parent_id.map(|p| paths[&p]).unwrap_or("/");
        assert_eq!(u.path, format!("{parent_path}{}/", u.id), "unit {}", u.code);
    }
}

// ---------------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------------

fn schedule(clock: &str, kind: &str, generation: i64, minutes: i64) -> TimerChange {
    schedule_for(TIMER_FOR_CLOCK, clock, kind, generation, minutes)
}

fn schedule_for(
    purpose: &str,
    clock: &str,
    kind: &str,
    generation: i64,
    minutes: i64,
) -> TimerChange {
    TimerChange::Schedule {
        clock: clock.into(),
        kind: kind.into(),
        purpose: purpose.into(),
        generation,
        due_at: at(minutes),
    }
}

async fn a_timer_keeps_the_purpose_it_was_planned_with_and_an_unknown_one_is_refused(
    store: &Store,
) {
    let o = org(store).await;
    let mut c = complaint(&o, &o.o1, &o.clerk);
    c.timers = vec![
        schedule("response", "breach", 1, 60),
        schedule_for(TIMER_FOR_ASSIST, "assist:1", "breach", 1, 70),
        schedule_for(TIMER_FOR_DISPUTE, "dispute:1", "breach", 1, 80),
    ];
    let case = create(store, c).await;
    let purposes = |timers: &[TimerRecord]| -> Vec<(String, String)> {
        timers
            .iter()
            .map(|t| (t.clock.clone(), t.purpose.clone()))
            .collect()
    };
    let expected = vec![
        ("response".to_owned(), TIMER_FOR_CLOCK.to_owned()),
        ("assist:1".to_owned(), TIMER_FOR_ASSIST.to_owned()),
        ("dispute:1".to_owned(), TIMER_FOR_DISPUTE.to_owned()),
    ];
    let all = store.case_timers(case.id).await.expect("timers");
    assert_eq!(purposes(&all), expected);
    // The scheduler's read carries it too: that is what it dispatches on.
    let due = store.due_timers(at(100), 10).await.expect("due");
    assert_eq!(purposes(&due), expected);

    // A purpose the scheduler would not know is refused, naming the value, and nothing is
    // written.
    let mut update = update_of(&case, "planned", 5);
    update.timers = vec![schedule_for("remind", "response", "warn", 2, 90)];
    let err = store.update_case(update).await.err();
    assert!(
        matches!(&err, Some(StoreError::Invalid { reason, .. }) if reason.contains("`remind`")),
        "{err:?}"
    );
    assert_eq!(store.case_timers(case.id).await.expect("timers").len(), 3);
}

fn cancel(clock: &str) -> TimerChange {
    TimerChange::CancelClock {
        clock: clock.into(),
    }
}

/// `(clock, kind, generation, due_at)` of each timer.
fn shape(timers: &[TimerRecord]) -> Vec<(&str, &str, i64, Timestamp)> {
    timers
        .iter()
        .map(|t| (t.clock.as_str(), t.kind.as_str(), t.generation, t.due_at))
        .collect()
}

fn timer_fired_event(timer_id: i64, minutes: i64) -> NewEvent {
    NewEvent {
        at: at(minutes),
        actor_id: None,
        action: "timer_fired".into(),
        clause: None,
        payload: json!({ "timer": timer_id }),
    }
}

async fn timers_are_scheduled_with_their_case_and_cancelled_by_clock(store: &Store) {
    let o = org(store).await;
    let mut c = complaint(&o, &o.o1, &o.clerk);
    c.timers = vec![
        schedule("response", "warn", 1, 60),
        schedule("response", "breach", 1, 120),
        schedule("resolve", "breach", 1, 600),
        // The same timer again, as a replayed decision would schedule it: a no-op.
        schedule("response", "breach", 1, 999),
    ];
    let case = create(store, c).await;
    let pending = store.pending_timers(case.id).await.expect("pending");
    assert_eq!(
        shape(&pending),
        [
            ("response", "warn", 1, at(60)),
            ("response", "breach", 1, at(120)),
            ("resolve", "breach", 1, at(600)),
        ]
    );
    assert!(
        pending
            .iter()
            .all(|t| t.case_id == case.id && t.fired_at.is_none() && t.cancelled_at.is_none())
    );

    // The response clock restarts: its pending timers are cancelled and the next generation's
    // scheduled, in the update's own transaction. The cancelled generation stays cancelled.
    let mut restart = update_of(&case, "reopened", 30);
    restart.timers = vec![
        cancel("response"),
        schedule("response", "breach", 2, 300),
        schedule("response", "breach", 1, 400),
    ];
    let case = store.update_case(restart).await.expect("update");
    let pending = store.pending_timers(case.id).await.expect("pending");
    assert_eq!(
        shape(&pending),
        [
            ("response", "breach", 2, at(300)),
            ("resolve", "breach", 1, at(600)),
        ]
    );
    let all = store.case_timers(case.id).await.expect("all timers");
    assert_eq!(all.len(), 4);
    let cancelled: Vec<_> = all
        .iter()
        .filter(|t| t.cancelled_at.is_some())
        .map(|t| (t.clock.as_str(), t.generation, t.cancelled_at))
        .collect();
    assert_eq!(
        cancelled,
        [("response", 1, Some(at(30))), ("response", 1, Some(at(30)))]
    );

    // A refused change leaves case and timers as they were.
    let mut bad = update_of(&case, "x", 40);
    bad.timers = vec![cancel("resolve"), schedule("resolve", "remind", 1, 700)];
    let err = store.update_case(bad).await.err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    assert_eq!(
        store.pending_timers(case.id).await.expect("pending"),
        pending
    );
    assert_eq!(
        store.case_by_id(case.id).await.expect("read"),
        Some(case.clone())
    );

    // Cancelling a clock touches only its own case.
    let mut other = complaint(&o, &o.o1, &o.clerk);
    other.timers = vec![schedule("resolve", "breach", 1, 600)];
    let other = create(store, other).await;
    let mut stop = update_of(&case, "closed", 50);
    stop.timers = vec![cancel("resolve")];
    store.update_case(stop).await.expect("stop");
    assert_eq!(
        shape(&store.pending_timers(case.id).await.expect("pending")),
        [("response", "breach", 2, at(300))]
    );
    assert_eq!(
        store.pending_timers(other.id).await.expect("pending").len(),
        1
    );
}

async fn due_timers_are_the_pending_ones_due_by_now_soonest_first(store: &Store) {
    let o = org(store).await;
    assert_eq!(store.next_timer_due().await.expect("next"), None);
    let mut a = complaint(&o, &o.o1, &o.clerk);
    a.timers = vec![
        schedule("response", "warn", 1, 60),
        schedule("response", "breach", 1, 120),
        schedule("resolve", "breach", 1, 600),
    ];
    let a = create(store, a).await;
    let mut b = complaint(&o, &o.b2, &o.other);
    b.timers = vec![
        schedule("response", "warn", 1, 50),
        schedule("response", "breach", 1, 110),
    ];
    let b = create(store, b).await;
    assert_eq!(store.next_timer_due().await.expect("next"), Some(at(50)));

    let due = |now: i64, limit: u32| async move {
        store
            .due_timers(at(now), limit)
            .await
            .expect("due")
            .into_iter()
            .map(|t| (t.case_id, t.due_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        due(115, 10).await,
        [(b.id, at(50)), (a.id, at(60)), (b.id, at(110))]
    );
    assert_eq!(due(115, 2).await, [(b.id, at(50)), (a.id, at(60))]);
    assert_eq!(due(110, 10).await.len(), 3, "due_at == now is due");
    assert_eq!(due(49, 10).await, []);
    assert_eq!(due(1_000, 0).await, []);

    // Fired and cancelled timers are not due any more.
    let first = store.due_timers(at(50), 1).await.expect("due").remove(0);
    assert_eq!(
        store
            .fire_timer(first.id, at(50), None)
            .await
            .expect("fire"),
        FireOutcome::Fired(None)
    );
    let mut stop = update_of(&b, "closed", 70);
    stop.timers = vec![cancel("response")];
    store.update_case(stop).await.expect("stop");
    assert_eq!(
        due(1_000, 10).await,
        [(a.id, at(60)), (a.id, at(120)), (a.id, at(600))]
    );
    assert_eq!(store.next_timer_due().await.expect("next"), Some(at(60)));
}

async fn a_timer_fires_once_and_firing_it_again_is_already_done(store: &Store) {
    let o = org(store).await;
    let mut c = complaint(&o, &o.o1, &o.clerk);
    c.timers = vec![
        schedule("response", "warn", 1, 60),
        schedule("response", "breach", 1, 120),
    ];
    let case = create(store, c).await;
    let pending = store.pending_timers(case.id).await.expect("pending");
    let (warn, breach) = (pending[0].clone(), pending[1].clone());

    let mut warned = update_of(&case, "warned", 61);
    warned.events = vec![timer_fired_event(warn.id, 61)];
    let outcome = store
        .fire_timer(warn.id, at(61), Some(warned))
        .await
        .expect("fire");
    let FireOutcome::Fired(Some(after)) = outcome else {
        panic!("expected the timer to fire with its update, got {outcome:?}");
    };
    assert_eq!((after.version, after.state.as_str()), (2, "warned"));

    // Again, with or without an update: already done, and nothing written.
    let again = store
        .fire_timer(warn.id, at(62), Some(update_of(&after, "warned again", 62)))
        .await
        .expect("fire again");
    assert_eq!(again, FireOutcome::AlreadyDone);
    assert_eq!(
        store.fire_timer(warn.id, at(63), None).await.expect("fire"),
        FireOutcome::AlreadyDone
    );
    assert_eq!(
        store.case_by_id(case.id).await.expect("read"),
        Some(after.clone())
    );
    assert_eq!(store.case_events(case.id).await.expect("events").len(), 3);
    let all = store.case_timers(case.id).await.expect("timers");
    assert_eq!(all[0].fired_at, Some(at(61)));
    assert_eq!(all[1], breach, "the other timer is untouched");

    // A timer of one case cannot fire an update of another.
    let other = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let err = store
        .fire_timer(breach.id, at(121), Some(update_of(&other, "breached", 121)))
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    assert_eq!(
        store.pending_timers(case.id).await.expect("pending"),
        std::slice::from_ref(&breach)
    );

    assert_eq!(
        store
            .fire_timer(breach.id, at(121), None)
            .await
            .expect("fire"),
        FireOutcome::Fired(None)
    );
    assert_eq!(store.pending_timers(case.id).await.expect("pending"), []);

    // A cancelled timer does not fire; an unknown one is not found.
    let mut c = complaint(&o, &o.o1, &o.clerk);
    c.timers = vec![schedule("resolve", "breach", 1, 600)];
    let c = create(store, c).await;
    let t = store.pending_timers(c.id).await.expect("pending").remove(0);
    let mut stop = update_of(&c, "closed", 70);
    stop.timers = vec![cancel("resolve")];
    store.update_case(stop).await.expect("stop");
    assert_eq!(
        store.fire_timer(t.id, at(600), None).await.expect("fire"),
        FireOutcome::AlreadyDone
    );
    let err = store.fire_timer(987_654_321, at(0), None).await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn a_conflicting_case_update_rolls_back_the_firing_and_leaves_the_timer_pending(
    store: &Store,
) {
    let o = org(store).await;
    let mut c = complaint(&o, &o.o1, &o.clerk);
    c.timers = vec![schedule("response", "breach", 1, 120)];
    let case = create(store, c).await;
    let breach = store
        .pending_timers(case.id)
        .await
        .expect("pending")
        .remove(0);

    // The scheduler read the case at version 1; an agent moved it on before the timer fired.
    let mut stale = update_of(&case, "breached", 121);
    stale.timers = vec![schedule("escalation", "breach", 1, 1_000)];
    let moved_on = store
        .update_case(update_of(&case, "accepted", 100))
        .await
        .expect("agent's update");
    let err = store
        .fire_timer(breach.id, at(121), Some(stale))
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Conflict)), "{err:?}");
    assert_eq!(
        store.pending_timers(case.id).await.expect("pending"),
        std::slice::from_ref(&breach),
        "not fired, and the update's own timer not scheduled"
    );
    assert_eq!(store.case_events(case.id).await.expect("events").len(), 3);
    assert_eq!(
        store.case_by_id(case.id).await.expect("read"),
        Some(moved_on.clone())
    );

    // The scheduler reloads the case and fires again.
    let mut fresh = update_of(&moved_on, "breached", 121);
    fresh.timers = vec![schedule("escalation", "breach", 1, 1_000)];
    let outcome = store
        .fire_timer(breach.id, at(121), Some(fresh))
        .await
        .expect("fire");
    let FireOutcome::Fired(Some(after)) = outcome else {
        panic!("expected the timer to fire, got {outcome:?}");
    };
    assert_eq!((after.version, after.state.as_str()), (3, "breached"));
    assert_eq!(
        shape(&store.pending_timers(case.id).await.expect("pending")),
        [("escalation", "breach", 1, at(1_000))]
    );
}

/// Two scheduler instances wake at the same moment and find the same 200 due timers; each
/// timer's case update (one event naming the timer) must happen exactly once.
/// The scheduler retires stale timers of a batch in one statement: each pending one once,
/// whatever the number of instances doing it at once; fired and cancelled ones never.
async fn two_instances_retiring_the_same_stale_timers_retire_each_exactly_once(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let mut all = Vec::new();
    for i in 0..50 {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.timers = vec![
            schedule("response", "warn", 1, 60 + i),
            schedule("response", "breach", 1, 120 + i),
            schedule("resolve", "warn", 1, 300 + i),
            schedule("resolve", "breach", 1, 600 + i),
        ];
        let case = create(first, c).await;
        all.extend(first.pending_timers(case.id).await.expect("pending"));
    }
    let now = 10_000;
    // One timer already fired, one case's `resolve` clock cancelled: not pending any more.
    let fired = all[0].id;
    assert!(matches!(
        first.fire_timer(fired, at(now), None).await.expect("fire"),
        FireOutcome::Fired(None)
    ));
    let mut cancel = update_of(
        &first
            .case_by_id(all[4].case_id)
            .await
            .expect("read")
            .expect("case"),
        "accepted",
        now,
    );
    cancel.timers = vec![TimerChange::CancelClock {
        clock: "resolve".into(),
    }];
    first.update_case(cancel).await.expect("cancel");
    let ids: Vec<i64> = all.iter().map(|t| t.id).collect();
    assert_eq!(
        first.retire_timers(&[], at(now)).await.expect("none"),
        Vec::<i64>::new()
    );

    let tasks = 6;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = if task % 2 == 0 { first } else { second }.clone();
        let barrier = barrier.clone();
        let mut mine = ids.clone();
        mine.rotate_left(task * 30);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut retired = Vec::new();
            for chunk in mine.chunks(40) {
                retired.extend(store.retire_timers(chunk, at(now)).await.expect("retire"));
            }
            retired
        }));
    }
    let mut retired = Vec::new();
    for h in handles {
        retired.extend(h.await.expect("task"));
    }
    retired.sort_unstable();
    let distinct: BTreeSet<i64> = retired.iter().copied().collect();
    assert_eq!(distinct.len(), retired.len(), "no timer retired twice");
    // PostgreSQL's SKIP LOCKED may leave a timer to a concurrent retire that then finds it
    // done; none may be left pending, and only the 197 pending ones may be retired.
    assert_eq!(retired.len(), 200 - 3, "every pending timer retired, once");
    assert!(
        !distinct.contains(&fired),
        "a fired timer is not retired again"
    );
    assert!(
        first
            .due_timers(at(now), 500)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        first.retire_timers(&ids, at(now)).await.expect("again"),
        Vec::<i64>::new()
    );
}

async fn two_instances_racing_to_fire_the_same_200_timers_fire_each_exactly_once(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let mut timers_of: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for i in 0..50 {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.timers = vec![
            schedule("response", "warn", 1, 60 + i),
            schedule("response", "breach", 1, 120 + i),
            schedule("resolve", "warn", 1, 300 + i),
            schedule("resolve", "breach", 1, 600 + i),
        ];
        let case = create(first, c).await;
        let ids = first.pending_timers(case.id).await.expect("pending");
        timers_of.insert(case.id, ids.iter().map(|t| t.id).collect());
    }
    let now = 10_000;
    assert_eq!(
        first.due_timers(at(now), 500).await.expect("due").len(),
        200
    );

    let tasks = 8;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = if task % 2 == 0 { first } else { second }.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut due = store.due_timers(at(now), 500).await.expect("due");
            // Start at different places, so that tasks collide on some timers and not others.
            let start = (task * 25) % due.len().max(1);
            due.rotate_left(start);
            let mut fired = Vec::new();
            for timer in due {
                loop {
                    let case = store
                        .case_by_id(timer.case_id)
                        .await
                        .expect("read")
                        .expect("case");
                    let mut u = update_of(&case, &case.state, now);
                    u.events = vec![timer_fired_event(timer.id, now)];
                    match store.fire_timer(timer.id, at(now), Some(u)).await {
                        Ok(FireOutcome::Fired(_)) => {
                            fired.push(timer.id);
                            break;
                        }
                        Ok(FireOutcome::AlreadyDone) => break,
                        // Another instance updated the case (firing a sibling timer): reload.
                        Err(StoreError::Conflict) => continue,
                        Err(e) => panic!("task {task}, timer {}: {e:?}", timer.id),
                    }
                }
            }
            fired
        }));
    }
    let mut fired = Vec::new();
    for h in handles {
        fired.extend(h.await.expect("task finished"));
    }
    assert_eq!(fired.len(), 200, "each timer reported fired once");
    assert_eq!(fired.iter().collect::<BTreeSet<_>>().len(), 200);
    assert_eq!(first.due_timers(at(now), 500).await.expect("due"), []);
    assert_eq!(second.next_timer_due().await.expect("next"), None);

    for (case_id, timer_ids) in timers_of {
        let events = first.case_events(case_id).await.expect("events");
        let mut fired_here: Vec<i64> = events
            .iter()
            .filter(|e| e.action == "timer_fired")
            .filter_map(|e| e.payload["timer"].as_i64())
            .collect();
        fired_here.sort_unstable();
        assert_eq!(
            fired_here,
            timer_ids.into_iter().collect::<Vec<_>>(),
            "case {case_id}: one update per timer"
        );
        let case = first
            .case_by_id(case_id)
            .await
            .expect("read")
            .expect("case");
        assert_eq!(case.version, 5);
    }
}

/// One instance fires the due timers of 40 cases while another stops their response clocks:
/// each timer ends fired or cancelled, never both, every firing has its one case update, and
/// neither instance waits on the other forever (PostgreSQL would abort one of them as a
/// deadlock if the two locked case and timer rows in opposite orders).
async fn a_clock_stopped_on_one_instance_while_another_fires_its_timers_ends_each_timer_once(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let mut cases = Vec::new();
    for i in 0..40 {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.timers = vec![
            schedule("response", "warn", 1, 60 + i),
            schedule("response", "breach", 1, 120 + i),
            schedule("resolve", "warn", 1, 300 + i),
            schedule("resolve", "breach", 1, 600 + i),
        ];
        cases.push(create(first, c).await.id);
    }
    let now = 10_000;
    // Two firers on one instance and two stoppers on the other, each pair walking the cases in
    // opposite orders, so that firings and stops meet on many cases.
    let barrier = Arc::new(Barrier::new(4));
    let mut tasks = Vec::new();
    for reverse in [false, true] {
        let store = first.clone();
        let gate = barrier.clone();
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            let mut due = store.due_timers(at(now), 500).await.expect("due");
            if reverse {
                due.reverse();
            }
            for timer in due {
                loop {
                    let case = store
                        .case_by_id(timer.case_id)
                        .await
                        .expect("read")
                        .expect("case");
                    let mut u = update_of(&case, &case.state, now);
                    u.events = vec![timer_fired_event(timer.id, now)];
                    match store.fire_timer(timer.id, at(now), Some(u)).await {
                        Ok(_) => break,
                        Err(StoreError::Conflict) => continue,
                        Err(e) => panic!("firing timer {}: {e:?}", timer.id),
                    }
                }
            }
        }));
        let store = second.clone();
        let gate = barrier.clone();
        let mut order = cases.clone();
        if !reverse {
            order.reverse();
        }
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            for id in order {
                loop {
                    let case = store.case_by_id(id).await.expect("read").expect("case");
                    let mut u = update_of(&case, "responded", now);
                    u.timers = vec![cancel("response")];
                    match store.update_case(u).await {
                        Ok(_) => break,
                        Err(StoreError::Conflict) => continue,
                        Err(e) => panic!("stopping case {id}: {e:?}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }

    for id in cases {
        let timers = first.case_timers(id).await.expect("timers");
        let events = first.case_events(id).await.expect("events");
        let mut fired_events: Vec<i64> = events
            .iter()
            .filter(|e| e.action == "timer_fired")
            .filter_map(|e| e.payload["timer"].as_i64())
            .collect();
        fired_events.sort_unstable();
        let fired: Vec<i64> = timers
            .iter()
            .filter(|t| t.fired_at.is_some())
            .map(|t| t.id)
            .collect();
        assert_eq!(fired_events, fired, "case {id}: one update per fired timer");
        for t in &timers {
            assert!(
                t.fired_at.is_some() != t.cancelled_at.is_some(),
                "case {id}: timer {} ended exactly one way: {t:?}",
                t.id
            );
            if t.clock == "resolve" {
                assert!(t.fired_at.is_some(), "resolve timers are never cancelled");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the contract on each backend
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Group commit: a batch of creates written with multi-row statements
// ---------------------------------------------------------------------------------------------
//
// The tests below start their creates together behind a barrier, so that they queue while a
// batch runs and share the next one. On PostgreSQL a batch is written with one statement per
// table (`postgres/intake.rs`) and falls back to one create at a time if that fails; these
// tests check that every create gets the answer it would have got alone either way, and that
// what the multi-row statements wrote is what a lone create writes.

/// A numbering function, boxed so that creates with different ones fit in one list.
type Numbering = Box<dyn Fn(u64) -> String + Send + Sync>;

/// Runs `creates` at once (a barrier releases them together) and returns their answers in
/// order.
async fn all_at_once(
    store: &Store,
    creates: Vec<(NewCase, Numbering)>,
) -> Vec<Result<CreateOutcome, StoreError>> {
    let barrier = Arc::new(Barrier::new(creates.len()));
    let handles: Vec<_> = creates
        .into_iter()
        .map(|(c, number)| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.create_case(c, number).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.expect("task finished"));
    }
    answers
}

async fn a_batch_mixing_good_creates_with_a_reused_key_and_unknown_references_answers_each_as_alone(
    store: &Store,
) {
    let o = org(store).await;
    let keyed = |key: &str, hash: &str| {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        c.idempotency = Some(Idempotency {
            user_id: o.clerk.id,
            key: key.into(),
            request_hash: hash.into(),
        });
        c
    };
    let first = create(store, keyed("first", "first")).await;
    let mut creates: Vec<(NewCase, Numbering)> = Vec::new();
    let mut expected = Vec::new();
    for i in 0..48_u32 {
        let (c, what) = match i % 8 {
            // The stored key, same request: the first case again.
            1 => (keyed("first", "first"), "replayed"),
            // The stored key, another request: refused.
            2 => (keyed("first", "another"), "reused"),
            // An unknown owner unit.
            3 => {
                let mut c = complaint(&o, &o.o1, &o.clerk);
                c.owner_unit_id = 999_999;
                (c, "invalid")
            }
            // An unknown first contact (a foreign key the database checks).
            4 => {
                let mut c = complaint(&o, &o.o1, &o.clerk);
                c.first_contact_id = 999_999;
                (c, "invalid")
            }
            // Good creates, each with a key of its own, a timer and a quick-find key.
            _ => {
                let mut c = keyed(&format!("good-{i}"), &format!("hash-{i}"));
                c.timers = vec![schedule("response", "breach", 1, 60 + i64::from(i))];
                c.find = vec![manyi_store::FindKey {
                    kind: "phone".into(),
                    key: format!("1380000{i:04}"),
                }];
                c.snapshot = json!({ "customer": { "name": format!("客户{i}") } });
                (c, "created")
            }
        };
        creates.push((c, Box::new(numbering)));
        expected.push((i, what));
    }
    let answers = all_at_once(store, creates).await;
    let mut created = Vec::new();
    for ((i, what), answer) in expected.into_iter().zip(answers) {
        match (what, answer) {
            ("created", Ok(CreateOutcome::Created(case))) => created.push((i, case)),
            ("replayed", Ok(CreateOutcome::Replayed(case))) => assert_eq!(case, first),
            ("reused", Ok(CreateOutcome::KeyReused)) => {}
            ("invalid", Err(StoreError::Invalid { .. })) => {}
            (what, other) => panic!("create {i} ({what}): {other:?}"),
        }
    }
    assert_eq!(created.len(), 24);
    let mut serials: Vec<u64> = created.iter().map(|(_, c)| serial_of(&c.number)).collect();
    serials.sort_unstable();
    assert_eq!(serials, (2..=25).collect::<Vec<u64>>(), "no gap, no repeat");
    for (i, case) in &created {
        // What the batch wrote is what a lone create writes.
        assert_eq!(case.snapshot["customer"]["name"], format!("客户{i}"));
        assert_eq!(case.owner_unit_path, o.o1.path);
        assert_eq!(case.version, 1);
        let events = store.case_events(case.id).await.expect("events");
        let actions: Vec<(i64, &str)> = events.iter().map(|e| (e.seq, e.action.as_str())).collect();
        assert_eq!(actions, [(1, "create"), (2, "clock_started")], "case {i}");
        assert_eq!(events[0].clause.as_deref(), Some("第八条"));
        assert_eq!(events[0].actor_id, Some(o.clerk.id));
        assert_eq!(events[1].actor_id, None);
        assert_eq!(events[1].payload, json!({ "clock": "response" }));
        let timers = store.pending_timers(case.id).await.expect("timers");
        assert_eq!(
            shape(&timers),
            [("response", "breach", 1, at(60 + i64::from(*i)))],
            "case {i}"
        );
        let found = store
            .find_cases(&manyi_store::FindQuery {
                kind: "phone".into(),
                prefix: format!("1380000{i:04}"),
                visible_to: None,
                limit: 10,
            })
            .await
            .expect("find");
        assert_eq!(
            found,
            std::slice::from_ref(case),
            "case {i} is found by its key"
        );
        // Its key was stored with it: sending the request again replays it.
        let again = store
            .create_case(keyed(&format!("good-{i}"), &format!("hash-{i}")), numbering)
            .await
            .expect("replay");
        assert_eq!(again, CreateOutcome::Replayed(case.clone()));
    }
    assert_eq!(walk(store, &CaseFilter::default()).await.len(), 25);
}

async fn two_creates_with_the_same_key_in_one_batch_open_one_case(store: &Store) {
    let o = org(store).await;
    let mut creates: Vec<(NewCase, Numbering)> = Vec::new();
    let mut hashes = Vec::new();
    for i in 0..40_u32 {
        let mut c = complaint(&o, &o.o1, &o.clerk);
        // Every fourth create is a plain one, filling the batch; the others share two keys,
        // with two different requests under the second one.
        let hash = match i % 4 {
            0 => None,
            1 => Some(("twin-a", "req-a")),
            2 => Some(("twin-b", "req-b1")),
            _ => Some(("twin-b", "req-b2")),
        };
        if let Some((key, hash)) = hash {
            c.idempotency = Some(Idempotency {
                user_id: o.clerk.id,
                key: key.into(),
                request_hash: hash.into(),
            });
        }
        creates.push((c, Box::new(numbering)));
        hashes.push(hash);
    }
    let answers = all_at_once(store, creates).await;
    let mut plain = 0;
    // Per key: the case created and the request hash that created it.
    let mut winners: BTreeMap<&str, (&str, CaseRecord)> = BTreeMap::new();
    for (hash, answer) in hashes.iter().zip(&answers) {
        match (hash, answer) {
            (None, Ok(CreateOutcome::Created(_))) => plain += 1,
            (Some((key, hash)), Ok(CreateOutcome::Created(case))) => {
                let before = winners.insert(key, (hash, case.clone()));
                assert!(before.is_none(), "two cases opened under key {key}");
            }
            (_, Ok(_)) => {}
            (hash, Err(e)) => panic!("{hash:?}: {e:?}"),
        }
    }
    assert_eq!(plain, 10);
    assert_eq!(winners.len(), 2, "one case per key: {answers:?}");
    for (hash, answer) in hashes.iter().zip(&answers) {
        let Some((key, hash)) = hash else { continue };
        let (winner_hash, winner) = &winners[key];
        match answer {
            Ok(CreateOutcome::Created(case)) => assert_eq!(case, winner),
            Ok(CreateOutcome::Replayed(case)) => {
                assert_eq!(hash, winner_hash, "only the same request replays");
                assert_eq!(case, winner);
            }
            Ok(CreateOutcome::KeyReused) => assert_ne!(hash, winner_hash),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(
        walk(store, &CaseFilter::default()).await.len(),
        12,
        "ten plain cases and one per key"
    );
    // Twelve cases, serials unique per scope and period (a constraint): 1 to 12, and the next
    // is 13.
    let next = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    assert_eq!(serial_of(&next.number), 13, "the replays took no serial");
}

/// Many creates from two instances, in three numbering scopes and periods at once, some with
/// keys: every scope and period is numbered 1, 2, 3, … without a gap or a repeat.
async fn many_concurrent_creates_across_two_stores_and_three_scopes_get_unique_gap_free_numbers(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let scopes = [
        ("bank/complaint", "2026-09"),
        ("bank/complaint", "2026-10"),
        ("bank/inquiry", "2026-09"),
    ];
    let mut tasks = Vec::new();
    for (t, store) in [first, second].into_iter().cycle().take(12).enumerate() {
        let store = store.clone();
        let mut template = complaint(&o, &o.o1, &o.clerk);
        let clerk = o.clerk.id;
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for i in 0..40_usize {
                let (scope, period) = scopes[(t + i) % scopes.len()];
                template.number_scope = scope.into();
                template.number_period = period.into();
                template.idempotency = (i % 2 == 0).then(|| Idempotency {
                    user_id: clerk,
                    key: format!("t{t}-i{i}"),
                    request_hash: "h".into(),
                });
                let number = move |serial: u64| format!("{scope}/{period}-{serial:06}");
                match store.create_case(template.clone(), number).await {
                    Ok(CreateOutcome::Created(case)) => made.push(((scope, period), case.number)),
                    other => panic!("task {t}: {other:?}"),
                }
            }
            made
        }));
    }
    let mut by_scope: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    let mut numbers = BTreeSet::new();
    for task in tasks {
        for (scope, number) in task.await.expect("task finished") {
            by_scope.entry(scope).or_default().push(serial_of(&number));
            assert!(numbers.insert(number.clone()), "{number} given twice");
        }
    }
    assert_eq!(numbers.len(), 480);
    for (scope, mut serials) in by_scope {
        serials.sort_unstable();
        let n = serials.len() as u64;
        assert_eq!(serials, (1..=n).collect::<Vec<u64>>(), "{scope:?}");
    }
}

/// One `#[tokio::test]` per backend for each contract body, in modules `sqlite` and `postgres`:
/// `single` bodies take one store, `pair` bodies two independent stores (two instances) on the
/// same database. Each test gets a database of its own from [`TestDb`], gone when it ends.
macro_rules! contract {
    (single: [$($name:ident),* $(,)?], pair: [$($pair:ident),* $(,)?] $(,)?) => {
        contract!(@backend sqlite, [$($name),*], [$($pair),*]);
        contract!(@backend postgres, [$($name),*], [$($pair),*]);
    };
    (@backend $backend:ident, [$($name:ident),*], [$($pair:ident),*]) => {
        mod $backend {
            use super::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = TestDb::create(stringify!($backend)).await else {
                        return;
                    };
                    let store = db.store().await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pair() {
                    let Some(db) = TestDb::create(stringify!($backend)).await else {
                        return;
                    };
                    let (first, second) = (db.store().await, db.store().await);
                    super::$pair(&first, &second).await;
                    second.close().await;
                    first.close().await;
                }
            )*
        }
    };
}

contract!(
    single: [
    units_get_materialised_paths_from_the_root,
    a_unit_with_an_unknown_parent_or_a_taken_code_is_refused,
    moving_a_unit_rewrites_the_paths_of_its_subtree_and_of_the_cases_owned_there,
    moving_a_unit_under_itself_or_its_descendant_is_refused,
    users_belong_to_a_unit_and_hold_a_sorted_set_of_roles,
    a_user_in_an_unknown_unit_or_with_a_taken_login_is_refused_without_naming_the_login,
    importing_an_org_places_parents_first_and_updates_on_a_second_import,
    an_import_with_a_bad_unit_code_on_the_third_user_leaves_nothing_imported,
    text_comes_back_in_byte_order_whatever_the_database_collation,
    the_due_order_lists_soonest_first_cases_without_a_running_clock_last_ties_by_id,
    the_due_time_backfill_reads_running_clocks_from_the_snapshot,
    a_session_finds_its_user_until_it_expires,
    an_api_token_finds_its_user_until_revoked,
    storing_the_same_policy_source_twice_returns_the_same_version,
    activating_a_policy_version_deactivates_the_previous_one,
    a_stored_policy_version_cannot_be_edited_even_with_raw_sql,
    cases_are_numbered_one_two_three_per_scope_and_period,
    a_thousand_cases_created_concurrently_from_sixteen_tasks_get_serials_one_to_a_thousand,
    a_failed_case_insert_gives_its_serial_back,
    failing_writes_mixed_into_concurrent_creates_fail_alone_and_leave_no_gap,
    the_directory_revision_moves_with_units_unit_calendars_and_policies_only,
    a_create_cancelled_at_any_point_leaves_no_gap_and_no_half_written_case,
    a_replayed_idempotency_key_returns_the_first_case_and_a_different_request_is_refused,
    an_update_bumps_the_version_moves_the_owner_path_and_appends_events_in_order,
    an_update_with_a_stale_version_is_a_conflict_and_writes_nothing,
    events_cannot_be_updated_or_deleted_even_with_raw_sql,
    a_snapshot_and_a_payload_come_back_as_the_same_json_values,
    an_event_payload_is_stored_without_its_rows_columns_and_read_back_whole,
    a_nul_character_in_case_text_is_refused_alike_on_every_backend,
    a_user_sees_cases_owned_in_their_subtree_and_cases_where_they_are_first_contact,
    cases_can_be_filtered_by_kind_state_assignee_closure_and_creation_time,
    cursor_pagination_walks_every_case_exactly_once_newest_first,
    timers_are_scheduled_with_their_case_and_cancelled_by_clock,
    due_timers_are_the_pending_ones_due_by_now_soonest_first,
    a_timer_fires_once_and_firing_it_again_is_already_done,
    a_timer_keeps_the_purpose_it_was_planned_with_and_an_unknown_one_is_refused,
    a_conflicting_case_update_rolls_back_the_firing_and_leaves_the_timer_pending,
    the_newest_imported_calendar_file_of_each_year_is_in_force_and_none_is_ever_changed,
    a_units_calendar_overlay_is_set_replaced_and_removed,
    a_violation_is_written_with_its_event_and_listed_by_unit_person_and_period,
    a_conflicting_update_writes_none_of_its_violations,
    a_penalty_is_decided_appealed_once_and_its_appeal_decided_each_step_once,
    a_survey_is_found_by_its_token_hash_answered_once_and_listed_by_unit_and_period,
    a_reward_is_proposed_once_per_rule_period_and_recipient_and_decided_once,
    a_disabled_user_has_no_session_nor_token_until_enabled_again,
    other_sessions_end_and_the_kept_one_stays,
    a_users_language_is_stored_and_cleared,
    only_an_empty_unit_is_removed_and_a_refusal_says_what_is_left,
    attachments_are_stored_in_the_database_and_listed_per_case,
    rate_limit_windows_count_hits_per_bucket_and_forget_old_windows,
    a_batch_mixing_good_creates_with_a_reused_key_and_unknown_references_answers_each_as_alone,
    two_creates_with_the_same_key_in_one_batch_open_one_case,
    ],
    pair: [
        two_instances_count_hits_in_the_same_rate_limit_window,
        closing_one_store_under_concurrent_creates_writes_or_refuses_each_and_the_other_goes_on,
    two_stores_sharing_a_database_number_cases_concurrently_without_gaps,
    the_same_idempotency_key_sent_to_two_instances_at_once_opens_one_case,
    policy_versions_stored_and_activated_from_two_instances_at_once_stay_consistent,
    a_unit_moved_while_another_instance_opens_cases_in_it_leaves_every_case_on_its_owners_path,
    crossing_unit_moves_from_two_instances_never_make_a_cycle,
    two_instances_racing_to_fire_the_same_200_timers_fire_each_exactly_once,
    two_instances_retiring_the_same_stale_timers_retire_each_exactly_once,
    a_clock_stopped_on_one_instance_while_another_fires_its_timers_ends_each_timer_once,
    two_instances_deciding_the_same_penalty_at_once_record_one_decision,
    many_concurrent_creates_across_two_stores_and_three_scopes_get_unique_gap_free_numbers,
    ],
);

// ---------------------------------------------------------------------------------------------
// The official calendar's imported notice files
// ---------------------------------------------------------------------------------------------

async fn the_newest_imported_calendar_file_of_each_year_is_in_force_and_none_is_ever_changed(
    store: &Store,
) {
    use manyi_store::NewCalendarFile;
    let file = |year: i64, content: &str| NewCalendarFile {
        name: format!("{year}.json"),
        year,
        content: content.to_owned(),
        sha: format!("sha-{content}"),
    };
    assert_eq!(store.calendar_revision().await.unwrap(), 0);
    assert!(store.calendar_files().await.unwrap().is_empty());
    let t0: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    store
        .import_calendar_files(vec![file(2027, "first"), file(2026, "a")], t0)
        .await
        .unwrap();
    let r1 = store.calendar_revision().await.unwrap();
    store
        .import_calendar_files(vec![file(2027, "second")], t0)
        .await
        .unwrap();
    let r2 = store.calendar_revision().await.unwrap();
    assert!(r2 > r1 && r1 > 0);
    let files = store.calendar_files().await.unwrap();
    let found: Vec<(i64, &str)> = files.iter().map(|f| (f.year, f.content.as_str())).collect();
    assert_eq!(found, [(2026, "a"), (2027, "second")]);
    assert!(
        store
            .raw_execute_for_tests("UPDATE calendar_files SET content = 'x'")
            .await
            .is_err()
    );
    assert!(
        store
            .raw_execute_for_tests("DELETE FROM calendar_files")
            .await
            .is_err()
    );
}

async fn a_units_calendar_overlay_is_set_replaced_and_removed(store: &Store) {
    let org = org(store).await;
    let _ = &org;
    let now: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    let code = store.list_units().await.unwrap()[0].code.clone();
    let id = store.unit_by_code(&code).await.unwrap().unwrap().id;
    assert!(store.unit_calendars().await.unwrap().is_empty());
    let first = serde_json::json!({"closures": ["2026-12-24"]});
    store
        .set_unit_calendar(&code, Some(first.clone()), now)
        .await
        .unwrap();
    assert_eq!(store.unit_calendars().await.unwrap(), [(id, first)]);
    let second = serde_json::json!({"extra_workdays": ["2026-12-26"]});
    store
        .set_unit_calendar(&code, Some(second.clone()), now)
        .await
        .unwrap();
    assert_eq!(store.unit_calendars().await.unwrap(), [(id, second)]);
    store.set_unit_calendar(&code, None, now).await.unwrap();
    assert!(store.unit_calendars().await.unwrap().is_empty());
    assert!(matches!(
        store.set_unit_calendar("NO-SUCH-UNIT", None, now).await,
        Err(StoreError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Opening a store (not per backend: these are about choosing one)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unreachable_postgres_server_is_a_connect_error_naming_the_url_without_its_password() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let err = Store::connect(
        "postgres://manyi:s3cret@127.0.0.1:1/manyi",
        StoreOptions::default(),
    )
    .await
    .err();
    let Some(StoreError::Connect { url_redacted, .. }) = &err else {
        panic!("expected a connect error, got {err:?}");
    };
    assert_eq!(url_redacted, "postgres://manyi:***@127.0.0.1:1/manyi");
    let text = err.map(|e| format!("{e} {e:?}")).unwrap_or_default();
    assert!(!text.contains("s3cret"), "the password leaked: {text}");
}

#[tokio::test]
async fn a_malformed_postgres_url_is_a_connect_error() {
    let err = Store::connect("postgresql://db:not-a-port/manyi", StoreOptions::default())
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Connect { .. })), "{err:?}");
}

#[tokio::test]
async fn a_postgres_database_that_does_not_exist_is_a_connect_error_not_a_new_database() {
    let Some(db) = TestDb::create("postgres").await else {
        return;
    };
    let missing = match db.url().split_once('?') {
        Some((head, query)) => format!("{head}_missing?{query}"),
        None => format!("{}_missing", db.url()),
    };
    let err = Store::connect(&missing, StoreOptions::default())
        .await
        .err();
    let Some(StoreError::Connect { source, .. }) = &err else {
        panic!("expected a connect error, got {err:?}");
    };
    assert!(source.to_string().contains("does not exist"), "{source}");
}

#[tokio::test]
async fn a_postgres_store_names_its_backend_and_answers_pings() {
    let Some(db) = TestDb::create("postgres").await else {
        return;
    };
    let store = db.store().await;
    assert_eq!(store.backend_name(), "postgres");
    store.ping().await.expect("ping");
    store.close().await;
}

#[tokio::test]
async fn zero_postgres_connections_is_refused() {
    let opts = StoreOptions {
        pg_max_connections: 0,
        ..StoreOptions::default()
    };
    let err = Store::connect("postgres://postgres@127.0.0.1:5432/postgres", opts)
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
}

#[tokio::test]
async fn an_unknown_url_scheme_is_an_error_naming_the_scheme_not_a_file() {
    let err = Store::connect("mysql://localhost/manyi", StoreOptions::default())
        .await
        .err();
    assert!(
        matches!(&err, Some(StoreError::BadUrl { scheme }) if scheme == "mysql"),
        "{err:?}"
    );
}

#[tokio::test]
async fn zero_read_connections_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = StoreOptions {
        read_connections: 0,
        ..StoreOptions::default()
    };
    let path = dir.path().join("x.db");
    let err = Store::connect(&path.display().to_string(), opts)
        .await
        .err();
    assert!(matches!(err, Some(StoreError::Invalid { .. })), "{err:?}");
    assert!(!path.exists(), "nothing was created");
}

#[tokio::test]
async fn a_sqlite_file_is_created_when_missing_and_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested-name.db");
    let opts = StoreOptions {
        sqlite_synchronous: manyi_store::Synchronous::Normal,
        read_connections: 1,
        ..StoreOptions::default()
    };
    let store = Store::connect(&path.display().to_string(), opts)
        .await
        .expect("connect");
    assert_eq!(store.backend_name(), "sqlite");
    store.migrate().await.expect("migrate");
    store
        .insert_unit(new_unit("HQ", None))
        .await
        .expect("insert");
    store.close().await;
    assert!(path.exists());

    let url = format!("sqlite://{}", path.display());
    let reopened = Store::connect(&url, StoreOptions::default())
        .await
        .expect("reopen");
    reopened
        .migrate()
        .await
        .expect("migrations already applied");
    assert!(reopened.unit_by_code("HQ").await.expect("read").is_some());
    reopened.close().await;
}

// ---------------------------------------------------------------------------------------------
// The violations ledger and the penalty ledger
// ---------------------------------------------------------------------------------------------

/// An update of `case` whose one event records a breach against `persons`, with a 30-yuan
/// proposal (or a `min..=max` range in fen) for each.
fn breach_of(case: &CaseRecord, minutes: i64, persons: &[&User], range: (i64, i64)) -> CaseUpdate {
    let mut u = update_of(case, "breached", minutes);
    u.violations = vec![NewViolation {
        event_index: 0,
        kind: "deadline_breach".into(),
        rule: "dispatch".into(),
        clause: "第七条".into(),
        occurred_at: at(minutes),
        due_at: Some(at(minutes - 1)),
        unit_id: case.owner_unit_id,
        person_ids: persons.iter().map(|p| p.id).collect(),
        detail: json!({ "liable_persons": persons.iter().map(|p| &p.login).collect::<Vec<_>>() }),
        penalties: persons
            .iter()
            .map(|p| NewPenalty {
                rule: "late_dispatch".into(),
                clause: "第七条附则".into(),
                person_id: p.id,
                min_fen: range.0,
                max_fen: range.1,
                items: 1,
                discipline_referral: false,
                requires_substantiation: false,
            })
            .collect(),
    }];
    u
}

async fn a_violation_is_written_with_its_event_and_listed_by_unit_person_and_period(store: &Store) {
    let org = org(store).await;
    let case = create(store, complaint(&org, &org.o1, &org.clerk)).await;
    store
        .update_case(breach_of(
            &case,
            20,
            &[&org.clerk, &org.manager],
            (3000, 3000),
        ))
        .await
        .expect("update with a violation");

    let all = store
        .list_violations(&LedgerFilter::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 1);
    let v = &all[0];
    // Recorded by the update's event: seq 3, after the two events that opened the case.
    assert_eq!(
        (v.case_id, v.case_number.as_deref(), v.event_seq),
        (Some(case.id), Some(case.number.as_str()), Some(3))
    );
    assert_eq!(v.policy_id, case.policy_id, "the case's policy version");
    assert_eq!(
        (v.rule.as_str(), v.clause.as_str(), v.unit_code.as_str()),
        ("dispatch", "第七条", "O1")
    );
    assert_eq!(v.person_ids, vec![org.clerk.id, org.manager.id]);
    assert_eq!(v.due_at, Some(at(19)));

    let count = |f: LedgerFilter| async move {
        (
            store.list_violations(&f).await.expect("violations").len(),
            store.list_penalties(&f).await.expect("penalties").len(),
        )
    };
    let subtree = |u: &Unit| LedgerFilter {
        unit_subtree: Some(u.path.clone()),
        ..LedgerFilter::default()
    };
    assert_eq!(count(subtree(&org.b1)).await, (1, 2));
    assert_eq!(count(subtree(&org.hq)).await, (1, 2));
    assert_eq!(count(subtree(&org.b2)).await, (0, 0));
    let person = |u: &User| LedgerFilter {
        person_id: Some(u.id),
        ..LedgerFilter::default()
    };
    assert_eq!(count(person(&org.clerk)).await, (1, 1));
    assert_eq!(count(person(&org.other)).await, (0, 0));
    let visible = |u: &User, path: &str| LedgerFilter {
        visible_to: Some(Visibility {
            unit_path: path.to_owned(),
            user_id: u.id,
        }),
        ..LedgerFilter::default()
    };
    // Someone in another branch sees nothing; the liable person sees theirs wherever they sit.
    assert_eq!(count(visible(&org.other, &org.b2.path)).await, (0, 0));
    assert_eq!(count(visible(&org.clerk, &org.b2.path)).await, (1, 1));
    let period = |from: i64, to: i64| LedgerFilter {
        from: Some(at(from)),
        to: Some(at(to)),
        ..LedgerFilter::default()
    };
    assert_eq!(count(period(20, 21)).await, (1, 2));
    assert_eq!(count(period(0, 20)).await, (0, 0));
    assert_eq!(count(period(21, 99)).await, (0, 0));

    let penalties = store
        .list_penalties(&LedgerFilter {
            status: Some("proposed".into()),
            ..LedgerFilter::default()
        })
        .await
        .expect("penalties");
    assert_eq!(penalties.len(), 2);
    assert!(
        penalties
            .iter()
            .all(|p| p.violation_id == v.id && p.min_fen == 3000)
    );

    // The ledger is append-only, like the event log.
    assert!(
        store
            .raw_execute_for_tests("UPDATE violations SET rule = 'forged'")
            .await
            .is_err()
    );
    assert!(
        store
            .raw_execute_for_tests("DELETE FROM violations")
            .await
            .is_err()
    );
}

async fn a_conflicting_update_writes_none_of_its_violations(store: &Store) {
    let org = org(store).await;
    let case = create(store, complaint(&org, &org.o1, &org.clerk)).await;
    store
        .update_case(update_of(&case, "moved on", 15))
        .await
        .expect("first update");
    let stale = breach_of(&case, 20, &[&org.clerk], (3000, 3000));
    assert!(matches!(
        store.update_case(stale).await,
        Err(StoreError::Conflict)
    ));
    let f = LedgerFilter::default();
    assert!(store.list_violations(&f).await.expect("list").is_empty());
    assert!(store.list_penalties(&f).await.expect("list").is_empty());
}

async fn a_penalty_is_decided_appealed_once_and_its_appeal_decided_each_step_once(store: &Store) {
    let org = org(store).await;
    let case = create(store, complaint(&org, &org.o1, &org.clerk)).await;
    store
        .update_case(breach_of(&case, 20, &[&org.clerk], (5000, 100_000)))
        .await
        .expect("update");
    let id = store
        .list_penalties(&LedgerFilter::default())
        .await
        .expect("list")[0]
        .id;

    // The database itself refuses an amount outside the range.
    let outside = PenaltyStep::Decide {
        amount_fen: 100_001,
        reason: "too much".into(),
        by: org.manager.id,
        at: at(30),
    };
    assert!(store.penalty_step(id, outside).await.is_err());
    // An appeal before any decision does not apply.
    let early = PenaltyStep::Appeal {
        reason: "early".into(),
        at: at(30),
    };
    assert!(matches!(
        store.penalty_step(id, early).await,
        Err(StoreError::Conflict)
    ));

    let decide = PenaltyStep::Decide {
        amount_fen: 20_000,
        reason: "态度生硬".into(),
        by: org.manager.id,
        at: at(31),
    };
    let decided = store
        .penalty_step(id, decide.clone())
        .await
        .expect("decide");
    assert_eq!(decided.status, "decided");
    assert_eq!(
        (
            decided.decided_amount_fen,
            decided.decided_by,
            decided.decided_at
        ),
        (Some(20_000), Some(org.manager.id), Some(at(31)))
    );
    assert_eq!(decided.decided_reason.as_deref(), Some("态度生硬"));
    // Deciding twice: the second finds it decided.
    assert!(matches!(
        store.penalty_step(id, decide).await,
        Err(StoreError::Conflict)
    ));

    let appeal = PenaltyStep::Appeal {
        reason: "系统故障".into(),
        at: at(40),
    };
    let appealed = store
        .penalty_step(id, appeal.clone())
        .await
        .expect("appeal");
    assert_eq!(
        (appealed.status.as_str(), appealed.appealed_at),
        ("appealed", Some(at(40)))
    );
    // One appeal only.
    assert!(matches!(
        store.penalty_step(id, appeal).await,
        Err(StoreError::Conflict)
    ));

    let review = PenaltyStep::DecideAppeal {
        amount_fen: 5000,
        reason: "情有可原".into(),
        by: org.other.id,
        at: at(50),
    };
    let done = store
        .penalty_step(id, review.clone())
        .await
        .expect("review");
    assert_eq!(done.status, "appeal_decided");
    assert_eq!(done.amount_fen(), Some(5000));
    assert_eq!(
        done.decided_amount_fen,
        Some(20_000),
        "the first decision is kept"
    );
    assert_eq!(done.appeal_decided_by, Some(org.other.id));
    assert!(matches!(
        store.penalty_step(id, review).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.penalty_by_id(id).await.expect("read"), Some(done));
    assert!(matches!(
        store
            .penalty_step(
                987_654,
                PenaltyStep::Appeal {
                    reason: "x".into(),
                    at: at(60)
                }
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn two_instances_deciding_the_same_penalty_at_once_record_one_decision(
    first: &Store,
    second: &Store,
) {
    let org = org(first).await;
    let case = create(first, complaint(&org, &org.o1, &org.clerk)).await;
    first
        .update_case(breach_of(&case, 20, &[&org.clerk], (5000, 100_000)))
        .await
        .expect("update");
    let id = first
        .list_penalties(&LedgerFilter::default())
        .await
        .expect("list")[0]
        .id;
    let tasks = 8;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = if task % 2 == 0 { first } else { second }.clone();
        let barrier = barrier.clone();
        let by = org.manager.id;
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let amount = 5000 + i64::try_from(task).expect("small") * 100;
            store
                .penalty_step(
                    id,
                    PenaltyStep::Decide {
                        amount_fen: amount,
                        reason: format!("decision {task}"),
                        by,
                        at: at(30),
                    },
                )
                .await
                .map(|p| p.decided_amount_fen)
        }));
    }
    let mut won = Vec::new();
    for h in handles {
        match h.await.expect("task") {
            Ok(amount) => won.push(amount),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one decision is recorded");
    let stored = second
        .penalty_by_id(id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.decided_amount_fen, won[0]);
    assert_eq!(stored.status, "decided");
}

// ---------------------------------------------------------------------------------------------
// Satisfaction surveys
// ---------------------------------------------------------------------------------------------

async fn a_survey_is_found_by_its_token_hash_answered_once_and_listed_by_unit_and_period(
    store: &Store,
) {
    use manyi_store::{NewSurvey, SurveyFilter};
    let org = org(store).await;
    let case = create(store, complaint(&org, &org.o1, &org.clerk)).await;
    let issued = store
        .insert_survey(NewSurvey {
            token_hash: "hash-of-token".into(),
            case_id: case.id,
            kind: "complaint".into(),
            unit_id: org.o1.id,
            handler_id: Some(org.clerk.id),
            category: Some("attitude".into()),
            issued_by: Some(org.manager.id),
            issued_at: at(10),
            expires_at: at(10_000),
        })
        .await
        .expect("issue");
    assert_eq!(issued.case_number, case.number);
    assert_eq!(issued.unit_code, "O1");
    assert_eq!(issued.handler_login.as_deref(), Some("clerk"));
    assert!(issued.answered_at.is_none());
    assert!(issued.answers.is_null());
    // The same token twice is refused by the unique index.
    let again = store
        .insert_survey(NewSurvey {
            token_hash: "hash-of-token".into(),
            case_id: case.id,
            kind: "complaint".into(),
            unit_id: org.o1.id,
            handler_id: None,
            category: None,
            issued_by: None,
            issued_at: at(11),
            expires_at: at(10_000),
        })
        .await;
    assert!(again.is_err());

    assert!(
        store
            .survey_by_token_hash("forged")
            .await
            .expect("read")
            .is_none()
    );
    let found = store
        .survey_by_token_hash("hash-of-token")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.id, issued.id);

    let answers = json!({"overall": 4, "comment": "处理及时"});
    assert!(
        store
            .answer_survey(found.id, &answers, at(20))
            .await
            .expect("answer")
    );
    assert!(
        !store
            .answer_survey(found.id, &json!({"overall": 1}), at(21))
            .await
            .expect("second answer"),
        "one answer per token"
    );
    let found = store
        .survey_by_token_hash("hash-of-token")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.answers, answers);
    assert_eq!(found.answered_at, Some(at(20)));

    let in_b1 = SurveyFilter {
        from: Some(at(0)),
        to: Some(at(100)),
        unit_path: Some(org.b1.path.clone()),
    };
    assert_eq!(store.answered_surveys(&in_b1).await.expect("list").len(), 1);
    let in_b2 = SurveyFilter {
        unit_path: Some(org.b2.path.clone()),
        ..in_b1.clone()
    };
    assert!(
        store
            .answered_surveys(&in_b2)
            .await
            .expect("list")
            .is_empty()
    );
    let later = SurveyFilter {
        from: Some(at(21)),
        ..in_b1
    };
    assert!(
        store
            .answered_surveys(&later)
            .await
            .expect("list")
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// The rewards ledger (ccb-counter 第三十二条)
// ---------------------------------------------------------------------------------------------

async fn a_reward_is_proposed_once_per_rule_period_and_recipient_and_decided_once(store: &Store) {
    use manyi_store::{NewReward, RewardDecision, RewardFilter, StoreError, Visibility};
    let org = org(store).await;
    let proposal = |person: Option<i64>, unit: i64| NewReward {
        policy: "bank".into(),
        rule: "advanced_worker".into(),
        clause: "第三十二条".into(),
        period: "2026".into(),
        person_id: person,
        unit_id: unit,
        basis: "全年零投诉".into(),
        proposed_by: org.manager.id,
        proposed_at: at(1),
        min_fen: 0,
        max_fen: 500_000,
    };
    let worker = store
        .insert_reward(proposal(Some(org.clerk.id), org.o1.id))
        .await
        .expect("proposed");
    assert_eq!(worker.status, "proposed");
    assert_eq!(worker.unit_code, "O1");
    // A collective award for the unit is another recipient.
    let team = store
        .insert_reward(proposal(None, org.o1.id))
        .await
        .expect("a collective award");
    assert_eq!(team.person_id, None);
    // The same rule, period and person again: refused.
    let again = store
        .insert_reward(proposal(Some(org.clerk.id), org.o1.id))
        .await;
    assert!(
        matches!(again, Err(StoreError::Duplicate { what: "reward", .. })),
        "{again:?}"
    );
    // Decided once, inside the range.
    let decided = store
        .decide_reward(
            worker.id,
            RewardDecision {
                granted: true,
                amount_fen: Some(200_000),
                reason: "评选通过".into(),
                by: org.manager.id,
                at: at(2),
            },
        )
        .await
        .expect("decided");
    assert_eq!(
        (decided.status.as_str(), decided.amount_fen),
        ("granted", Some(200_000))
    );
    let twice = store
        .decide_reward(
            worker.id,
            RewardDecision {
                granted: false,
                amount_fen: None,
                reason: "x".into(),
                by: org.manager.id,
                at: at(3),
            },
        )
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict)), "{twice:?}");
    // Outside the range: the database refuses it too.
    let out = store
        .decide_reward(
            team.id,
            RewardDecision {
                granted: true,
                amount_fen: Some(500_001),
                reason: "x".into(),
                by: org.manager.id,
                at: at(3),
            },
        )
        .await;
    assert!(out.is_err());
    // Lists: by period and status, and scoped to what a person may see.
    let all = store.list_rewards(&RewardFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let granted = store
        .list_rewards(&RewardFilter {
            status: Some("granted".into()),
            ..RewardFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(granted.len(), 1);
    let other_sees = store
        .list_rewards(&RewardFilter {
            visible_to: Some(Visibility {
                user_id: org.other.id,
                unit_path: org.b2.path.clone(),
            }),
            ..RewardFilter::default()
        })
        .await
        .unwrap();
    assert!(other_sees.is_empty());
    let _ = (&org.hq, &org.b1, org.policy_id);
}

// ---------------------------------------------------------------------------------------------
// The web interface: user upkeep, attachments, rate limits
// ---------------------------------------------------------------------------------------------

async fn a_disabled_user_has_no_session_nor_token_until_enabled_again(store: &Store) {
    let o = org(store).await;
    store
        .create_session("s1", o.clerk.id, at(0), at(60))
        .await
        .expect("session");
    store
        .create_api_token("t1", o.clerk.id, "cli", at(0))
        .await
        .expect("token");
    let disabled = store
        .set_user_disabled(&o.clerk.login, true)
        .await
        .expect("disable");
    assert!(disabled.disabled);
    assert_eq!(store.session_user("s1", at(1)).await.expect("read"), None);
    assert_eq!(store.token_user("t1").await.expect("read"), None);
    // Re-enabling brings the token back (it was kept), but not the ended session.
    let enabled = store
        .set_user_disabled(&o.clerk.login, false)
        .await
        .expect("enable");
    assert!(!enabled.disabled);
    assert_eq!(
        store.token_user("t1").await.expect("read").map(|u| u.id),
        Some(o.clerk.id)
    );
    assert_eq!(store.session_user("s1", at(1)).await.expect("read"), None);
    let err = store.set_user_disabled("nobody", true).await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn other_sessions_end_and_the_kept_one_stays(store: &Store) {
    let o = org(store).await;
    for hash in ["keep", "other1", "other2"] {
        store
            .create_session(hash, o.clerk.id, at(0), at(60))
            .await
            .expect("session");
    }
    store
        .create_session("manager", o.manager.id, at(0), at(60))
        .await
        .expect("session");
    assert_eq!(
        store
            .delete_other_sessions(o.clerk.id, "keep")
            .await
            .expect("end"),
        2
    );
    assert!(
        store
            .session_user("keep", at(1))
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        store
            .session_user("other1", at(1))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .session_user("manager", at(1))
            .await
            .expect("read")
            .is_some()
    );
}

async fn a_users_language_is_stored_and_cleared(store: &Store) {
    let o = org(store).await;
    assert_eq!(o.clerk.lang, None);
    store
        .set_user_lang(o.clerk.id, Some("en"))
        .await
        .expect("set");
    let read = store
        .user_by_id(o.clerk.id)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(read.lang.as_deref(), Some("en"));
    store.set_user_lang(o.clerk.id, None).await.expect("clear");
    let read = store
        .user_by_id(o.clerk.id)
        .await
        .expect("read")
        .expect("user");
    assert_eq!(read.lang, None);
}

async fn only_an_empty_unit_is_removed_and_a_refusal_says_what_is_left(store: &Store) {
    let o = org(store).await;
    let refused = store.remove_unit("B1").await.expect("answer");
    let in_use = refused.expect_err("B1 has a child and a user");
    assert_eq!((in_use.children, in_use.users), (1, 1));
    create(store, complaint(&o, &o.b2, &o.other)).await;
    let in_use = store
        .remove_unit("B2")
        .await
        .expect("answer")
        .expect_err("B2 owns a case");
    assert_eq!(in_use.cases, 1);
    store
        .insert_unit(new_unit("EMPTY", Some("HQ")))
        .await
        .expect("unit");
    store
        .set_unit_calendar("EMPTY", Some(json!({"closures": []})), at(0))
        .await
        .expect("calendar");
    store
        .remove_unit("EMPTY")
        .await
        .expect("answer")
        .expect("removed");
    assert_eq!(store.unit_by_code("EMPTY").await.expect("read"), None);
    let err = store.remove_unit("EMPTY").await.err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn attachments_are_stored_in_the_database_and_listed_per_case(store: &Store) {
    let o = org(store).await;
    let case = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    let other = create(store, complaint(&o, &o.b2, &o.other)).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let first = store
        .add_attachment(NewAttachment {
            case_id: case.id,
            filename: "回单.pdf".into(),
            content_type: "application/pdf".into(),
            content: bytes.clone(),
            uploaded_by: Some(o.clerk.id),
            uploaded_at: at(1),
        })
        .await
        .expect("attach");
    assert_eq!(first.size_bytes, 70_000);
    store
        .add_attachment(NewAttachment {
            case_id: case.id,
            filename: "photo.png".into(),
            content_type: "image/png".into(),
            content: vec![1, 2, 3],
            uploaded_by: None,
            uploaded_at: at(2),
        })
        .await
        .expect("attach");
    let listed = store.case_attachments(case.id).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|a| a.filename.as_str())
            .collect::<Vec<_>>(),
        ["回单.pdf", "photo.png"]
    );
    assert!(
        store
            .case_attachments(other.id)
            .await
            .expect("list")
            .is_empty()
    );
    let (record, content) = store
        .attachment(first.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(record, first);
    assert_eq!(content, bytes);
    assert_eq!(store.attachment(999_999).await.expect("read"), None);
    let err = store
        .add_attachment(NewAttachment {
            case_id: 999_999,
            filename: "x".into(),
            content_type: "text/plain".into(),
            content: vec![],
            uploaded_by: None,
            uploaded_at: at(3),
        })
        .await
        .err();
    assert!(matches!(err, Some(StoreError::NotFound { .. })), "{err:?}");
}

async fn rate_limit_windows_count_hits_per_bucket_and_forget_old_windows(store: &Store) {
    for expected in 1..=3 {
        assert_eq!(
            store
                .rate_limit_hit("ip:a", at(0), at(-60))
                .await
                .expect("hit"),
            expected
        );
    }
    assert_eq!(
        store
            .rate_limit_hit("ip:b", at(0), at(-60))
            .await
            .expect("hit"),
        1
    );
    // A new window starts from one; the old one is forgotten once it is old enough.
    assert_eq!(
        store
            .rate_limit_hit("ip:a", at(10), at(-60))
            .await
            .expect("hit"),
        1
    );
    assert_eq!(
        store
            .rate_limit_hit("ip:b", at(100), at(5))
            .await
            .expect("hit"),
        1
    );
    assert_eq!(
        store
            .rate_limit_hit("ip:a", at(0), at(5))
            .await
            .expect("hit"),
        1
    );
}

/// An instance shutting down while requests still arrive: every create it accepted is written
/// and answered before its pools close, every later one is refused as "closed" (never a driver
/// error from a pool closed under a running batch), and the other instance is not affected.
async fn closing_one_store_under_concurrent_creates_writes_or_refuses_each_and_the_other_goes_on(
    first: &Store,
    second: &Store,
) {
    let o = org(first).await;
    let template = complaint(&o, &o.o1, &o.clerk);
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = first.clone();
            let template = template.clone();
            tokio::spawn(async move {
                let mut numbers = Vec::new();
                loop {
                    match store.create_case(template.clone(), numbering).await {
                        Ok(CreateOutcome::Created(case)) => numbers.push(case.number),
                        Err(StoreError::Database(sqlx::Error::PoolClosed)) => break numbers,
                        other => panic!("task {task}: {other:?}"),
                    }
                }
            })
        })
        .collect();
    // Let batches run, then close in the middle of them.
    while first
        .list_cases(&CaseFilter::default())
        .await
        .expect("list")
        .items
        .len()
        < 20
    {
        tokio::task::yield_now().await;
    }
    first.close().await;
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.extend(task.await.expect("task finished"));
    }
    let late = first.create_case(template.clone(), numbering).await;
    assert!(
        matches!(late, Err(StoreError::Database(sqlx::Error::PoolClosed))),
        "a create after close: {late:?}"
    );

    // Every acknowledged create is there, numbered without a gap; the other store goes on.
    let after = create(second, template).await;
    numbers.push(after.number.clone());
    let mut serials: Vec<u64> = numbers.iter().map(|n| serial_of(n)).collect();
    serials.sort_unstable();
    assert_eq!(serials, (1..=serials.len() as u64).collect::<Vec<u64>>());
    assert_eq!(
        walk(second, &CaseFilter::default()).await.len(),
        numbers.len()
    );
}

async fn two_instances_count_hits_in_the_same_rate_limit_window(first: &Store, second: &Store) {
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .rate_limit_hit("phone:x", at(0), at(-60))
                .await
                .expect("hit")
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.expect("task"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<i64>>());
}
