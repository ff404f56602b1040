//! The store's contract for routine survey rounds (migration 0021, `crate::survey_rounds`), on
//! every backend: a round is claimed once by its key, with its surveys and texts in the same
//! transaction (a second claim, here or racing from another connection, writes nothing), a
//! link to the person complained about with its party; the organisation's period is set,
//! replaced and cleared; the closed cases of a period are found by the instant each entered
//! its final state (migration 0024), not by its last change.

use manyi_store::testing::TestDb;
use manyi_store::{
    CaseRecord, CaseUpdate, FindKey, NewEvent, NewRound, NewRoundSurvey, NewSurvey, SUBJECT, Store,
};
use serde_json::json;

mod common;

use common::{at, create, fixture, new_case};

fn survey(case: &CaseRecord, unit: i64, token_hash: &str) -> NewRoundSurvey {
    NewRoundSurvey {
        survey: NewSurvey {
            token_hash: token_hash.into(),
            case_id: case.id,
            kind: "complaint".into(),
            unit_id: unit,
            handler_id: None,
            category: None,
            issued_by: None,
            issued_at: at(100),
            expires_at: at(10_000),
        },
        party: None,
        message_zh: format!("请评价：https://x/public/survey/{token_hash}"),
        message_en: format!("Rate us: https://x/public/survey/{token_hash}"),
    }
}

fn round(key: &str, surveys: Vec<NewRoundSurvey>) -> NewRound {
    NewRound {
        schedule_key: "p/complaint/routine".into(),
        round_key: key.into(),
        period_from: at(0),
        period_to: at(60),
        ran_at: at(100),
        surveys,
    }
}

async fn close(store: &Store, case: &CaseRecord, minute: i64) -> CaseRecord {
    write(store, case, minute, true).await
}

/// A write of `case` at `minute` leaving it closed or open: a close, a reopen, or a change
/// after the close (a note, a callback record).
async fn write(store: &Store, case: &CaseRecord, minute: i64, closed: bool) -> CaseRecord {
    store
        .update_case(CaseUpdate {
            id: case.id,
            expected_version: case.version,
            state: if closed { "closed" } else { "reopened" }.into(),
            owner_unit_id: case.owner_unit_id,
            assignee_id: None,
            first_contact_id: None,
            closed,
            updated_at: at(minute),
            snapshot: json!({}),
            events: vec![NewEvent {
                at: at(minute),
                actor_id: None,
                action: if closed { "close" } else { "reopen" }.into(),
                clause: None,
                payload: json!({}),
            }],
            timers: Vec::new(),
            violations: Vec::new(),
            find: None,
            due_at: None,
        })
        .await
        .expect("close")
}

async fn a_round_runs_once_with_its_surveys(store: &Store) {
    let f = fixture(store).await;
    let a = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let b = create(store, new_case(&f, f.b2, f.clerk, Vec::<FindKey>::new())).await;
    let ran = store
        .run_survey_round(round(
            "2026-Q3",
            vec![survey(&a, f.b1, "h-a"), survey(&b, f.b2, "h-b")],
        ))
        .await
        .expect("run")
        .expect("the first claim runs the round");
    assert_eq!((ran.round_key.as_str(), ran.issued), ("2026-Q3", 2));
    // The same round again issues nothing, and its surveys are not written.
    let again = store
        .run_survey_round(round("2026-Q3", vec![survey(&a, f.b1, "h-a2")]))
        .await
        .expect("run");
    assert_eq!(again, None);
    assert!(
        store
            .survey_by_token_hash("h-a2")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .survey_by_token_hash("h-a")
            .await
            .expect("read")
            .is_some()
    );

    let rounds = store
        .survey_rounds("p/complaint/routine", 10)
        .await
        .expect("rounds");
    assert_eq!(rounds, std::slice::from_ref(&ran));
    assert!(
        store
            .survey_rounds("other", 10)
            .await
            .expect("rounds")
            .is_empty()
    );
    let texts = store
        .survey_round_invitations(ran.id)
        .await
        .expect("invitations");
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0].case_number, a.number);
    assert!(texts[0].message_zh.ends_with("h-a"));
    assert!(!texts[0].answered);
    assert!(texts[1].unit_path != texts[0].unit_path, "{texts:?}");

    // Two claims of a new round racing on two connections: exactly one wins.
    let (x, y) = tokio::join!(
        store.run_survey_round(round("2026-Q4", vec![survey(&a, f.b1, "h-x")])),
        store.run_survey_round(round("2026-Q4", vec![survey(&b, f.b2, "h-y")])),
    );
    let (x, y) = (x.expect("x"), y.expect("y"));
    assert_eq!(
        usize::from(x.is_some()) + usize::from(y.is_some()),
        1,
        "{x:?} {y:?}"
    );
    let written = usize::from(
        store
            .survey_by_token_hash("h-x")
            .await
            .expect("x")
            .is_some(),
    ) + usize::from(
        store
            .survey_by_token_hash("h-y")
            .await
            .expect("y")
            .is_some(),
    );
    assert_eq!(written, 1, "only the winner's survey is written");
    let keys: Vec<String> = store
        .survey_rounds("p/complaint/routine", 10)
        .await
        .expect("rounds")
        .into_iter()
        .map(|r| r.round_key)
        .collect();
    assert_eq!(keys.len(), 2);
    // A round that issues nothing (no case closed) still counts as run.
    let empty = store
        .run_survey_round(NewRound {
            schedule_key: "p/complaint/other".into(),
            ..round("2026-Q3", Vec::new())
        })
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(empty.issued, 0);
    let _ = f.other;
}

async fn a_round_records_the_party_of_a_link_to_the_person_complained_about(store: &Store) {
    let f = fixture(store).await;
    let a = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let to_subject = NewRoundSurvey {
        party: Some(SUBJECT.into()),
        ..survey(&a, f.b1, "h-subject")
    };
    let ran = store
        .run_survey_round(round(
            "2026-Q3",
            vec![survey(&a, f.b1, "h-customer"), to_subject],
        ))
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(ran.issued, 2, "one link per party");
    // The subject's link is told apart, as a survey issued on the case is; the complainant's
    // has no party row.
    assert_eq!(
        store.survey_party("h-subject").await.expect("party"),
        Some(SUBJECT.to_owned())
    );
    assert_eq!(store.survey_party("h-customer").await.expect("party"), None);
    let parties: Vec<(String, Option<String>)> = store
        .survey_round_invitations(ran.id)
        .await
        .expect("invitations")
        .into_iter()
        .map(|i| (i.case_number, i.party))
        .collect();
    assert_eq!(
        parties,
        [
            (a.number.clone(), None),
            (a.number.clone(), Some(SUBJECT.to_owned()))
        ]
    );
    // A round that loses the claim writes no party row either.
    let lost = store
        .run_survey_round(round(
            "2026-Q3",
            vec![NewRoundSurvey {
                party: Some(SUBJECT.into()),
                ..survey(&a, f.b1, "h-lost")
            }],
        ))
        .await
        .expect("run");
    assert_eq!(lost, None);
    assert_eq!(store.survey_party("h-lost").await.expect("party"), None);
}

async fn the_organisation_sets_and_clears_a_period(store: &Store) {
    let f = fixture(store).await;
    assert!(
        store
            .survey_schedule_periods()
            .await
            .expect("read")
            .is_empty()
    );
    store
        .set_survey_schedule_period("p/k/a", Some("monthly"), Some(f.clerk), at(1))
        .await
        .expect("set");
    store
        .set_survey_schedule_period("p/k/a", Some("quarterly"), None, at(2))
        .await
        .expect("replace");
    store
        .set_survey_schedule_period("p/k/b", Some("monthly"), None, at(2))
        .await
        .expect("set");
    assert_eq!(
        store.survey_schedule_periods().await.expect("read"),
        [
            ("p/k/a".to_owned(), "quarterly".to_owned()),
            ("p/k/b".to_owned(), "monthly".to_owned()),
        ]
    );
    // Only the two periods the language knows.
    assert!(
        store
            .set_survey_schedule_period("p/k/c", Some("weekly"), None, at(2))
            .await
            .is_err()
    );
    store
        .set_survey_schedule_period("p/k/a", None, None, at(3))
        .await
        .expect("clear");
    assert_eq!(
        store.survey_schedule_periods().await.expect("read").len(),
        1
    );
}

async fn the_cases_closed_in_a_period_are_found(store: &Store) {
    let f = fixture(store).await;
    let early = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let inside = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let open = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    close(store, &early, 5).await;
    let inside = close(store, &inside, 30).await;
    let ids = store
        .closed_case_ids("complaint", at(10), at(60), "p/k/r", 100)
        .await
        .expect("ids");
    assert_eq!(ids, [inside.id]);
    // `to` is exclusive, `from` inclusive.
    assert_eq!(
        store
            .closed_case_ids("complaint", at(5), at(30), "p/k/r", 100)
            .await
            .expect("ids"),
        [early.id]
    );
    assert!(
        store
            .closed_case_ids("suggestion", at(0), at(60), "p/k/r", 100)
            .await
            .expect("ids")
            .is_empty()
    );
    assert_eq!(
        store
            .closed_case_ids("complaint", at(0), at(60), "p/k/r", 1)
            .await
            .expect("ids")
            .len(),
        1
    );
    let _ = open;

    // The closing instant counts, not the last change: `inside`, closed at 30 and changed at
    // 70 (a note after the period), is still October's; `late`, closed at 70, is not.
    let inside = write(store, &inside, 70, true).await;
    let late = create(store, new_case(&f, f.b2, f.clerk, Vec::<FindKey>::new())).await;
    close(store, &late, 70).await;
    let in_period = |from, to| async move {
        store
            .closed_case_ids("complaint", at(from), at(to), "p/k/r", 100)
            .await
            .expect("ids")
    };
    assert_eq!(in_period(10, 60).await, [inside.id]);
    assert_eq!(in_period(60, 120).await, [late.id]);
    // A case reopened is in no period; closed again, it is in the period of its new close.
    let reopened = create(store, new_case(&f, f.b1, f.clerk, Vec::<FindKey>::new())).await;
    let reopened = close(store, &reopened, 20).await;
    let reopened = write(store, &reopened, 65, false).await;
    assert_eq!(in_period(10, 60).await, [inside.id]);
    assert_eq!(in_period(60, 120).await, [late.id]);
    close(store, &reopened, 80).await;
    assert_eq!(in_period(10, 60).await, [inside.id]);
    assert_eq!(in_period(60, 120).await, [late.id, reopened.id]);

    // Once a round of the schedule surveyed a case, its later rounds leave it out; another
    // schedule's do not.
    store
        .run_survey_round(NewRound {
            schedule_key: "p/k/r".into(),
            ..round("2026-Q3", vec![survey(&inside, f.b1, "h-in")])
        })
        .await
        .expect("run")
        .expect("ran");
    assert!(
        store
            .closed_case_ids("complaint", at(10), at(60), "p/k/r", 100)
            .await
            .expect("ids")
            .is_empty()
    );
    assert_eq!(
        store
            .closed_case_ids("complaint", at(10), at(60), "p/k/other", 100)
            .await
            .expect("ids"),
        [inside.id]
    );
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
    a_round_runs_once_with_its_surveys,
    a_round_records_the_party_of_a_link_to_the_person_complained_about,
    the_organisation_sets_and_clears_a_period,
    the_cases_closed_in_a_period_are_found,
);
