//! The store's contract for quick find with a cap (`Store::find_cases_capped`), on every
//! backend: a part of a case number that many cases share reads at most `limit + 1` keys of
//! cases within the reader's jurisdiction, answers at most `limit` distinct cases, newest
//! first, and says when it was cut short (`partial`).

use jiff::Timestamp;
use manyi_store::testing::{TestDb, backends};
use manyi_store::{
    CaseRecord, CreateOutcome, FindKey, FindQuery, NewCase, NewEvent, NewUnit, NewUser, Store,
    Visibility,
};
use serde_json::json;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_788_220_800 + minutes * 60).expect("in range")
}

struct Fixture {
    policy: i64,
    b1: i64,
    b2: i64,
    b1_path: String,
    clerk: i64,
    other: i64,
}

async fn fixture(store: &Store) -> Fixture {
    let mut units = Vec::new();
    for (code, parent) in [("HQ", None), ("B1", Some("HQ")), ("B2", Some("HQ"))] {
        units.push(
            store
                .insert_unit(NewUnit {
                    code: code.into(),
                    name: format!("unit {code}"),
                    level: "分行".into(),
                    parent_code: parent.map(Into::into),
                })
                .await
                .expect("unit"),
        );
    }
    let mut ids = Vec::new();
    for (login, unit) in [("clerk", "B1"), ("other", "B2")] {
        let u = store
            .insert_user(NewUser {
                login: login.into(),
                name: format!("name of {login}"),
                unit_code: unit.into(),
                roles: vec!["agent".into()],
                password_hash: None,
            })
            .await
            .expect("user");
        ids.push(u.id);
    }
    let policy = store
        .store_policy_version("bank", "[policy]\nname = 'bank'", "hash-1", at(0))
        .await
        .expect("policy");
    Fixture {
        policy: policy.id,
        b1: units[1].id,
        b2: units[2].id,
        b1_path: units[1].path.clone(),
        clerk: ids[0],
        other: ids[1],
    }
}

fn new_case(f: &Fixture, unit: i64, first_contact: i64, find: Vec<FindKey>) -> NewCase {
    NewCase {
        kind: "complaint".into(),
        policy_id: f.policy,
        number_scope: "bank/complaint".into(),
        number_period: "2026".into(),
        state: "received".into(),
        owner_unit_id: unit,
        first_contact_id: first_contact,
        assignee_id: None,
        channel: "counter".into(),
        created_at: at(1),
        snapshot: json!({}),
        events: vec![NewEvent {
            at: at(1),
            actor_id: Some(first_contact),
            action: "open".into(),
            clause: None,
            payload: json!({}),
        }],
        idempotency: None,
        timers: Vec::new(),
        find,
        due_at: None,
    }
}

async fn create(store: &Store, c: NewCase) -> CaseRecord {
    match store
        .create_case(c, |serial| format!("TS-{serial:06}"))
        .await
        .expect("create")
    {
        CreateOutcome::Created(case) => case,
        other => panic!("expected a new case, got {other:?}"),
    }
}

fn number_query(prefix: &str, visible_to: Option<Visibility>, limit: u32) -> FindQuery {
    FindQuery {
        kind: "number".into(),
        prefix: prefix.into(),
        visible_to,
        limit,
    }
}

/// The numbers found and whether the answer is partial.
async fn capped(store: &Store, q: FindQuery) -> (Vec<String>, bool) {
    let found = store.find_cases_capped(&q).await.expect("find");
    (
        found.cases.into_iter().map(|c| c.number).collect(),
        found.partial,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_part_many_cases_share_is_capped_and_said_to_be_partial() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let f = fixture(&store).await;
        // TS-000001 … TS-000007 in B1 (registered by the clerk), TS-000008 … TS-000010 in B2.
        let mut all: Vec<CaseRecord> = Vec::new();
        for i in 0..10 {
            let (unit, by) = if i < 7 {
                (f.b1, f.clerk)
            } else {
                (f.b2, f.other)
            };
            all.push(create(&store, new_case(&f, unit, by, Vec::new())).await);
        }
        let newest_first = |cases: &[CaseRecord]| -> Vec<String> {
            cases.iter().rev().map(|c| c.number.clone()).collect()
        };
        let clerk = || {
            Some(Visibility {
                unit_path: f.b1_path.clone(),
                user_id: f.clerk,
            })
        };

        // Every number starts with `TS-0`: 3 of 10, cut short; 10 of 10 (11 keys asked for,
        // 10 there), complete; newest first either way.
        let (three, partial) = capped(&store, number_query("TS-0", None, 3)).await;
        assert_eq!(three.len(), 3, "{backend}: {three:?}");
        assert!(partial, "{backend}: 3 of 10 is partial");
        let mut sorted = three.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(three, sorted, "{backend}: newest first");
        assert_eq!(
            capped(&store, number_query("TS-0", None, 10)).await,
            (newest_first(&all), false),
            "{backend}"
        );
        // Within B1's subtree only B1's seven: complete at 7, partial at 6, never B2's.
        assert_eq!(
            capped(&store, number_query("TS-0", clerk(), 7)).await,
            (newest_first(&all[..7]), false),
            "{backend}"
        );
        let (six, partial) = capped(&store, number_query("TS-0", clerk(), 6)).await;
        assert!(partial, "{backend}");
        assert_eq!(six.len(), 6, "{backend}");
        assert!(
            six.iter().all(|n| all[..7].iter().any(|c| &c.number == n)),
            "{backend}: {six:?}"
        );
        // A case with several matching keys (`000`: `000001`, `00001`, `0001`) is one case.
        let (found, _) = capped(&store, number_query("000", None, 50)).await;
        assert_eq!(found, newest_first(&all), "{backend}");
        let (found, partial) = capped(&store, number_query("000", None, 4)).await;
        let mut distinct = found.clone();
        distinct.dedup();
        assert!(
            found.len() <= 4 && distinct == found,
            "{backend}: {found:?}"
        );
        assert!(partial, "{backend}");
        // A fragment only one case has: complete.
        assert_eq!(
            capped(&store, number_query("TS-000009", None, 50)).await,
            (vec![all[8].number.clone()], false),
            "{backend}"
        );
        // An empty prefix is refused.
        assert!(
            store
                .find_cases_capped(&number_query("", None, 5))
                .await
                .is_err()
        );
        store.close().await;
    }
}

/// The numbers found with a walk of `walk` keys, and whether the answer is partial.
async fn walking(store: &Store, q: FindQuery, walk: usize) -> (Vec<String>, bool) {
    let found = store
        .find_cases_capped_walking(&q, walk)
        .await
        .expect("find");
    (
        found.cases.into_iter().map(|c| c.number).collect(),
        found.partial,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_jurisdiction_beyond_the_walk_is_found_from_its_own_cases() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let f = fixture(&store).await;
        // TS-000001 … TS-000012 in B2, then TS-000013 … TS-000015 in B1 (the clerk's): in key
        // order B1's cases come last, beyond a walk of 4 keys.
        let mut all: Vec<CaseRecord> = Vec::new();
        for i in 0..15 {
            let (unit, by) = if i < 12 {
                (f.b2, f.other)
            } else {
                (f.b1, f.clerk)
            };
            all.push(create(&store, new_case(&f, unit, by, Vec::new())).await);
        }
        let clerk = || {
            Some(Visibility {
                unit_path: f.b1_path.clone(),
                user_id: f.clerk,
            })
        };
        let b1_newest_first: Vec<String> =
            all[12..].iter().rev().map(|c| c.number.clone()).collect();

        // The walk's 4 keys are B2's: the clerk's three come from B1's own cases, complete.
        assert_eq!(
            walking(&store, number_query("TS-0", clerk(), 3), 4).await,
            (b1_newest_first.clone(), false),
            "{backend}"
        );
        // More of them than the limit: the newest two, partial.
        assert_eq!(
            walking(&store, number_query("TS-0", clerk(), 2), 4).await,
            (b1_newest_first[..2].to_vec(), true),
            "{backend}"
        );
        // The number test is the keys' test: a fragment in the middle (`0001` of `TS-000013`)
        // is found, one in the last three characters (`013` alone) is not a key and is not
        // found by the scan either, whatever the walk.
        assert_eq!(
            walking(&store, number_query("0001", clerk(), 10), 4).await,
            (b1_newest_first.clone(), false),
            "{backend}"
        );
        for walk in [4, 10_000] {
            assert_eq!(
                walking(&store, number_query("013", clerk(), 10), walk).await,
                (Vec::new(), false),
                "{backend}: walk {walk}"
            );
        }
        // A fragment no visible case has: none, complete.
        assert_eq!(
            walking(&store, number_query("TS-000001", clerk(), 10), 4).await,
            (Vec::new(), false),
            "{backend}"
        );
        store.close().await;
    }
}
