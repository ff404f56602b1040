//! A case's whole life through the API, under each shipped policy: every step is checked in
//! the case body, in the event log, and by replaying the stored log.

use hyper::StatusCode;
use hyper::header::LOCATION;
use serde_json::{Value, json};

use crate::helpers::{
    BRANCH_HEAD, HQ_HEAD, INVESTIGATOR, OUTLET_HEAD, SH_TELLER, TELLER, complaint,
    replay_stored_log, spawn_app, token, valid_assessment,
};

/// `^TS\d{6}\d{5}$`, without pulling in a regex engine.
fn is_ts_number(n: &str) -> bool {
    n.strip_prefix("TS")
        .is_some_and(|rest| rest.len() == 11 && rest.bytes().all(|b| b.is_ascii_digit()))
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

fn clauses(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["clause"].as_str().expect("clause"))
        .collect()
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect()
}

#[tokio::test]
async fn a_complaint_goes_from_registration_through_investigation_to_closing_under_iso_10002() {
    let app = spawn_app().await;
    let teller = token(TELLER);

    // Receipt (8.2): the teller registers the complaint and becomes its first contact.
    let (status, headers, case) = app.create_case(&teller, &complaint()).await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    let number = case["number"].as_str().expect("number").to_owned();
    assert!(
        is_ts_number(&number),
        "{number} is not TS + yyyymm + 5 digits"
    );
    assert_eq!(number, "TS20260300001", "the first complaint of March 2026");
    assert_eq!(
        headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/cases/{number}").as_str())
    );
    assert_eq!(case["state"], "registered");
    assert_eq!(case["closed"], false);
    assert_eq!(
        case["policy"],
        json!({ "id": "default-complaint", "version": 1 })
    );
    assert_eq!(case["owner_unit"]["code"], "BJHD01");
    assert_eq!(case["first_contact"]["login"], TELLER);
    assert_eq!(case["assignee"]["login"], TELLER);
    assert_eq!(case["version"], 1);
    assert_eq!(
        case["fields"]["contact_phone"], "13800138000",
        "the phone number is stored in canonical form"
    );

    // Initial assessment (8.5).
    let case = app
        .take(&number, &teller, "assess", valid_assessment())
        .await;
    assert_eq!(case["state"], "assessed");
    assert_eq!(case["fields"]["validity"], "valid");

    // Dispatch to a handler (8.6): the handler becomes the assignee.
    let case = app
        .take(
            &number,
            &token(OUTLET_HEAD),
            "dispatch",
            json!({ "handler": INVESTIGATOR }),
        )
        .await;
    assert_eq!(case["state"], "investigating");
    assert_eq!(case["assignee"]["login"], INVESTIGATOR);

    // Decision (8.7).
    let case = app
        .take(
            &number,
            &token(OUTLET_HEAD),
            "decide",
            json!({
                "findings": "监控录像显示柜员确有不当言行。",
                "handling_opinion": "柜员书面检讨，网点主任当面致歉。",
            }),
        )
        .await;
    assert_eq!(case["state"], "decided");
    assert_eq!(case["assignee"]["login"], INVESTIGATOR);

    // Response (8.8), by the handler.
    let case = app
        .take(
            &number,
            &token(INVESTIGATOR),
            "reply",
            json!({ "reply_content": "已核实并致歉。", "reply_channel": "phone" }),
        )
        .await;
    assert_eq!(case["state"], "replied");
    assert_eq!(case["closed"], false);

    // Callback (回访) and closing (8.9), by the tier-2 branch's service department.
    assert_eq!(case["callback"]["status"], "pending");
    let (status, _, _) = app
        .post_json(
            &format!("/api/v1/cases/{number}/callback/verdict"),
            &token(BRANCH_HEAD),
            &json!({ "verdict": "satisfied", "channel": "phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let case = app
        .take(
            &number,
            &token(BRANCH_HEAD),
            "close",
            json!({ "final_result": "客户接受道歉，结案。" }),
        )
        .await;
    assert_eq!(case["state"], "closed");
    assert_eq!(case["state_label"], "已结案");
    assert_eq!(case["closed"], true);
    assert_eq!(case["assignee"]["login"], INVESTIGATOR);
    assert_eq!(case["first_contact"]["login"], TELLER);
    assert_eq!(case["version"], 8);
    assert_eq!(case["actions"], json!([]), "nothing follows a final state");

    // The log: one event per step, in order, each naming its clause.
    let events = app.events(&number, &teller).await;
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        actions(&events),
        [
            "open",
            "assess",
            "dispatch",
            "decide",
            "reply",
            "callback_opened",
            "callback_verdict",
            "close"
        ]
    );
    assert_eq!(
        clauses(&events),
        [
            "ISO 10002 8.2",
            "ISO 10002 8.5",
            "ISO 10002 8.6",
            "ISO 10002 8.7",
            "ISO 10002 8.8",
            "ISO 10002 8.9",
            "ISO 10002 8.9",
            "ISO 10002 8.9"
        ]
    );
    assert_eq!(events[0]["type"], "opened");
    assert_eq!(events[0]["actor"]["login"], TELLER);
    assert_eq!(events[2]["type"], "transitioned");
    assert_eq!(events[2]["from"], "assessed");
    assert_eq!(events[2]["to"], "investigating");
    assert_eq!(events[2]["assignee"]["before"]["login"], TELLER);
    assert_eq!(events[2]["assignee"]["after"]["login"], INVESTIGATOR);
    assert_eq!(events[6]["actor"]["login"], BRANCH_HEAD);
    assert_eq!(events[6]["verdict"], "satisfied");
    assert_eq!(events[7]["actor"]["login"], BRANCH_HEAD);
    assert_eq!(events[7]["closed"], true);

    // The stored log replays to the stored case, which is what the API showed.
    let replayed = replay_stored_log(&app.store, &number).await;
    assert_eq!(replayed.state, "closed");
    assert!(replayed.closed);
    assert_eq!(replayed.version, 8);
    assert_eq!(
        replayed.assignee.map(|a| a.login).as_deref(),
        Some(INVESTIGATOR)
    );
    assert_eq!(json!(replayed.fields), case["fields"]);
}

#[tokio::test]
async fn a_ccb_counter_complaint_handed_up_to_the_tier_2_branch_keeps_its_first_contact_owner() {
    let app = spawn_app().await;
    let teller = token(TELLER);

    // 第十七条: the teller who receives the complaint is its first-contact owner.
    let case = app.open_ccb_complaint(&teller).await;
    let number = case["number"].as_str().expect("number").to_owned();
    assert_eq!(number, "CCB2026000001");
    assert_eq!(case["state"], "received");
    assert_eq!(case["policy"], json!({ "id": "ccb-counter", "version": 1 }));

    // Beyond the teller's authority: referred to the outlet head, who takes it over.
    let case = app
        .take(
            &number,
            &teller,
            "refer_to_head",
            json!({ "referral_reason": "涉及窗口排班，超出柜员权限。" }),
        )
        .await;
    assert_eq!(case["state"], "with_head");
    assert_eq!(case["assignee"], Value::Null);
    let case = app
        .take(&number, &token(OUTLET_HEAD), "take_over", json!({}))
        .await;
    assert_eq!(case["assignee"]["login"], OUTLET_HEAD);

    // 第十九条: handed up to the tier-2 branch.
    let case = app
        .take(
            &number,
            &token(OUTLET_HEAD),
            "hand_up",
            json!({
                "escalation_reason": "窗口开放数量由支行统一安排。",
                "responsibility_level": "branch2",
            }),
        )
        .await;
    assert_eq!(case["state"], "escalated");
    assert_eq!(case["owner_unit"]["code"], "BJHD");
    assert_eq!(case["owner_unit"]["level"], "branch2");
    assert_eq!(case["assignee"], Value::Null);
    assert_eq!(case["first_contact"]["login"], TELLER);

    // The teller still sees the case: jurisdiction follows the first contact.
    let (status, _, seen) = app.show(&number, &teller).await;
    assert_eq!(status, StatusCode::OK, "{seen:#}");
    assert_eq!(seen["owner_unit"]["code"], "BJHD");
    assert_eq!(seen["first_contact"]["login"], TELLER);
    assert!(app.listed_numbers(&teller).await.contains(&number));
    // Whereas the outlet head, neither first contact nor above BJHD, no longer does.
    let (status, _, _) = app.show(&number, &token(OUTLET_HEAD)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // And the branch sees it, with the action it may take.
    let (status, _, seen) = app.show(&number, &token(BRANCH_HEAD)).await;
    assert_eq!(status, StatusCode::OK, "{seen:#}");
    let offered: Vec<&str> = seen["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["action"].as_str().expect("action"))
        .collect();
    assert_eq!(offered, ["accept_escalated"]);

    // 第二十三条: the tier-2 branch takes it and coordinates.
    let case = app
        .take(&number, &token(BRANCH_HEAD), "accept_escalated", json!({}))
        .await;
    assert_eq!(case["state"], "coordinating");
    assert_eq!(case["assignee"]["login"], BRANCH_HEAD);

    let case = app
        .take(
            &number,
            &token(BRANCH_HEAD),
            "reply",
            json!({ "handling_result": "高峰时段增开两个窗口。", "reply_channel": "phone" }),
        )
        .await;
    assert_eq!(case["state"], "replied");

    // 第二十二条: someone other than the branch head who gave the result — head office's
    // department head — hears the customer's feedback (回访); then the case is archived.
    assert_eq!(case["callback"]["status"], "pending");
    let (status, _, called) = app
        .post_json(
            &format!("/api/v1/cases/{number}/callback/verdict"),
            &token(HQ_HEAD),
            &json!({ "verdict": "satisfied", "channel": "phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{called:#}");
    let case = app
        .take(
            &number,
            &token(BRANCH_HEAD),
            "close_after_callback",
            json!({ "analysis": "高峰时段窗口不足。" }),
        )
        .await;
    assert_eq!(case["state"], "closed");
    assert_eq!(case["closed"], true);
    assert_eq!(case["owner_unit"]["code"], "BJHD");
    assert_eq!(case["first_contact"]["login"], TELLER);

    let events = app.events(&number, &teller).await;
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(
        actions(&events),
        [
            "open",
            "refer_to_head",
            "take_over",
            "hand_up",
            "accept_escalated",
            "reply",
            "callback_opened",
            "callback_verdict",
            "close_after_callback"
        ]
    );
    assert_eq!(
        clauses(&events),
        [
            "第十七条",
            "第十七条",
            "第十七条",
            "第十九条",
            "第二十三条",
            "第十九条",
            "第二十二条",
            "第二十二条",
            "第二十二条"
        ]
    );
    let hand_up = &events[3];
    assert_eq!(hand_up["owner_unit"]["before"]["code"], "BJHD01");
    assert_eq!(hand_up["owner_unit"]["after"]["code"], "BJHD");
    assert_eq!(hand_up["assignee"]["before"]["login"], OUTLET_HEAD);
    assert_eq!(hand_up["assignee"]["after"], Value::Null);

    let replayed = replay_stored_log(&app.store, &number).await;
    assert_eq!(replayed.owner_unit.code, "BJHD");
    assert_eq!(replayed.first_contact.login, TELLER);
    assert!(replayed.closed);
}

#[tokio::test]
async fn a_case_is_shown_and_listed_with_what_the_caller_may_do_next() {
    let app = spawn_app().await;
    let case = app.open_complaint(&token(TELLER)).await;
    let number = case["number"].as_str().expect("number");

    let (status, _, shown) = app.show(number, &token(TELLER)).await;
    assert_eq!(status, StatusCode::OK, "{shown:#}");
    assert_eq!(shown["number"], number);
    assert_eq!(shown["kind_label"], "客户投诉");
    let offered: Vec<&str> = shown["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        offered,
        ["assess"],
        "a teller may only assess a new complaint"
    );

    assert_eq!(app.listed_numbers(&token(TELLER)).await, [number]);
    assert_eq!(app.listed_numbers(&token(BRANCH_HEAD)).await, [number]);
    assert!(app.listed_numbers(&token(SH_TELLER)).await.is_empty());
}
