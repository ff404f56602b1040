//! The store's contract for quick find (migrations 0013 and 0015, `case_find`), on every backend: the
//! same bodies, one `#[tokio::test]` per backend, each on a fresh database from
//! `manyi_store::testing::TestDb` (see `contract.rs` for `MANYI_TEST_PG`). Kept in its own
//! file so that the branches of issue 6 merge without touching one list.

use jiff::Timestamp;
use manyi_store::testing::{TestDb, backends};
use manyi_store::{
    BulkCase, CaseRecord, CaseUpdate, CreateOutcome, FindBackfill, FindKey, FindQuery, NewCase,
    NewEvent, NewUnit, NewUser, NumberBackfill, Store, StoreError, Visibility,
};
use serde_json::json;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_788_220_800 + minutes * 60).expect("in range")
}

fn key(kind: &str, key: &str) -> FindKey {
    FindKey {
        kind: kind.into(),
        key: key.into(),
    }
}

/// Keys as `manyi_core::find` makes them: the phone's digits reversed, the name's suffixes.
fn keys(phone: &str, name: &str) -> Vec<FindKey> {
    let mut out = vec![key("phone", &phone.chars().rev().collect::<String>())];
    let chars: Vec<char> = name.chars().collect();
    for i in 0..chars.len() {
        out.push(key("name", &chars[i..].iter().collect::<String>()));
    }
    out
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

fn query(kind: &str, prefix: &str, visible_to: Option<Visibility>) -> FindQuery {
    FindQuery {
        kind: kind.into(),
        prefix: prefix.into(),
        visible_to,
        limit: 50,
    }
}

async fn numbers(store: &Store, q: FindQuery) -> Vec<String> {
    store
        .find_cases(&q)
        .await
        .expect("find")
        .into_iter()
        .map(|c| c.number)
        .collect()
}

async fn keys_are_written_with_the_case_and_found_by_prefix_within_the_jurisdiction(store: &Store) {
    let f = fixture(store).await;
    let wang = create(
        store,
        new_case(&f, f.b1, f.clerk, keys("13800138000", "王小明")),
    )
    .await;
    let li = create(
        store,
        new_case(&f, f.b2, f.other, keys("13900008000", "李小明")),
    )
    .await;
    let none = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;

    // The last four digits: both, newest first; five digits tell them apart.
    assert_eq!(
        numbers(store, query("phone", "0008", None)).await,
        vec![li.number.clone(), wang.number.clone()]
    );
    assert_eq!(
        numbers(store, query("phone", "00083", None)).await,
        vec![wang.number.clone()]
    );
    // A part of the name (a suffix key's prefix); a different kind never matches.
    assert_eq!(
        numbers(store, query("name", "小明", None)).await,
        vec![li.number.clone(), wang.number.clone()]
    );
    assert_eq!(
        numbers(store, query("name", "王", None)).await,
        vec![wang.number.clone()]
    );
    assert!(
        numbers(store, query("phone", "小明", None))
            .await
            .is_empty()
    );
    assert!(numbers(store, query("name", "小红", None)).await.is_empty());
    // Within B1's subtree only B1's case; the registrar sees theirs wherever it is.
    let clerk = Visibility {
        unit_path: f.b1_path.clone(),
        user_id: f.clerk,
    };
    assert_eq!(
        numbers(store, query("name", "小明", Some(clerk))).await,
        vec![wang.number.clone()]
    );
    let other = Visibility {
        unit_path: "/999/".into(),
        user_id: f.other,
    };
    assert_eq!(
        numbers(store, query("name", "小明", Some(other))).await,
        vec![li.number.clone()]
    );
    // An empty prefix is refused rather than matching everything.
    assert!(matches!(
        store.find_cases(&query("name", "", None)).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(
        !numbers(store, query("name", "王", None))
            .await
            .contains(&none.number)
    );
}

async fn an_update_with_keys_replaces_them_and_one_without_keeps_them(store: &Store) {
    let f = fixture(store).await;
    let case = create(
        store,
        new_case(&f, f.b1, f.clerk, keys("13800138000", "王小明")),
    )
    .await;
    let update = |case: &CaseRecord, find: Option<Vec<FindKey>>| CaseUpdate {
        id: case.id,
        expected_version: case.version,
        state: "assessed".into(),
        owner_unit_id: case.owner_unit_id,
        assignee_id: None,
        first_contact_id: None,
        closed: false,
        updated_at: at(5),
        snapshot: json!({}),
        events: vec![NewEvent {
            at: at(5),
            actor_id: None,
            action: "assess".into(),
            clause: None,
            payload: json!({}),
        }],
        timers: Vec::new(),
        violations: Vec::new(),
        find,
        due_at: None,
    };
    let case = store
        .update_case(update(&case, None))
        .await
        .expect("update");
    assert_eq!(numbers(store, query("name", "小明", None)).await.len(), 1);
    store
        .update_case(update(&case, Some(keys("13700001234", "王晓明"))))
        .await
        .expect("update");
    assert!(numbers(store, query("name", "小明", None)).await.is_empty());
    assert!(
        numbers(store, query("phone", "0008", None))
            .await
            .is_empty()
    );
    assert_eq!(
        numbers(store, query("name", "晓明", None)).await,
        vec![case.number.clone()]
    );
    assert_eq!(
        numbers(store, query("phone", "4321", None)).await,
        vec![case.number.clone()]
    );
}

async fn bulk_loaded_cases_carry_their_keys_and_the_backfill_keys_only_those_without(
    store: &Store,
) {
    let f = fixture(store).await;
    // Nothing stored yet: the migration found nothing to backfill.
    assert!(store.find_backfill().await.expect("progress").done);
    store
        .bulk_insert_cases(&[BulkCase {
            number: "BULK0001".into(),
            number_scope: "bulk".into(),
            number_period: "".into(),
            serial: 1,
            kind: "complaint".into(),
            policy_id: f.policy,
            state: "received".into(),
            owner_unit_id: f.b2,
            first_contact_id: f.other,
            assignee_id: None,
            channel: "counter".into(),
            created_at: at(1),
            updated_at: at(1),
            closed: false,
            snapshot: json!({}),
            events: vec![NewEvent {
                at: at(1),
                actor_id: None,
                action: "open".into(),
                clause: None,
                payload: json!({}),
            }],
            timers: Vec::new(),
            find: keys("13511112222", "张三"),
            due_at: None,
        }])
        .await
        .expect("bulk");
    assert_eq!(
        numbers(store, query("phone", "2222", None)).await,
        vec!["BULK0001".to_owned()]
    );

    let keyed = create(
        store,
        new_case(&f, f.b1, f.clerk, keys("13800138000", "王小明")),
    )
    .await;
    let bare = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    let batch = store.cases_after(0, 10).await.expect("batch");
    assert_eq!(batch.len(), 3, "lowest id first, all three");
    assert!(batch.windows(2).all(|w| w[0].id < w[1].id));
    // A backfill computed from older fields must not overwrite the keys a case already has.
    store
        .backfill_find_keys(
            &[
                (keyed.id, keys("13000000000", "旧名字")),
                (bare.id, keys("18612345678", "赵六")),
            ],
            FindBackfill {
                last_case_id: bare.id,
                done: true,
            },
        )
        .await
        .expect("backfill");
    assert!(
        numbers(store, query("name", "旧名字", None))
            .await
            .is_empty()
    );
    assert_eq!(
        numbers(store, query("name", "小明", None)).await,
        vec![keyed.number.clone()]
    );
    assert_eq!(
        numbers(store, query("name", "赵", None)).await,
        vec![bare.number.clone()]
    );
    // Progress never moves back, whoever records it.
    store
        .backfill_find_keys(
            &[],
            FindBackfill {
                last_case_id: 1,
                done: false,
            },
        )
        .await
        .expect("stale progress");
    assert_eq!(
        store.find_backfill().await.expect("progress"),
        FindBackfill {
            last_case_id: bare.id,
            done: true
        }
    );
}

fn bulk_case(f: &Fixture, number: &str, serial: u64) -> BulkCase {
    BulkCase {
        number: number.into(),
        number_scope: "bulk".into(),
        number_period: "".into(),
        serial,
        kind: "complaint".into(),
        policy_id: f.policy,
        state: "received".into(),
        owner_unit_id: f.b2,
        first_contact_id: f.other,
        assignee_id: None,
        channel: "counter".into(),
        created_at: at(1),
        updated_at: at(1),
        closed: false,
        snapshot: json!({}),
        events: vec![NewEvent {
            at: at(1),
            actor_id: None,
            action: "open".into(),
            clause: None,
            payload: json!({}),
        }],
        timers: Vec::new(),
        find: Vec::new(),
        due_at: None,
    }
}

/// The numbers of the cases a part of a number finds (the store takes it upper-cased).
async fn number_found(store: &Store, part: &str) -> Vec<String> {
    numbers(store, query("number", part, None)).await
}

async fn every_part_of_a_number_of_four_characters_or_more_finds_the_case_on_every_insert_path(
    store: &Store,
) {
    let f = fixture(store).await;
    let one = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    assert_eq!(one.number, "TS-000001");
    store
        .bulk_insert_cases(&[bulk_case(&f, "CCB2026361994", 1)])
        .await
        .expect("bulk");
    for part in ["TS-000001", "S-00", "000001", "0001"] {
        assert_eq!(
            number_found(store, part).await,
            vec![one.number.clone()],
            "{part}"
        );
    }
    for part in ["CCB2026361994", "2026361", "361994", "1994"] {
        assert_eq!(
            number_found(store, part).await,
            vec!["CCB2026361994".to_owned()],
            "{part}"
        );
    }
    // Suffixes shorter than four characters are not keys (`001` starts none of `0001`…).
    assert!(number_found(store, "001").await.is_empty());
    assert!(number_found(store, "994").await.is_empty());
    // An update that replaces the case's own keys leaves its number keys alone.
    let update = CaseUpdate {
        id: one.id,
        expected_version: one.version,
        state: "assessed".into(),
        owner_unit_id: one.owner_unit_id,
        assignee_id: None,
        first_contact_id: None,
        closed: false,
        updated_at: at(5),
        snapshot: json!({}),
        events: vec![NewEvent {
            at: at(5),
            actor_id: None,
            action: "assess".into(),
            clause: None,
            payload: json!({}),
        }],
        timers: Vec::new(),
        violations: Vec::new(),
        find: Some(keys("13700001234", "王晓明")),
        due_at: None,
    };
    store.update_case(update).await.expect("update");
    assert_eq!(
        number_found(store, "000001").await,
        vec![one.number.clone()]
    );
    assert_eq!(
        numbers(store, query("name", "晓明", None)).await,
        vec![one.number.clone()]
    );
    // Jurisdiction applies as for any key: B1's clerk does not see B2's case.
    let b1 = Some(Visibility {
        unit_path: f.b1_path.clone(),
        user_id: f.clerk,
    });
    assert!(
        numbers(store, query("number", "361994", b1))
            .await
            .is_empty()
    );
    // A database created empty has nothing to backfill.
    let progress = store.number_backfill().await.expect("progress");
    assert!(progress.done(), "{progress:?}");
}

/// Removes the number keys of every case and rewinds the number backfill, as a database
/// upgraded by migration 0015 with these cases already stored would be.
async fn as_if_stored_before_0015(db: &TestDb) {
    let sql = [
        "DELETE FROM case_find WHERE kind = 'number'",
        "UPDATE case_find_number_backfill SET last_case_id = 0, \
         upto = (SELECT max(id) FROM cases)",
    ];
    if db.backend() == "sqlite" {
        let pool = sqlx::SqlitePool::connect(db.url()).await.expect("connect");
        for q in sql {
            sqlx::query(q).execute(&pool).await.expect(q);
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(db.url()).await.expect("connect");
        for q in sql {
            sqlx::query(q).execute(&pool).await.expect(q);
        }
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_number_backfill_keys_older_cases_in_batches_resumably_and_idempotently() {
    for backend in backends() {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = db.store().await;
        let f = fixture(&store).await;
        let mut made = Vec::new();
        for _ in 0..5 {
            made.push(create(&store, new_case(&f, f.b1, f.clerk, Vec::new())).await);
        }
        store.close().await;
        as_if_stored_before_0015(&db).await;
        let store = db.store().await;
        let top = made.last().expect("cases").id;
        assert_eq!(
            store.number_backfill().await.expect("progress"),
            NumberBackfill {
                last_case_id: 0,
                upto: top
            }
        );
        assert!(
            number_found(&store, "000003").await.is_empty(),
            "{backend}: not keyed yet"
        );
        // A case created now is keyed by the trigger, whatever the backfill's progress.
        let later = create(&store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
        assert_eq!(
            number_found(&store, "000006").await,
            vec![later.number.clone()]
        );
        // Two cases a batch: the first batch keys cases 1 and 2 only.
        let p = store.backfill_number_keys(2).await.expect("batch");
        assert_eq!(p.last_case_id, made[1].id);
        assert!(!p.done());
        assert_eq!(
            number_found(&store, "000002").await,
            vec![made[1].number.clone()]
        );
        assert!(number_found(&store, "000003").await.is_empty());
        // Resumed by another store (a restart): on to the end, then nothing more to do.
        store.close().await;
        let store = db.store().await;
        let mut p = store.number_backfill().await.expect("progress");
        let mut batches = 0;
        while !p.done() {
            p = store.backfill_number_keys(2).await.expect("batch");
            batches += 1;
        }
        assert_eq!(batches, 2, "{backend}: cases 3–4, then 5");
        assert_eq!(p.last_case_id, top);
        assert_eq!(store.backfill_number_keys(2).await.expect("again"), p);
        for case in made.iter().chain([&later]) {
            let serial = &case.number[case.number.len() - 4..];
            assert_eq!(
                number_found(&store, serial).await,
                vec![case.number.clone()]
            );
        }
        // Idempotent: running it over keyed cases again adds nothing and fails nothing.
        store.close().await;
        let pool_reset = "UPDATE case_find_number_backfill SET last_case_id = 0";
        if backend == "sqlite" {
            let pool = sqlx::SqlitePool::connect(db.url()).await.expect("connect");
            sqlx::query(pool_reset)
                .execute(&pool)
                .await
                .expect("rewind");
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(db.url()).await.expect("connect");
            sqlx::query(pool_reset)
                .execute(&pool)
                .await
                .expect("rewind");
            pool.close().await;
        }
        let store = db.store().await;
        let p = store.backfill_number_keys(100).await.expect("again");
        assert!(p.done());
        assert_eq!(number_found(&store, "TS-0").await.len(), 6);
        store.close().await;
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        contract!(@backend sqlite, [$($name),*]);
        contract!(@backend postgres, [$($name),*]);
    };
    (@backend $backend:ident, [$($name:ident),*]) => {
        mod $backend {
            use super::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::create(stringify!($backend)).await else {
                        return;
                    };
                    let store = db.store().await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

contract!(
    keys_are_written_with_the_case_and_found_by_prefix_within_the_jurisdiction,
    an_update_with_keys_replaces_them_and_one_without_keeps_them,
    bulk_loaded_cases_carry_their_keys_and_the_backfill_keys_only_those_without,
    every_part_of_a_number_of_four_characters_or_more_finds_the_case_on_every_insert_path,
);
