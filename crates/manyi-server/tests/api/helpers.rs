//! The test harness: [`spawn_app`] starts a real server on port 0 over a fresh database, with a
//! small bank already in place, and [`ApiClient`] talks to it over HTTP/1.1.
//!
//! ## The backend
//!
//! The database comes from `manyi_store::testing::TestDb`, on the backend `MANYI_TEST_BACKEND`
//! names: `sqlite` (the default, a fresh file in a temporary directory) or `postgres` (a fresh
//! database on the server `MANYI_TEST_PG`, default `postgres://postgres@127.0.0.1:5432`,
//! dropped afterwards). The test bodies are the same on both; `scripts/test.sh` runs this
//! suite once per backend. `both` is refused here: one run of this binary is one backend.
//!
//! ## The bank every test starts with
//!
//! ```text
//! HQ 总行 (hq)                     admin, hq_teller, hq_head
//! ├── BJ 北京分行 (branch1)
//! │   └── BJHD 海淀支行 (branch2)   branch_head
//! │       ├── BJHD01 中关村网点      teller, outlet_head, investigator
//! │       └── BJHD02 学院路网点
//! └── SH 上海分行 (branch1)
//!     └── SH01 陆家嘴网点 (outlet)   sh_teller
//! ```
//!
//! Each user holds the roles of both shipped policies that fit their post (a teller is `teller`
//! in ccb-counter and `frontline` in default-complaint), and has an API token, [`token`]`(login)`,
//! and the password [`PASSWORD`]. Both shipped policies are installed and active.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use manyi_core::case::{Case, Event, replay};
use manyi_core::clock::ManualClock;
use manyi_server::{AppState, ServerConfig};
use manyi_store::testing::TestDb;
use manyi_store::{NewUnit, NewUser, Store};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// What every request helper returns: status, headers and the body as JSON (`Null` when empty,
/// a JSON string when the body is not JSON, so that a wrong answer fails an assertion instead
/// of panicking inside the helper).
pub type Reply = (StatusCode, HeaderMap, Value);

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

/// Teller at outlet BJHD01 (ccb `teller`, default `frontline`).
pub const TELLER: &str = "teller";
/// Head of outlet BJHD01 (ccb `outlet_head`, default `unit_head`).
pub const OUTLET_HEAD: &str = "outlet_head";
/// An investigator at BJHD01 (default `handler`).
pub const INVESTIGATOR: &str = "investigator";
/// Head of tier-2 branch BJHD, also its service-management department.
pub const BRANCH_HEAD: &str = "branch_head";
/// System administrator at HQ (only `admin`).
pub const ADMIN: &str = "admin";
/// A teller at the head office's own counter.
pub const HQ_TELLER: &str = "hq_teller";
/// A department head at the head office.
pub const HQ_HEAD: &str = "hq_head";
/// A teller at outlet SH01, in the sibling branch: outside BJ's jurisdiction.
pub const SH_TELLER: &str = "sh_teller";

/// The instant every test starts at: 2026-03-10 10:00 in Beijing (a Tuesday).
pub const START: &str = "2026-03-10T02:00:00Z";

/// The shipped policies, loaded from the repository (never a copy that could drift).
pub fn shipped_policy(file_name: &str) -> String {
    let path = format!("{}/../../policies/{file_name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A test policy file from `tests/fixtures/`.
pub fn fixture(file_name: &str) -> String {
    let path = format!("{}/tests/fixtures/{file_name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The API token of a test user.
pub fn token(login: &str) -> String {
    format!("test-token-of-{login}")
}

/// One Argon2 hash shared by all users: hashing is deliberately slow, and every user has the
/// same password anyway.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        manyi_server::auth::hash_password(PASSWORD).expect("hashing a password cannot fail")
    })
    .clone()
}

/// A running server with its own database, stopped when dropped (and the database with it).
pub struct TestApp {
    /// The database URL, for restarting on the same data (`Store::connect`): a SQLite file in
    /// a temporary directory or a fresh PostgreSQL database, alive as long as this `TestApp`.
    pub url: String,
    pub addr: SocketAddr,
    pub store: Store,
    pub clock: ManualClock,
    pub state: AppState,
    pub api: ApiClient,
    shutdown: Option<oneshot::Sender<()>>,
    /// Declared last, so dropped last: the database outlives the handles on it.
    db: TestDb,
}

impl TestApp {
    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }
}

/// The request helpers are on [`ApiClient`], which concurrent tasks can clone; a `TestApp`
/// lends them directly so tests read `app.get(..)`.
impl Deref for TestApp {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The server may already be gone if the test's runtime is shutting down.
            let _ = tx.send(());
        }
    }
}

/// Starts a server with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerConfig::default()).await
}

/// The backend this run of the suite uses: `MANYI_TEST_BACKEND`, `sqlite` when unset.
///
/// # Panics
///
/// On `both` or an unknown value: the suite runs on one backend per run, and a typo must not
/// quietly test something else.
pub fn backend() -> &'static str {
    match std::env::var("MANYI_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "sqlite") => "sqlite",
        Ok("postgres") => "postgres",
        Ok(other) => panic!(
            "MANYI_TEST_BACKEND=`{other}`: the API suite runs on one backend per run; set \
             `sqlite` (the default) or `postgres` (scripts/test.sh runs both)"
        ),
    }
}

/// Starts a server with `config` (e.g. a small body limit).
pub async fn spawn_app_with(config: ServerConfig) -> TestApp {
    let backend = backend();
    let db = TestDb::create(backend).await.unwrap_or_else(|| {
        panic!(
            "MANYI_TEST_BACKEND={backend}, but the {backend} test database is switched off \
             (MANYI_TEST_PG=skip?): run the API suite on sqlite instead"
        )
    });
    let url = db.url().to_owned();
    // Migrated; on PostgreSQL at most 8 connections (the server is shared by every test).
    let store = db.store().await;

    let clock = ManualClock::new(START.parse().expect("START is an RFC 3339 instant"));
    let state = AppState::new(store.clone(), Arc::new(clock.clone()), config);
    let now = state.clock.now();

    build_org(&store, now).await;
    for file in ["default-complaint.toml", "ccb-counter.toml"] {
        let (record, diagnostics) = manyi_server::policies::install(
            &store,
            &state.policies,
            file,
            &shipped_policy(file),
            now,
            true,
        )
        .await
        .unwrap_or_else(|e| panic!("the shipped policy {file} does not install: {e:?}"));
        assert!(record.active, "{file} was not activated");
        assert!(
            diagnostics.iter().all(|d| !d.is_error()),
            "{file}: {diagnostics:?}"
        );
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(manyi_server::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));

    TestApp {
        url,
        addr,
        store,
        clock,
        state,
        api: ApiClient::new(addr),
        shutdown: Some(tx),
        db,
    }
}

async fn build_org(store: &Store, now: Timestamp) {
    let units = [
        ("HQ", "总行", "hq", None),
        ("BJ", "北京分行", "branch1", Some("HQ")),
        ("BJHD", "北京海淀支行", "branch2", Some("BJ")),
        ("BJHD01", "中关村营业网点", "outlet", Some("BJHD")),
        ("BJHD02", "学院路营业网点", "outlet", Some("BJHD")),
        ("SH", "上海分行", "branch1", Some("HQ")),
        ("SH01", "陆家嘴营业网点", "outlet", Some("SH")),
    ];
    for (code, name, level, parent) in units {
        store
            .insert_unit(NewUnit {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                parent_code: parent.map(Into::into),
            })
            .await
            .expect("insert unit");
    }
    let users: [(&str, &str, &str, &[&str]); 8] = [
        (TELLER, "柜员小王", "BJHD01", &["teller", "frontline"]),
        (
            OUTLET_HEAD,
            "网点主任李",
            "BJHD01",
            &["outlet_head", "unit_head"],
        ),
        (INVESTIGATOR, "调查员赵", "BJHD01", &["handler"]),
        (
            BRANCH_HEAD,
            "支行行长张",
            "BJHD",
            &["dept_head", "unit_head", "service_mgmt", "service_dept"],
        ),
        (ADMIN, "系统管理员", "HQ", &["admin"]),
        (HQ_TELLER, "总行柜员陈", "HQ", &["teller", "frontline"]),
        (
            HQ_HEAD,
            "总行部门负责人周",
            "HQ",
            &["dept_head", "unit_head"],
        ),
        (SH_TELLER, "上海柜员吴", "SH01", &["teller", "frontline"]),
    ];
    for (login, name, unit, roles) in users {
        let user = store
            .insert_user(NewUser {
                login: login.into(),
                name: name.into(),
                unit_code: unit.into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: Some(password_hash()),
            })
            .await
            .expect("insert user");
        store
            .create_api_token(
                &manyi_server::auth::token_hash(&token(login)),
                user.id,
                "test",
                now,
            )
            .await
            .expect("create token");
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// A `Cookie` header, e.g. `manyi_session=…`.
    Cookie(&'a str),
}

/// A small HTTP/1.1 client bound to one test server. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    addr: SocketAddr,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl ApiClient {
    fn new(addr: SocketAddr) -> ApiClient {
        ApiClient {
            addr,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends one request. `body` is `(content type, bytes)`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => request = request.header(AUTHORIZATION, format!("Bearer {t}")),
            Auth::Cookie(c) => request = request.header(COOKIE, c),
        }
        for (name, value) in headers {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let bytes = match body {
            Some((content_type, bytes)) => {
                request = request.header(CONTENT_TYPE, content_type);
                bytes
            }
            None => Vec::new(),
        };
        let request = request
            .body(Full::new(Bytes::from(bytes)))
            .expect("a well-formed request");
        let response = self
            .http
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{path}: body not read: {e}"))
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (parts.status, parts.headers, value)
    }

    /// `GET` with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Auth::Bearer(token), &[], None)
            .await
    }

    /// `POST` a JSON body with a bearer token.
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.post_json_with(path, token, &[], body).await
    }

    /// `POST` a JSON body with a bearer token and extra headers.
    pub async fn post_json_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let bytes = serde_json::to_vec(body).expect("serialisable");
        self.send(
            Method::POST,
            path,
            Auth::Bearer(token),
            headers,
            Some(("application/json", bytes)),
        )
        .await
    }

    /// `POST` any bytes with any content type, with a bearer token.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        bytes: impl Into<Vec<u8>>,
    ) -> Reply {
        self.send(
            Method::POST,
            path,
            Auth::Bearer(token),
            &[],
            Some((content_type, bytes.into())),
        )
        .await
    }

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, login: &str, password: &str) -> Reply {
        let body = serde_json::to_vec(&json!({ "login": login, "password": password }))
            .expect("serialisable");
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            &[],
            Some(("application/json", body)),
        )
        .await
    }

    /// Registers a case, returning the raw reply.
    pub async fn create_case(&self, token: &str, body: &Value) -> Reply {
        self.post_json("/api/v1/cases", token, body).await
    }

    /// Registers a valid default-complaint case and returns its body (asserting 201).
    pub async fn open_complaint(&self, token: &str) -> Value {
        let (status, _, body) = self.create_case(token, &complaint()).await;
        assert_eq!(status, StatusCode::CREATED, "{body:#}");
        body
    }

    /// Registers a valid ccb-counter case and returns its body (asserting 201).
    pub async fn open_ccb_complaint(&self, token: &str) -> Value {
        let (status, _, body) = self.create_case(token, &ccb_complaint()).await;
        assert_eq!(status, StatusCode::CREATED, "{body:#}");
        body
    }

    /// `POST /api/v1/cases/{number}/transitions`, returning the raw reply.
    pub async fn transition(
        &self,
        number: &str,
        token: &str,
        action: &str,
        fields: Value,
    ) -> Reply {
        self.post_json(
            &format!("/api/v1/cases/{number}/transitions"),
            token,
            &json!({ "action": action, "fields": fields }),
        )
        .await
    }

    /// Takes a transition that must succeed, returning the case after it.
    pub async fn take(&self, number: &str, token: &str, action: &str, fields: Value) -> Value {
        let (status, _, body) = self.transition(number, token, action, fields).await;
        assert_eq!(status, StatusCode::OK, "{action} on {number}: {body:#}");
        assert_eq!(body["number"], number);
        body
    }

    /// `GET /api/v1/cases/{number}` as `token`, returning the raw reply.
    pub async fn show(&self, number: &str, token: &str) -> Reply {
        self.get(&format!("/api/v1/cases/{number}"), token).await
    }

    /// The numbers of the cases `token` sees in `GET /api/v1/cases` (first page of 500).
    pub async fn listed_numbers(&self, token: &str) -> Vec<String> {
        let (status, _, body) = self.get("/api/v1/cases?limit=500", token).await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["number"].as_str().expect("number").to_owned())
            .collect()
    }

    /// The case's events as the API shows them (asserting 200).
    pub async fn events(&self, number: &str, token: &str) -> Vec<Value> {
        let (status, _, body) = self
            .get(&format!("/api/v1/cases/{number}/events"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        body.as_array().expect("an array of events").clone()
    }
}

/// A valid default-complaint registration.
pub fn complaint() -> Value {
    json!({
        "policy": "default-complaint",
        "kind": "complaint",
        "channel": "counter",
        "fields": {
            "complainant_name": "王小明",
            "contact_phone": "138 0013 8000",
            "id_number": "11010519491231002X",
            "matter": "办理转账时柜员态度冷淡，多次询问不予回应。",
            "customer_demand": "要求网点说明情况并道歉。",
        }
    })
}

/// A valid ccb-counter registration.
pub fn ccb_complaint() -> Value {
    json!({
        "policy": "ccb-counter",
        "kind": "complaint",
        "channel": "counter",
        "fields": {
            "customer_name": "李华",
            "customer_phone": "13912345678",
            "content": "排队等候超过一个小时，只开放一个对公窗口。",
            "customer_demand": "要求增加窗口，缩短等候时间。",
        }
    })
}

/// The fields of an assessment of a valid, normal complaint.
pub fn valid_assessment() -> Value {
    json!({ "category": "attitude", "severity": "normal", "validity": "valid" })
}

/// Asserts that a reply is a problem+json of `status` and type `…/problems/{slug}`, and never
/// an internal error. Returns the problem body for further checks.
pub fn assert_problem(reply: &Reply, status: StatusCode, slug: &str) -> Value {
    let (actual, headers, body) = reply;
    assert_ne!(
        *actual,
        StatusCode::INTERNAL_SERVER_ERROR,
        "an internal error: {body:#}"
    );
    assert_eq!(*actual, status, "{body:#}");
    assert_eq!(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "not a problem+json body: {body:#}"
    );
    assert_eq!(
        body["type"],
        format!("https://manyi.dev/problems/{slug}"),
        "{body:#}"
    );
    assert_eq!(body["status"], status.as_u16(), "{body:#}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "a problem needs a detail: {body:#}"
    );
    body.clone()
}

/// The `(field, code)` pairs of a problem's `errors`, sorted.
pub fn field_errors(problem: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Proves that the stored event log replays to exactly the stored case, and returns it.
pub async fn replay_stored_log(store: &Store, number: &str) -> Case {
    let record = store
        .case_by_number(number)
        .await
        .expect("store answers")
        .unwrap_or_else(|| panic!("no case {number} in the store"));
    let events: Vec<Event> = store
        .case_events(record.id)
        .await
        .expect("store answers")
        .into_iter()
        .map(|e| serde_json::from_value(e.payload).expect("an event payload is an Event"))
        .collect();
    let replayed = replay(number, &events).expect("the log replays");
    let mut stored: Case = serde_json::from_value(record.snapshot).expect("a snapshot is a Case");
    stored.number = record.number;
    assert_eq!(replayed, stored, "the log and the stored case disagree");
    assert_eq!(
        i64::try_from(replayed.version).expect("small"),
        record.version,
        "the row's version counts the events"
    );
    replayed
}
