//! Each shipped policy pack's main path, end to end through the HTTP API: registration (with
//! the pack's numbering), the first-contact rules, the pack's transitions to resolution and
//! closing, a deadline breach that becomes a violation with its clause and liable persons (the
//! manual clock crosses the 2026 National Day holiday and the 调休 Saturday 10-10), and a
//! penalty proposal decided inside its range, an out-of-range decision refused with nothing
//! changed, one appeal allowed, a second refused, and the appeal decided by someone else.
//!
//! Each pack gets its own organisation (units of its own levels, people with its own roles) in
//! the test server's database, next to the bank of `helpers`; packs other than the two the
//! harness installs are uploaded and activated through the API, as an organisation would.
//!
//! A case's violations and penalties are read from the ledgers with `?case=NUMBER`.
//!
//! The customer's verdict is the callback (回访, `POST /cases/{n}/callback/verdict`): each main
//! path closing is refused while it is owed, a dissatisfied verdict reopens the case and a
//! satisfied one lets it close.
//!
//! Where the fines come from: jinbi-property's regulation fines the breach itself;
//! ccb-counter's and regional-complaint's fine upheld complaints, proposed at a substantiated
//! close. The six other packs' regulations (default-complaint's is ISO 10002) set no fine, so
//! the packs ship none (CLAUSES.md §4.4: a penalty is a proposal a person decides within the
//! range a rule sets): each shows, commented out near its end, how an organisation adds its own
//! schedule (本单位考核办法), and its main path uploads the pack with that example appended
//! ([`with_org_fines`]) and walks the fine on its breach.
//! [`the_shipped_packs_whose_regulation_sets_no_fine_record_each_main_breach_as_a_violation_and_propose_no_penalty`]
//! shows the same breaches, under the packs as shipped, proposing nothing.

use hyper::StatusCode;
use jiff::Timestamp;
use manyi_core::clock::Clock;
use manyi_server::scheduler;
use manyi_store::{NewUnit, NewUser};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, BRANCH_HEAD, INVESTIGATOR, OUTLET_HEAD, TELLER, TestApp, assert_problem, ccb_complaint,
    complaint, field_errors, shipped_policy, spawn_app, token, valid_assessment,
};

/// Wednesday 2026-09-30, 10:00 in Beijing: the last working day before the National Day
/// holiday (10-01 to 10-07); Saturday 10-10 is a make-up working day (调休).
const EVE_OF_NATIONAL_DAY: &str = "2026-09-30T10:00:00+08:00";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A unit: code, name, level, parent.
type UnitRow<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);
/// A person: login, name, unit, roles.
type UserRow<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);

/// The test server with a pack's own organisation added and the pack active. `source` is the
/// pack's text to upload and activate through the API (`None` for the two packs the harness
/// installs already). The clock stands at [`EVE_OF_NATIONAL_DAY`].
async fn pack_app(source: Option<&str>, units: &[UnitRow<'_>], users: &[UserRow<'_>]) -> TestApp {
    let app = spawn_app().await;
    let now = app.clock.now();
    for (code, name, level, parent) in units {
        app.store
            .insert_unit(NewUnit {
                code: (*code).into(),
                name: (*name).into(),
                level: (*level).into(),
                parent_code: parent.map(Into::into),
            })
            .await
            .expect("insert unit");
    }
    for (login, name, unit, roles) in users {
        let user = app
            .store
            .insert_user(NewUser {
                login: (*login).into(),
                name: (*name).into(),
                unit_code: (*unit).into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: None,
            })
            .await
            .expect("insert user");
        app.store
            .create_api_token(
                &manyi_server::auth::token_hash(&token(login)),
                user.id,
                "test",
                now,
            )
            .await
            .expect("create token");
    }
    if let Some(source) = source {
        activate(&app, source).await;
    }
    app.clock.set(at(EVE_OF_NATIONAL_DAY));
    app
}

/// Uploads a pack's text as the administrator (a new version: 201) and activates it.
async fn activate(app: &TestApp, source: &str) {
    let admin = token(ADMIN);
    let (status, _, uploaded) = app
        .post_raw("/api/v1/policies", &admin, "application/toml", source)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded:#}");
    let id = uploaded["id"].as_str().expect("id").to_owned();
    let version = uploaded["version"].as_i64().expect("version");
    let (status, _, activated) = app
        .post_json(
            &format!("/api/v1/policies/{id}/versions/{version}/activate"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activated:#}");
    assert_eq!(activated["active"], true);
}

/// Registers a case as `login`, asserting 201 and the number.
async fn register(app: &TestApp, login: &str, body: Value, number: &str) -> Value {
    let (status, _, case) = app.create_case(&token(login), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    assert_eq!(case["number"], number, "{case:#}");
    assert_eq!(
        case["first_contact"]["login"], login,
        "首问负责人: {case:#}"
    );
    case
}

/// Moves the clock to `instant` and lets the scheduler fire what is due.
async fn tick_at(app: &TestApp, instant: &str) {
    app.clock.set(at(instant));
    scheduler::tick(&app.state)
        .await
        .expect("the scheduler ticks");
}

fn clock<'a>(case: &'a Value, id: &str) -> &'a Value {
    case["clocks"]
        .as_array()
        .expect("clocks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no clock {id} in {case:#}"))
}

/// The `(due_day, due)` of a case's clock.
fn due(case: &Value, id: &str) -> (String, String) {
    let c = clock(case, id);
    (
        c["due_day"].as_str().unwrap_or_default().to_owned(),
        c["due"].as_str().unwrap_or_default().to_owned(),
    )
}

fn items(v: &Value) -> Vec<Value> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {v:#}"))
        .clone()
}

/// One case's rows of a ledger (`violations` or `penalties`), as the administrator sees it
/// through `?case=`; every row must be the case's.
async fn ledger_of(app: &TestApp, ledger: &str, number: &str) -> Vec<Value> {
    let (status, _, body) = app
        .get(&format!("/api/v1/{ledger}?case={number}"), &token(ADMIN))
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let rows = items(&body);
    assert!(rows.iter().all(|r| r["case"] == number), "{body:#}");
    rows
}

/// The violations of one case.
async fn violations_of(app: &TestApp, number: &str) -> Vec<Value> {
    ledger_of(app, "violations", number).await
}

/// The penalties of one case.
async fn penalties_of(app: &TestApp, number: &str) -> Vec<Value> {
    ledger_of(app, "penalties", number).await
}

/// The logins of a violation's liable persons, in order.
fn liable(violation: &Value) -> Vec<String> {
    violation["liable_persons"]
        .as_array()
        .unwrap_or_else(|| panic!("no liable_persons in {violation:#}"))
        .iter()
        .map(|p| p["login"].as_str().expect("login").to_owned())
        .collect()
}

/// The only violation of a case: its rule, clause, due instant and liable persons.
async fn the_violation(
    app: &TestApp,
    number: &str,
    rule: &str,
    clause: &str,
    due: &str,
    persons: &[&str],
) -> Value {
    let found = violations_of(app, number).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let v = found[0].clone();
    assert_eq!(v["rule"], rule, "{v:#}");
    assert_eq!(v["clause"], clause, "{v:#}");
    assert_eq!(v["due"], due, "{v:#}");
    assert_eq!(liable(&v), persons, "{v:#}");
    v
}

/// A transition refused with `status`, `reason` and `clause`; returns the problem.
async fn refused(
    app: &TestApp,
    number: &str,
    login: &str,
    action: &str,
    fields: Value,
    (status, reason, clause): (StatusCode, &str, &str),
) -> Value {
    let reply = app.transition(number, &token(login), action, fields).await;
    let problem = assert_problem(&reply, status, "refused");
    assert_eq!(problem["reason"], reason, "{action}: {problem:#}");
    assert_eq!(problem["clause"], clause, "{action}: {problem:#}");
    problem
}

/// A transition taken as `login` that lands in `state`.
async fn step(
    app: &TestApp,
    number: &str,
    login: &str,
    action: &str,
    fields: Value,
    state: &str,
) -> Value {
    let case = app.take(number, &token(login), action, fields).await;
    assert_eq!(case["state"], state, "{action}: {case:#}");
    case
}

/// A callback (回访) call — `what` is `attempts`, `verdict` or `waive` — as `login`.
async fn callback(
    app: &TestApp,
    number: &str,
    login: &str,
    what: &str,
    body: Value,
) -> crate::helpers::Reply {
    app.post_json(
        &format!("/api/v1/cases/{number}/callback/{what}"),
        &token(login),
        &body,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// jinbi-property — 金碧物业客户服务部投诉处理管理制度
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn jinbi_property_main_path_late_dispatch_is_fined_30_yuan_appealed_once_and_the_case_closes()
{
    let source = shipped_policy("jinbi-property.toml");
    let app = pack_app(
        Some(&source),
        &[
            ("JB", "金碧物业", "company", None),
            ("JB-CS", "客户服务部", "department", Some("JB")),
        ],
        &[
            ("jb_duty", "当班小刘", "JB-CS", &["duty_staff"]),
            ("jb_sup", "调度主管王", "JB-CS", &["dispatch_supervisor"]),
            ("jb_cs", "客服经理陈", "JB-CS", &["customer_service"]),
            ("jb_fixer", "维修工小赵", "JB-CS", &["handler"]),
        ],
    )
    .await;

    // 第五条: the call is recorded; numbered by day (JB + date + serial).
    let case = register(
        &app,
        "jb_duty",
        json!({
            "policy": "jinbi-property", "kind": "complaint", "channel": "phone",
            "fields": {"complainant": "陈先生", "contact_phone": "13912345678",
                       "matter": "楼上漏水，天花板渗水", "location": "3栋1202"},
        }),
        "JB20260930-001",
    )
    .await;
    let number = "JB20260930-001";
    assert_eq!(case["state"], "received");
    assert_eq!(case["assignee"]["login"], "jb_duty");
    assert_eq!(case["owner_unit"]["code"], "JB-CS");
    // 第七条: five minutes, wall clock.
    assert_eq!(
        due(&case, "dispatch").1,
        "2026-09-30T10:05:00+08:00",
        "{case:#}"
    );
    // 第五条: the daily review — 1 calendar day lands on 10-01, a holiday: it rolls to the end
    // of the next working day, 10-08.
    assert_eq!(due(&case, "record_review").0, "2026-10-08", "{case:#}");

    // 第七条: the dispatch is six minutes late — a violation against the call taker.
    tick_at(&app, "2026-09-30T10:06:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "dispatch",
        "第七条",
        "2026-09-30T10:05:00+08:00",
        &["jb_duty"],
    )
    .await;
    assert_eq!(violation["unit"], "JB-CS");

    // The main path goes on: dispatch (第七条), the handler briefed (第八条), resolved.
    step(
        &app,
        number,
        "jb_duty",
        "dispatch",
        json!({"handling_department": "engineering", "reassured": "yes"}),
        "dispatched",
    )
    .await;
    let briefed = step(
        &app,
        number,
        "jb_sup",
        "assign_handler",
        json!({"handler": "jb_fixer", "briefing": "3栋1202楼上漏水，业主情绪激动"}),
        "dispatched",
    )
    .await;
    assert_eq!(briefed["assignee"]["login"], "jb_fixer");
    step(
        &app,
        number,
        "jb_fixer",
        "resolve",
        json!({"result": "已更换楼上渗漏水管，天花板待干后修补"}),
        "resolved",
    )
    .await;
    // 第五条: the supervisor signs the record in time: no second violation.
    let reviewed = step(
        &app,
        number,
        "jb_sup",
        "review_record",
        json!({"review_note": "记录完整"}),
        "resolved",
    )
    .await;
    assert_eq!(clock(&reviewed, "record_review")["met"], true);

    // 第一条 回访 (CLAUSES.md §4.4 default): closing waits for the customer-service callback.
    refused(
        &app,
        number,
        "jb_cs",
        "close",
        json!({}),
        (StatusCode::CONFLICT, "callback_owed", "第一条"),
    )
    .await;
    // The handler does not call back on their own work.
    let reply = callback(
        &app,
        number,
        "jb_fixer",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    // Dissatisfied: back to dispatch; resolved again; then satisfied.
    let (status, _, reopened) = callback(
        &app,
        number,
        "jb_cs",
        "verdict",
        json!({"verdict": "dissatisfied", "channel": "phone", "note": "天花板仍有水渍"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "dispatched", "{reopened:#}");
    step(
        &app,
        number,
        "jb_fixer",
        "resolve",
        json!({"result": "补漏后修补天花板，已验收"}),
        "resolved",
    )
    .await;
    refused(
        &app,
        number,
        "jb_cs",
        "close",
        json!({}),
        (StatusCode::CONFLICT, "callback_owed", "第一条"),
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "jb_cs",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    step(&app, number, "jb_cs", "close", json!({}), "closed").await;
    tick_at(&app, "2026-10-20T00:00:00+08:00").await;
    assert_eq!(violations_of(&app, number).await.len(), 1);

    // The ledger filtered by case: another case number (or an unknown one) matches nothing.
    assert!(violations_of(&app, "JB20260930-002").await.is_empty());
    assert_eq!(
        items(&app.get("/api/v1/violations", &token(ADMIN)).await.2).len(),
        1
    );

    // 第七条附则: 30 yuan, proposed against the call taker.
    let penalties = penalties_of(&app, number).await;
    assert_eq!(penalties.len(), 1, "{penalties:#?}");
    let p = &penalties[0];
    assert_eq!(p["violation_id"], violation["id"]);
    assert_eq!(
        (p["rule"].as_str(), p["clause"].as_str()),
        (Some("late_dispatch"), Some("第七条附则"))
    );
    assert_eq!(p["person"]["login"], "jb_duty");
    assert_eq!(p["range"]["text"], "30.00 元");
    assert_eq!(p["status"], "proposed");
    decide_appeal_once(
        &app,
        p["id"].as_i64().expect("id"),
        Penalty {
            case: number,
            decider: "jb_sup",
            person: "jb_duty",
            reviewer: "jb_cs",
            outside: json!("31.00"),
            inside: json!(3000),
            range: "30.00 元",
            clause: "第七条附则",
        },
    )
    .await;
}

/// Who decides, who is penalised, who reviews, and the amounts to try.
struct Penalty<'a> {
    /// The case the penalty is on, to read it back from the ledger.
    case: &'a str,
    decider: &'a str,
    person: &'a str,
    reviewer: &'a str,
    outside: Value,
    inside: Value,
    range: &'a str,
    clause: &'a str,
}

/// An out-of-range decision refused naming the range and clause, the penalty left as it was; a
/// decision inside it; one appeal by the penalised person; a second appeal refused; the appeal
/// decided by the reviewer.
async fn decide_appeal_once(app: &TestApp, id: i64, p: Penalty<'_>) {
    let decide = format!("/api/v1/penalties/{id}/decide");
    let appeal = format!("/api/v1/penalties/{id}/appeal");
    let review = format!("/api/v1/penalties/{id}/appeal/decide");

    let reply = app
        .post_json(
            &decide,
            &token(p.decider),
            &json!({"amount": p.outside, "reason": "情节较重"}),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "refused");
    assert_eq!(problem["reason"], "out_of_range", "{problem:#}");
    assert_eq!(problem["clause"], p.clause, "{problem:#}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains(p.range), "{detail}");
    assert!(detail.contains(p.clause), "{detail}");
    // Nothing changed: still proposed, with no decision or amount.
    let unchanged = penalties_of(app, p.case)
        .await
        .into_iter()
        .find(|row| row["id"] == id)
        .unwrap_or_else(|| panic!("penalty {id} is not in the ledger of {}", p.case));
    assert_eq!(unchanged["status"], "proposed", "{unchanged:#}");
    assert_eq!(unchanged["decision"], Value::Null, "{unchanged:#}");
    assert_eq!(unchanged["amount_fen"], Value::Null, "{unchanged:#}");

    let (status, _, decided) = app
        .post_json(
            &decide,
            &token(p.decider),
            &json!({"amount": p.inside, "reason": "经核实属实"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided:#}");
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["decision"]["by"]["login"], p.decider);

    let (status, _, appealed) = app
        .post_json(
            &appeal,
            &token(p.person),
            &json!({"reason": "当时另有紧急事务"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{appealed:#}");
    assert_eq!(appealed["status"], "appealed");
    let reply = app
        .post_json(&appeal, &token(p.person), &json!({"reason": "再次申诉"}))
        .await;
    let problem = assert_problem(&reply, StatusCode::CONFLICT, "refused");
    assert_eq!(problem["reason"], "already_appealed", "{problem:#}");
    assert_eq!(problem["clause"], p.clause, "{problem:#}");

    let (status, _, reviewed) = app
        .post_json(
            &review,
            &token(p.reviewer),
            &json!({"amount": p.inside, "reason": "维持原决定"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reviewed:#}");
    assert_eq!(reviewed["status"], "appeal_decided");
    assert_eq!(reviewed["appeal_decision"]["by"]["login"], p.reviewer);
}

// ---------------------------------------------------------------------------------------------
// An organisation's own fine schedule on a pack whose regulation sets no fine
// ---------------------------------------------------------------------------------------------

/// The clause an organisation's own fine schedule cites in the packs' examples.
const ORG_CLAUSE: &str = "本单位考核办法";
/// The range of those examples (`amount = [50, 500]`).
const ORG_RANGE: &str = "50.00–500.00 元";

/// The organisation's own fine schedule that a pack whose regulation sets no fine shows,
/// commented out, near its end (CLAUSES.md §4.4: the pack ships no fine its regulation does not
/// set): the lines from `# [[penalty]]` to the next bare `#`, uncommented. The main paths append
/// exactly this text, so the example in the pack is itself checked and exercised.
fn org_fine_schedule(pack: &str) -> String {
    assert!(
        !pack
            .lines()
            .any(|l| l.trim_start().starts_with("[[penalty]]")),
        "the shipped pack declares a [[penalty]] rule of its own"
    );
    let rule: Vec<&str> = pack
        .lines()
        .skip_while(|l| *l != "# [[penalty]]")
        .map_while(|l| l.strip_prefix("# "))
        .collect();
    assert!(
        rule.len() > 1,
        "the pack shows no commented-out `# [[penalty]]` example"
    );
    rule.join("\n")
}

/// A pack's text with the organisation's own fine schedule appended, as an organisation
/// uploads its copy.
fn with_org_fines(pack: &str) -> String {
    format!("{pack}\n{}\n", org_fine_schedule(pack))
}

/// Whom an organisation's own schedule fines on a main path's clock breach, and who decides.
struct OrgFine<'a> {
    /// The example rule's id.
    rule: &'a str,
    /// The persons the breach names: one proposal each.
    liable: &'a [&'a str],
    /// Whose proposal is decided and appealed.
    person: &'a str,
    /// A holder of the rule's `decided_by` role.
    decider: &'a str,
    /// A holder of its `appeal_decided_by` role, not the decider.
    reviewer: &'a str,
}

/// The breach `violation` proposed the organisation's fine to each liable person, citing its
/// own rule, in its range; `person`'s is decided inside the range (501 元 refused), appealed
/// once and the appeal decided by another person.
async fn org_fine_decided_and_appealed_once(
    app: &TestApp,
    number: &str,
    violation: &Value,
    f: OrgFine<'_>,
) {
    let penalties = penalties_of(app, number).await;
    let mut persons: Vec<&str> = penalties
        .iter()
        .map(|p| p["person"]["login"].as_str().unwrap_or_default())
        .collect();
    persons.sort_unstable();
    let mut liable = f.liable.to_vec();
    liable.sort_unstable();
    assert_eq!(persons, liable, "{penalties:#?}");
    for p in &penalties {
        assert_eq!(p["violation_id"], violation["id"], "{p:#}");
        assert_eq!(p["rule"], f.rule, "{p:#}");
        assert_eq!(p["clause"], ORG_CLAUSE, "{p:#}");
        assert_eq!(p["range"]["text"], ORG_RANGE, "{p:#}");
        assert_eq!(p["status"], "proposed", "{p:#}");
    }
    let id = penalties
        .iter()
        .find(|p| p["person"]["login"] == f.person)
        .and_then(|p| p["id"].as_i64())
        .unwrap_or_else(|| panic!("no proposal against {}: {penalties:#?}", f.person));
    decide_appeal_once(
        app,
        id,
        Penalty {
            case: number,
            decider: f.decider,
            person: f.person,
            reviewer: f.reviewer,
            outside: json!("501.00"),
            inside: json!("200.00"),
            range: ORG_RANGE,
            clause: ORG_CLAUSE,
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// ccb-counter — 中国建设银行柜面服务管理办法（试行）
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ccb_counter_main_path_an_outlet_breach_of_article_19_goes_up_and_the_branch_closes_after_the_callback()
 {
    // The bank of `helpers` is ccb-counter's organisation; the pack is installed already.
    // A second service-management holder, at head office, reviews appeals (第三十三条).
    let app = pack_app(
        None,
        &[],
        &[("hq_svc", "总行服务管理部吴", "HQ", &["service_mgmt"])],
    )
    .await;

    // 第十七条 / 第十八条: the teller who takes the complaint is its first-contact owner.
    let case = register(&app, TELLER, ccb_complaint(), "CCB2026000001").await;
    let number = "CCB2026000001";
    assert_eq!(case["state"], "received");
    assert_eq!(case["assignee"]["login"], TELLER);
    // 第十九条: one working day at an outlet; 10-01..10-07 are the holiday.
    let c = clock(&case, "handling");
    assert_eq!(c["level"], "outlet");
    assert_eq!(
        due(&case, "handling"),
        ("2026-10-08".into(), "2026-10-09T00:00:00+08:00".into())
    );
    // 第十七条: only the first-contact owner starts handling it.
    refused(
        &app,
        number,
        OUTLET_HEAD,
        "start_handling",
        json!({}),
        (StatusCode::FORBIDDEN, "role_not_allowed", "第十七条"),
    )
    .await;
    step(
        &app,
        number,
        TELLER,
        "start_handling",
        json!({}),
        "handling",
    )
    .await;

    // 第十九条: unanswered at the end of 10-08 — a violation against the teller and the outlet
    // head, and the case goes up to the tier-2 branch with a fresh 2-working-day clock.
    tick_at(&app, "2026-10-08T23:59:00+08:00").await;
    assert!(violations_of(&app, number).await.is_empty());
    tick_at(&app, "2026-10-09T00:00:00+08:00").await;
    let v = the_violation(
        &app,
        number,
        "handling",
        "第十九条",
        "2026-10-09T00:00:00+08:00",
        &[TELLER, OUTLET_HEAD],
    )
    .await;
    assert_eq!(v["unit"], "BJHD01");
    let (_, _, case) = app.show(number, &token(BRANCH_HEAD)).await;
    assert_eq!(case["owner_unit"]["code"], "BJHD");
    assert_eq!(
        case["first_contact"]["login"], TELLER,
        "accountable for good"
    );
    // 2 working days from 10-09: Saturday 10-10 (调休) and Monday 10-12.
    assert_eq!(clock(&case, "handling")["level"], "branch2");
    assert_eq!(due(&case, "handling").0, "2026-10-12");

    // 第二十三条: the tier-2 branch takes it up and replies within its limit.
    tick_at(&app, "2026-10-10T09:00:00+08:00").await;
    step(
        &app,
        number,
        BRANCH_HEAD,
        "accept_escalated",
        json!({}),
        "coordinating",
    )
    .await;
    let replied = step(
        &app,
        number,
        BRANCH_HEAD,
        "reply",
        json!({"handling_result": "已增开对公窗口并致歉", "reply_channel": "phone"}),
        "replied",
    )
    .await;
    assert_eq!(clock(&replied, "handling")["met"], true, "{replied:#}");

    // 第二十二条: the callback (回访) is owed; archiving before it is refused, naming the clause.
    // 及时 (CLAUSES A4): due within 1 working day of the reply — Monday 10-12.
    assert_eq!(replied["callback"]["status"], "pending", "{replied:#}");
    assert_eq!(due(&replied, "callback").0, "2026-10-12");
    refused(
        &app,
        number,
        BRANCH_HEAD,
        "close_after_callback",
        json!({"analysis": "窗口不足"}),
        (StatusCode::CONFLICT, "callback_owed", "第二十二条"),
    )
    .await;
    // The branch head gave the result: not independent (CLAUSES A19).
    let reply = callback(
        &app,
        number,
        BRANCH_HEAD,
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "not_independent", "{problem:#}");
    assert_eq!(problem["clause"], "第二十二条", "{problem:#}");
    // Head office's service-management department calls back: dissatisfied — the case goes
    // back to the head with a fresh 第十九条 limit at the tier-2 branch (2 working days).
    tick_at(&app, "2026-10-10T11:00:00+08:00").await;
    let (status, _, reopened) = callback(
        &app,
        number,
        "hq_svc",
        "verdict",
        json!({"verdict": "不满意", "channel": "phone", "note": "客户要求长期增开窗口"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "with_head", "{reopened:#}");
    assert_eq!(reopened["callback"]["status"], "done");
    assert_eq!(reopened["assignee"]["login"], BRANCH_HEAD);
    assert_eq!(clock(&reopened, "handling")["level"], "branch2");
    assert_eq!(due(&reopened, "handling").0, "2026-10-13");
    step(
        &app,
        number,
        BRANCH_HEAD,
        "reply",
        json!({"handling_result": "高峰时段固定开放两个对公窗口", "reply_channel": "written",
               "category": "efficiency", "substantiated": "yes"}),
        "replied",
    )
    .await;
    // Resolved again: a second round is owed before archiving; satisfied, the case closes.
    refused(
        &app,
        number,
        BRANCH_HEAD,
        "close_after_callback",
        json!({"analysis": "对公窗口配置不足，已调整排班"}),
        (StatusCode::CONFLICT, "callback_owed", "第二十二条"),
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "hq_svc",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    assert_eq!(satisfied["state"], "replied");
    assert_eq!(satisfied["callback"]["status"], "done");
    assert_eq!(satisfied["callback"]["rounds"].as_array().unwrap().len(), 2);
    let closed = step(
        &app,
        number,
        BRANCH_HEAD,
        "close_after_callback",
        json!({"analysis": "对公窗口配置不足，已调整排班"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);

    // 第三十三条(一): the complaint closed as substantiated (服务效率低) is an `upheld_complaint`
    // violation; its 50–1000 元 proposals (first-contact owner; the outlet head where the case
    // was then owned) are decided inside the range, 1001 元 refused, appealed once. The clock
    // breach itself proposes nothing.
    let found = violations_of(&app, number).await;
    let upheld: Vec<&Value> = found
        .iter()
        .filter(|v| v["kind"] == "upheld_complaint")
        .collect();
    assert_eq!(upheld.len(), 1, "{found:#?}");
    assert_eq!(upheld[0]["clause"], "第三十三条", "{found:#?}");
    let penalties = penalties_of(&app, number).await;
    assert!(
        penalties.iter().all(|p| p["rule"] == "upheld_efficiency"),
        "{penalties:#?}"
    );
    let teller = penalties
        .iter()
        .find(|p| p["person"]["login"] == TELLER)
        .unwrap_or_else(|| panic!("a proposal against the first-contact owner: {penalties:#?}"));
    assert_eq!(teller["status"], "proposed");
    decide_appeal_once(
        &app,
        teller["id"].as_i64().expect("id"),
        Penalty {
            case: number,
            decider: BRANCH_HEAD,
            person: TELLER,
            reviewer: "hq_svc",
            outside: json!("1001.00"),
            inside: json!("200.00"),
            range: "1000.00",
            clause: "第三十三条",
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// default-complaint — ISO 10002 / GB/T 19012 steps
// ---------------------------------------------------------------------------------------------

/// ISO 10002 sets no fine: the organisation's own schedule (the pack's commented-out example,
/// appended) fines a late reply, on the bank's default-complaint cases.
#[tokio::test]
async fn default_complaint_main_path_a_late_reply_breaches_a18_the_organisations_own_fine_is_decided_and_appealed_once_and_the_callback_closes_it()
 {
    let source = with_org_fines(&shipped_policy("default-complaint.toml"));
    let app = pack_app(Some(&source), &[], &[]).await;

    let case = register(&app, TELLER, complaint(), "TS20260900001").await;
    let number = "TS20260900001";
    assert_eq!(case["state"], "registered");
    // CLAUSES A18: 2 working days; the holiday does not count.
    assert_eq!(
        due(&case, "reply"),
        ("2026-10-09".into(), "2026-10-10T00:00:00+08:00".into())
    );
    step(
        &app,
        number,
        TELLER,
        "assess",
        valid_assessment(),
        "assessed",
    )
    .await;
    // CLAUSES A30: only the first-contact owner resolves on the spot.
    refused(
        &app,
        number,
        OUTLET_HEAD,
        "resolve_on_spot",
        json!({"reply_content": "已致歉", "reply_channel": "in_person"}),
        (StatusCode::FORBIDDEN, "role_not_allowed", "CLAUSES A30"),
    )
    .await;
    // ISO 10002 8.6: dispatched to a handler.
    let dispatched = step(
        &app,
        number,
        OUTLET_HEAD,
        "dispatch",
        json!({"handler": INVESTIGATOR}),
        "investigating",
    )
    .await;
    assert_eq!(dispatched["assignee"]["login"], INVESTIGATOR);

    // Not replied by the end of 10-09: a violation against the first contact and the handler.
    tick_at(&app, "2026-10-10T00:00:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "reply",
        "CLAUSES A18",
        "2026-10-10T00:00:00+08:00",
        &[TELLER, INVESTIGATOR],
    )
    .await;

    tick_at(&app, "2026-10-10T10:00:00+08:00").await;
    step(
        &app,
        number,
        OUTLET_HEAD,
        "decide",
        json!({"findings": "柜员未及时回应", "handling_opinion": "致歉并培训"}),
        "decided",
    )
    .await;
    step(
        &app,
        number,
        INVESTIGATOR,
        "reply",
        json!({"reply_content": "已致歉，柜员已参加服务培训", "reply_channel": "phone"}),
        "replied",
    )
    .await;

    // ISO 10002 8.9: the callback (回访) is owed now; closing before it is refused.
    refused(
        &app,
        number,
        BRANCH_HEAD,
        "close",
        json!({"final_result": "x"}),
        (StatusCode::CONFLICT, "callback_owed", "ISO 10002 8.9"),
    )
    .await;
    // Only the service department or a unit head calls back, not the handler.
    let reply = callback(
        &app,
        number,
        INVESTIGATOR,
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "role_not_allowed", "{problem:#}");
    // The branch head calls: the customer is not satisfied — the case goes back.
    let (status, _, reopened) = callback(
        &app,
        number,
        BRANCH_HEAD,
        "verdict",
        json!({"verdict": "dissatisfied", "channel": "phone", "note": "要求负责人当面致歉"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "investigating", "{reopened:#}");
    assert_eq!(reopened["closed"], false);
    // A new 2-working-day clock from Saturday 10-10 (调休): 10-12 and 10-13.
    assert_eq!(due(&reopened, "reply").0, "2026-10-13", "{reopened:#}");
    step(
        &app,
        number,
        OUTLET_HEAD,
        "decide",
        json!({"handling_opinion": "网点负责人当面致歉"}),
        "decided",
    )
    .await;
    step(
        &app,
        number,
        INVESTIGATOR,
        "reply",
        json!({"reply_content": "网点负责人已上门致歉", "reply_channel": "in_person"}),
        "replied",
    )
    .await;
    // The next resolution owes a new callback round: still no closing before it.
    refused(
        &app,
        number,
        BRANCH_HEAD,
        "close",
        json!({"final_result": "客户接受道歉"}),
        (StatusCode::CONFLICT, "callback_owed", "ISO 10002 8.9"),
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        BRANCH_HEAD,
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    assert_eq!(satisfied["state"], "replied");
    assert_eq!(satisfied["callback"]["status"], "done");
    assert_eq!(satisfied["callback"]["rounds"].as_array().unwrap().len(), 2);
    let closed = step(
        &app,
        number,
        BRANCH_HEAD,
        "close",
        json!({"final_result": "客户接受道歉"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);
    assert_eq!(violations_of(&app, number).await.len(), 1);

    // The organisation's `late_reply` (本单位考核办法, 50–500 元): one proposal per person the
    // breach names; the outlet head decides the handler's, the branch's service department
    // decides the appeal.
    org_fine_decided_and_appealed_once(
        &app,
        number,
        &violation,
        OrgFine {
            rule: "late_reply",
            liable: &[TELLER, INVESTIGATOR],
            person: INVESTIGATOR,
            decider: OUTLET_HEAD,
            reviewer: BRANCH_HEAD,
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// regional-complaint — 区域公司客户服务投诉管理制度
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn regional_complaint_main_path_a_late_investigation_is_the_supervisors_violation_and_the_callback_reopens_then_closes()
 {
    let source = shipped_policy("regional-complaint.toml");
    let app = pack_app(
        Some(&source),
        &[
            ("QY", "区域公司", "company", None),
            ("QY-ENG", "工程部", "department", Some("QY")),
        ],
        &[
            ("qy_hr", "人事行政经理孙", "QY", &["hr_admin_manager"]),
            ("qy_gm", "总经理钱", "QY", &["general_manager"]),
            ("qy_sup", "工程部主管周", "QY-ENG", &["dept_supervisor"]),
        ],
    )
    .await;

    // 四(一)1: only the HR/admin manager takes complaints; numbered by month.
    let body = json!({
        "policy": "regional-complaint", "kind": "complaint", "channel": "phone",
        "fields": {"complainant": "吴女士", "contact_phone": "13700001111",
                   "content": "维修人员上门迟到两小时且态度生硬",
                   "customer_demand": "要求道歉并按时维修",
                   "complained_department": "工程部", "category": "attitude"},
    });
    let reply = app.create_case(&token("qy_sup"), &body).await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["clause"], "四(一)1", "{problem:#}");
    let case = register(&app, "qy_hr", body, "QY2026090001").await;
    let number = "QY2026090001";
    // 第五条: 1 working day to start investigating, 2 to reply.
    assert_eq!(due(&case, "investigation").0, "2026-10-08");
    assert_eq!(
        due(&case, "reply"),
        ("2026-10-09".into(), "2026-10-10T00:00:00+08:00".into())
    );

    // 四(一)3: sent to the department complained about (the case moves to it).
    let sent = step(
        &app,
        number,
        "qy_hr",
        "send_to_department_unit",
        json!({"complained_unit": "QY-ENG"}),
        "sent",
    )
    .await;
    assert_eq!(sent["owner_unit"]["code"], "QY-ENG");

    // 第五条: no investigation started by the end of 10-08 — the supervisor's violation.
    tick_at(&app, "2026-10-09T00:00:00+08:00").await;
    let v = the_violation(
        &app,
        number,
        "investigation",
        "第五条",
        "2026-10-09T00:00:00+08:00",
        &["qy_sup"],
    )
    .await;
    assert_eq!(v["unit"], "QY-ENG");

    // 四(二)1–3: investigated with the person responsible, replied before the reply clock ends.
    tick_at(&app, "2026-10-09T09:00:00+08:00").await;
    let investigating = step(
        &app,
        number,
        "qy_sup",
        "start_investigation",
        json!({"responsible_person": "维修工小马"}),
        "investigating",
    )
    .await;
    assert_eq!(investigating["assignee"]["login"], "qy_sup");
    // 第七条: the supervisor records the complaint as substantiated on investigation.
    let replied = step(
        &app,
        number,
        "qy_sup",
        "reply",
        json!({"resolution_plan": "重新预约上门并致歉", "reply_content": "已电话致歉，明日上午上门",
               "substantiated": "yes"}),
        "replied",
    )
    .await;
    assert_eq!(clock(&replied, "reply")["met"], true);
    assert_eq!(replied["callback"]["status"], "pending", "{replied:#}");

    // 四(三)1: the HR/admin manager's callback is owed; closing before it is refused.
    refused(
        &app,
        number,
        "qy_hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "x", "evaluation": "x"}),
        (StatusCode::CONFLICT, "callback_owed", "四(三)1"),
    )
    .await;
    // The supervisor who replied does not call back.
    let reply = callback(
        &app,
        number,
        "qy_sup",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["clause"], "四(三)1", "{problem:#}");
    // A first call unanswered; then the customer is not satisfied: back to investigation.
    let (status, _, attempted) = callback(
        &app,
        number,
        "qy_hr",
        "attempts",
        json!({"channel": "phone", "reached": false, "note": "无人接听"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{attempted:#}");
    let (status, _, reopened) = callback(
        &app,
        number,
        "qy_hr",
        "verdict",
        json!({"verdict": "不满意", "channel": "phone", "note": "要求更换维修人员"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "investigating", "{reopened:#}");
    // CLAUSES A12: a new 2-working-day reply clock from 10-09: Saturday 10-10 (调休), 10-12.
    assert_eq!(due(&reopened, "reply").0, "2026-10-12", "{reopened:#}");
    step(
        &app,
        number,
        "qy_sup",
        "reply",
        json!({"resolution_plan": "更换维修人员", "reply_content": "已更换维修人员并完成维修"}),
        "replied",
    )
    .await;
    refused(
        &app,
        number,
        "qy_hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "x", "evaluation": "x"}),
        (StatusCode::CONFLICT, "callback_owed", "四(三)1"),
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "qy_hr",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    assert_eq!(satisfied["callback"]["status"], "done");
    assert!(penalties_of(&app, number).await.is_empty());
    let closed = step(
        &app,
        number,
        "qy_hr",
        "close_after_callback",
        json!({"customer_feedback": "satisfied", "final_result": "维修完成，客户满意",
               "evaluation": "响应偏慢，已提醒工程部"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);

    // 第七条: the upheld complaint (category attitude, substantiated) is a violation against the
    // supervisor responsible, with a 30–100 元 proposal decided by the general manager inside
    // the range and appealed once (decided by the HR/admin manager). The clock breach itself
    // proposes nothing.
    let found = violations_of(&app, number).await;
    assert_eq!(found.len(), 2, "{found:#?}");
    let upheld: Vec<&Value> = found
        .iter()
        .filter(|v| v["kind"] == "upheld_complaint")
        .collect();
    assert_eq!(upheld.len(), 1, "{found:#?}");
    assert_eq!(upheld[0]["clause"], "第七条", "{found:#?}");
    assert_eq!(liable(upheld[0]), ["qy_sup"], "{found:#?}");
    let penalties = penalties_of(&app, number).await;
    assert_eq!(penalties.len(), 1, "{penalties:#?}");
    assert_eq!(penalties[0]["rule"], "upheld_attitude", "{penalties:#?}");
    assert_eq!(penalties[0]["person"]["login"], "qy_sup", "{penalties:#?}");
    decide_appeal_once(
        &app,
        penalties[0]["id"].as_i64().expect("id"),
        Penalty {
            case: number,
            decider: "qy_gm",
            person: "qy_sup",
            reviewer: "qy_hr",
            outside: json!("101.00"),
            inside: json!("50.00"),
            range: "30.00",
            clause: "第七条",
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// pcb-complaint — 客户投诉管理办法（PCB）, placeholders filled by the organisation
// ---------------------------------------------------------------------------------------------

/// pcb-complaint as the organisation activates it: the truncated values filled in (CLAUSES
/// A31), the handling limit 3 working days.
fn pcb_filled() -> String {
    let filled = shipped_policy("pcb-complaint.toml")
        .replace("\"<<待填: 处理期限 | 2 workdays>>\"", "\"3 workdays\"")
        .replace("\"<<待填: 逾期预警点 | 80%>>\"", "\"75%\"")
        .replace("\"<<待填: （五）其余分类 | 其他>>\"", "\"其他\"")
        .replace(
            "\"<<待填: （六）分类（原文缺失） | （六）>>\"",
            "\"来料异常\"",
        )
        .replace(
            "<<待填: 核决权限（生产管理组可核决的金额，分） | 1000000>>",
            "500000",
        );
    assert!(
        filled
            .lines()
            .all(|l| l.trim_start().starts_with('#') || !l.contains("<<待填")),
        "a placeholder was not filled"
    );
    filled
}

const PCB_UNITS: &[UnitRow<'static>] = &[
    ("PCB", "电路板公司", "company", None),
    ("PCB-SALES", "业务部", "department", Some("PCB")),
];
const PCB_USERS: &[UserRow<'static>] = &[
    ("pcb_sales", "业务员林", "PCB-SALES", &["sales"]),
    ("pcb_pc", "生产管理组何", "PCB", &["pc_group"]),
    ("pcb_qa", "品保部罗", "PCB", &["qa"]),
    ("pcb_mfg", "制造部郭", "PCB", &["manufacturing"]),
    ("pcb_gm", "总经理高", "PCB", &["general_manager"]),
];

/// A pcb-complaint case for order `order`, registered by sales: a loss was caused.
fn pcb_case(order: &str) -> Value {
    json!({
        "policy": "pcb-complaint", "kind": "complaint", "channel": "email",
        "fields": {"customer": "华南电子", "order_no": order, "part_no": "PN-8812",
                   "ship_date": "2026-09-20", "quantity": 2000, "defect_quantity": 35,
                   "customer_demand": "退换不良品并赔偿返工费", "loss_caused": "yes"},
    })
}

/// The regulation sets no fine: the organisation's own schedule (the pack's commented-out
/// example, appended to the filled-in pack) fines the late handling; QA decides, the general
/// manager decides the appeal.
#[tokio::test]
async fn pcb_complaint_main_path_filled_placeholders_activate_a_case_late_under_二_goes_up_to_the_general_manager_and_the_organisations_own_fine_is_appealed_once()
 {
    // CLAUSES A31: the organisation fills the truncated values before activation, and appends
    // its own fine schedule.
    let source = with_org_fines(&pcb_filled());
    let app = pack_app(Some(&source), PCB_UNITS, PCB_USERS).await;

    // （八）: year-month + serial, reset monthly.
    let case = register(&app, "pcb_sales", pcb_case("SO-0917"), "2609001").await;
    let number = "2609001";
    // （二）: the filled-in 3 working days: 10-08, 10-09 and Saturday 10-10 (调休).
    assert_eq!(
        due(&case, "handling"),
        ("2026-10-10".into(), "2026-10-11T00:00:00+08:00".into())
    );
    assert_eq!(
        due(&case, "form_to_gm_office").1,
        "2026-09-30T14:00:00+08:00"
    );
    // （三）: a complaint that caused a loss is not closed as an abnormality.
    refused(
        &app,
        number,
        "pcb_sales",
        "handle_as_abnormality",
        json!({"abnormality_note": "x"}),
        (StatusCode::CONFLICT, "condition_failed", "（三）"),
    )
    .await;
    // （九）1: the form and the sample reach the GM office within four hours.
    tick_at(&app, "2026-09-30T11:00:00+08:00").await;
    step(
        &app,
        number,
        "pcb_sales",
        "send_to_gm_office",
        json!({"return_quantity": 35, "sample": "att-2026-0917", "sales_opinion": "建议退换"}),
        "at_gm_office",
    )
    .await;
    let registered = step(
        &app,
        number,
        "pcb_pc",
        "register",
        json!({}),
        "investigating",
    )
    .await;
    assert_eq!(registered["assignee"]["login"], "pcb_pc");
    step(
        &app,
        number,
        "pcb_mfg",
        "report_production",
        json!({"production_unit": "二厂", "machine_shift": "3号线夜班",
               "operators": "李四、王五", "production_date": "2026-09-15"}),
        "investigating",
    )
    .await;

    // （二）: not answered by the end of Saturday 10-10 — a violation against the assignee, and
    // the case goes up to the company.
    tick_at(&app, "2026-10-10T23:59:00+08:00").await;
    assert!(violations_of(&app, number).await.is_empty());
    tick_at(&app, "2026-10-11T00:00:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "handling",
        "（二）",
        "2026-10-11T00:00:00+08:00",
        &["pcb_pc"],
    )
    .await;
    assert_eq!(violation["unit"], "PCB-SALES");
    let (_, _, case) = app.show(number, &token("pcb_gm")).await;
    assert_eq!(case["owner_unit"]["code"], "PCB");

    tick_at(&app, "2026-10-12T09:00:00+08:00").await;
    // （八）: a new month, a new serial.
    register(&app, "pcb_sales", pcb_case("SO-1012"), "2610001").await;
    step(
        &app,
        number,
        "pcb_qa",
        "report_investigation",
        json!({"cause_type": "quality", "qa_verification": "复测35片开路",
               "root_cause": "蚀刻过度", "proposed_responsible": "pcb_mfg"}),
        "investigated",
    )
    .await;
    // A26: the person proposed as responsible takes no action on the case any more.
    refused(
        &app,
        number,
        "pcb_mfg",
        "report_production",
        json!({"operators": "李四"}),
        (StatusCode::FORBIDDEN, "recused", "CLAUSES A26"),
    )
    .await;
    // （二）: above the production-control group's authority (the filled-in 5,000 元), the
    // general manager decides.
    refused(
        &app,
        number,
        "pcb_pc",
        "decide",
        json!({"claim_amount": "6000", "disposal": "退换", "responsibility": "制造部"}),
        (StatusCode::CONFLICT, "condition_failed", "（二）"),
    )
    .await;
    step(
        &app,
        number,
        "pcb_pc",
        "refer_to_gm",
        json!({"claim_amount": "6000"}),
        "gm_review",
    )
    .await;
    step(
        &app,
        number,
        "pcb_gm",
        "gm_decide",
        json!({"disposal": "退换35片并赔偿返工费6000元", "responsibility": "制造部蚀刻工序"}),
        "decided",
    )
    .await;
    // The sales person keeps the customer contact (first contact) though the case went up.
    step(
        &app,
        number,
        "pcb_sales",
        "communicate_result",
        json!({"result_communicated": "已邮件告知客户处理结果"}),
        "replied",
    )
    .await;
    // CLAUSES.md §4.4 callback (pcb is silent): closing waits for it; the salesperson who gave
    // the result does not make it, the quality department does. Dissatisfied: back to
    // investigation, and the whole decision runs again.
    refused(
        &app,
        number,
        "pcb_pc",
        "verify_and_close",
        json!({"improvement_effect": "x"}),
        (StatusCode::CONFLICT, "callback_owed", "CLAUSES §4.4"),
    )
    .await;
    let reply = callback(
        &app,
        number,
        "pcb_sales",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    let (status, _, reopened) = callback(
        &app,
        number,
        "pcb_qa",
        "verdict",
        json!({"verdict": "dissatisfied", "note": "客户要求提供8D报告"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "investigating", "{reopened:#}");
    step(
        &app,
        number,
        "pcb_qa",
        "report_investigation",
        json!({}),
        "investigated",
    )
    .await;
    step(
        &app,
        number,
        "pcb_pc",
        "refer_to_gm",
        json!({}),
        "gm_review",
    )
    .await;
    step(&app, number, "pcb_gm", "gm_decide", json!({}), "decided").await;
    step(
        &app,
        number,
        "pcb_sales",
        "communicate_result",
        json!({"result_communicated": "已向客户提交8D报告"}),
        "replied",
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "pcb_qa",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    let closed = step(
        &app,
        number,
        "pcb_pc",
        "verify_and_close",
        json!({"improvement_effect": "蚀刻参数调整后连续三批无不良"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);

    // The organisation's `late_handling` (本单位考核办法, 50–500 元) on the production-control
    // group's breach: QA decides it, the general manager decides the appeal.
    org_fine_decided_and_appealed_once(
        &app,
        number,
        &violation,
        OrgFine {
            rule: "late_handling",
            liable: &["pcb_pc"],
            person: "pcb_pc",
            decider: "pcb_qa",
            reviewer: "pcb_gm",
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// pharma-complaint — 关于客户投诉的管理制度及操作流程（医药销售）
// ---------------------------------------------------------------------------------------------

const PHARMA_UNITS: &[UnitRow<'static>] = &[
    ("PH", "医药销售公司", "company", None),
    ("PH-E", "华东大区", "region", Some("PH")),
    ("PH-E1", "苏州地区", "area", Some("PH-E")),
];
const PHARMA_USERS: &[UserRow<'static>] = &[
    ("ph_md", "营销总监冯", "PH", &["marketing_director"]),
    ("ph_boh", "销售后勤负责人韩", "PH", &["back_office_head"]),
    ("ph_bo", "销售后勤杨", "PH", &["back_office"]),
    ("ph_rh", "区域负责人朱", "PH-E", &["regional_head"]),
    ("ph_am", "地区经理秦", "PH-E1", &["area_manager"]),
];

/// A pharma-complaint service complaint about the back office, heard by the area manager.
fn pharma_case() -> Value {
    json!({
        "policy": "pharma-complaint", "kind": "complaint", "channel": "visit",
        "fields": {"customer": "苏州某医院药剂科", "contact_phone": "0512-65221234",
                   "description": "配送延误三天，且未提前告知",
                   "customer_demand": "要求说明原因并保证今后按时配送",
                   "object": "service", "subject_role": "back_office"},
    })
}

/// The regulation's only sanction is non-monetary (4.1.2 公开通告批评): the organisation's own
/// schedule (the pack's commented-out example, appended) fines the late opinion; the
/// back-office head decides, the marketing director decides the appeal.
#[tokio::test]
async fn pharma_complaint_main_path_an_opinion_late_under_4_1_1_is_the_regional_heads_violation_and_the_organisations_own_fine_is_appealed_once()
 {
    let source = with_org_fines(&shipped_policy("pharma-complaint.toml"));
    let app = pack_app(Some(&source), PHARMA_UNITS, PHARMA_USERS).await;

    // 3.1: the area manager who hears the complaint registers it.
    let case = register(&app, "ph_am", pharma_case(), "PH2026090001").await;
    let number = "PH2026090001";
    assert_eq!(case["owner_unit"]["code"], "PH-E1");
    // 3.3: reported up within four hours; CLAUSES A18: replied within 2 working days.
    assert_eq!(due(&case, "report_up").1, "2026-09-30T14:00:00+08:00");
    assert_eq!(due(&case, "reply").0, "2026-10-09");
    // 3.3: only the first contact resolves it on the spot.
    refused(
        &app,
        number,
        "ph_bo",
        "resolve_on_spot",
        json!({"on_spot_explanation": "x"}),
        (StatusCode::FORBIDDEN, "role_not_allowed", "3.3"),
    )
    .await;

    // 4.1.1: referred to the regional head for an opinion within one working day.
    tick_at(&app, "2026-09-30T11:00:00+08:00").await;
    let referred = step(
        &app,
        number,
        "ph_am",
        "refer",
        json!({"opinion_by": "ph_rh"}),
        "referred",
    )
    .await;
    assert_eq!(referred["assignee"]["login"], "ph_rh");
    assert_eq!(clock(&referred, "report_up")["met"], true);
    assert_eq!(due(&referred, "opinion").0, "2026-10-08");

    // No opinion by the end of 10-08 (the holiday does not count): the regional head's
    // violation of 4.1.1.
    tick_at(&app, "2026-10-09T00:00:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "opinion",
        "4.1.1",
        "2026-10-09T00:00:00+08:00",
        &["ph_rh"],
    )
    .await;

    tick_at(&app, "2026-10-09T10:00:00+08:00").await;
    step(
        &app,
        number,
        "ph_rh",
        "give_opinion",
        json!({"handling_opinion": "物流排期失误，向客户致歉并调整配送计划", "validity": "valid"}),
        "opinion_given",
    )
    .await;
    // 2.2.2: a valid complaint is not closed with an explanation.
    refused(
        &app,
        number,
        "ph_rh",
        "close_invalid",
        json!({"invalid_reason": "x", "invalid_explanation": "x"}),
        (StatusCode::CONFLICT, "condition_failed", "2.2.2"),
    )
    .await;
    let replied = step(
        &app,
        number,
        "ph_rh",
        "reply",
        json!({"reply_content": "已致歉，今后配送提前一天告知"}),
        "replied",
    )
    .await;
    assert_eq!(clock(&replied, "reply")["met"], true);
    // CLAUSES.md §4.4 callback (the seed has none): closing waits for it; the regional head
    // who replied does not make it; a dissatisfied customer sends the case back for a new
    // opinion, with a new reply clock; a satisfied one lets `close` through.
    refused(
        &app,
        number,
        "ph_am",
        "close",
        json!({"summary": "x"}),
        (StatusCode::CONFLICT, "callback_owed", "CLAUSES §4.4"),
    )
    .await;
    let reply = callback(
        &app,
        number,
        "ph_rh",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "not_independent", "{problem:#}");
    let (status, _, reopened) = callback(
        &app,
        number,
        "ph_md",
        "verdict",
        json!({"verdict": "dissatisfied", "channel": "phone", "note": "配送仍未调整"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "referred", "{reopened:#}");
    // CLAUSES A18: a new 2-working-day reply clock from Friday 10-09: 10-10 (调休) and 10-12.
    assert_eq!(due(&reopened, "reply").0, "2026-10-12", "{reopened:#}");
    step(
        &app,
        number,
        "ph_rh",
        "give_opinion",
        json!({"handling_opinion": "固定每周二配送并提前告知", "validity": "valid"}),
        "opinion_given",
    )
    .await;
    step(
        &app,
        number,
        "ph_rh",
        "reply",
        json!({"reply_content": "已固定每周二配送"}),
        "replied",
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "ph_md",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    let closed = step(
        &app,
        number,
        "ph_am",
        "close",
        json!({"summary": "物流排期问题，已纳入月度总结"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);
    assert_eq!(violations_of(&app, number).await.len(), 1);

    // The organisation's `late_opinion` (本单位考核办法, 50–500 元) on the regional head.
    org_fine_decided_and_appealed_once(
        &app,
        number,
        &violation,
        OrgFine {
            rule: "late_opinion",
            liable: &["ph_rh"],
            person: "ph_rh",
            decider: "ph_boh",
            reviewer: "ph_md",
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// lawfirm-complaint — 客户投诉及客户意见反馈处理管理制度（律师事务所）
// ---------------------------------------------------------------------------------------------

/// lawfirm-complaint 三(二)(三): the firm surveys the lawyer complained about too. The officer
/// issues a link addressed to them (`party: subject`), with its own text; the link records its
/// party, and the results count each party apart (`by=party`).
#[tokio::test]
async fn lawfirm_三_二_三_the_lawyer_complained_about_answers_a_link_of_their_own_counted_apart() {
    let source = shipped_policy("lawfirm-complaint.toml");
    let app = pack_app(
        Some(&source),
        &[("LS", "律师事务所", "firm", None)],
        &[
            ("ls_desk", "前台小唐", "LS", &["front_desk"]),
            ("ls_officer", "投诉专员许", "LS", &["complaints_officer"]),
            ("ls_pic", "主管合伙人何", "LS", &["partner_in_charge"]),
            ("ls_lawyer", "合伙人吕", "LS", &["partner"]),
        ],
    )
    .await;
    register(
        &app,
        "ls_desk",
        json!({
            "policy": "lawfirm-complaint", "kind": "complaint", "channel": "phone",
            "fields": {"feedback_type": "complaint", "complainant": "张先生",
                       "contact_phone": "13600002222", "matter": "承办律师长期不回复案件进展",
                       "subject_person": "ls_lawyer"},
        }),
        "LS2026-0001",
    )
    .await;
    let number = "LS2026-0001";
    for (login, action, body, to) in [
        (
            "ls_officer",
            "accept",
            json!({"ledger_entered": "yes", "originals_kept": "none"}),
            "registered",
        ),
        (
            "ls_officer",
            "acknowledge",
            json!({"arrangement_told": "已告知处理安排"}),
            "registered",
        ),
        (
            "ls_officer",
            "write_opinion",
            json!({"officer_opinion": "建议更换联络律师"}),
            "with_partner",
        ),
        (
            "ls_pic",
            "decide",
            json!({"signed_decision": "更换联络律师", "investigation": "核实属实"}),
            "decided",
        ),
    ] {
        step(&app, number, login, action, body, to).await;
    }
    let replied = step(
        &app,
        number,
        "ls_officer",
        "reply",
        json!({"implementation": "已更换联络律师", "reply_channel": "written",
               "reply_content": "书面回复"}),
        "replied",
    )
    .await;
    // The reply's own link is the complainant's.
    let to_customer = replied["survey_issued"].clone();
    assert_eq!(to_customer["party"], "customer", "{replied:#}");
    assert!(to_customer.get("recipient").is_none(), "{to_customer:#}");

    let issue = |login: &'static str, body: Value| {
        let app = &app;
        async move {
            app.post_json(
                &format!("/api/v1/cases/{number}/surveys"),
                &token(login),
                &body,
            )
            .await
        }
    };
    // A party that is neither is refused, naming the field; the front desk issues nothing.
    let reply = issue("ls_officer", json!({"party": "lawyer"})).await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("party".into(), "party.unknown".into())]
    );
    let (status, _, body) = issue("ls_desk", json!({"party": "subject"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body:#}");

    let (status, _, to_lawyer) = issue("ls_officer", json!({"party": "subject"})).await;
    assert_eq!(status, StatusCode::CREATED, "{to_lawyer:#}");
    assert_eq!(to_lawyer["party"], "subject");
    assert_eq!(to_lawyer["recipient"], "ls_lawyer");
    let sms = to_lawyer["message_zh"].as_str().unwrap_or_default();
    assert!(
        sms.contains("律师您好") && sms.contains(number) && !sms.contains("您反映的事项"),
        "{sms}"
    );

    let api_path = |issued: &Value| {
        issued["path"]
            .as_str()
            .expect("path")
            .replace("/public/survey/", "/api/v1/public/surveys/")
    };
    // The lawyer's link opens the lawyer's own survey (`[kind.complaint.survey.subject]`):
    // its party, title, intro and questions; the complainant's the common ones.
    let (status, _, shown) = app.get(&api_path(&to_lawyer), &token("ls_officer")).await;
    assert_eq!(status, StatusCode::OK, "{shown:#}");
    assert_eq!(shown["party"], "subject");
    assert_eq!(shown["party_label"], "被投诉人");
    assert_eq!(shown["title"], "被投诉律师对投诉处理的满意度调查");
    assert!(
        shown["intro"]
            .as_str()
            .unwrap_or_default()
            .contains("单独统计"),
        "{shown:#}"
    );
    let ids = |body: &Value| -> Vec<String> {
        body["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .map(|q| q["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ids(&shown), ["fairness", "heard", "comment"]);
    let (_, _, shown) = app.get(&api_path(&to_customer), &token("ls_officer")).await;
    assert_eq!(shown["party"], "customer");
    assert_eq!(shown["title"], "投诉处理满意度调查");
    assert_eq!(ids(&shown), ["overall", "informed", "comment"]);
    // Answers are checked against the party's questions: the complainant's are unknown on
    // the lawyer's link, and the lawyer's required ones are missing.
    let reply = app
        .post_json(
            &api_path(&to_lawyer),
            &token("ls_officer"),
            &json!({"answers": {"overall": 2, "informed": "yes"}}),
        )
        .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let mut errors = field_errors(&problem);
    errors.sort();
    assert_eq!(
        errors,
        [
            ("fairness".into(), "required".into()),
            ("heard".into(), "required".into()),
            ("informed".into(), "unknown".into()),
            ("overall".into(), "unknown".into()),
        ]
    );
    for (issued, answers) in [
        (&to_customer, json!({"overall": 5, "informed": "yes"})),
        (&to_lawyer, json!({"fairness": 2, "heard": "no"})),
    ] {
        let (status, _, body) = app
            .post_json(
                &api_path(issued),
                &token("ls_officer"),
                &json!({ "answers": answers }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
    }
    // Counted apart: the complainant's 5 and the lawyer's 2 are not one mean of 3.5.
    let (status, _, results) = app
        .get("/api/v1/surveys/results?by=party", &token("ls_officer"))
        .await;
    assert_eq!(status, StatusCode::OK, "{results:#}");
    let groups: Vec<(String, String, u64, f64)> = results["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap_or_default().to_owned(),
                g["label"].as_str().unwrap_or_default().to_owned(),
                g["answered"].as_u64().unwrap_or_default(),
                g["mean_rating"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("customer".into(), "投诉人".into(), 1, 5.0),
            ("subject".into(), "被投诉人".into(), 1, 2.0),
        ],
        "{results:#}"
    );
    assert_eq!(results["total"]["answered"], 2);
    // Each party counted with its own questions: the lawyer's `heard` has its own row.
    let heard = results["groups"][1]["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .find(|q| q["id"] == "heard")
        .cloned()
        .expect("the lawyer's question is counted");
    assert_eq!(heard["options"][1]["count"], 1, "{heard:#}");

    // By party within unit, and by party within the quarter answered.
    let (status, _, results) = app
        .get(
            "/api/v1/surveys/results?by=party,unit",
            &token("ls_officer"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results:#}");
    let keys: Vec<&str> = results["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["customer|LS", "subject|LS"], "{results:#}");
    assert_eq!(results["groups"][1]["label"], "被投诉人 · 律师事务所");
    assert_eq!(results["groups"][1]["parts"][0]["by"], "party");
    let (status, _, results) = app
        .get(
            "/api/v1/surveys/results?by=quarter,party",
            &token("ls_officer"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results:#}");
    assert_eq!(results["groups"].as_array().map(Vec::len), Some(2));
    assert!(
        results["groups"][0]["key"]
            .as_str()
            .is_some_and(|k| k.contains("-Q") && k.ends_with("|customer")),
        "{results:#}"
    );
    for bad in ["party,party", "party,unit,person", "party,shop"] {
        let reply = app
            .get(
                &format!("/api/v1/surveys/results?by={bad}"),
                &token("ls_officer"),
            )
            .await;
        assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{bad}: {:#}", reply.2);
        assert!(reply.2.to_string().contains("`by`"), "{bad}: {:#}", reply.2);
    }
}

const LAWFIRM_UNITS: &[UnitRow<'static>] = &[
    ("LS", "律师事务所", "firm", None),
    ("LS-T1", "诉讼一组", "team", Some("LS")),
];
const LAWFIRM_USERS: &[UserRow<'static>] = &[
    ("ls_desk", "前台小唐", "LS", &["front_desk"]),
    ("ls_officer", "投诉专员许", "LS", &["complaints_officer"]),
    ("ls_pic", "主管合伙人何", "LS", &["partner_in_charge"]),
    ("ls_dir", "主任韦", "LS", &["director"]),
    ("ls_lawyer", "合伙人吕", "LS", &["partner"]),
    ("ls_clerk", "行政施", "LS", &["admin_staff"]),
];

/// A lawfirm-complaint phone complaint about partner `ls_lawyer`, taken by the front desk.
fn lawfirm_case() -> Value {
    json!({
        "policy": "lawfirm-complaint", "kind": "complaint", "channel": "phone",
        "fields": {"feedback_type": "complaint", "complainant": "张先生",
                   "contact_phone": "13600002222", "matter": "承办律师长期不回复案件进展",
                   "subject_person": "ls_lawyer"},
    })
}

/// The regulation sets no fine: the firm's own schedule (the pack's commented-out example,
/// appended) fines the late acknowledgement; the partner in charge decides, the director
/// decides the appeal.
#[tokio::test]
async fn lawfirm_complaint_main_path_a_late_acknowledgement_under_二_五_is_fined_under_the_firms_own_schedule_and_appealed_once_the_lawyer_complained_about_is_recused()
 {
    let source = with_org_fines(&shipped_policy("lawfirm-complaint.toml"));
    let app = pack_app(Some(&source), LAWFIRM_UNITS, LAWFIRM_USERS).await;

    let case = register(&app, "ls_desk", lawfirm_case(), "LS2026-0001").await;
    let number = "LS2026-0001";
    // 二(五): the arrangement is told within one working day; CLAUSES A18: reply in two.
    assert_eq!(due(&case, "acknowledge").0, "2026-10-08");
    assert_eq!(due(&case, "reply").0, "2026-10-09");
    // 一(二): a phone complaint is accepted by the complaints officer, not the front desk.
    refused(
        &app,
        number,
        "ls_desk",
        "accept",
        json!({"ledger_entered": "yes", "originals_kept": "none"}),
        (StatusCode::CONFLICT, "condition_failed", "一(二)"),
    )
    .await;
    let accepted = step(
        &app,
        number,
        "ls_officer",
        "accept",
        json!({"ledger_entered": "yes", "originals_kept": "none"}),
        "registered",
    )
    .await;
    assert_eq!(accepted["assignee"]["login"], "ls_officer");

    // 二(五): nothing told to the complainant by the end of 10-08 — the officer's violation.
    tick_at(&app, "2026-10-09T00:00:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "acknowledge",
        "二(五)",
        "2026-10-09T00:00:00+08:00",
        &["ls_officer"],
    )
    .await;

    tick_at(&app, "2026-10-09T09:00:00+08:00").await;
    step(
        &app,
        number,
        "ls_officer",
        "acknowledge",
        json!({"arrangement_told": "已告知由主管合伙人处理，两日内答复"}),
        "registered",
    )
    .await;
    step(
        &app,
        number,
        "ls_officer",
        "write_opinion",
        json!({"officer_opinion": "建议更换联络律师并每周通报进展"}),
        "with_partner",
    )
    .await;
    // 二(二): the partner complained about decides nothing on the case.
    refused(
        &app,
        number,
        "ls_lawyer",
        "decide",
        json!({"signed_decision": "x", "investigation": "x"}),
        (StatusCode::FORBIDDEN, "recused", "二(二)"),
    )
    .await;
    step(
        &app,
        number,
        "ls_pic",
        "decide",
        json!({"signed_decision": "更换联络律师，每周书面通报", "investigation": "核实属实"}),
        "decided",
    )
    .await;
    // 二(七)5 原则上书面: a phone reply is a soft rule — it warns; the partner in charge may
    // override it with a reason; here the officer replies in writing.
    refused(
        &app,
        number,
        "ls_officer",
        "reply",
        json!({"implementation": "已更换", "reply_channel": "phone", "reply_content": "x"}),
        (StatusCode::CONFLICT, "soft_rule", "二(七)5"),
    )
    .await;
    let replied = step(
        &app,
        number,
        "ls_officer",
        "reply",
        json!({"implementation": "已更换联络律师", "reply_channel": "written",
               "reply_content": "书面回复：已更换联络律师，每周通报进展"}),
        "replied",
    )
    .await;
    assert_eq!(clock(&replied, "reply")["met"], true);
    assert_eq!(replied["callback"]["status"], "pending", "{replied:#}");
    // 三(二): the reply also issues the complainant's satisfaction survey link, answered once
    // without logging in.
    let link = replied["survey_issued"]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("the reply issues a survey: {replied:#}"))
        .replace("/public/survey/", "/api/v1/public/surveys/");
    let (status, _, answered) = app
        .post_json(
            &link,
            &token("ls_officer"),
            &json!({"answers": {"overall": 4, "informed": "yes"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered:#}");

    // 三(二): both parties' satisfaction is asked before filing (三(一)); the officer who
    // replied does not ask it, the admin staff does.
    refused(
        &app,
        number,
        "ls_clerk",
        "archive",
        json!({"archive_year": 2026}),
        (StatusCode::CONFLICT, "callback_owed", "三(二)"),
    )
    .await;
    let reply = callback(
        &app,
        number,
        "ls_officer",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "not_independent", "{problem:#}");
    // 三(三): the complainant is not satisfied — back to the handler.
    let (status, _, reopened) = callback(
        &app,
        number,
        "ls_clerk",
        "verdict",
        json!({"verdict": "dissatisfied", "party": "customer", "channel": "phone",
               "note": "客户要求更换承办律师"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "with_partner", "{reopened:#}");
    // A new 2-working-day clock from 10-09: Saturday 10-10 (调休) and 10-12.
    assert_eq!(due(&reopened, "reply").0, "2026-10-12", "{reopened:#}");
    step(&app, number, "ls_pic", "decide", json!({}), "decided").await;
    step(&app, number, "ls_officer", "reply", json!({}), "replied").await;
    // Both parties this time: the complainant satisfied, the lawyer basically satisfied.
    for (party, verdict) in [
        ("customer", "satisfied"),
        ("subject", "basically_satisfied"),
    ] {
        let (status, _, case) = callback(
            &app,
            number,
            "ls_clerk",
            "verdict",
            json!({"verdict": verdict, "party": party, "channel": "phone"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{case:#}");
    }
    let closed = step(
        &app,
        number,
        "ls_clerk",
        "archive",
        json!({"archive_year": 2026}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);
    // Two violations: the late acknowledgement (二(五)) against the officer, and the recused
    // partner's attempt to decide (二(二), logged as `recusal_attempt`) against the partner.
    let found = violations_of(&app, number).await;
    assert_eq!(found.len(), 2, "{found:#?}");
    let of_kind = |kind: &str| -> Value {
        let hits: Vec<&Value> = found.iter().filter(|v| v["kind"] == kind).collect();
        assert_eq!(hits.len(), 1, "one {kind}: {found:#?}");
        hits[0].clone()
    };
    let late = of_kind("deadline_breach");
    assert_eq!(late["rule"], "acknowledge", "{late:#}");
    assert_eq!(late["clause"], "二(五)", "{late:#}");
    assert_eq!(late["due"], "2026-10-09T00:00:00+08:00", "{late:#}");
    assert_eq!(liable(&late), ["ls_officer"], "{late:#}");
    let recusal = of_kind("recusal_attempt");
    assert_eq!(recusal["rule"], "decide", "{recusal:#}");
    assert_eq!(recusal["clause"], "二(二)", "{recusal:#}");
    assert_eq!(liable(&recusal), ["ls_lawyer"], "{recusal:#}");

    // The firm's `late_acknowledgement` (本单位考核办法, 50–500 元) on the officer; the recusal
    // attempt matches no rule of the schedule and proposes nothing.
    org_fine_decided_and_appealed_once(
        &app,
        number,
        &violation,
        OrgFine {
            rule: "late_acknowledgement",
            liable: &["ls_officer"],
            person: "ls_officer",
            decider: "ls_pic",
            reviewer: "ls_dir",
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// sht-bigcustomer — 大客户服务质量监督管理办法（上海电信大客户部）
// ---------------------------------------------------------------------------------------------

const SHT_UNITS: &[UnitRow<'static>] = &[
    ("DK", "大客户部", "department", None),
    ("DK-ZC", "综合支撑部", "district", Some("DK")),
];
const SHT_USERS: &[UserRow<'static>] = &[
    ("dk_mm", "营销管理部沈", "DK", &["marketing_mgmt"]),
    ("dk_hr", "人力资源处葛", "DK", &["hr"]),
    ("dk_sup", "支撑工程师曹", "DK-ZC", &["support"]),
];

/// An sht-bigcustomer billing complaint, registered by marketing management.
fn sht_case() -> Value {
    json!({
        "policy": "sht-bigcustomer", "kind": "complaint", "channel": "phone",
        "fields": {"customer": "某证券公司", "contact_phone": "021-68881234",
                   "matter": "九月专线费用重复计费", "quality_dimension": "billing"},
    })
}

/// The regulation sets no fine: the organisation's own schedule (the pack's commented-out
/// example, appended) fines the late reply; marketing management decides (5.1), HR decides the
/// appeal (5.2).
#[tokio::test]
async fn sht_bigcustomer_main_path_a_late_reply_is_the_support_engineers_violation_fined_under_the_organisations_own_schedule_and_the_callback_reopens_then_closes()
 {
    let source = with_org_fines(&shipped_policy("sht-bigcustomer.toml"));
    let app = pack_app(Some(&source), SHT_UNITS, SHT_USERS).await;

    let case = register(&app, "dk_mm", sht_case(), "DK26090001").await;
    let number = "DK26090001";
    assert_eq!(due(&case, "take_up").0, "2026-10-08");
    assert_eq!(due(&case, "reply").0, "2026-10-09");
    // 5.4.1: a billing problem is not the account manager's.
    refused(
        &app,
        number,
        "dk_mm",
        "route_to_account_manager",
        json!({}),
        (StatusCode::CONFLICT, "condition_failed", "5.4.1"),
    )
    .await;
    // 5.3.1: routed to the support department, which takes it up.
    let routed = step(
        &app,
        number,
        "dk_mm",
        "route_to_support",
        json!({"support_unit": "DK-ZC"}),
        "in_support",
    )
    .await;
    assert_eq!(routed["owner_unit"]["code"], "DK-ZC");
    assert_eq!(clock(&routed, "take_up")["met"], true);
    let taken = step(&app, number, "dk_sup", "take_up", json!({}), "in_support").await;
    assert_eq!(taken["assignee"]["login"], "dk_sup");

    // Not replied by the end of 10-09: the support engineer's and the department's violation.
    tick_at(&app, "2026-10-10T00:00:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "reply",
        "CLAUSES A18",
        "2026-10-10T00:00:00+08:00",
        &["dk_sup"],
    )
    .await;
    assert!(
        violation["liable_units"].to_string().contains("DK-ZC"),
        "{violation:#}"
    );

    tick_at(&app, "2026-10-10T09:00:00+08:00").await;
    step(
        &app,
        number,
        "dk_sup",
        "reply",
        json!({"resolution": "重复计费已冲正"}),
        "replied",
    )
    .await;
    // 5.1.6: the marketing management department's callback; closing waits for it.
    refused(
        &app,
        number,
        "dk_mm",
        "analyse_and_close",
        json!({"analysis": "x"}),
        (StatusCode::CONFLICT, "callback_owed", "5.1.6"),
    )
    .await;
    let reply = callback(
        &app,
        number,
        "dk_sup",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["clause"], "5.1.6", "{problem:#}");
    let (status, _, reopened) = callback(
        &app,
        number,
        "dk_mm",
        "verdict",
        json!({"verdict": "dissatisfied", "channel": "phone", "note": "账单仍未更正"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "registered", "{reopened:#}");
    // A new 2-working-day clock from Saturday 10-10 (调休, not counted): 10-12 and 10-13.
    assert_eq!(due(&reopened, "reply").0, "2026-10-13", "{reopened:#}");
    step(
        &app,
        number,
        "dk_mm",
        "route_to_support",
        json!({"support_unit": "DK-ZC"}),
        "in_support",
    )
    .await;
    step(
        &app,
        number,
        "dk_sup",
        "reply",
        json!({"resolution": "冲正并补发九月账单，赠送一个月带宽升级"}),
        "replied",
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "dk_mm",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    let closed = step(
        &app,
        number,
        "dk_mm",
        "analyse_and_close",
        json!({"customer_feedback": "satisfied", "analysis": "计费系统批量任务重复执行"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);
    assert_eq!(violations_of(&app, number).await.len(), 1);

    // The organisation's `late_reply` (本单位考核办法, 50–500 元) on the support engineer.
    org_fine_decided_and_appealed_once(
        &app,
        number,
        &violation,
        OrgFine {
            rule: "late_reply",
            liable: &["dk_sup"],
            person: "dk_sup",
            decider: "dk_mm",
            reviewer: "dk_hr",
        },
    )
    .await;
}

/// 5.1.3 / 5.4.2: a routine survey round of a key account, not tied to a complaint — the account
/// manager sends the tokenised link, the customer answers it once, marketing management
/// evaluates.
#[tokio::test]
async fn sht_bigcustomer_routine_survey_round_the_customer_answers_the_link_and_marketing_management_evaluates()
 {
    let source = shipped_policy("sht-bigcustomer.toml");
    let app = pack_app(
        Some(&source),
        &[
            ("DK", "大客户部", "department", None),
            ("DK-PD", "浦东区局大客户中心", "district", Some("DK")),
        ],
        &[
            ("dk_mm", "营销管理部沈", "DK", &["marketing_mgmt"]),
            ("dk_am", "客户经理韩", "DK-PD", &["account_manager"]),
            ("dk_hr", "人力资源处葛", "DK", &["hr"]),
        ],
    )
    .await;
    let (status, _, refused_body) = app
        .create_case(
            &token("dk_hr"),
            &json!({
                "policy": "sht-bigcustomer", "kind": "quality_survey", "channel": "sms",
                "fields": {"customer": "某证券公司", "contact_phone": "13800138000",
                           "survey_round": "2026年第四季度"},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused_body:#}");
    register(
        &app,
        "dk_am",
        json!({
            "policy": "sht-bigcustomer", "kind": "quality_survey", "channel": "sms",
            "fields": {"customer": "某证券公司", "contact_phone": "13800138000",
                       "survey_round": "2026年第四季度", "account_manager": "dk_am"},
        }),
        "DC20260001",
    )
    .await;
    let number = "DC20260001";
    let sent = step(&app, number, "dk_am", "send_survey", json!({}), "sent").await;
    // The policy's own invitation, not the complaint follow-up wording, with the round filled
    // in from the case's `survey_round` field ({field:survey_round}).
    let sms = sent["survey_issued"]["message_zh"]
        .as_str()
        .unwrap_or_default();
    assert!(
        sms.starts_with("【上海电信大客户服务质量调查】尊敬的客户您好！")
            && sms.contains("诚邀您参加2026年第四季度服务质量调查：")
            && !sms.contains("已处理完毕"),
        "{sent:#}"
    );
    let path = sent["survey_issued"]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("sending issues the link: {sent:#}"))
        .replace("/public/survey/", "/api/v1/public/surveys/");
    let (status, _, questions) = app.get(&path, &token("dk_am")).await;
    assert_eq!(status, StatusCode::OK, "{questions:#}");
    let ids: Vec<&str> = questions["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "overall",
            "account_manager_service",
            "installation_repair",
            "needs",
            "opinions",
            "suggestions"
        ]
    );
    let answers =
        json!({"answers": {"overall": 4, "needs": "专线扩容", "suggestions": "缩短装机周期"}});
    let (status, _, body) = app.post_json(&path, &token("dk_am"), &answers).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let again = app.post_json(&path, &token("dk_am"), &answers).await;
    assert_problem(&again, StatusCode::CONFLICT, "conflict");
    // 5.1.3 评估分析: marketing management, with the evaluation.
    refused(
        &app,
        number,
        "dk_am",
        "evaluate",
        json!({"evaluation": "x"}),
        (StatusCode::FORBIDDEN, "role_not_allowed", "5.1.3"),
    )
    .await;
    let evaluated = step(
        &app,
        number,
        "dk_mm",
        "evaluate",
        json!({"evaluation": "总体满意；装机周期问题转综合支撑部跟踪"}),
        "evaluated",
    )
    .await;
    assert_eq!(evaluated["closed"], true);
}

// ---------------------------------------------------------------------------------------------
// csg-custservice — 中国南方电网有限责任公司客户服务管理办法
// ---------------------------------------------------------------------------------------------

const CSG_UNITS: &[UnitRow<'static>] = &[
    ("CSG", "南方电网", "group", None),
    ("CSG-GD", "广东电网", "subsidiary", Some("CSG")),
    ("CSG-GD01", "天河营业厅", "window", Some("CSG-GD")),
];
const CSG_USERS: &[UserRow<'static>] = &[
    ("csg_mt", "市场交易部邓", "CSG", &["market_trading"]),
    (
        "csg_ss",
        "广东客服中心彭",
        "CSG-GD",
        &["subsidiary_service"],
    ),
    ("csg_ws", "营业厅窗口谢", "CSG-GD01", &["window_staff"]),
    ("csg_h1", "营业厅处理人袁", "CSG-GD01", &["window_staff"]),
];

/// A csg-custservice billing complaint (a service matter), taken at the service hall.
fn csg_case() -> Value {
    json!({
        "policy": "csg-custservice", "kind": "service_complaint", "channel": "service_hall",
        "fields": {"customer": "陈女士", "contact_phone": "13500003333",
                   "matter": "电费账单与电表读数不符", "service_type": "billing",
                   "nature": "service"},
    })
}

/// The regulation sets no fine: the organisation's own schedule (the pack's commented-out
/// example, appended) fines the late reply; the subsidiary's service department decides, Market
/// Trading decides the appeal.
#[tokio::test]
async fn csg_custservice_main_path_a_late_reply_goes_up_to_the_subsidiary_is_fined_under_the_organisations_own_schedule_appealed_once_and_closes_after_the_callback()
 {
    let source = with_org_fines(&shipped_policy("csg-custservice.toml"));
    let app = pack_app(Some(&source), CSG_UNITS, CSG_USERS).await;

    let case = register(&app, "csg_ws", csg_case(), "GD20260900001").await;
    let number = "GD20260900001";
    assert_eq!(due(&case, "reply").0, "2026-10-09");
    // 2.2.7: a service complaint is not transferred to the supervision department.
    refused(
        &app,
        number,
        "csg_ws",
        "transfer_to_supervision",
        json!({"supervision_unit": "CSG"}),
        (StatusCode::CONFLICT, "condition_failed", "2.2.7"),
    )
    .await;
    // 2.1.11: the window does not assign; the subsidiary's service centre does.
    refused(
        &app,
        number,
        "csg_ws",
        "assign",
        json!({"handler": "csg_h1"}),
        (StatusCode::FORBIDDEN, "role_not_allowed", "2.1.11"),
    )
    .await;
    let assigned = step(
        &app,
        number,
        "csg_ss",
        "assign",
        json!({"handler": "csg_h1"}),
        "handling",
    )
    .await;
    assert_eq!(assigned["assignee"]["login"], "csg_h1");

    // Not replied by the end of 10-09: the first contact's and the handler's violation, and
    // the case goes up to the subsidiary.
    tick_at(&app, "2026-10-10T00:00:00+08:00").await;
    let violation = the_violation(
        &app,
        number,
        "reply",
        "CLAUSES A18",
        "2026-10-10T00:00:00+08:00",
        &["csg_ws", "csg_h1"],
    )
    .await;
    assert_eq!(violation["unit"], "CSG-GD01");
    let (_, _, case) = app.show(number, &token("csg_ss")).await;
    assert_eq!(case["owner_unit"]["code"], "CSG-GD");

    tick_at(&app, "2026-10-10T09:00:00+08:00").await;
    step(
        &app,
        number,
        "csg_ss",
        "reply",
        json!({"resolution": "现场核对电表，退还多收电费"}),
        "replied",
    )
    .await;
    // 2.1.8: the callback is owed before closing; the subsidiary's service department replied,
    // so Market Trading calls back.
    refused(
        &app,
        number,
        "csg_ss",
        "close",
        json!({}),
        (StatusCode::CONFLICT, "callback_owed", "2.1.8"),
    )
    .await;
    let reply = callback(
        &app,
        number,
        "csg_ss",
        "verdict",
        json!({"verdict": "satisfied"}),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::FORBIDDEN, "refused");
    assert_eq!(problem["reason"], "not_independent", "{problem:#}");
    let (status, _, reopened) = callback(
        &app,
        number,
        "csg_mt",
        "verdict",
        json!({"verdict": "dissatisfied", "channel": "phone", "note": "要求出具电表校验报告"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reopened:#}");
    assert_eq!(reopened["state"], "handling", "{reopened:#}");
    // A new 2-working-day clock from Saturday 10-10 (调休, not counted): 10-12 and 10-13.
    assert_eq!(due(&reopened, "reply").0, "2026-10-13", "{reopened:#}");
    step(
        &app,
        number,
        "csg_ss",
        "reply",
        json!({"resolution": "更换电表并出具校验报告"}),
        "replied",
    )
    .await;
    let (status, _, satisfied) = callback(
        &app,
        number,
        "csg_mt",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{satisfied:#}");
    let closed = step(
        &app,
        number,
        "csg_ss",
        "close",
        json!({"satisfaction": "satisfied"}),
        "closed",
    )
    .await;
    assert_eq!(closed["closed"], true);
    assert_eq!(violations_of(&app, number).await.len(), 1);

    // The organisation's `late_reply` (本单位考核办法, 50–500 元): one proposal per person the
    // breach names; the handler's is decided and appealed.
    org_fine_decided_and_appealed_once(
        &app,
        number,
        &violation,
        OrgFine {
            rule: "late_reply",
            liable: &["csg_ws", "csg_h1"],
            person: "csg_h1",
            decider: "csg_ss",
            reviewer: "csg_mt",
        },
    )
    .await;
}

/// Closes an sht-bigcustomer complaint registered by `dk_mm`: routed to support, replied,
/// called back satisfied, analysed and closed.
async fn sht_close(app: &TestApp, number: &str) {
    step(
        app,
        number,
        "dk_mm",
        "route_to_support",
        json!({"support_unit": "DK-ZC"}),
        "in_support",
    )
    .await;
    step(app, number, "dk_sup", "take_up", json!({}), "in_support").await;
    step(
        app,
        number,
        "dk_sup",
        "reply",
        json!({"resolution": "已处理"}),
        "replied",
    )
    .await;
    let (status, _, body) = callback(
        app,
        number,
        "dk_mm",
        "verdict",
        json!({"verdict": "satisfied", "channel": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    step(
        app,
        number,
        "dk_mm",
        "analyse_and_close",
        json!({"customer_feedback": "satisfied", "analysis": "已分析"}),
        "closed",
    )
    .await;
}

/// sht-bigcustomer 5.1.3 大客户服务质量常态调查: the routine round the scheduler starts. The
/// regulation gives no period, so until the organisation sets one the schedule says "period not
/// configured" and nothing runs (CLAUSES.md A16); once it is quarterly, the round of the last
/// complete quarter surveys the complainants of the complaints closed in it (by the closing
/// instant, not the last change), exactly once, and the marketing management department reads
/// the texts to send.
#[tokio::test]
async fn sht_5_1_3_a_routine_round_runs_once_per_configured_quarter_and_not_before_the_period_is_set()
 {
    use manyi_server::api::survey_schedules::run_due;
    let source = shipped_policy("sht-bigcustomer.toml");
    let app = pack_app(
        Some(&source),
        &[
            ("DK", "大客户部", "department", None),
            ("DK-ZC", "综合支撑部", "district", Some("DK")),
        ],
        &[
            ("dk_mm", "营销管理部沈", "DK", &["marketing_mgmt"]),
            ("dk_sup", "支撑工程师曹", "DK-ZC", &["support"]),
        ],
    )
    .await;
    let fields = json!({"customer": "某证券公司", "contact_phone": "021-68881234",
                        "matter": "专线中断", "quality_dimension": "billing"});
    for n in 1..=3 {
        register(
            &app,
            "dk_mm",
            json!({"policy": "sht-bigcustomer", "kind": "complaint", "channel": "phone",
                   "fields": fields}),
            &format!("DK2609000{n}"),
        )
        .await;
    }
    // Two closed in September (2026 Q3); the third stays open.
    sht_close(&app, "DK26090001").await;
    sht_close(&app, "DK26090002").await;

    let schedules = |login: &'static str| {
        let app = &app;
        async move {
            let (status, _, body) = app.get("/api/v1/survey-schedules", &token(login)).await;
            assert_eq!(status, StatusCode::OK, "{body:#}");
            body["schedules"].as_array().cloned().unwrap_or_default()
        }
    };
    let listed = schedules("dk_mm").await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let s = &listed[0];
    assert_eq!(s["key"], "sht-bigcustomer/complaint/routine_quality");
    assert_eq!(s["clause"], "5.1.3");
    assert_eq!(s["state"], "not_configured");
    assert_eq!(s["period"], Value::Null);
    assert_eq!(s["period_from"], "configuration");
    assert!(
        s["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("period not configured"),
        "{s:#}"
    );
    // Not the service department: not shown.
    assert!(schedules("dk_sup").await.is_empty());

    // Not configured: the scheduler runs nothing, even with closed cases waiting.
    app.clock.set(at("2026-10-08T09:00:00+08:00"));
    let report = run_due(&app.state).await.expect("due-check");
    assert_eq!(report.ran, 0);
    // In October (Q4), a note on a case closed in September leaves it in Q3's round: the
    // closing instant counts, not the last change. The third case, closed in October, is not
    // in Q3's.
    let (status, _, body) = app
        .post_json(
            "/api/v1/cases/DK26090001/notes",
            &token("dk_mm"),
            &json!({"note": "客户来电补充意见"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    sht_close(&app, "DK26090003").await;

    let path = "/api/v1/survey-schedules/sht-bigcustomer/complaint/routine_quality";
    let put = |login: &'static str, body: Value| {
        let app = &app;
        async move {
            app.send(
                hyper::Method::PUT,
                path,
                crate::helpers::Auth::Bearer(&token(login)),
                &[],
                Some(("application/json", body.to_string().into_bytes())),
            )
            .await
        }
    };
    let (status, _, body) = put("dk_mm", json!({"period": "quarterly"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body:#}");
    let reply = put(ADMIN, json!({"period": "weekly"})).await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_errors(&problem),
        [("period".into(), "period.unknown".into())]
    );
    let (status, _, set) = put(ADMIN, json!({"period": "quarterly"})).await;
    assert_eq!(status, StatusCode::OK, "{set:#}");
    assert_eq!(set["period"], "quarterly");
    assert_eq!(set["state"], "due");
    assert_eq!(set["due_round"], "2026-Q3");

    // Two instances' due-checks race for the round: exactly one runs it.
    let (a, b) = tokio::join!(run_due(&app.state), run_due(&app.state));
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(a.ran + b.ran, 1, "{a:?} {b:?}");
    assert_eq!(a.issued + b.issued, 2, "{a:?} {b:?}");
    assert_eq!(run_due(&app.state).await.expect("again").ran, 0);

    let s = schedules("dk_mm").await.remove(0);
    assert_eq!(s["state"], "up_to_date", "{s:#}");
    assert_eq!(s["last_run"]["round"], "2026-Q3");
    assert_eq!(s["last_run"]["issued"], 2);
    assert_eq!(s["next_run"], "2027-01-01T00:00:00+08:00");

    let (status, _, round) = app
        .get(&format!("{path}/rounds/2026-Q3"), &token("dk_mm"))
        .await;
    assert_eq!(status, StatusCode::OK, "{round:#}");
    let invitations = round["invitations"].as_array().expect("invitations");
    let cases: Vec<&str> = invitations
        .iter()
        .map(|i| i["case"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        cases,
        ["DK26090001", "DK26090002"],
        "closed in Q3, whatever changed after; not the one closed in Q4"
    );
    // The complainants only: this survey does not say `also_subject`.
    assert!(
        invitations.iter().all(|i| i["party"] == "customer"),
        "{round:#}"
    );
    let sms = invitations[0]["message_zh"].as_str().unwrap_or_default();
    assert!(
        sms.contains("常态调查") && sms.contains("DK26090001") && sms.contains("/public/survey/"),
        "{sms}"
    );
    // The link in the text opens the survey and takes one answer.
    let token_in_sms = sms
        .split("/public/survey/")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .expect("a token in the text");
    let (status, _, body) = app
        .post_json(
            &format!("/api/v1/public/surveys/{token_in_sms}"),
            &token("dk_mm"),
            &json!({"answers": {"overall": 4, "complaint_handling": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let (status, _, round) = app
        .get(&format!("{path}/rounds/2026-Q3"), &token("dk_mm"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(round["invitations"][0]["answered"], true);
    let (status, _, _) = app
        .get(&format!("{path}/rounds/2026-Q2"), &token("dk_mm"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// The shipped packs whose regulation sets no fine propose none
// ---------------------------------------------------------------------------------------------

/// The six packs whose regulation sets no fine, as shipped (pcb's placeholders filled, nothing
/// appended), active side by side in one server: each main path's clock breach is recorded as
/// a violation with its clause, and the penalty ledger stays empty. The main paths show the same
/// breaches proposing the organisation's own fine once its schedule is appended.
#[tokio::test]
async fn the_shipped_packs_whose_regulation_sets_no_fine_record_each_main_breach_as_a_violation_and_propose_no_penalty()
 {
    let units: Vec<UnitRow<'_>> =
        [PCB_UNITS, PHARMA_UNITS, LAWFIRM_UNITS, SHT_UNITS, CSG_UNITS].concat();
    let users: Vec<UserRow<'_>> =
        [PCB_USERS, PHARMA_USERS, LAWFIRM_USERS, SHT_USERS, CSG_USERS].concat();
    // default-complaint is installed and active already, as shipped.
    let app = pack_app(None, &units, &users).await;
    org_fine_schedule(&shipped_policy("default-complaint.toml"));
    for pack in [
        pcb_filled(),
        shipped_policy("pharma-complaint.toml"),
        shipped_policy("lawfirm-complaint.toml"),
        shipped_policy("sht-bigcustomer.toml"),
        shipped_policy("csg-custservice.toml"),
    ] {
        // The example schedule is only a comment: the pack as shipped has no rule.
        org_fine_schedule(&pack);
        activate(&app, &pack).await;
    }

    register(&app, TELLER, complaint(), "TS20260900001").await;
    register(&app, "pcb_sales", pcb_case("SO-0917"), "2609001").await;
    register(&app, "ph_am", pharma_case(), "PH2026090001").await;
    step(
        &app,
        "PH2026090001",
        "ph_am",
        "refer",
        json!({"opinion_by": "ph_rh"}),
        "referred",
    )
    .await;
    register(&app, "ls_desk", lawfirm_case(), "LS2026-0001").await;
    step(
        &app,
        "LS2026-0001",
        "ls_officer",
        "accept",
        json!({"ledger_entered": "yes", "originals_kept": "none"}),
        "registered",
    )
    .await;
    register(&app, "dk_mm", sht_case(), "DK26090001").await;
    register(&app, "csg_ws", csg_case(), "GD20260900001").await;

    // Past every main path's breach: pcb's filled-in 3 working days end with Saturday 10-10.
    tick_at(&app, "2026-10-11T00:00:00+08:00").await;
    for (number, rule, clause) in [
        ("TS20260900001", "reply", "CLAUSES A18"),
        ("2609001", "handling", "（二）"),
        ("PH2026090001", "opinion", "4.1.1"),
        ("LS2026-0001", "acknowledge", "二(五)"),
        ("DK26090001", "reply", "CLAUSES A18"),
        ("GD20260900001", "reply", "CLAUSES A18"),
    ] {
        let found = violations_of(&app, number).await;
        assert!(
            found.iter().any(|v| v["kind"] == "deadline_breach"
                && v["rule"] == rule
                && v["clause"] == clause),
            "{number}: no breach of {rule} ({clause}) in {found:#?}"
        );
        let penalties = penalties_of(&app, number).await;
        assert!(penalties.is_empty(), "{number}: {penalties:#?}");
    }
    let (status, _, ledger) = app.get("/api/v1/penalties", &token(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{ledger:#}");
    assert!(items(&ledger).is_empty(), "{ledger:#}");
}

/// A routine round of a survey that says `also_subject` (lawfirm-complaint 三(二)(三), here on
/// sht-bigcustomer's schedule) surveys the person complained about too: a link of their own
/// for each case that names one, with their invitation and questions, counted apart; a case
/// that names nobody gets the complainant's link only.
#[tokio::test]
async fn a_routine_round_of_an_also_subject_survey_sends_the_person_complained_about_a_link_of_their_own()
 {
    use manyi_server::api::survey_schedules::run_due;
    let shipped = shipped_policy("sht-bigcustomer.toml");
    let anchor = "issue_roles = [\"marketing_mgmt\"]\nexpires = \"14 days\"\n";
    assert_eq!(
        shipped.matches(anchor).count(),
        1,
        "the survey section moved"
    );
    let source = shipped.replace(anchor, &format!("{anchor}also_subject = true\n"));
    let app = pack_app(
        Some(&source),
        &[
            ("DK", "大客户部", "department", None),
            ("DK-ZC", "综合支撑部", "district", Some("DK")),
        ],
        &[
            ("dk_mm", "营销管理部沈", "DK", &["marketing_mgmt"]),
            ("dk_sup", "支撑工程师曹", "DK-ZC", &["support"]),
            ("dk_am", "客户经理韩", "DK-ZC", &["account_manager"]),
        ],
    )
    .await;
    for (n, subject) in [(1, Some("dk_am")), (2, None)] {
        let mut fields = json!({"customer": "某证券公司", "contact_phone": "021-68881234",
                                "matter": "专线中断", "quality_dimension": "billing"});
        if let Some(login) = subject {
            fields["subject_person"] = json!(login);
        }
        register(
            &app,
            "dk_mm",
            json!({"policy": "sht-bigcustomer", "kind": "complaint", "channel": "phone",
                   "fields": fields}),
            &format!("DK2609000{n}"),
        )
        .await;
        sht_close(&app, &format!("DK2609000{n}")).await;
    }
    let path = "/api/v1/survey-schedules/sht-bigcustomer/complaint/routine_quality";
    let (status, _, set) = app
        .send(
            hyper::Method::PUT,
            path,
            crate::helpers::Auth::Bearer(&token(ADMIN)),
            &[],
            Some((
                "application/json",
                json!({"period": "quarterly"}).to_string().into_bytes(),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set:#}");
    app.clock.set(at("2026-10-08T09:00:00+08:00"));
    let report = run_due(&app.state).await.expect("due-check");
    assert_eq!((report.ran, report.issued), (1, 3), "{report:?}");

    let (status, _, round) = app
        .get(&format!("{path}/rounds/2026-Q3"), &token("dk_mm"))
        .await;
    assert_eq!(status, StatusCode::OK, "{round:#}");
    let sent: Vec<(&str, &str)> = round["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| {
            (
                i["case"].as_str().unwrap_or_default(),
                i["party"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("DK26090001", "customer"),
            ("DK26090001", "subject"),
            ("DK26090002", "customer"),
        ]
    );
    let text = |i: usize| {
        round["invitations"][i]["message_zh"]
            .as_str()
            .unwrap_or_default()
    };
    assert_ne!(text(0), text(1));
    assert!(text(0).contains("尊敬的客户"), "{}", text(0));
    assert!(!text(1).contains("尊敬的客户"), "{}", text(1));
    // Each link opens its party's survey and is counted apart.
    let link = |i: usize| {
        let token = text(i)
            .split("/public/survey/")
            .nth(1)
            .and_then(|rest| rest.get(..64))
            .expect("a token in the text")
            .to_owned();
        format!("/api/v1/public/surveys/{token}")
    };
    let (status, _, shown) = app.get(&link(1), &token("dk_mm")).await;
    assert_eq!(status, StatusCode::OK, "{shown:#}");
    assert_eq!(shown["party"], "subject");
    assert_eq!(shown["party_label"], "被投诉人");
    let (_, _, shown) = app.get(&link(0), &token("dk_mm")).await;
    assert_eq!(shown["party"], "customer");
    for (i, rating) in [(0, 5), (1, 2)] {
        let (status, _, body) = app
            .post_json(
                &link(i),
                &token("dk_mm"),
                &json!({"answers": {"overall": rating}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
    }
    let (status, _, results) = app
        .get("/api/v1/surveys/results?by=party", &token("dk_mm"))
        .await;
    assert_eq!(status, StatusCode::OK, "{results:#}");
    let groups: Vec<(String, u64)> = results["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap_or_default().to_owned(),
                g["answered"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [("customer".into(), 1), ("subject".into(), 1)],
        "{results:#}"
    );
}
