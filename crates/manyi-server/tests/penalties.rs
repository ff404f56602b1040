//! The violations ledger and the penalty ledger, end to end through the HTTP API, on
//! jinbi-property (金碧物业): a complaint not dispatched within five minutes (第七条) becomes a
//! violation and a 30-yuan penalty proposal against the person who took the call (第七条附则);
//! the dispatch supervisor decides it; the person appeals once; customer service decides the
//! appeal; the ledger exports as CSV. Time moves by `ManualClock`; the scheduler is ticked
//! explicitly. (The harness follows `tests/api/helpers.rs`, trimmed to what this file needs.)

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::{SignedDuration, Timestamp};
use manyi_core::clock::{Clock, ManualClock};
use manyi_server::{AppState, ServerConfig, scheduler};
use manyi_store::{NewUnit, NewUser, Store, StoreOptions};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// 2026-03-10 10:00 in Beijing (a Tuesday).
const START: &str = "2026-03-10T02:00:00Z";

struct TestApp {
    addr: SocketAddr,
    clock: ManualClock,
    state: AppState,
    http: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn token(login: &str) -> String {
    format!("test-token-of-{login}")
}

/// 金碧物业: the company and two departments.
///
/// ```text
/// JB 金碧物业 (company)
/// ├── JB-CS 客户服务部 (department)   duty (当班人员), sup (调度主管), cs (客户服务部)
/// └── JB-ENG 工程部 (department)      eng (当班人员)
/// ```
async fn spawn_jinbi() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("manyi.db").display());
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("open the store");
    store.migrate().await.expect("migrate");
    let clock = ManualClock::new(START.parse().expect("START is an instant"));
    let state = AppState::new(
        store.clone(),
        Arc::new(clock.clone()),
        ServerConfig::default(),
    );
    let now = state.clock.now();
    for (code, name, level, parent) in [
        ("JB", "金碧物业", "company", None),
        ("JB-CS", "客户服务部", "department", Some("JB")),
        ("JB-ENG", "工程部", "department", Some("JB")),
    ] {
        store
            .insert_unit(NewUnit {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                parent_code: parent.map(Into::into),
            })
            .await
            .expect("unit");
    }
    for (login, name, unit, role) in [
        ("duty", "当班小刘", "JB-CS", "duty_staff"),
        ("sup", "调度主管王", "JB-CS", "dispatch_supervisor"),
        ("cs", "客服经理陈", "JB-CS", "customer_service"),
        ("eng", "工程部小赵", "JB-ENG", "duty_staff"),
    ] {
        let user = store
            .insert_user(NewUser {
                login: login.into(),
                name: name.into(),
                unit_code: unit.into(),
                roles: vec![role.into()],
                password_hash: None,
            })
            .await
            .expect("user");
        store
            .create_api_token(
                &manyi_server::auth::token_hash(&token(login)),
                user.id,
                "test",
                now,
            )
            .await
            .expect("token");
    }
    let source = std::fs::read_to_string(format!(
        "{}/../../policies/jinbi-property.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the shipped jinbi policy");
    let (record, _) = manyi_server::policies::install(
        &store,
        &state.policies,
        "jinbi-property.toml",
        &source,
        now,
        true,
    )
    .await
    .expect("jinbi-property installs");
    assert!(record.active);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(manyi_server::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        clock,
        state,
        http: Client::builder(TokioExecutor::new()).build_http(),
        shutdown: Some(tx),
        _dir: dir,
    }
}

impl TestApp {
    /// Sends a request as `login`; the body back as JSON, or as a JSON string when it is not
    /// JSON (the CSV export).
    async fn send(
        &self,
        method: Method,
        path: &str,
        login: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header(AUTHORIZATION, format!("Bearer {}", token(login)));
        let bytes = match body {
            Some(v) => {
                request = request.header(CONTENT_TYPE, "application/json");
                serde_json::to_vec(&v).expect("json")
            }
            None => Vec::new(),
        };
        let response = self
            .http
            .request(
                request
                    .body(Full::new(Bytes::from(bytes)))
                    .expect("request"),
            )
            .await
            .unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    async fn get(&self, path: &str, login: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, login, None).await
    }

    async fn post(&self, path: &str, login: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, login, Some(body)).await
    }

    /// Registers a complaint as `duty` and lets `minutes` pass, ticking the scheduler.
    async fn undispatched_complaint(&self, minutes: i64) -> String {
        let (status, case) = self
            .post(
                "/api/v1/cases",
                "duty",
                json!({
                    "policy": "jinbi-property",
                    "kind": "complaint",
                    "channel": "phone",
                    "fields": {"complainant": "陈先生", "contact_phone": "13912345678", "matter": "楼上漏水"},
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{case:#}");
        self.clock.advance(SignedDuration::from_mins(minutes));
        scheduler::tick(&self.state).await.expect("tick");
        case["number"].as_str().expect("number").to_owned()
    }
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {v:#}"))
}

#[tokio::test]
async fn a_dispatch_missed_by_five_minutes_is_a_violation_with_a_30_yuan_proposal_against_the_call_taker()
 {
    let app = spawn_jinbi().await;
    let number = app.undispatched_complaint(6).await;

    let (status, violations) = app.get("/api/v1/violations", "sup").await;
    assert_eq!(status, StatusCode::OK, "{violations:#}");
    let v = &items(&violations)[0];
    assert_eq!(items(&violations).len(), 1);
    assert_eq!(v["case"], number.as_str());
    assert_eq!(
        (v["rule"].as_str(), v["clause"].as_str()),
        (Some("dispatch"), Some("第七条"))
    );
    assert_eq!(v["unit"], "JB-CS");
    assert_eq!(v["due"], "2026-03-10T10:05:00+08:00");
    assert_eq!(v["liable_persons"][0]["login"], "duty");

    let (status, penalties) = app.get("/api/v1/penalties", "sup").await;
    assert_eq!(status, StatusCode::OK, "{penalties:#}");
    let p = &items(&penalties)[0];
    assert_eq!(items(&penalties).len(), 1);
    assert_eq!(p["person"]["login"], "duty");
    assert_eq!(
        (p["rule"].as_str(), p["clause"].as_str()),
        (Some("late_dispatch"), Some("第七条附则"))
    );
    assert_eq!(p["range"]["text"], "30.00 元");
    assert_eq!(
        (
            p["range"]["min_fen"].as_i64(),
            p["range"]["max_fen"].as_i64()
        ),
        (Some(3000), Some(3000))
    );
    assert_eq!(p["status"], "proposed");

    // The ledger is filtered by person, unit and period.
    let count = |v: &Value| items(v).len();
    assert_eq!(
        count(&app.get("/api/v1/penalties?person=duty", "sup").await.1),
        1
    );
    assert_eq!(
        count(&app.get("/api/v1/penalties?person=cs", "sup").await.1),
        0
    );
    assert_eq!(
        count(&app.get("/api/v1/violations?unit=JB-ENG", "cs").await.1),
        0
    );
    assert_eq!(
        count(
            &app.get(
                "/api/v1/violations?unit=JB&from=2026-03-10&to=2026-03-11",
                "sup"
            )
            .await
            .1
        ),
        1
    );
    assert_eq!(
        count(&app.get("/api/v1/violations?from=2026-03-11", "sup").await.1),
        0
    );
    // Another department sees nothing of it; the penalised person sees their own.
    assert_eq!(count(&app.get("/api/v1/violations", "eng").await.1), 0);
    assert_eq!(count(&app.get("/api/v1/penalties", "eng").await.1), 0);
    assert_eq!(count(&app.get("/api/v1/penalties", "duty").await.1), 1);
}

#[tokio::test]
async fn the_supervisor_decides_the_fine_the_person_appeals_once_and_customer_service_decides_the_appeal()
 {
    let app = spawn_jinbi().await;
    let number = app.undispatched_complaint(6).await;
    let id = items(&app.get("/api/v1/penalties", "sup").await.1)[0]["id"]
        .as_i64()
        .expect("id");
    let decide = format!("/api/v1/penalties/{id}/decide");
    let appeal = format!("/api/v1/penalties/{id}/appeal");
    let review = format!("/api/v1/penalties/{id}/appeal/decide");

    // Outside the rule's amount: refused naming the range and the clause; nothing changes.
    let (status, problem) = app
        .post(
            &decide,
            "sup",
            json!({"amount": "31", "reason": "多次迟延"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem:#}");
    assert_eq!(problem["clause"], "第七条附则");
    assert_eq!(problem["reason"], "out_of_range");
    assert!(
        problem["detail"].as_str().unwrap().contains("30.00 元"),
        "{problem:#}"
    );
    // Without a reason.
    let (status, problem) = app
        .post(&decide, "sup", json!({"amount": "30", "reason": " "}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem:#}");
    assert_eq!(problem["reason"], "reason_required");
    // By the person themselves, or by someone without the deciding role.
    let (status, problem) = app
        .post(&decide, "duty", json!({"amount": "30", "reason": "认了"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem:#}");
    assert_eq!(problem["reason"], "self_decision");
    // Outside the department's jurisdiction it does not even exist.
    let (status, _) = app
        .post(&decide, "eng", json!({"amount": "30", "reason": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, still) = app.get("/api/v1/penalties", "sup").await;
    assert_eq!(items(&still)[0]["status"], "proposed");

    // The supervisor decides inside the range, with a reason.
    let (status, decided) = app
        .post(
            &decide,
            "sup",
            json!({"amount": 3000, "reason": "未在五分钟内调度"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided:#}");
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["decision"]["amount"], "30.00");
    assert_eq!(decided["decision"]["by"]["login"], "sup");
    assert_eq!(decided["decision"]["reason"], "未在五分钟内调度");
    // Deciding again is refused.
    let (status, _) = app
        .post(&decide, "sup", json!({"amount": 3000, "reason": "again"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Only the penalised person appeals, once.
    let (status, _) = app
        .post(&appeal, "sup", json!({"reason": "代为申诉"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, appealed) = app
        .post(&appeal, "duty", json!({"reason": "当时系统故障，无法调度"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{appealed:#}");
    assert_eq!(appealed["status"], "appealed");
    let (status, problem) = app.post(&appeal, "duty", json!({"reason": "再申诉"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem:#}");
    assert_eq!(problem["reason"], "already_appealed");

    // The appeal goes to customer service, not back to the supervisor.
    let (status, _) = app
        .post(&review, "sup", json!({"amount": 3000, "reason": "维持"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, reviewed) = app
        .post(
            &review,
            "cs",
            json!({"amount": "30.00", "reason": "经核实系统无故障，维持原决定"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reviewed:#}");
    assert_eq!(reviewed["status"], "appeal_decided");
    assert_eq!(reviewed["appeal_decision"]["by"]["login"], "cs");
    assert_eq!(reviewed["amount_fen"], 3000);

    // The CSV export lists it with every step.
    let (status, csv) = app.get("/api/v1/penalties.csv?person=duty", "cs").await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().expect("CSV text");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("id,case,rule,clause,person"), "{csv}");
    for expected in [
        number.as_str(),
        "late_dispatch",
        "第七条附则",
        "duty",
        "当班小刘",
        "appeal_decided",
        "30.00",
        "当时系统故障，无法调度",
        "经核实系统无故障，维持原决定",
    ] {
        assert!(lines[1].contains(expected), "{expected} not in {csv}");
    }
}

#[tokio::test]
async fn a_complaint_dispatched_in_time_leaves_the_ledger_empty() {
    let app = spawn_jinbi().await;
    let (status, case) = app
        .post(
            "/api/v1/cases",
            "duty",
            json!({
                "policy": "jinbi-property",
                "kind": "complaint",
                "channel": "phone",
                "fields": {"complainant": "陈先生", "contact_phone": "13912345678", "matter": "电梯故障"},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{case:#}");
    let number = case["number"].as_str().unwrap();
    app.clock.advance(SignedDuration::from_mins(3));
    let (status, body) = app
        .post(
            &format!("/api/v1/cases/{number}/transitions"),
            "duty",
            json!({"action": "dispatch", "fields": {"handling_department": "engineering", "reassured": "yes"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    app.clock.advance(SignedDuration::from_mins(10));
    scheduler::tick(&app.state).await.expect("tick");
    assert!(items(&app.get("/api/v1/violations", "sup").await.1).is_empty());
    assert!(items(&app.get("/api/v1/penalties", "sup").await.1).is_empty());
    let _: Timestamp = app.clock.now();
}
