//! The store's contract for survey parties (migration 0018, `crate::survey_parties`), on every
//! backend: a survey addressed to the person complained about is recorded by its token hash
//! before the survey itself, read back by token, and picked out of a list of survey ids; a
//! survey without a row is the customer's.

use manyi_store::testing::TestDb;
use manyi_store::{CaseRecord, FindKey, NewSurvey, SUBJECT, Store};

mod common;

use common::{at, create, fixture, new_case};

fn survey(case: &CaseRecord, unit: i64, token_hash: &str) -> NewSurvey {
    NewSurvey {
        token_hash: token_hash.into(),
        case_id: case.id,
        kind: "complaint".into(),
        unit_id: unit,
        handler_id: None,
        category: None,
        issued_by: None,
        issued_at: at(2),
        expires_at: at(10_000),
    }
}

async fn a_subject_survey_is_told_apart_from_the_customer_one(store: &Store) {
    let f = fixture(store).await;
    let case = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let customer = store
        .insert_survey(survey(&case, f.b1, "hash-customer"))
        .await
        .expect("customer survey");
    // The party is written first, under the token hash the survey will have.
    store
        .record_survey_party("hash-subject", SUBJECT)
        .await
        .expect("party");
    let subject = store
        .insert_survey(survey(&case, f.b1, "hash-subject"))
        .await
        .expect("subject survey");
    assert_eq!(
        store.survey_party("hash-subject").await.expect("read"),
        Some(SUBJECT.to_owned())
    );
    assert_eq!(
        store.survey_party("hash-customer").await.expect("read"),
        None
    );
    assert_eq!(store.survey_party("forged").await.expect("read"), None);
    assert_eq!(
        store
            .survey_parties(&[customer.id, subject.id, 999_999])
            .await
            .expect("list"),
        [(subject.id, SUBJECT.to_owned())]
    );
    assert_eq!(
        store.survey_parties(&[customer.id]).await.expect("list"),
        Vec::<(i64, String)>::new()
    );
    assert_eq!(
        store.survey_parties(&[]).await.expect("list"),
        Vec::<(i64, String)>::new()
    );
    // A token hash has one party: a second row for it is refused.
    assert!(
        store
            .record_survey_party("hash-subject", SUBJECT)
            .await
            .is_err()
    );
    // A party row whose survey never got written (a crash between the two) names no survey.
    store
        .record_survey_party("hash-never-issued", SUBJECT)
        .await
        .expect("party");
    assert_eq!(
        store
            .survey_parties(&[customer.id, subject.id])
            .await
            .expect("list")
            .len(),
        1
    );
    let _ = (f.b2, f.other);
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

contract!(a_subject_survey_is_told_apart_from_the_customer_one);
