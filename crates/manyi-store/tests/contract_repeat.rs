//! The store's contract for repeat complaints (migration 0016, `crate::repeat`), on every
//! backend: the exact lookup of the open case a new one repeats, the pending markers the
//! catch-up walks, and the backfill of repeat keys — the same bodies, one `#[tokio::test]`
//! per backend, each on a fresh database from `manyi_store::testing::TestDb`.

use manyi_store::testing::TestDb;
use manyi_store::{
    CaseRecord, CaseUpdate, FindBackfill, FindKey, NewEvent, REPEAT, REPEAT_PENDING, RepeatKeyRow,
    Store,
};
use serde_json::json;

mod common;

use common::{at, create, fixture, new_case};

fn key(kind: &str, key: &str) -> FindKey {
    FindKey {
        kind: kind.into(),
        key: key.into(),
    }
}

/// A new case's rows as the server writes them: its repeat key and the pending marker.
fn repeat(k: &str) -> Vec<FindKey> {
    vec![key(REPEAT, k), key(REPEAT_PENDING, "")]
}

fn update(case: &CaseRecord, closed: bool, find: Option<Vec<FindKey>>) -> CaseUpdate {
    CaseUpdate {
        id: case.id,
        expected_version: case.version,
        state: if closed { "closed" } else { "assessed" }.into(),
        owner_unit_id: case.owner_unit_id,
        assignee_id: None,
        first_contact_id: None,
        closed,
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
    }
}

async fn first_of(store: &Store, k: &str, below: &CaseRecord) -> Option<String> {
    store
        .repeat_first(k, below.id)
        .await
        .expect("repeat lookup")
        .map(|c| c.number)
}

async fn the_lowest_open_case_of_the_same_key_below_the_new_one_is_found(store: &Store) {
    let f = fixture(store).await;
    let a = create(store, new_case(&f, f.b1, f.clerk, repeat("k1"))).await;
    let other = create(store, new_case(&f, f.b2, f.other, repeat("k2"))).await;
    let c = create(store, new_case(&f, f.b1, f.clerk, repeat("k1"))).await;
    let d = create(store, new_case(&f, f.b2, f.other, repeat("k1"))).await;

    assert_eq!(first_of(store, "k1", &d).await, Some(a.number.clone()));
    assert_eq!(first_of(store, "k1", &c).await, Some(a.number.clone()));
    // Nothing below the first one; another key; a key prefix is not the key.
    assert_eq!(first_of(store, "k1", &a).await, None);
    assert_eq!(first_of(store, "k2", &d).await, Some(other.number.clone()));
    assert_eq!(first_of(store, "k", &d).await, None);
    // A closed case is skipped: the next open one answers.
    store
        .update_case(update(&a, true, None))
        .await
        .expect("close");
    assert_eq!(first_of(store, "k1", &d).await, Some(c.number.clone()));
    // An update that replaces the keys without the repeat key takes the case out.
    store
        .update_case(update(&c, false, Some(vec![key("phone", "0008")])))
        .await
        .expect("update");
    assert_eq!(first_of(store, "k1", &d).await, None);
}

async fn pending_markers_are_listed_until_checked(store: &Store) {
    let f = fixture(store).await;
    let a = create(store, new_case(&f, f.b1, f.clerk, repeat("k1"))).await;
    let _plain = create(store, new_case(&f, f.b1, f.clerk, vec![key(REPEAT, "k9")])).await;
    let b = create(store, new_case(&f, f.b2, f.other, repeat("k2"))).await;
    let pending = |before| async move {
        store
            .repeat_pending(before, 10)
            .await
            .expect("pending")
            .into_iter()
            .map(|c| c.number)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pending(at(2)).await,
        vec![a.number.clone(), b.number.clone()]
    );
    // Only cases created before the instant given (a create in flight does its own).
    assert!(pending(at(1)).await.is_empty());
    store.repeat_checked(a.id).await.expect("checked");
    store.repeat_checked(a.id).await.expect("checked twice");
    assert_eq!(pending(at(2)).await, vec![b.number.clone()]);
    // The repeat key stays.
    let later = create(store, new_case(&f, f.b1, f.clerk, repeat("k1"))).await;
    assert_eq!(first_of(store, "k1", &later).await, Some(a.number.clone()));
}

/// The repeat a case made is a fact at its creation: an update that replaces its keys (a
/// transition changed the key fields) before the catch-up ran keeps the marker, so that the
/// catch-up still finds the case; the keys themselves are replaced.
async fn a_pending_marker_survives_an_update_that_replaces_the_keys(store: &Store) {
    let f = fixture(store).await;
    let first = create(store, new_case(&f, f.b1, f.clerk, repeat("k1"))).await;
    let b = create(store, new_case(&f, f.b1, f.clerk, repeat("k1"))).await;
    store.repeat_checked(first.id).await.expect("checked");
    store
        .update_case(update(&b, false, Some(vec![key(REPEAT, "k2")])))
        .await
        .expect("update");
    let pending: Vec<String> = store
        .repeat_pending(at(10), 10)
        .await
        .expect("pending")
        .into_iter()
        .map(|c| c.number)
        .collect();
    assert_eq!(pending, std::slice::from_ref(&b.number));
    // The key is the new one; the marker goes only when the repeat check says so.
    let probe = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    assert_eq!(first_of(store, "k2", &probe).await, Some(b.number.clone()));
    assert_eq!(
        first_of(store, "k1", &probe).await,
        Some(first.number.clone())
    );
    store.repeat_checked(b.id).await.expect("checked");
    assert!(
        store
            .repeat_pending(at(10), 10)
            .await
            .expect("pending")
            .is_empty()
    );
}

async fn the_backfill_writes_a_key_only_at_the_version_read_and_once(store: &Store) {
    let f = fixture(store).await;
    // An empty database at migration: nothing to backfill.
    assert!(store.repeat_backfill().await.expect("progress").done);
    let old = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    let moved = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    let keyed = create(store, new_case(&f, f.b1, f.clerk, vec![key(REPEAT, "k3")])).await;
    let moved_on = store
        .update_case(update(&moved, false, None))
        .await
        .expect("update");
    assert_eq!(moved_on.version, moved.version + 1);
    let row = |c: &CaseRecord, k: &str| RepeatKeyRow {
        case_id: c.id,
        version: c.version,
        key: k.into(),
    };
    let rows = [row(&old, "k1"), row(&moved, "k1"), row(&keyed, "k1")];
    let progress = FindBackfill {
        last_case_id: keyed.id,
        done: true,
    };
    store
        .backfill_repeat_keys(&rows, progress)
        .await
        .expect("backfill");
    // Twice (another instance): the same result.
    store
        .backfill_repeat_keys(&rows, progress)
        .await
        .expect("backfill again");
    let probe = create(store, new_case(&f, f.b1, f.clerk, Vec::new())).await;
    assert_eq!(
        first_of(store, "k1", &probe).await,
        Some(old.number.clone())
    );
    // The moved case (read at an older version) got nothing; the keyed one kept its own key.
    store
        .update_case(update(&old, true, None))
        .await
        .expect("close");
    assert_eq!(first_of(store, "k1", &probe).await, None);
    assert_eq!(
        first_of(store, "k3", &probe).await,
        Some(keyed.number.clone())
    );
    assert_eq!(store.repeat_backfill().await.expect("progress"), progress);
    // Progress never moves back.
    store
        .backfill_repeat_keys(
            &[],
            FindBackfill {
                last_case_id: 1,
                done: false,
            },
        )
        .await
        .expect("backfill");
    assert_eq!(store.repeat_backfill().await.expect("progress"), progress);
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
    the_lowest_open_case_of_the_same_key_below_the_new_one_is_found,
    pending_markers_are_listed_until_checked,
    a_pending_marker_survives_an_update_that_replaces_the_keys,
    the_backfill_writes_a_key_only_at_the_version_read_and_once,
);
