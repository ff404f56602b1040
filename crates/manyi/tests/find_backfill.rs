//! `manyi find backfill` on each backend (`MANYI_TEST_BACKEND`, see `manyi_store::testing`): a
//! small `manyi gen` database put back as it was before migrations 0013, 0015 and 0016 (no
//! keys, the backfills rewound), then the command run to the end — every case found again by
//! its phone and by a part of its number, the repeat-key walk run over every case (the
//! generated bank's policy has no repeat rule, so it writes no key; `api::repeat` tests the
//! keys themselves) — and run again, which changes nothing.

use std::process::{Command, Output};

use manyi_store::testing::TestDb;
use manyi_store::{FindQuery, Store};

fn manyi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_manyi"))
        .args(args)
        .env(
            "MANYI_POLICIES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies"),
        )
        .output()
        .expect("run manyi")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "manyi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn found(store: &Store, kind: &str, prefix: &str) -> Vec<String> {
    store
        .find_cases(&FindQuery {
            kind: kind.into(),
            prefix: prefix.into(),
            visible_to: None,
            limit: 500,
        })
        .await
        .expect("find")
        .into_iter()
        .map(|c| c.number)
        .collect()
}

async fn check(backend: &str) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let url = db.url().to_owned();
    ok(&manyi(&[
        "gen",
        "--units",
        "20",
        "--cases",
        "300",
        "--seed",
        "3",
        "--now",
        "2026-11-26T04:00:00Z",
        "--quiet",
        "--database",
        &url,
    ]));
    let store = db.store().await;
    let cases = store.cases_after(0, 1_000).await.expect("cases");
    assert_eq!(cases.len(), 300);
    let last = cases.last().expect("a case").clone();
    let tail = &last.number[last.number.len() - 6..];
    assert_eq!(
        found(&store, "number", tail).await,
        vec![last.number.clone()]
    );
    // As before migrations 0013, 0015 and 0016: no keys at all, every backfill at the start.
    for sql in [
        "DELETE FROM case_find",
        "UPDATE case_find_backfill SET last_case_id = 0, done = FALSE",
        "UPDATE case_repeat_backfill SET last_case_id = 0, done = FALSE",
        "UPDATE case_find_number_backfill SET last_case_id = 0, \
         upto = (SELECT max(id) FROM cases)",
    ] {
        store.raw_execute_for_tests(sql).await.expect(sql);
    }
    assert!(found(&store, "number", tail).await.is_empty());
    assert!(!store.number_backfill().await.expect("progress").done());

    let first = ok(&manyi(&[
        "find",
        "backfill",
        "--batch",
        "70",
        "--database",
        &url,
    ]));
    assert!(
        first.contains("quick find is complete: 300 cases"),
        "{first}"
    );
    assert!(store.find_backfill().await.expect("progress").done);
    assert!(store.number_backfill().await.expect("progress").done());
    assert!(
        first.contains("300 cases examined for repeat-complaint keys"),
        "{first}"
    );
    assert!(store.repeat_backfill().await.expect("progress").done);
    assert_eq!(
        found(&store, "number", tail).await,
        vec![last.number.clone()]
    );
    let by_number = found(&store, "number", &last.number[..last.number.len() - 3]).await;
    assert!(by_number.contains(&last.number), "{by_number:?}");
    let keys_after_first = store
        .raw_execute_for_tests("UPDATE case_find SET kind = kind")
        .await
        .expect("count keys");
    assert!(keys_after_first > 300 * 4, "{keys_after_first} keys");

    // Again: nothing left to do, nothing changes.
    let second = ok(&manyi(&["find", "backfill", "--database", &url]));
    assert!(
        second.contains("quick find is complete: 0 cases"),
        "{second}"
    );
    let keys_after_second = store
        .raw_execute_for_tests("UPDATE case_find SET kind = kind")
        .await
        .expect("count keys");
    assert_eq!(keys_after_first, keys_after_second);
    assert!(
        second.contains("0 cases examined for repeat-complaint keys"),
        "{second}"
    );
    // A batch of 0 is refused with the option's name.
    let zero = manyi(&["find", "backfill", "--batch", "0", "--database", &url]);
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--batch 0"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_backfill_keys_every_case_and_idempotently_on_sqlite() {
    check("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_backfill_keys_every_case_and_idempotently_on_postgres() {
    check("postgres").await;
}
