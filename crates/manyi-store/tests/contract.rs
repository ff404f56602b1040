//! The store's contract: what every backend must do, written once.
//!
//! Each test body is an `async fn(&Store)` that uses only the public interface, so the same
//! bodies run on every backend. The [`contract!`] macro at the bottom turns the list of bodies
//! into one `#[tokio::test]` per backend, each on a fresh database (SQLite: a new file in a
//! temporary directory). Adding PostgreSQL means adding a module to that macro, not new tests.

use std::collections::BTreeSet;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use jiff::Timestamp;
use manyi_store::{
    CaseFilter, CaseRecord, CaseUpdate, CreateOutcome, Idempotency, NewCase, NewEvent, NewUnit,
    NewUser, Store, StoreError, StoreOptions, Unit, User, Visibility,
};
use serde_json::json;

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

async fn a_failed_case_insert_gives_its_serial_back(store: &Store) {
    let o = org(store).await;
    let first = create(store, complaint(&o, &o.o1, &o.clerk)).await;
    // A numbering that collides with an existing number makes the insert fail after the
    // serial was taken...
    let taken = first.number.clone();
    let err = store
        .create_case(complaint(&o, &o.o1, &o.clerk), move |_| taken)
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

    let mut close = update_of(&updated, "closed", 30);
    close.closed = true;
    let closed = store.update_case(close).await.expect("close");
    assert_eq!((closed.version, closed.closed), (3, true));
    assert_eq!(
        store.case_by_number(&case.number).await.expect("read"),
        Some(closed)
    );

    let events = store.case_events(case.id).await.expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(actions, ["create", "clock_started", "escalated", "closed"]);
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

// ---------------------------------------------------------------------------------------------
// Running the contract on each backend
// ---------------------------------------------------------------------------------------------

/// A store on a database of its own, deleted when dropped.
struct TestDb {
    store: Store,
    dir: tempfile::TempDir,
}

impl TestDb {
    async fn fresh_sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&Self::sqlite_url(&dir), StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        TestDb { store, dir }
    }

    fn sqlite_url(dir: &tempfile::TempDir) -> String {
        format!("sqlite:{}", dir.path().join("manyi.db").display())
    }

    /// A second, independent store on the same database.
    async fn another_handle(&self) -> Store {
        Store::connect(&Self::sqlite_url(&self.dir), StoreOptions::default())
            .await
            .expect("connect again")
    }
}

/// One `#[tokio::test]` per backend for each contract body: `single` bodies take one store,
/// `pair` bodies two independent stores on the same database. A PostgreSQL module goes here.
macro_rules! contract {
    (single: [$($name:ident),* $(,)?], pair: [$($pair:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            use super::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = TestDb::fresh_sqlite().await;
                    super::$name(&db.store).await;
                    db.store.close().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pair() {
                    let db = TestDb::fresh_sqlite().await;
                    let second = db.another_handle().await;
                    super::$pair(&db.store, &second).await;
                    second.close().await;
                    db.store.close().await;
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
    a_session_finds_its_user_until_it_expires,
    an_api_token_finds_its_user_until_revoked,
    storing_the_same_policy_source_twice_returns_the_same_version,
    activating_a_policy_version_deactivates_the_previous_one,
    a_stored_policy_version_cannot_be_edited_even_with_raw_sql,
    cases_are_numbered_one_two_three_per_scope_and_period,
    a_thousand_cases_created_concurrently_from_sixteen_tasks_get_serials_one_to_a_thousand,
    a_failed_case_insert_gives_its_serial_back,
    a_create_cancelled_at_any_point_leaves_no_gap_and_no_half_written_case,
    a_replayed_idempotency_key_returns_the_first_case_and_a_different_request_is_refused,
    an_update_bumps_the_version_moves_the_owner_path_and_appends_events_in_order,
    an_update_with_a_stale_version_is_a_conflict_and_writes_nothing,
    events_cannot_be_updated_or_deleted_even_with_raw_sql,
    a_user_sees_cases_owned_in_their_subtree_and_cases_where_they_are_first_contact,
    cases_can_be_filtered_by_kind_state_assignee_closure_and_creation_time,
    cursor_pagination_walks_every_case_exactly_once_newest_first,
    ],
    pair: [two_stores_sharing_a_database_number_cases_concurrently_without_gaps],
);

// ---------------------------------------------------------------------------------------------
// Opening a store (not per backend: these are about choosing one)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_postgres_url_is_refused_as_not_yet_supported() {
    let err = Store::connect(
        "postgres://manyi:pw@localhost/manyi",
        StoreOptions::default(),
    )
    .await
    .err();
    assert!(matches!(err, Some(StoreError::Unsupported(_))), "{err:?}");
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
