//! The web pages, tested from the outside like a browser without JavaScript: each test starts
//! a server on port 0 with its own SQLite database and a small bank (the same as the API
//! tests'), keeps cookies, reads the CSRF token from the forms and posts them.
//!
//! What a real browser adds (htmx, rendering, Chinese fonts) is covered by `tests/browser/`
//! at the repository root.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::SignedDuration;
use manyi_core::clock::ManualClock;
use manyi_server::{AppState, ServerConfig};
use manyi_store::{CaseFilter, NewUnit, NewUser, Store, StoreOptions};
use tempfile::TempDir;
use tokio::sync::oneshot;

const PASSWORD: &str = "correct horse battery staple";
/// 2026-03-10 10:00 in Beijing, a Tuesday.
const START: &str = "2026-03-10T02:00:00Z";

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

struct TestApp {
    addr: SocketAddr,
    store: Store,
    clock: ManualClock,
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

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| manyi_server::auth::hash_password(PASSWORD).expect("hashing"))
        .clone()
}

fn shipped_policy(file_name: &str) -> String {
    let path = format!("{}/../../policies/{file_name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A server with the API tests' bank; `intake` adds the `web.intake` user of the customers'
/// complaint page.
async fn spawn_app(intake: bool) -> TestApp {
    spawn_app_with(intake, &[]).await
}

/// [`spawn_app`] with more shipped policies installed (e.g. `jinbi-property.toml`).
async fn spawn_app_with(intake: bool, more_policies: &[&str]) -> TestApp {
    let texts: Vec<(&str, String)> = more_policies
        .iter()
        .map(|file| (*file, shipped_policy(file)))
        .collect();
    spawn_app_with_texts(intake, &texts).await
}

/// [`spawn_app`] with more policies installed from their text (a shipped one changed).
async fn spawn_app_with_texts(intake: bool, more_policies: &[(&str, String)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("manyi.db").display());
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("open the store");
    store.migrate().await.expect("migrate");
    let clock = ManualClock::new(START.parse().expect("an instant"));
    let state = AppState::new(
        store.clone(),
        Arc::new(clock.clone()),
        ServerConfig::default(),
    );
    let now = state.clock.now();
    let units = [
        ("HQ", "总行", "hq", None),
        ("BJ", "北京分行", "branch1", Some("HQ")),
        ("BJHD", "北京海淀支行", "branch2", Some("BJ")),
        ("BJHD01", "中关村营业网点", "outlet", Some("BJHD")),
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
    let mut users: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        ("teller", "柜员小王", "BJHD01", vec!["teller", "frontline"]),
        (
            "outlet_head",
            "网点主任李",
            "BJHD01",
            vec!["outlet_head", "unit_head"],
        ),
        (
            "branch_head",
            "支行行长张",
            "BJHD",
            vec!["dept_head", "unit_head", "service_mgmt", "service_dept"],
        ),
        ("admin", "系统管理员", "HQ", vec!["admin"]),
        (
            "sh_teller",
            "上海柜员吴",
            "SH01",
            vec!["teller", "frontline"],
        ),
    ];
    if intake {
        users.push(("web.intake", "网站受理", "HQ", vec!["frontline"]));
    }
    for (login, name, unit, roles) in users {
        store
            .insert_user(NewUser {
                login: login.into(),
                name: name.into(),
                unit_code: unit.into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: Some(password_hash()),
            })
            .await
            .expect("insert user");
    }
    let shipped = ["default-complaint.toml", "ccb-counter.toml"]
        .into_iter()
        .map(|file| (file, shipped_policy(file)));
    for (file, text) in shipped.chain(more_policies.iter().cloned()) {
        manyi_server::policies::install(&store, &state.policies, file, &text, now, true)
            .await
            .unwrap_or_else(|e| panic!("{file} does not install: {e:?}"));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(manyi_server::serve(listener, state, async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        store,
        clock,
        shutdown: Some(tx),
        _dir: dir,
    }
}

/// A page as the test browser got it.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first `<input … name="NAME" value="…">`.
    fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(unescape(&self.body[start..start + end]))
    }

    fn assert_contains(&self, text: &str) {
        assert!(
            self.body.contains(text),
            "expected `{text}` in the page ({}):\n{}",
            self.status,
            self.body
        );
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser: keeps cookies, sends forms, does not follow redirects (tests look at them).
struct Browser {
    addr: SocketAddr,
    http: Client<HttpConnector, Full<Bytes>>,
    cookies: Mutex<BTreeMap<String, String>>,
    headers: Vec<(String, String)>,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            addr: app.addr,
            http: Client::builder(TokioExecutor::new()).build_http(),
            cookies: Mutex::new(BTreeMap::new()),
            headers: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookies").get(name).cloned()
    }

    fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .expect("cookies")
            .insert(name.into(), value.into());
    }

    async fn send(&self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        let jar = self
            .cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !jar.is_empty() {
            request = request.header(COOKIE, jar);
        }
        for (k, v) in &self.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let body = match form {
            Some(fields) => {
                request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                fields
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&")
            }
            None => String::new(),
        };
        let response = self
            .http
            .request(request.body(Full::new(Bytes::from(body))).expect("request"))
            .await
            .unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        let (parts, body) = response.into_parts();
        for value in parts.headers.get_all(SET_COOKIE) {
            let text = value.to_str().expect("ASCII cookie");
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                let mut jar = self.cookies.lock().expect("cookies");
                if text.contains("Max-Age=0") {
                    jar.remove(name);
                } else {
                    jar.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let bytes = body.collect().await.expect("body").to_bytes();
        Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Posts a form with the CSRF token the pages put in every form (from the cookie).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.cookie("manyi_csrf").unwrap_or_default();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.send(Method::POST, path, Some(&all)).await
    }

    /// Posts a `multipart/form-data` form with the CSRF token and one file.
    async fn upload(&self, path: &str, filename: &str, content_type: &str, data: &[u8]) -> Page {
        let token = self.cookie("manyi_csrf").unwrap_or_default();
        let boundary = "----manyitestboundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let jar = self
            .cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("http://{}{path}", self.addr))
            .header(COOKIE, jar)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let response = self.http.request(request).await.expect("response");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Posts a `multipart/form-data` form: the CSRF token (when `csrf`), `fields`, and a file
    /// part (`None`: an empty file input, as a browser sends it).
    async fn post_multipart(
        &self,
        path: &str,
        csrf: bool,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
    ) -> Page {
        let boundary = "----manyitestboundary";
        let token = self.cookie("manyi_csrf").unwrap_or_default();
        let mut body = Vec::new();
        let mut all: Vec<(&str, &str)> = Vec::new();
        if csrf {
            all.push(("csrf", token.as_str()));
        }
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        let (filename, content_type, data) = file.unwrap_or(("", "application/octet-stream", b""));
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let jar = self
            .cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("http://{}{path}", self.addr))
            .header(COOKIE, jar)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let response = self.http.request(request).await.expect("response");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Logs in through the form and checks that it worked.
    async fn log_in(&self, login: &str) {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let done = self
            .post(
                "/login",
                &[("login", login), ("password", PASSWORD), ("next", "/")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/");
        assert!(self.cookie("manyi_session").is_some(), "no session cookie");
    }

    /// Registers a default complaint through the form; returns the case number.
    async fn register(&self, fields: &[(&str, &str)]) -> String {
        let form = self
            .get("/cases/new?policy=default-complaint&kind=complaint")
            .await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let idem = form.input_value("idem").expect("an idempotency key");
        let page = self
            .post("/cases/new", &complaint_form(&idem, fields))
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        number_of(page.location())
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/cases/TS2026030001?created=1` → `TS2026030001`.
fn number_of(location: &str) -> String {
    location
        .trim_start_matches("/cases/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A complete default-complaint registration form; `overrides` replace or add fields.
fn complaint_form<'a>(idem: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("policy", "default-complaint"),
        ("kind", "complaint"),
        ("idem", idem),
        ("channel", "phone"),
        ("f.complainant_name", "王小明"),
        ("f.contact_phone", "138 0013 8000"),
        ("f.matter", "办理转账时柜员态度冷淡，多次询问不予回应。"),
        ("f.customer_demand", "要求网点说明情况并道歉。"),
    ];
    for (k, v) in overrides {
        match fields.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => fields.push((k, v)),
        }
    }
    fields
}

async fn case_count(store: &Store) -> usize {
    store
        .list_cases(&CaseFilter {
            limit: 500,
            ..CaseFilter::default()
        })
        .await
        .expect("list")
        .items
        .len()
}

// ---------------------------------------------------------------------------------------------
// Logging in and out
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logging_in_through_the_form_shows_the_workspace_in_chinese() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    let login = browser.get("/login").await;
    login.assert_contains("<html lang=\"zh-CN\">");
    login.assert_contains("用户名");
    login.assert_contains("name=\"csrf\"");
    let csrf = browser
        .cookie("manyi_csrf")
        .expect("the login page sets the CSRF cookie");
    assert_eq!(login.input_value("csrf"), Some(csrf));
    let cookie = login
        .headers
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    browser.log_in("teller").await;
    let workspace = browser.get("/").await;
    assert_eq!(workspace.status, StatusCode::OK);
    workspace.assert_contains("我的案件");
    workspace.assert_contains("本机构案件");
    workspace.assert_contains("柜员小王");
    workspace.assert_contains("中关村营业网点");
    assert_eq!(
        workspace
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_the_login_kept() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.get("/login").await;
    let page = browser
        .post(
            "/login",
            &[("login", "teller"), ("password", "wrong"), ("next", "/")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("用户名或密码错误");
    assert_eq!(page.input_value("login").as_deref(), Some("teller"));
    assert!(browser.cookie("manyi_session").is_none());
}

#[tokio::test]
async fn a_page_without_a_session_sends_to_the_login_page_and_back() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Fdashboard");
    let login = browser.get(page.location()).await;
    login.assert_contains("请先登录");
    assert_eq!(login.input_value("next").as_deref(), Some("/dashboard"));
    // An absolute URL is never followed after logging in.
    let evil = browser.get("/login?next=https://evil.example/").await;
    assert_eq!(evil.input_value("next").as_deref(), Some("/"));
}

#[tokio::test]
async fn an_expired_session_goes_to_the_login_page_with_a_message() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    app.clock.advance(SignedDuration::from_hours(13));
    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2F&expired=1");
    assert!(
        browser.cookie("manyi_session").is_none(),
        "the stale cookie is cleared"
    );
    browser
        .get(page.location())
        .await
        .assert_contains("会话已过期，请重新登录");
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let session = browser.cookie("manyi_session").expect("session");
    let out = browser.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login?out=1");
    // The old cookie no longer opens a page.
    browser.set_cookie("manyi_session", &session);
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_user_changes_their_password_with_errors_beside_the_fields() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let form = browser.get("/account/password").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    form.assert_contains("当前密码");
    form.assert_contains("href=\"/account/password\"");
    browser.set_cookie("lang", "en");
    browser
        .get("/account/password")
        .await
        .assert_contains("Current password");
    browser.set_cookie("lang", "zh-CN");
    // A wrong current password, a short new one and a confirmation that differs.
    let page = browser
        .post(
            "/account/password",
            &[("current", "wrong"), ("new", "short"), ("confirm", "other")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&page.body, "pw-current"), "当前密码不正确");
    assert_eq!(field_error(&page.body, "pw-new"), "密码至少 8 个字符");
    assert_eq!(
        field_error(&page.body, "pw-confirm"),
        "两次输入的新密码不一致"
    );
    assert!(
        !page.body.contains("value=\"wrong\""),
        "passwords are not kept"
    );
    // Without the CSRF token: refused.
    let forged = browser
        .send(
            Method::POST,
            "/account/password",
            Some(&[
                ("current", PASSWORD),
                ("new", "a new password"),
                ("confirm", "a new password"),
            ]),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Right: changed; the old password no longer logs in, the new one does.
    let done = browser
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a new password"),
                ("confirm", "a new password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    done.assert_contains("密码已修改");
    let other = Browser::new(&app);
    other.get("/login").await;
    let refused = other
        .post(
            "/login",
            &[("login", "teller"), ("password", PASSWORD), ("next", "/")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let accepted = other
        .post(
            "/login",
            &[
                ("login", "teller"),
                ("password", "a new password"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
}

// ---------------------------------------------------------------------------------------------
// CSRF and languages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let form = browser
        .get("/cases/new?policy=default-complaint&kind=complaint")
        .await;
    let idem = form.input_value("idem").expect("idem");
    let fields = complaint_form(&idem, &[]);
    // No token at all.
    let page = browser
        .send(Method::POST, "/cases/new", Some(&fields))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("安全校验未通过");
    // A token that is not the cookie's.
    let mut forged = vec![("csrf", "0".repeat(64))];
    forged.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = browser
        .send(Method::POST, "/cases/new", Some(&forged))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(case_count(&app.store).await, 0, "nothing was registered");
    // The log-in form is protected too.
    let fresh = Browser::new(&app);
    let page = fresh
        .send(
            Method::POST,
            "/login",
            Some(&[("login", "teller"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn english_comes_from_the_lang_cookie_or_the_browser() {
    let app = spawn_app(false).await;
    let mut browser = Browser::new(&app);
    browser
        .headers
        .push(("accept-language".into(), "en-US,en;q=0.9".into()));
    let page = browser.get("/login").await;
    page.assert_contains("<html lang=\"en\">");
    page.assert_contains("Password");
    // The switch sets a cookie that wins over the browser.
    let switch = browser.get("/lang?to=zh-CN&back=/login").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location(), "/login");
    browser.get("/login").await.assert_contains("密码");
}

// ---------------------------------------------------------------------------------------------
// Registering a complaint
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_complaint_registered_through_the_form_opens_its_case_page() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let choose = browser.get("/cases/new").await;
    choose.assert_contains("/cases/new?policy=default-complaint&amp;kind=complaint");
    let form = browser
        .get("/cases/new?policy=default-complaint&kind=complaint")
        .await;
    // Generated from the policy: labels, required marks, types.
    form.assert_contains("投诉人姓名");
    form.assert_contains("type=\"tel\"");
    form.assert_contains("<textarea id=\"f-matter\"");
    form.assert_contains("class=\"req\"");
    let number = browser.register(&[]).await;
    assert!(number.starts_with("TS202603"), "{number}");
    let page = browser.get(&format!("/cases/{number}?created=1")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(&format!("案件已登记：{number}"));
    page.assert_contains("王小明");
    page.assert_contains("已登记");
    page.assert_contains("答复时限");
    page.assert_contains("剩 2天");
    page.assert_contains("初步评估");
    // The workspace lists it with the working time left.
    let workspace = browser.get("/").await;
    workspace.assert_contains(&number);
    workspace.assert_contains("138****8000");
}

#[tokio::test]
async fn a_double_submitted_form_registers_one_case() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let form = browser
        .get("/cases/new?policy=default-complaint&kind=complaint")
        .await;
    let idem = form.input_value("idem").expect("idem");
    let fields = complaint_form(&idem, &[]);
    let (first, second) = tokio::join!(
        browser.post("/cases/new", &fields),
        browser.post("/cases/new", &fields)
    );
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    assert_eq!(number_of(first.location()), number_of(second.location()));
    assert_eq!(case_count(&app.store).await, 1);
    let third = browser.post("/cases/new", &fields).await;
    assert!(
        third.location().ends_with("?replayed=1"),
        "{}",
        third.location()
    );
    assert_eq!(case_count(&app.store).await, 1);
}

#[tokio::test]
async fn a_form_error_keeps_what_was_typed_and_shows_the_message_beside_the_field() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let form = browser
        .get("/cases/new?policy=default-complaint&kind=complaint")
        .await;
    let idem = form.input_value("idem").expect("idem");
    let page = browser
        .post(
            "/cases/new",
            &complaint_form(
                &idem,
                &[
                    ("f.contact_phone", "12345"),
                    ("f.customer_demand", ""),
                    ("f.email", "wang@example.com"),
                ],
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(case_count(&app.store).await, 0);
    // What was typed is all still there, the optional section open.
    assert_eq!(
        page.input_value("f.complainant_name").as_deref(),
        Some("王小明")
    );
    assert_eq!(
        page.input_value("f.contact_phone").as_deref(),
        Some("12345")
    );
    assert_eq!(
        page.input_value("f.email").as_deref(),
        Some("wang@example.com")
    );
    page.assert_contains("办理转账时柜员态度冷淡，多次询问不予回应。</textarea>");
    page.assert_contains("<option value=\"phone\" selected>");
    // Each message sits beside its field.
    let phone_error = field_error(&page.body, "contact_phone");
    assert!(phone_error.contains("联系电话"), "{phone_error}");
    let demand_error = field_error(&page.body, "customer_demand");
    assert!(demand_error.contains("必填"), "{demand_error}");
    assert_eq!(field_error(&page.body, "complainant_name"), "");
    page.assert_contains("有 2 处需要修改");
    // The same key still registers the corrected form.
    assert_eq!(page.input_value("idem"), Some(idem.clone()));
    let fixed = browser
        .post("/cases/new", &complaint_form(&idem, &[]))
        .await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER, "{}", fixed.body);
}

/// The text of the error element beside field `id` ("" when hidden).
fn field_error(html: &str, id: &str) -> String {
    let marker = format!("id=\"err-{id}\" role=\"alert\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no error element for {id}"));
    let rest = &html[start + marker.len()..];
    if rest.starts_with(" hidden") {
        return String::new();
    }
    let open = rest.find('>').expect("tag end") + 1;
    let close = rest.find("</span>").expect("span end");
    rest[open..close].to_owned()
}

#[tokio::test]
async fn the_live_check_uses_the_engines_validation() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let fields = [
        ("policy", "default-complaint"),
        ("kind", "complaint"),
        ("check", "id_number"),
        ("f.id_number", "110105194912310021"),
    ];
    let bad = browser.post("/cases/new/check", &fields).await;
    assert_eq!(bad.status, StatusCode::OK);
    bad.assert_contains("id=\"err-id_number\"");
    bad.assert_contains("身份证号码");
    let good = browser
        .post(
            "/cases/new/check",
            &[
                ("policy", "default-complaint"),
                ("kind", "complaint"),
                ("check", "id_number"),
                ("f.id_number", "11010519491231002X"),
            ],
        )
        .await;
    good.assert_contains("hidden");
}

// ---------------------------------------------------------------------------------------------
// The case page
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_case_outside_the_jurisdiction_answers_404_like_a_missing_one() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller.register(&[]).await;
    let other = Browser::new(&app);
    other.log_in("sh_teller").await;
    let hidden = other.get(&format!("/cases/{number}")).await;
    let missing = other.get("/cases/TS202603999999").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body, missing.body, "a 404 must not tell which");
    assert!(!hidden.body.contains("王小明"));
    // Acting on it is a 404 too.
    let act = other
        .post(&format!("/cases/{number}/actions"), &[("action", "assess")])
        .await;
    assert_eq!(act.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_action_is_taken_and_a_refusal_shows_its_clause() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let number = browser.register(&[]).await;
    let path = format!("/cases/{number}/actions");
    // Assess as serious: a field error first (severity missing) keeps the typed values.
    let missing = browser
        .post(
            &path,
            &[
                ("action", "assess"),
                ("f.category", "attitude"),
                ("f.validity", "valid"),
                ("note", "电话回访前初评"),
            ],
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    missing.assert_contains("操作未通过");
    missing.assert_contains("严重程度为必填项");
    missing.assert_contains("<details class=\"action\" open id=\"action-assess\">");
    missing.assert_contains("<option value=\"attitude\" selected>");
    missing.assert_contains("电话回访前初评</textarea>");

    let done = browser
        .post(
            &path,
            &[
                ("action", "assess"),
                ("f.category", "attitude"),
                ("f.severity", "serious"),
                ("f.validity", "valid"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(done.location()).await;
    page.assert_contains("操作已完成：初步评估");
    page.assert_contains("已初评");
    // The timeline says who did what, under which clause, and what changed.
    page.assert_contains("ISO 10002 8.5");
    page.assert_contains("服务态度");

    // A serious complaint cannot be resolved on the spot (CLAUSES A30).
    let refused = browser.post(&path, &[("action", "resolve_on_spot")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    refused.assert_contains("操作未通过");
    refused.assert_contains("依据：CLAUSES A30");
    refused.assert_contains("只有一般的有效投诉可由首问负责人当场解决");
}

#[tokio::test]
async fn quick_find_opens_a_case_by_number_and_finds_by_phone() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let number = browser.register(&[]).await;
    let other = browser
        .register(&[
            ("f.complainant_name", "李四"),
            ("f.contact_phone", "13912345678"),
        ])
        .await;
    let open = browser.get(&format!("/?q={}", number.to_lowercase())).await;
    assert_eq!(open.status, StatusCode::SEE_OTHER);
    assert_eq!(open.location(), format!("/cases/{number}"));
    let by_phone = browser.get("/?q=8000").await;
    by_phone.assert_contains(&number);
    assert!(!by_phone.body.contains(&other), "{}", by_phone.body);
    let by_name = browser.get(&format!("/?q={}", encode("李四"))).await;
    by_name.assert_contains(&other);
    assert!(!by_name.body.contains(&format!(">{number}<")));
}

// ---------------------------------------------------------------------------------------------
// Dashboard and administration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_dashboard_counts_the_subtree_and_draws_the_weeks() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller.register(&[]).await;
    // Three working days later the reply is overdue.
    app.clock.advance(SignedDuration::from_hours(24 * 3));
    let head = Browser::new(&app);
    head.log_in("branch_head").await;
    let page = head.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("主管看板");
    page.assert_contains("北京海淀支行及下级机构");
    page.assert_contains("<svg class=\"chart\"");
    page.assert_contains("中关村营业网点");
    page.assert_contains(&number);
    page.assert_contains("已逾期");
    // The teller's workspace shows it overdue too (after logging in again: 3 days passed).
    teller.log_in("teller").await;
    let ws = teller.get("/").await;
    ws.assert_contains("row-overdue");
}

#[tokio::test]
async fn administration_is_for_administrators_and_shows_policy_errors_inline() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    assert_eq!(teller.get("/admin").await.status, StatusCode::FORBIDDEN);
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    let org = admin.get("/admin").await;
    org.assert_contains("北京海淀支行");
    admin
        .get("/admin/users")
        .await
        .assert_contains("上海柜员吴");
    admin
        .get("/admin/calendar?year=2026")
        .await
        .assert_contains("春节");
    let fixture = std::fs::read_to_string(format!(
        "{}/tests/fixtures/invalid-policy.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let before = app
        .store
        .policy_versions("default-complaint")
        .await
        .expect("versions")
        .len();
    let page = admin
        .post("/admin/policies", &[("op", "store"), ("source", &fixture)])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    page.assert_contains("未保存");
    page.assert_contains("class=\"marked\"");
    assert!(
        page.body.contains("行第"),
        "a line and column: {}",
        page.body
    );
    let after = app
        .store
        .policy_versions("default-complaint")
        .await
        .expect("versions")
        .len();
    assert_eq!(before, after, "nothing stored");
}

#[tokio::test]
async fn an_administrator_adds_and_moves_units_with_errors_inline() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    let org = admin.get("/admin").await;
    org.assert_contains("action=\"/admin/units\"");
    org.assert_contains("action=\"/admin/units/move\"");
    // Added under 海淀支行.
    let added = admin
        .post(
            "/admin/units",
            &[
                ("code", "BJHD02"),
                ("name", "上地营业网点"),
                ("level", "outlet"),
                ("parent", "BJHD"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    admin
        .get(added.location())
        .await
        .assert_contains("已新增机构 BJHD02");
    let unit = app
        .store
        .unit_by_code("BJHD02")
        .await
        .expect("store")
        .expect("added");
    let parent = app.store.unit_by_code("BJHD").await.expect("store");
    assert_eq!(unit.parent_id, parent.map(|p| p.id));
    // A duplicate code and an unknown parent: beside their fields, what was typed kept.
    let dup = admin
        .post(
            "/admin/units",
            &[
                ("code", "BJHD02"),
                ("name", "重复"),
                ("level", "outlet"),
                ("parent", "BJHD"),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&dup.body, "ua-code"), "此代码已被其他机构使用");
    dup.assert_contains("value=\"重复\"");
    let orphan = admin
        .post(
            "/admin/units",
            &[
                ("code", "XX01"),
                ("name", "无处"),
                ("level", "outlet"),
                ("parent", "NOPE"),
            ],
        )
        .await;
    assert_eq!(orphan.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&orphan.body, "ua-parent"), "上级机构不存在");
    let empty = admin.post("/admin/units", &[("code", "")]).await;
    assert_eq!(field_error(&empty.body, "ua-name"), "请填写此项");
    // A move into its own subtree is refused; a move elsewhere works.
    let cycle = admin
        .post("/admin/units/move", &[("unit", "BJ"), ("parent", "BJHD01")])
        .await;
    assert_eq!(cycle.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&cycle.body, "um-parent"),
        "不能调整到它自己或它的下级机构之下"
    );
    let unknown = admin
        .post("/admin/units/move", &[("unit", "NOPE"), ("parent", "SH")])
        .await;
    assert_eq!(field_error(&unknown.body, "um-unit"), "机构不存在");
    let moved = admin
        .post("/admin/units/move", &[("unit", "BJHD02"), ("parent", "SH")])
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let unit = app
        .store
        .unit_by_code("BJHD02")
        .await
        .expect("store")
        .expect("still there");
    let sh = app.store.unit_by_code("SH").await.expect("store");
    assert_eq!(unit.parent_id, sh.map(|p| p.id));
    // Not for tellers.
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let refused = teller
        .post("/admin/units/move", &[("unit", "BJHD01"), ("parent", "SH")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_administrator_adds_a_user_who_can_log_in() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    admin
        .get("/admin/users")
        .await
        .assert_contains("action=\"/admin/users\"");
    let bad = admin
        .post(
            "/admin/users",
            &[
                ("login", "teller"),
                ("name", "重名"),
                ("unit", "BJHD01"),
                ("role", "teller"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&bad.body, "nu-password"), "密码至少 8 个字符");
    let dup = admin
        .post(
            "/admin/users",
            &[
                ("login", "teller"),
                ("name", "重名"),
                ("unit", "BJHD01"),
                ("role", "teller"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(field_error(&dup.body, "nu-login"), "此用户名已被使用");
    dup.assert_contains("value=\"重名\"");
    let no_role = admin
        .post(
            "/admin/users",
            &[
                ("login", "new.teller"),
                ("name", "新柜员"),
                ("unit", "NOPE"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(field_error(&no_role.body, "nu-roles"), "请至少选择一个角色");
    let added = admin
        .post(
            "/admin/users",
            &[
                ("login", "new.teller"),
                ("name", "新柜员"),
                ("unit", "SH01"),
                ("role", "teller"),
                ("role", "frontline"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let list = admin.get(added.location()).await;
    list.assert_contains("已新增用户 new.teller");
    list.assert_contains("新柜员");
    let created = app
        .store
        .user_by_login("new.teller")
        .await
        .expect("store")
        .expect("added");
    assert_eq!(created.unit_code, "SH01");
    assert_eq!(created.roles, vec!["frontline", "teller"]);
    let newcomer = Browser::new(&app);
    newcomer.get("/login").await;
    let login = newcomer
        .post(
            "/login",
            &[
                ("login", "new.teller"),
                ("password", "long enough"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
}

#[tokio::test]
async fn an_administrator_stores_and_activates_a_policy_version() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    admin.get("/admin/policies").await;
    let source = shipped_policy("default-complaint.toml").replace(
        "title = \"通用客户投诉处理流程\"",
        "title = \"通用客户投诉处理流程（修订）\"",
    );
    let checked = admin
        .post("/admin/policies", &[("op", "check"), ("source", &source)])
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    checked.assert_contains("检查通过");
    let stored = admin
        .post("/admin/policies", &[("op", "store"), ("source", &source)])
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    stored.assert_contains("已保存 default-complaint 第 2 版");
    stored.assert_contains("/admin/policies/default-complaint/versions/2/activate");
    let activated = admin
        .post("/admin/policies/default-complaint/versions/2/activate", &[])
        .await;
    assert_eq!(activated.status, StatusCode::SEE_OTHER);
    admin
        .get(activated.location())
        .await
        .assert_contains("已启用 default-complaint 第 2 版");
    let active = app
        .store
        .active_policy("default-complaint")
        .await
        .expect("store")
        .expect("active");
    assert_eq!(active.version, 2);
}

#[tokio::test]
async fn an_administrator_compares_two_policy_versions() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    admin.get("/admin/policies").await;
    let source = shipped_policy("default-complaint.toml").replace(
        "title = \"通用客户投诉处理流程\"",
        "title = \"通用客户投诉处理流程（修订）\"",
    );
    let stored = admin
        .post("/admin/policies", &[("op", "store"), ("source", &source)])
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    let list = admin.get("/admin/policies").await;
    list.assert_contains("action=\"/admin/policies/default-complaint/compare\"");
    list.assert_contains("/admin/policies/default-complaint/compare?from=1&amp;to=2");
    let page = admin
        .get("/admin/policies/default-complaint/compare?from=1&to=2")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("default-complaint：第 1 版 → 第 2 版");
    page.assert_contains("新增 1 行，删除 1 行");
    page.assert_contains("<tr class=\"del\">");
    page.assert_contains("<tr class=\"add\">");
    page.assert_contains("通用客户投诉处理流程（修订）");
    page.assert_contains("行未改动");
    // Version 1 is the active one.
    let from_side = page.body.find("<span class=\"tag\">v1</span>").expect("v1");
    let to_side = page.body.find("<span class=\"tag\">v2</span>").expect("v2");
    let active = page.body[from_side..].find("启用中").expect("active tag") + from_side;
    assert!(active < to_side, "v1 is marked active, not v2");
    // The same version: nothing to show; an unknown one: 404.
    admin
        .get("/admin/policies/default-complaint/compare?from=2&to=2")
        .await
        .assert_contains("两个版本内容相同");
    let missing = admin
        .get("/admin/policies/default-complaint/compare?from=1&to=9")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_calendar_page_shows_a_units_effective_calendar() {
    let app = spawn_app(false).await;
    app.store
        .set_unit_calendar(
            "BJ",
            Some(serde_json::json!({
                "closures": ["2026-12-24"],
                "extra_workdays": ["2026-12-26"],
                "business_hours": {
                    "monday": ["09:00-12:00", "13:30-17:30"],
                    "tuesday": ["09:00-17:00"],
                    "wednesday": ["09:00-17:00"],
                    "thursday": ["09:00-17:00"],
                    "friday": ["09:00-17:00"]
                }
            })),
            START.parse().expect("an instant"),
        )
        .await
        .expect("set the unit calendar");
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    let official = admin.get("/admin/calendar?year=2026").await;
    official.assert_contains("<select id=\"cal-unit\" name=\"unit\">");
    assert!(!official.body.contains("本机构停业日"), "no unit chosen");
    // An outlet under 北京分行 inherits its closure, extra day and hours.
    let page = admin.get("/admin/calendar?year=2026&unit=BJHD01").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("中关村营业网点 的有效日历");
    page.assert_contains("本机构无自行设置，沿用上级机构");
    page.assert_contains("title=\"2026-12-24 本机构停业日\"");
    page.assert_contains("title=\"2026-12-26 本机构加班日\"");
    page.assert_contains("09:00-12:00，13:30-17:30");
    page.assert_contains("unit=BJHD01");
    admin
        .get("/admin/calendar?year=2026&unit=BJ")
        .await
        .assert_contains("本机构有自行设置");
    admin
        .get("/admin/calendar?year=2026&unit=SH")
        .await
        .assert_contains("无任何调整");
    let missing = admin.get("/admin/calendar?unit=NOPE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// The customers' pages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_customer_submits_a_complaint_and_follows_it() {
    let app = spawn_app(true).await;
    let customer = Browser::new(&app);
    let form = customer.get("/public/complaint").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    form.assert_contains("在线投诉");
    form.assert_contains("投诉人姓名");
    assert!(!form.body.contains("身份证号码"), "only what is required");
    let idem = form.input_value("idem").expect("idem");
    let fields = [
        ("policy", "default-complaint"),
        ("kind", "complaint"),
        ("idem", idem.as_str()),
        ("f.complainant_name", "赵女士"),
        ("f.contact_phone", "13700001234"),
        ("f.matter", "网点无障碍通道被杂物堵塞。"),
        ("f.customer_demand", "要求立即清理。"),
    ];
    let done = customer.post("/public/complaint", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let number = done
        .location()
        .trim_start_matches("/public/complaint/done?number=")
        .to_owned();
    customer.get(done.location()).await.assert_contains(&number);
    let record = app
        .store
        .case_by_number(&number)
        .await
        .expect("store")
        .expect("the case");
    assert_eq!(record.channel, "web");

    let found = customer
        .post("/public/track", &[("number", &number), ("last4", "1234")])
        .await;
    assert_eq!(found.status, StatusCode::OK);
    found.assert_contains("已登记");
    found.assert_contains("2026-03-10");
    assert!(!found.body.contains("赵女士"), "no personal data");
    assert!(!found.body.contains("13700001234"));
    let wrong = customer
        .post("/public/track", &[("number", &number), ("last4", "9999")])
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    wrong.assert_contains("没有找到匹配的案件");
}

#[tokio::test]
async fn a_customer_attaches_a_file_to_the_public_complaint() {
    let app = spawn_app(true).await;
    let customer = Browser::new(&app);
    let form = customer.get("/public/complaint").await;
    form.assert_contains("enctype=\"multipart/form-data\"");
    form.assert_contains("附件（可选");
    let idem = form.input_value("idem").expect("idem");
    let fields = [
        ("policy", "default-complaint"),
        ("kind", "complaint"),
        ("idem", idem.as_str()),
        ("f.complainant_name", "孙女士"),
        ("f.contact_phone", "13600004321"),
        ("f.matter", "转账未到账，柜台说查不到。"),
        ("f.customer_demand", "要求查明去向。"),
    ];

    // A file of a refused type: said beside the field, the values kept, no case opened.
    let html: &[u8] = b"<script>alert(1)</script>";
    let refused = customer
        .post_multipart(
            "/public/complaint",
            true,
            &fields,
            Some(("a.html", "text/html", html)),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        refused.body
    );
    refused.assert_contains("id=\"file-error\"");
    refused.assert_contains("不支持此文件类型");
    refused.assert_contains("孙女士");
    refused.assert_contains("转账未到账，柜台说查不到。");
    assert_eq!(refused.input_value("idem").as_deref(), Some(idem.as_str()));
    assert_eq!(case_count(&app.store).await, 0);

    // Bytes that do not match the type claimed are refused too.
    let fake: &[u8] = b"not a png";
    let fake = customer
        .post_multipart(
            "/public/complaint",
            true,
            &fields,
            Some(("r.png", "image/png", fake)),
        )
        .await;
    assert_eq!(fake.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(case_count(&app.store).await, 0);

    // Without the CSRF token nothing is registered.
    let forged = customer
        .post_multipart("/public/complaint", false, &fields, None)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(case_count(&app.store).await, 0);

    // A PNG: the case is registered with the file, uploaded by the customer (no user).
    let png: &[u8] = b"\x89PNG\r\n\x1a\nrest of the image";
    let done = customer
        .post_multipart(
            "/public/complaint",
            true,
            &fields,
            Some(("回单.png", "image/png", png)),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let number = done
        .location()
        .trim_start_matches("/public/complaint/done?number=")
        .to_owned();
    let record = app
        .store
        .case_by_number(&number)
        .await
        .expect("store")
        .expect("the case");
    let files = app
        .store
        .case_attachments(record.id)
        .await
        .expect("attachments");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, "回单.png");
    assert_eq!(files[0].content_type, "image/png");
    assert_eq!(files[0].uploaded_by, None, "uploaded by the customer");

    // The file input left empty: the complaint alone.
    let form = customer.get("/public/complaint").await;
    let idem = form.input_value("idem").expect("idem");
    let mut plain = fields;
    plain[2] = ("idem", idem.as_str());
    // Every submission with a phone counts towards its daily limit, refused ones too.
    plain[4] = ("f.contact_phone", "13600008765");
    let done = customer
        .post_multipart("/public/complaint", true, &plain, None)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let number = done
        .location()
        .trim_start_matches("/public/complaint/done?number=")
        .to_owned();
    let record = app
        .store
        .case_by_number(&number)
        .await
        .expect("store")
        .expect("the case");
    let files = app
        .store
        .case_attachments(record.id)
        .await
        .expect("attachments");
    assert!(files.is_empty());
}

#[tokio::test]
async fn the_customers_page_limits_complaints_per_phone() {
    let app = spawn_app(true).await;
    let customer = Browser::new(&app);
    for i in 0..4 {
        let form = customer.get("/public/complaint").await;
        let idem = form.input_value("idem").expect("idem");
        let matter = format!("第 {i} 次反映：排队时间过长。");
        let fields = [
            ("policy", "default-complaint"),
            ("kind", "complaint"),
            ("idem", idem.as_str()),
            ("f.complainant_name", "钱先生"),
            ("f.contact_phone", "139 0000 5678"),
            ("f.matter", matter.as_str()),
            ("f.customer_demand", "要求改进。"),
        ];
        let page = customer.post("/public/complaint", &fields).await;
        if i < 3 {
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        } else {
            assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
            page.assert_contains("该电话号码今日提交次数已达上限");
        }
    }
    assert_eq!(case_count(&app.store).await, 3);
}

#[tokio::test]
async fn without_an_intake_user_the_customers_page_says_it_is_not_available() {
    let app = spawn_app(false).await;
    let page = Browser::new(&app).get("/public/complaint").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    page.assert_contains("在线投诉暂未开通");
}

#[tokio::test]
async fn assets_are_served_from_the_binary_with_a_long_cache() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    let htmx = browser.get("/assets/htmx.min.js").await;
    assert_eq!(htmx.status, StatusCode::OK);
    assert!(htmx.body.contains("htmx"));
    assert_eq!(
        htmx.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        browser.get("/assets/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_case_page_records_a_callback_and_shows_a_refused_waiver_with_its_clause() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller.register(&[]).await;
    let actions = format!("/cases/{number}/actions");
    for form in [
        vec![
            ("action", "assess"),
            ("f.category", "attitude"),
            ("f.severity", "normal"),
            ("f.validity", "valid"),
        ],
        vec![
            ("action", "resolve_on_spot"),
            ("f.reply_content", "当场致歉"),
            ("f.reply_channel", "in_person"),
        ],
    ] {
        let done = teller.post(&actions, &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    // The teller resolved it: no callback forms for them.
    let page = teller.get(&format!("/cases/{number}")).await;
    page.assert_contains("待回访");
    assert!(!page.body.contains("id=\"callback-verdict\""));

    let service = Browser::new(&app);
    service.log_in("branch_head").await;
    let page = service.get(&format!("/cases/{number}")).await;
    page.assert_contains("id=\"callback-verdict\"");
    let path = format!("/cases/{number}/callback");
    let refused = service
        .post(&path, &[("op", "waive"), ("reason", "")])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    refused.assert_contains("依据：CLAUSES §3.2");
    refused.assert_contains("必须填写理由");

    let done = service
        .post(
            &path,
            &[
                ("op", "verdict"),
                ("verdict", "basically_satisfied"),
                ("channel", "phone"),
                ("note", "客户认可"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = service.get(done.location()).await;
    page.assert_contains("回访结论已记录");
    page.assert_contains("基本满意");
    page.assert_contains("已回访");
    page.assert_contains("id=\"action-close\"");
}

#[tokio::test]
async fn the_survey_page_takes_one_answer_on_a_phone_without_login() {
    let app = spawn_app(false).await;
    let staff = Browser::new(&app);
    staff.log_in("teller").await;
    let number = staff.register(&[]).await;
    let case = app
        .store
        .case_by_number(&number)
        .await
        .expect("store")
        .expect("case");
    let token = "ab".repeat(32);
    let now = manyi_core::clock::Clock::now(&app.clock);
    app.store
        .insert_survey(manyi_store::NewSurvey {
            token_hash: manyi_server::auth::token_hash(&token),
            case_id: case.id,
            kind: "complaint".into(),
            unit_id: case.owner_unit_id,
            handler_id: case.assignee_id,
            category: None,
            issued_by: None,
            issued_at: now,
            expires_at: now + SignedDuration::from_hours(24),
        })
        .await
        .expect("issue");

    let customer = Browser::new(&app);
    let path = format!("/public/survey/{token}");
    let page = customer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("客户满意度调查");
    page.assert_contains("name=\"viewport\"");
    page.assert_contains("1 分为非常不满意");
    page.assert_contains(&number);

    // A missing required answer keeps what was typed and says which question.
    let missing = customer
        .post(&path, &[("q.overall", "4"), ("q.comment", "态度很好")])
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    missing.assert_contains("请回答“处理是否及时”");
    missing.assert_contains("态度很好</textarea>");

    let done = customer
        .post(&path, &[("q.overall", "4"), ("q.timeliness", "timely")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    done.assert_contains("感谢您的评价");
    let again = customer
        .post(&path, &[("q.overall", "1"), ("q.timeliness", "slow")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    again.assert_contains("每个链接只能提交一次");

    // Without the CSRF token the form is refused; a forged link is not found.
    let no_csrf = customer
        .send(Method::POST, &path, Some(&[("q.overall", "5")]))
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let forged = customer
        .get(&format!("/public/survey/{}", "cd".repeat(32)))
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
}

/// The answering page says whom the link is for: the complainant, or the person complained
/// about (lawfirm-complaint 三(二)(三)); without their own questions in the policy the latter
/// answers the common ones.
#[tokio::test]
async fn the_survey_page_says_which_party_the_link_is_for() {
    let app = spawn_app(false).await;
    let staff = Browser::new(&app);
    staff.log_in("teller").await;
    let number = staff.register(&[]).await;
    let case = app
        .store
        .case_by_number(&number)
        .await
        .expect("store")
        .expect("case");
    let now = manyi_core::clock::Clock::now(&app.clock);
    for (token, subject) in [("ef".repeat(32), false), ("12".repeat(32), true)] {
        let hash = manyi_server::auth::token_hash(&token);
        if subject {
            app.store
                .record_survey_party(&hash, manyi_store::SUBJECT)
                .await
                .expect("party");
        }
        app.store
            .insert_survey(manyi_store::NewSurvey {
                token_hash: hash,
                case_id: case.id,
                kind: "complaint".into(),
                unit_id: case.owner_unit_id,
                handler_id: case.assignee_id,
                category: None,
                issued_by: None,
                issued_at: now,
                expires_at: now + SignedDuration::from_hours(24),
            })
            .await
            .expect("issue");
    }
    let visitor = Browser::new(&app);
    let page = visitor
        .get(&format!("/public/survey/{}", "ef".repeat(32)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("本问卷面向：投诉人");
    let page = visitor
        .get(&format!("/public/survey/{}", "12".repeat(32)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("本问卷面向：被投诉人");
    assert!(!page.body.contains("本问卷面向：投诉人"), "{}", page.body);
    // The policy gives the person complained about no questions of their own: the common ones.
    page.assert_contains("name=\"q.overall\"");
}

#[tokio::test]
async fn a_recused_persons_attempt_shows_on_the_case_page_with_its_clause_and_whom_it_names() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller.register(&[]).await;
    let path = format!("/cases/{number}/actions");
    // The teller's assessment names the outlet head as the person complained about.
    let assessed = teller
        .post(
            &path,
            &[
                ("action", "assess"),
                ("f.category", "attitude"),
                ("f.severity", "normal"),
                ("f.validity", "valid"),
                ("f.subject_person", "outlet_head"),
            ],
        )
        .await;
    assert_eq!(assessed.status, StatusCode::SEE_OTHER, "{}", assessed.body);
    let before = teller.get(&format!("/cases/{number}")).await;
    before.assert_contains("违规与处罚");
    before.assert_contains("本案没有记录违规。");
    // The person complained about tries to hand it up: refused (回避), and logged.
    let head = Browser::new(&app);
    head.log_in("outlet_head").await;
    let refused = head.post(&path, &[("action", "hand_up")]).await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
    refused.assert_contains("依据：CLAUSES A26");
    let page = teller.get(&format!("/cases/{number}")).await;
    page.assert_contains("应回避人员试图办理");
    page.assert_contains("CLAUSES A26");
    page.assert_contains("网点主任李");
}

// ---------------------------------------------------------------------------------------------
// Notes and attachments
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_internal_note_goes_on_the_timeline_and_an_empty_one_is_refused_beside_the_field() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let number = browser.register(&[]).await;
    let path = format!("/cases/{number}/notes");
    let empty = browser.post(&path, &[("note", "   ")]).await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    empty.assert_contains("请填写备注");
    let too_long = "长".repeat(4001);
    let long = browser.post(&path, &[("note", &too_long)]).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    long.assert_contains(&format!("{too_long}</textarea>"));

    let done = browser
        .post(&path, &[("note", "客户来电补充：<b>柜台</b>排队四十分钟")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(done.location()).await;
    page.assert_contains("备注已添加");
    page.assert_contains("内部备注");
    page.assert_contains("客户来电补充：&lt;b&gt;柜台&lt;&#x2f;b&gt;排队四十分钟");
    let other = Browser::new(&app);
    other.log_in("sh_teller").await;
    let hidden = other.post(&path, &[("note", "x")]).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_attachment_is_uploaded_listed_and_downloaded_only_as_a_file() {
    let app = spawn_app(false).await;
    let browser = Browser::new(&app);
    browser.log_in("teller").await;
    let number = browser.register(&[]).await;
    browser.get(&format!("/cases/{number}")).await;
    let path = format!("/cases/{number}/attachments");
    let png = b"\x89PNG\r\n\x1a\nnot really an image";
    let done = browser.upload(&path, "回单.png", "image/png", png).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = browser.get(done.location()).await;
    page.assert_contains("附件已上传：回单.png");
    page.assert_contains(">回单.png</a>");
    let body = unescape(&page.body);
    let href_start = body.find("/attachments/").expect("a link");
    let id: String = body[href_start + "/attachments/".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let file = browser.get(&format!("{path}/{id}")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers["content-type"], "image/png");
    assert_eq!(file.headers["x-content-type-options"], "nosniff");
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment;"),
        "{:?}",
        file.headers
    );
    assert_eq!(
        file.body,
        String::from_utf8_lossy(png),
        "the bytes as uploaded"
    );

    // HTML is refused (a browser would run it), as are bytes that are not what they claim.
    let html = browser
        .upload(&path, "x.html", "text/html", b"<script>alert(1)</script>")
        .await;
    assert_eq!(
        html.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        html.body
    );
    html.assert_contains("不支持此文件类型");
    let fake = browser.upload(&path, "x.png", "image/png", b"<svg/>").await;
    assert_eq!(fake.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let none = browser
        .upload(&path, "", "application/octet-stream", b"")
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    none.assert_contains("请选择文件");

    // Outside the jurisdiction: 404 for the list, the file and the upload alike.
    let other = Browser::new(&app);
    other.log_in("sh_teller").await;
    assert_eq!(
        other.get(&format!("{path}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let up = other.upload(&path, "a.txt", "text/plain", b"hi").await;
    assert_eq!(up.status, StatusCode::NOT_FOUND);
    // An upload without the CSRF token is refused.
    browser
        .cookies
        .lock()
        .expect("cookies")
        .remove("manyi_csrf");
    let forged = browser.upload(&path, "a.txt", "text/plain", b"hi").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

// ---------------------------------------------------------------------------------------------
// Administration upkeep: sessions on a password change, users, units, unit calendars
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_keeps_this_one() {
    let app = spawn_app(false).await;
    let here = Browser::new(&app);
    here.log_in("teller").await;
    let elsewhere = Browser::new(&app);
    elsewhere.log_in("teller").await;
    here.get("/account/password").await;
    let done = here
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a brand new password"),
                ("confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    done.assert_contains("其他设备上的登录已退出");
    assert_eq!(here.get("/").await.status, StatusCode::OK);
    let gone = elsewhere.get("/").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(gone.location().starts_with("/login"), "{}", gone.location());
}

#[tokio::test]
async fn an_administrator_edits_and_disables_a_user_who_then_cannot_log_in() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    let form = admin.get("/admin/users/teller").await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_contains("value=\"柜员小王\"");
    let bad = admin
        .post("/admin/users/teller", &[("name", ""), ("unit", "BJHD01")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&bad.body, "eu-name"), "请填写此项");
    let saved = admin
        .post(
            "/admin/users/teller",
            &[
                ("name", "柜员王小二"),
                ("unit", "BJHD01"),
                ("role", "teller"),
                ("role", "frontline"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    admin
        .get(saved.location())
        .await
        .assert_contains("用户 teller 已更新");

    let off = admin.post("/admin/users/teller/disable", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let list = admin.get(off.location()).await;
    list.assert_contains("已停用");
    // The session already open stops working, and a new log-in fails like a wrong password.
    assert_eq!(teller.get("/").await.status, StatusCode::SEE_OTHER);
    let again = Browser::new(&app);
    again.get("/login").await;
    let refused = again
        .post(
            "/login",
            &[("login", "teller"), ("password", PASSWORD), ("next", "/")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nobody disables themselves.
    let myself = admin.post("/admin/users/admin/disable", &[]).await;
    assert_eq!(myself.status, StatusCode::CONFLICT);
    myself.assert_contains("不能停用自己的账号");
    let on = admin.post("/admin/users/teller/enable", &[]).await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    again.log_in("teller").await;
}

#[tokio::test]
async fn only_an_empty_unit_is_removed_and_the_refusal_says_why() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    admin.get("/admin").await;
    let refused = admin.post("/admin/units/BJHD/remove", &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    refused.assert_contains("只能删除空机构：该机构还有1 个下级机构、1 名用户");
    let added = admin
        .post(
            "/admin/units",
            &[
                ("code", "EMPTY"),
                ("name", "空网点"),
                ("level", "outlet"),
                ("parent", "BJHD"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let removed = admin.post("/admin/units/EMPTY/remove", &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let page = admin.get(removed.location()).await;
    page.assert_contains("机构 EMPTY 已删除");
    assert!(!page.body.contains("空网点"));
}

#[tokio::test]
async fn an_administrator_edits_a_units_calendar_with_errors_beside_the_fields() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    let page = admin.get("/admin/calendar?unit=BJHD01&year=2026").await;
    page.assert_contains("编辑本机构日历");
    let bad = admin
        .post(
            "/admin/calendar/BJHD01",
            &[
                ("year", "2026"),
                ("closures", "2026-03-12\n2026-13-01"),
                ("extra_workdays", "2026-03-14"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    bad.assert_contains("“2026-13-01”不是有效日期");
    bad.assert_contains("2026-03-12\n2026-13-01</textarea>");
    let saved = admin
        .post(
            "/admin/calendar/BJHD01",
            &[
                ("year", "2026"),
                ("closures", "2026-03-12"),
                ("extra_workdays", "2026-03-14"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = admin.get(saved.location()).await;
    page.assert_contains("的日历已保存");
    page.assert_contains("<span class=\"tag\">2026-03-12</span>");
    let stored = app
        .store
        .unit_calendars()
        .await
        .expect("calendars")
        .into_iter()
        .map(|(_, json)| json)
        .collect::<Vec<_>>();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["closures"][0], "2026-03-12");
}

#[tokio::test]
async fn the_dashboard_shows_on_time_rates_by_level_and_category_a_monthly_trend_and_the_ledger() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    teller.register(&[]).await;
    app.clock.advance(SignedDuration::from_hours(24 * 3));
    let head = Browser::new(&app);
    head.log_in("branch_head").await;
    let page = head.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("近 12 个月新增案件");
    page.assert_contains("id=\"rate-by-level\"");
    // By category the rates read the monthly aggregate, which counts a case late once its
    // breach is recorded (the scheduler does it at the deadline); here nobody ran it yet.
    page.assert_contains("id=\"rate-by-category\"");
    // The one case is past its deadline: 0 % on time.
    let rates = &page.body[page.body.find("rate-by-level").expect("table")..];
    assert!(rates.contains(">0%<"), "{rates}");
    page.assert_contains("违规与处罚台账");
    let body = unescape(&page.body);
    assert!(
        body.contains("/api/v1/penalties.csv?unit=BJHD"),
        "a CSV link scoped to the unit"
    );
    // The CSV export answers the same session.
    let csv = head.get("/api/v1/penalties.csv?unit=BJHD").await;
    assert_eq!(csv.status, StatusCode::OK);
    // A bad filter is said on the page, what was typed kept.
    let bad = head.get("/dashboard?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::OK);
    bad.assert_contains("筛选条件有误");
    bad.assert_contains("value=\"yesterday\"");
}

#[tokio::test]
async fn a_users_language_is_kept_on_the_user_and_follows_them_to_another_browser() {
    let app = spawn_app(false).await;
    let first = Browser::new(&app);
    first.log_in("teller").await;
    first
        .get("/")
        .await
        .assert_contains("action=\"/account/lang\"");
    let switched = first
        .post("/account/lang", &[("to", "en"), ("back", "/dashboard")])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER, "{}", switched.body);
    assert_eq!(switched.location(), "/dashboard");
    // Another browser, Chinese by its cookie, shows English once this user is signed in.
    let second = Browser::new(&app);
    second.set_cookie("lang", "zh-CN");
    second.log_in("teller").await;
    let page = second.get("/").await;
    page.assert_contains("<html lang=\"en\">");
    // A form without the CSRF token does not change it.
    let forged = second
        .send(Method::POST, "/account/lang", Some(&[("to", "zh-CN")]))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_public_rate_limits_are_counted_in_the_database_shared_by_every_instance() {
    let app = spawn_app(true).await;
    // Another instance already took this phone's three complaints today (the same rows).
    let bucket = format!(
        "complaint-phone:{}",
        manyi_server::auth::token_hash("13900005678")
    );
    let day_start: jiff::Timestamp = "2026-03-10T00:00:00Z".parse().expect("instant");
    for _ in 0..3 {
        app.store
            .rate_limit_hit(&bucket, day_start, day_start)
            .await
            .expect("hit");
    }
    let customer = Browser::new(&app);
    let form = customer.get("/public/complaint").await;
    let idem = form.input_value("idem").expect("idem");
    let fields = [
        ("policy", "default-complaint"),
        ("kind", "complaint"),
        ("idem", idem.as_str()),
        ("f.complainant_name", "钱先生"),
        ("f.contact_phone", "139 0000 5678"),
        ("f.matter", "排队时间过长。"),
        ("f.customer_demand", "要求改进。"),
    ];
    let page = customer.post("/public/complaint", &fields).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert_eq!(case_count(&app.store).await, 0);
    // The next day is a new window.
    app.clock.advance(SignedDuration::from_hours(24));
    let form = customer.get("/public/complaint").await;
    let idem = form.input_value("idem").expect("idem");
    let mut fields = fields;
    fields[2].1 = idem.as_str();
    let page = customer.post("/public/complaint", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn quick_find_searches_the_jurisdiction_on_the_server_and_nothing_outside_it() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller
        .register(&[
            ("f.complainant_name", "欧阳娜娜"),
            ("f.contact_phone", "13611112222"),
        ])
        .await;
    let head = Browser::new(&app);
    head.log_in("branch_head").await;
    let found = head.get("/?q=2222").await;
    assert_eq!(found.status, StatusCode::OK);
    found.assert_contains("查找结果");
    let results = &found.body[found.body.find("h-found").expect("a results queue")..];
    assert!(results.contains(&number), "{results}");
    let by_name = head.get(&format!("/?q={}", encode("欧阳"))).await;
    by_name.assert_contains(&number);
    let outsider = Browser::new(&app);
    outsider.log_in("sh_teller").await;
    for q in ["2222", "欧阳"] {
        let page = outsider.get(&format!("/?q={}", encode(q))).await;
        page.assert_contains("查找结果");
        assert!(!page.body.contains(&number), "outside the jurisdiction");
    }
}

#[tokio::test]
async fn quick_find_finds_a_part_of_a_case_number_through_the_index_within_the_jurisdiction() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller
        .register(&[
            ("f.complainant_name", "上官婉儿"),
            ("f.contact_phone", "13622223333"),
        ])
        .await;
    // The index is complete (nothing to backfill in a new database): no scan.
    assert!(app.store.find_backfill().await.expect("progress").done);
    assert!(app.store.number_backfill().await.expect("progress").done());
    let chars: Vec<char> = number.chars().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    let middle: String = chars[2..chars.len() - 2].iter().collect();
    let head = Browser::new(&app);
    head.log_in("branch_head").await;
    for part in [tail.clone(), middle.to_lowercase()] {
        let page = head.get(&format!("/?q={}", encode(&part))).await;
        assert_eq!(page.status, StatusCode::OK);
        let results = found_queue(&page.body);
        assert!(results.contains(&number), "{part}: {results}");
    }
    // The whole number (in any case) still opens the case itself.
    let whole = head
        .get(&format!("/?q={}", encode(&number.to_lowercase())))
        .await;
    assert_eq!(whole.status, StatusCode::SEE_OTHER);
    // It is the index that answers (a scan would still find it): without the number's keys,
    // the same search finds nothing.
    app.store
        .raw_execute_for_tests("DELETE FROM case_find WHERE kind = 'number'")
        .await
        .expect("delete the number keys");
    let page = head.get(&format!("/?q={}", encode(&middle))).await;
    assert!(!found_queue(&page.body).contains(&number), "{}", page.body);
    let outsider = Browser::new(&app);
    outsider.log_in("sh_teller").await;
    let page = outsider.get(&format!("/?q={}", encode(&tail))).await;
    page.assert_contains("查找结果");
    assert!(!page.body.contains(&number), "outside the jurisdiction");
}

// ---------------------------------------------------------------------------------------------
// Survey results, the rewards ledger, business hours (issue 6, the pieces added last)
// ---------------------------------------------------------------------------------------------

/// Issues a survey for `number` and answers it as the customer would, through the public page.
async fn answer_survey(app: &TestApp, number: &str, token: &str, answers: &[(&str, &str)]) {
    let case = app
        .store
        .case_by_number(number)
        .await
        .expect("store")
        .expect("case");
    let now = manyi_core::clock::Clock::now(&app.clock);
    app.store
        .insert_survey(manyi_store::NewSurvey {
            token_hash: manyi_server::auth::token_hash(token),
            case_id: case.id,
            kind: "complaint".into(),
            unit_id: case.owner_unit_id,
            handler_id: case.assignee_id,
            category: None,
            issued_by: None,
            issued_at: now,
            expires_at: now + SignedDuration::from_hours(24),
        })
        .await
        .expect("issue");
    let customer = Browser::new(app);
    let path = format!("/public/survey/{token}");
    assert_eq!(customer.get(&path).await.status, StatusCode::OK);
    let done = customer.post(&path, answers).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

#[tokio::test]
async fn the_survey_results_page_shows_each_question_per_unit_within_the_readers_subtree() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let first = teller.register(&[]).await;
    let second = teller.register(&[("f.contact_phone", "13900139000")]).await;
    answer_survey(
        &app,
        &first,
        &"a1".repeat(32),
        &[("q.overall", "5"), ("q.timeliness", "timely")],
    )
    .await;
    answer_survey(
        &app,
        &second,
        &"b2".repeat(32),
        &[("q.overall", "2"), ("q.timeliness", "slow")],
    )
    .await;

    let head = Browser::new(&app);
    head.log_in("branch_head").await;
    let page = head.get("/surveys/results?by=unit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("满意度调查结果");
    page.assert_contains("href=\"/surveys/results\" aria-current=\"page\"");
    page.assert_contains("北京海淀支行及下级机构");
    let groups = &page.body[page.body.find("id=\"sr-groups\"").expect("overview")..];
    assert!(groups.contains("中关村营业网点"), "{groups}");
    // Two answers, 5 and 2: mean 3.50, one of two satisfied.
    assert!(groups.contains(">3.50<"), "{groups}");
    assert!(groups.contains(">50%<"), "{groups}");
    // The choice question, option by option: one 及时, no 基本及时, one 不及时.
    let timeliness = &page.body[page.body.find("id=\"q-timeliness\"").expect("question")..];
    assert!(
        timeliness.contains("<th scope=\"col\" class=\"n\">及时</th>"),
        "{timeliness}"
    );
    let row = &timeliness[timeliness.find("中关村营业网点").expect("unit row")..];
    let row: String = row[..row.find("</tr>").expect("row end")]
        .split_whitespace()
        .collect();
    assert!(
        row.contains(
            "<tdclass=\"n\">2</td><tdclass=\"n\">1</td><tdclass=\"n\">0</td><tdclass=\"n\">1</td>"
        ),
        "answered 2, then 1 / 0 / 1: {row}"
    );
    page.assert_contains("id=\"q-overall\"");
    page.assert_contains("文字意见可能含个人信息");

    // By party: both links went to the complainants (no link to a person complained about).
    let by_party = head.get("/surveys/results?by=party").await;
    assert_eq!(by_party.status, StatusCode::OK, "{}", by_party.body);
    by_party.assert_contains("调查对象");
    let groups = &by_party.body[by_party.body.find("id=\"sr-groups\"").expect("overview")..];
    assert!(
        groups.contains("投诉人") && !groups.contains("被投诉人") && groups.contains(">3.50<"),
        "{groups}"
    );

    // By party within each unit (`by2`), and a second grouping the same as the first refused.
    let both = head.get("/surveys/results?by=party&by2=unit").await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.body);
    both.assert_contains("调查对象 · 机构");
    let same = head.get("/surveys/results?by=party&by2=party").await;
    assert_eq!(
        same.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        same.body
    );
    assert!(
        field_error(&same.body, "sr-by2").contains("“party”不是可用的分组"),
        "{}",
        same.body
    );

    // Outside the period, nothing; a bad date is said beside its field, what was typed kept.
    let later = head.get("/surveys/results?from=2026-04-01").await;
    later.assert_contains("该期间没有已提交的调查");
    let bad = head.get("/surveys/results?from=2026-02-30&by=person").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        field_error(&bad.body, "sr-from").contains("“2026-02-30”不是有效日期"),
        "{}",
        bad.body
    );
    bad.assert_contains("value=\"2026-02-30\"");

    // Shanghai's teller sees none of Beijing's answers.
    let other = Browser::new(&app);
    other.log_in("sh_teller").await;
    let theirs = other.get("/surveys/results").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("中关村营业网点"), "{}", theirs.body);
    theirs.assert_contains("该期间没有已提交的调查");
}

#[tokio::test]
async fn a_reward_is_nominated_and_decided_on_the_ledger_page_with_refusals_beside_the_fields() {
    let app = spawn_app(false).await;
    let head = Browser::new(&app);
    head.log_in("outlet_head").await;
    let page = head.get("/rewards").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("奖励台账");
    let body = unescape(&page.body);
    assert!(
        body.contains("value=\"ccb-counter/advanced_worker\""),
        "{body}"
    );
    assert!(body.contains("href=\"/dashboard#ledger\""), "{body}");

    // Without a basis, and with both a person and a unit: each said beside its field.
    let empty = head
        .post(
            "/rewards",
            &[
                ("rule", "ccb-counter/advanced_worker"),
                ("period", "2026"),
                ("person", "teller"),
                ("basis", ""),
            ],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert!(
        !field_error(&empty.body, "rw-basis").is_empty(),
        "{}",
        empty.body
    );
    let both = head
        .post(
            "/rewards",
            &[
                ("rule", "ccb-counter/advanced_worker"),
                ("period", "26"),
                ("person", "teller"),
                ("unit", "BJHD01"),
                ("basis", "全年零投诉"),
            ],
        )
        .await;
    assert_eq!(
        both.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        both.body
    );
    assert!(
        field_error(&both.body, "rw-person").contains("个人或集体中的一个"),
        "{}",
        both.body
    );
    both.assert_contains("全年零投诉</textarea>");

    let done = head
        .post(
            "/rewards",
            &[
                ("rule", "ccb-counter/advanced_worker"),
                ("period", "2026"),
                ("person", "teller"),
                ("basis", "全年零投诉，客户表扬 12 次"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let listed = head.get(done.location()).await;
    listed.assert_contains("提名已记录");
    listed.assert_contains("柜员小王");
    listed.assert_contains("已提名");
    let row = &listed.body[listed.body.find("id=\"reward-").expect("a reward row")..];
    assert!(
        row[..row.find("</tr>").expect("row end")].contains("先进工作者"),
        "the award by its name: {row}"
    );
    let id = {
        let at = listed.body.find("id=\"reward-").expect("a reward row") + 11;
        listed.body[at..at + listed.body[at..].find('"').expect("id end")].to_owned()
    };

    // The outlet head may not decide it; the decider's amount must be inside 0–5000 yuan.
    let own = head
        .post(
            &format!("/rewards/{id}/decide"),
            &[("decision", "grant"), ("amount", "500"), ("reason", "同意")],
        )
        .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.body);
    own.assert_contains("只有柜面服务管理部门可以决定先进工作者");
    own.assert_contains("同意");
    let decider = Browser::new(&app);
    decider.log_in("branch_head").await;
    let too_much = decider
        .post(
            &format!("/rewards/{id}/decide"),
            &[
                ("decision", "grant"),
                ("amount", "6000"),
                ("reason", "同意"),
            ],
        )
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_error(&too_much.body, &format!("rw{id}-amount")).contains("超出规定范围"),
        "{}",
        too_much.body
    );
    let granted = decider
        .post(
            &format!("/rewards/{id}/decide"),
            &[
                ("decision", "grant"),
                ("amount", "800"),
                ("reason", "事迹属实"),
            ],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    let after = decider.get("/rewards?period=2026&status=granted").await;
    after.assert_contains("已授予");
    after.assert_contains("800.00");
    after.assert_contains("事迹属实");
    assert!(
        unescape(&after.body).contains("/api/v1/rewards.csv?period=2026&status=granted"),
        "the CSV link keeps the filters"
    );
    let csv = decider
        .get("/api/v1/rewards.csv?period=2026&status=granted")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("advanced_worker"), "{}", csv.body);

    // A teller may not nominate: said above the form, with the clause.
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let refused = teller
        .post(
            "/rewards",
            &[
                ("rule", "ccb-counter/advanced_team"),
                ("period", "2026"),
                ("unit", "BJHD01"),
                ("basis", "团队协作"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("第三十二条");
    // Shanghai sees none of Beijing's rewards.
    let sh = Browser::new(&app);
    sh.log_in("sh_teller").await;
    let theirs = sh.get("/rewards").await;
    assert!(!theirs.body.contains("柜员小王"), "{}", theirs.body);
}

#[tokio::test]
async fn an_administrator_sets_a_units_business_hours_with_errors_beside_each_day() {
    let app = spawn_app(false).await;
    let admin = Browser::new(&app);
    admin.log_in("admin").await;
    let page = admin.get("/admin/calendar?unit=BJHD01&year=2026").await;
    page.assert_contains("id=\"cal-hours_monday\"");
    page.assert_contains("id=\"cal-weekend_as\"");
    let lunch = "09:00-12:00, 13:30-17:30";
    let mut form = vec![
        ("year", "2026"),
        ("closures", ""),
        ("extra_workdays", ""),
        ("hours_monday", "09:00-12:00, 13:30-12:00"),
        ("hours_tuesday", "13:00-17:00, 09:00-12:00"),
        ("hours_wednesday", lunch),
        ("hours_thursday", lunch),
        ("hours_friday", ""),
        ("weekend_as", "tuesday"),
    ];
    let bad = admin.post("/admin/calendar/BJHD01", &form).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        field_error(&bad.body, "cal-hours_monday").contains("“13:30-12:00”不是有效的营业时段"),
        "{}",
        bad.body
    );
    assert!(
        field_error(&bad.body, "cal-hours_tuesday").contains("按时间先后排列且互不重叠"),
        "{}",
        bad.body
    );
    assert!(field_error(&bad.body, "cal-hours_wednesday").is_empty());
    bad.assert_contains("value=\"13:00-17:00, 09:00-12:00\"");
    assert!(
        app.store
            .unit_calendars()
            .await
            .expect("calendars")
            .is_empty(),
        "nothing saved"
    );

    form[3] = ("hours_monday", lunch);
    form[4] = ("hours_tuesday", "09:00-17:00");
    let saved = admin.post("/admin/calendar/BJHD01", &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = admin.get(saved.location()).await;
    page.assert_contains("09:00-12:00，13:30-17:30");
    // Friday left empty: closed; the form shows what is stored.
    page.assert_contains("不营业");
    page.assert_contains("<option value=\"tuesday\" selected>");
    let stored = app.store.unit_calendars().await.expect("calendars");
    let hours = &stored[0].1["business_hours"];
    assert_eq!(hours["monday"][1], "13:30-17:30");
    assert_eq!(hours["tuesday"][0], "09:00-17:00");
    assert_eq!(hours["friday"].as_array().map(Vec::len), Some(0));
    assert_eq!(hours["weekend_workday_as"], "tuesday");

    // All five days empty: the unit has no business hours any more.
    for slot in form.iter_mut().skip(3).take(5) {
        slot.1 = "";
    }
    let cleared = admin.post("/admin/calendar/BJHD01", &form).await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.body);
    assert!(
        app.store
            .unit_calendars()
            .await
            .expect("calendars")
            .is_empty(),
        "an empty overlay is removed"
    );
}

#[tokio::test]
async fn quick_find_scans_until_the_keys_are_backfilled_then_looks_phone_endings_up_in_the_index() {
    let app = spawn_app(false).await;
    let teller = Browser::new(&app);
    teller.log_in("teller").await;
    let number = teller
        .register(&[
            ("f.complainant_name", "司马小明"),
            ("f.contact_phone", "13700135555"),
        ])
        .await;
    // As if the case were stored before migration 0013: no keys, the backfill not done.
    app.store
        .raw_execute_for_tests("DELETE FROM case_find")
        .await
        .expect("delete keys");
    app.store
        .raw_execute_for_tests("UPDATE case_find_backfill SET done = 0, last_case_id = 0")
        .await
        .expect("reset the backfill");
    // The scan finds a run of digits anywhere in the phone.
    let scanned = teller.get("/?q=0013").await;
    assert!(
        found_queue(&scanned.body).contains(&number),
        "{}",
        scanned.body
    );

    let state = AppState::new(
        app.store.clone(),
        Arc::new(app.clock.clone()),
        ServerConfig::default(),
    );
    let examined = manyi_server::find::backfill(&state, 1)
        .await
        .expect("backfill");
    assert_eq!(examined, 1);
    assert!(app.store.find_backfill().await.expect("progress").done);

    // The index answers the end of the number and any part of the name, not a middle run.
    let by_end = teller.get("/?q=5555").await;
    let results = found_queue(&by_end.body);
    assert!(results.contains(&number), "{results}");
    let by_name = teller.get(&format!("/?q={}", encode("小明"))).await;
    by_name.assert_contains(&number);
    let middle = teller.get("/?q=0013").await;
    let results = found_queue(&middle.body);
    assert!(
        !results.contains(&number),
        "a middle run is not the end: {results}"
    );

    // The backfilled keys are the case's own.
    let case = app
        .store
        .case_by_number(&number)
        .await
        .expect("store")
        .expect("case");
    let keys: Vec<String> = app
        .store
        .find_cases(&manyi_store::FindQuery {
            kind: "name".into(),
            prefix: "小明".into(),
            visible_to: None,
            limit: 10,
        })
        .await
        .expect("find")
        .into_iter()
        .map(|c| c.number)
        .collect();
    assert_eq!(keys, vec![case.number]);
}

/// The quick-find results queue of a workspace page (up to the end of its section).
fn found_queue(body: &str) -> &str {
    let start = body.find("h-found").expect("a results queue");
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// An archived case is read-only: the conduct form (jinbi-property 第四条/第六条) is offered on
/// a closed case until it is archived, then no more, and a post is refused with 409 naming the
/// archive's clause. jinbi-property declares no archive; the test adds the CLAUSES §4.4
/// default (30 days after closing) to its complaints.
#[tokio::test]
async fn the_conduct_form_is_not_offered_on_an_archived_case() {
    let policy = shipped_policy("jinbi-property.toml")
        + "\n[kind.complaint.archive]\nafter = \"30 days\"\nreaders = [\"customer_service\"]\n\
           first_contact = true\nclause = \"CLAUSES A25\"\n";
    let app = spawn_app_with_texts(false, &[("jinbi-property.toml", policy)]).await;
    for (login, name, roles) in [
        ("duty", "当班小李", ["duty_staff"]),
        ("sup", "调度主管赵", ["dispatch_supervisor"]),
        ("cs", "客服部陈", ["customer_service"]),
    ] {
        app.store
            .insert_user(NewUser {
                login: login.into(),
                name: name.into(),
                unit_code: "BJHD01".into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: Some(password_hash()),
            })
            .await
            .expect("insert user");
    }
    let duty = Browser::new(&app);
    duty.log_in("duty").await;
    let form = duty
        .get("/cases/new?policy=jinbi-property&kind=complaint")
        .await;
    let idem = form.input_value("idem").expect("an idempotency key");
    let created = duty
        .post(
            "/cases/new",
            &[
                ("policy", "jinbi-property"),
                ("kind", "complaint"),
                ("idem", &idem),
                ("channel", "phone"),
                ("f.complainant", "李先生"),
                ("f.contact_phone", "13800138000"),
                ("f.matter", "楼上漏水"),
                ("f.location", "3栋101"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let number = number_of(created.location());
    let case_path = format!("/cases/{number}");
    let actions = format!("/cases/{number}/actions");
    let conduct = format!("/cases/{number}/conduct");
    let done = duty
        .post(
            &actions,
            &[
                ("action", "dispatch"),
                ("f.handling_department", "engineering"),
                ("f.reassured", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // The supervisor resolves; the customer-service department calls back (independent of
    // the handler, 第一条) and closes.
    let sup = Browser::new(&app);
    sup.log_in("sup").await;
    let done = sup
        .post(&actions, &[("action", "resolve"), ("f.result", "已修复")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let cs = Browser::new(&app);
    cs.log_in("cs").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let done = cs
        .post(
            &format!("/cases/{number}/callback"),
            &[
                ("op", "verdict"),
                ("verdict", "satisfied"),
                ("channel", "phone"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let done = cs.post(&actions, &[("action", "close")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // Closed, not archived yet: the form is offered.
    let page = cs.get(&case_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains(&format!("action=\"{conduct}\""));

    // 40 days on, archived: no form; a post anyway is refused naming the archive's clause.
    let now = manyi_core::clock::Clock::now(&app.clock);
    app.clock
        .set(now + jiff::SignedDuration::from_hours(40 * 24));
    let cs = Browser::new(&app);
    cs.log_in("cs").await;
    let page = cs.get(&case_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("CLAUSES A25");
    assert!(
        !page.body.contains(&format!("action=\"{conduct}\"")),
        "{}",
        page.body
    );
    let refused = cs
        .post(
            &conduct,
            &[
                ("type", "etiquette"),
                ("person", "duty"),
                ("description", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    refused.assert_contains("已归档");
    assert!(!refused.body.contains(&format!("action=\"{conduct}\"")));

    // Quick find by the phone's last digits: the archive's reader finds the case; the
    // supervisor, whom the archive does not admit (need-to-know, CLAUSES A25), gets the page
    // without it rather than a refusal of the whole answer.
    let found = cs.get("/?q=8000").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    found.assert_contains(&number);
    let sup = Browser::new(&app);
    sup.log_in("sup").await;
    let found = sup.get("/?q=8000").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(!found.body.contains(&number), "{}", found.body);
}

/// jinbi-property 第四条/第六条 on the case page: the customer-service department records an
/// etiquette breach against the on-duty person; it shows in the case's violations (with the
/// 附则's fines proposed) and on its timeline. Refused, naming the clause beside the field with
/// what was typed kept: oneself, a login nobody has, an empty description. The form is not
/// offered to a role no `[[conduct]]` type admits, and its post is refused with the clause.
#[tokio::test]
async fn conduct_is_recorded_on_the_case_page_and_a_refusal_names_its_clause() {
    let app = spawn_app_with(false, &["jinbi-property.toml"]).await;
    for (login, name, roles) in [
        ("duty", "当班小李", ["duty_staff"]),
        ("sup", "调度主管赵", ["dispatch_supervisor"]),
        ("cs", "客服部陈", ["customer_service"]),
    ] {
        app.store
            .insert_user(NewUser {
                login: login.into(),
                name: name.into(),
                unit_code: "BJHD01".into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: Some(password_hash()),
            })
            .await
            .expect("insert user");
    }
    let duty = Browser::new(&app);
    duty.log_in("duty").await;
    let form = duty
        .get("/cases/new?policy=jinbi-property&kind=complaint")
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let idem = form.input_value("idem").expect("an idempotency key");
    let created = duty
        .post(
            "/cases/new",
            &[
                ("policy", "jinbi-property"),
                ("kind", "complaint"),
                ("idem", &idem),
                ("channel", "phone"),
                ("f.complainant", "李先生"),
                ("f.contact_phone", "13800138000"),
                ("f.matter", "楼上漏水"),
                ("f.location", "3栋101"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let number = number_of(created.location());
    let case_path = format!("/cases/{number}");
    let path = format!("/cases/{number}/conduct");

    // The on-duty person's role records no conduct type: no form, and a post is refused.
    let page = duty.get(&case_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains(&format!("action=\"{path}\"")));
    let refused = duty
        .post(
            &path,
            &[
                ("type", "etiquette"),
                ("person", "cs"),
                ("description", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    refused.assert_contains("依据：第四条");
    refused.assert_contains("只有dispatch_supervisor、customer_service可以登记");

    let cs = Browser::new(&app);
    cs.log_in("cs").await;
    let page = cs.get(&case_path).await;
    page.assert_contains(&format!("action=\"{path}\""));
    page.assert_contains(
        "<option value=\"phone_language\">未按规定用语和标准接听电话（第六条）</option>",
    );
    page.assert_contains("<option value=\"duty\">当班小李</option>");

    // Oneself: beside the person field, with the clause; the description is kept.
    let own = cs
        .post(
            &path,
            &[
                ("type", "phone_language"),
                ("person", "cs"),
                ("description", "接听电话未报公司名称"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    own.assert_contains("id=\"conduct-person-error\" role=\"alert\">不能登记自己的违规行为 <span class=\"clause\">依据：第六条</span>");
    own.assert_contains("<option value=\"phone_language\" selected>");
    own.assert_contains("接听电话未报公司名称</textarea>");
    // A login nobody has.
    let nobody = cs
        .post(
            &path,
            &[
                ("type", "etiquette"),
                ("person", "ghost"),
                ("description", "x"),
            ],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    nobody.assert_contains("id=\"conduct-person-error\" role=\"alert\">person = ghost：没有此用户");
    // No description.
    let empty = cs
        .post(
            &path,
            &[
                ("type", "etiquette"),
                ("person", "duty"),
                ("description", "  "),
            ],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    empty.assert_contains("id=\"conduct-description-error\" role=\"alert\">description：必须说明违规事实 <span class=\"clause\">依据：第四条</span>");
    empty.assert_contains("name=\"person\" value=\"duty\"");
    assert!(!empty.body.contains("接待来访业主时态度生硬"));
    // Nothing was recorded by the refusals.
    let ledger = app
        .store
        .list_violations(&manyi_store::LedgerFilter::default())
        .await
        .expect("ledger");
    assert!(ledger.is_empty(), "{ledger:?}");

    let done = cs
        .post(
            &path,
            &[
                ("type", "etiquette_complaint"),
                ("person", "duty"),
                ("description", "接待来访业主时态度生硬，业主当场投诉。"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location(),
        format!("/cases/{number}?conduct=1#violations")
    );
    let page = cs.get(done.location()).await;
    page.assert_contains("违规已登记");
    // In the violations panel: the type, the clause, the person, what happened, the fines.
    page.assert_contains("<strong>行为违规（人工登记）</strong> <code>etiquette_complaint</code> <span class=\"clause\">第四条</span>");
    page.assert_contains("<dd>当班小李</dd>");
    page.assert_contains("<dd>接待来访业主时态度生硬，业主当场投诉。</dd>");
    page.assert_contains("当班小李 · 50.00 元 · 待决定");
    page.assert_contains("调度主管赵 · 20.00 元 · 待决定");
    // On the timeline: who recorded it, with the clause and the description.
    let timeline = page
        .body
        .split("id=\"h-timeline\"")
        .nth(1)
        .and_then(|t| t.split("col-side").next())
        .expect("the timeline");
    assert!(
        timeline.contains("· 客服部陈 <span class=\"clause\">第四条</span>")
            && timeline.contains("：接待来访业主时态度生硬，业主当场投诉。</p>"),
        "{timeline}"
    );
    // And in the ledger.
    let ledger = app
        .store
        .list_violations(&manyi_store::LedgerFilter::default())
        .await
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].kind, "conduct");
    assert_eq!(ledger[0].rule, "etiquette_complaint");
    assert_eq!(ledger[0].clause, "第四条");
}

/// Issue 5, `/conduct/new`: the dispatch supervisor's daily review records jinbi-property
/// 第四条 conduct with no complaint case. The form lists the policy's conduct types with their
/// clauses; a refusal comes back beside its field with the clause and what was typed kept; the
/// violation lands in the ledger with no case. A role no type admits is not linked to the form
/// and is refused it.
#[tokio::test]
async fn conduct_without_a_case_is_recorded_on_its_own_page() {
    let app = spawn_app_with(false, &["jinbi-property.toml"]).await;
    for (login, name, roles) in [
        ("duty", "当班小李", ["duty_staff"]),
        ("sup", "调度主管赵", ["dispatch_supervisor"]),
    ] {
        app.store
            .insert_user(NewUser {
                login: login.into(),
                name: name.into(),
                unit_code: "BJHD01".into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                password_hash: Some(password_hash()),
            })
            .await
            .expect("insert user");
    }
    // The on-duty person's role records no conduct type: no link, the page refuses.
    let duty = Browser::new(&app);
    duty.log_in("duty").await;
    let dash = duty.get("/dashboard").await;
    assert!(!dash.body.contains("href=\"/conduct/new\""));
    let page = duty.get("/conduct/new").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    page.assert_contains("您的角色不能登记任何违规类型");

    let sup = Browser::new(&app);
    sup.log_in("sup").await;
    let dash = sup.get("/dashboard").await;
    dash.assert_contains("href=\"/conduct/new\"");
    let page = sup.get("/conduct/new").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("value=\"jinbi-property&#x2f;etiquette\" aria-describedby=\"err-type\"> 未按《员工服务礼仪标准》接待投诉人 <span class=\"clause\">第四条</span>");
    page.assert_contains("value=\"jinbi-property&#x2f;phone_language\" aria-describedby=\"err-type\"> 未按规定用语和标准接听电话 <span class=\"clause\">第六条</span>");
    page.assert_contains("<option value=\"duty\">当班小李</option>");
    let idem = page.input_value("idem").expect("an idempotency key");

    // Oneself: beside the person field, with the clause; what was typed is kept.
    let own = sup
        .post(
            "/conduct/new",
            &[
                ("idem", &idem),
                ("type", "jinbi-property/etiquette"),
                ("person", "sup"),
                ("observed_on", "2026-01-05"),
                ("description", "巡查：未佩戴工牌"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    own.assert_contains("id=\"err-person\" role=\"alert\">不能登记自己的违规行为 <span class=\"clause\">依据：第四条</span>");
    own.assert_contains("value=\"jinbi-property&#x2f;etiquette\" checked");
    own.assert_contains("巡查：未佩戴工牌</textarea>");
    own.assert_contains("value=\"2026-01-05\"");
    // A login nobody has; no type chosen.
    let nobody = sup
        .post(
            "/conduct/new",
            &[
                ("idem", &idem),
                ("type", "jinbi-property/etiquette"),
                ("person", "ghost"),
                ("description", "x"),
            ],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    nobody
        .assert_contains("id=\"err-person\" role=\"alert\">person = &quot;ghost&quot;：没有此用户");
    let untyped = sup
        .post(
            "/conduct/new",
            &[("idem", &idem), ("person", "duty"), ("description", "x")],
        )
        .await;
    assert_eq!(untyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    untyped.assert_contains("id=\"err-type\" role=\"alert\">type：请选择违规类型");
    // Nothing was recorded by the refusals.
    let ledger = app
        .store
        .list_violations(&manyi_store::LedgerFilter::default())
        .await
        .expect("ledger");
    assert!(ledger.is_empty(), "{ledger:?}");

    let form = [
        ("idem", idem.as_str()),
        ("type", "jinbi-property/etiquette"),
        ("person", "duty"),
        ("observed_on", "2026-01-05"),
        ("description", "日常巡查：接待业主时未起身问候。"),
    ];
    let done = sup.post("/conduct/new", &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.location().starts_with("/conduct/new?recorded="));
    // A double-clicked submit (the same key) records nothing more.
    let again = sup.post("/conduct/new", &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(again.location(), done.location());
    let page = sup.get(done.location()).await;
    page.assert_contains("违规已登记");
    let ledger = app
        .store
        .list_violations(&manyi_store::LedgerFilter::default())
        .await
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].case_id, None);
    assert_eq!(
        (ledger[0].rule.as_str(), ledger[0].clause.as_str()),
        ("etiquette", "第四条")
    );
    // The ledger on the dashboard shows it with no case, and its 20 元 fine.
    let dash = sup.get("/dashboard").await;
    dash.assert_contains("<span class=\"muted\">无案件</span></td><td>第四条</td>");
    dash.assert_contains("20.00 元");
}
