//! The harness shared by the tests that drive real `manyi serve` processes
//! (`tests/instances.rs`, `tests/crash.rs`): the CLI with a clean environment, a bank set up
//! as an operator would (`org import`, `user add`, `token create`), server processes on free
//! ports whose logs are kept, and a small HTTP client.
//!
//! Each test binary uses only part of it, hence the `dead_code` allowance below.
#![allow(
    dead_code,
    reason = "each test binary that includes this module uses part of it"
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use manyi_store::testing::TestDb;
use serde_json::{Value, json};

/// How long a server may take to start (migrations and policies included).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one HTTP request may take before the test fails instead of hanging.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long every breach may take to show once the clock file has moved.
pub const BREACH_TIMEOUT: Duration = Duration::from_secs(30);

pub const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// Harness: the CLI, server processes, HTTP
// ---------------------------------------------------------------------------------------------

/// `manyi` with a clean environment: no `MANYI_*` variable of the caller's leaks in.
pub fn manyi() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_manyi"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MANYI_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs a CLI command that must succeed; returns its stdout.
pub fn cli(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = manyi()
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run manyi");
    assert!(
        out.status.success(),
        "manyi {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The shipped policies, from the repository.
pub fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

/// A bank of four units and its people, imported with `manyi org import`; `clerk` (with a
/// password, for sessions) added with `manyi user add`. Returns the API tokens of `teller`
/// and `admin`, made with `manyi token create`.
pub fn set_up_bank(url: &str, dir: &Path) -> (String, String) {
    let org = json!({
        "units": [
            {"code": "HQ", "name": "总行", "level": "hq"},
            {"code": "BJ", "name": "北京分行", "level": "branch1", "parent": "HQ"},
            {"code": "BJHD", "name": "北京海淀支行", "level": "branch2", "parent": "BJ"},
            {"code": "BJHD01", "name": "中关村营业网点", "level": "outlet", "parent": "BJHD"},
        ],
        "users": [
            {"login": "teller", "name": "柜员小王", "unit": "BJHD01", "roles": ["teller"]},
            {"login": "outlet_head", "name": "网点主任李", "unit": "BJHD01", "roles": ["outlet_head"]},
            {"login": "branch_service", "name": "支行服务管理张", "unit": "BJHD", "roles": ["service_mgmt"]},
            {"login": "admin", "name": "系统管理员", "unit": "HQ", "roles": ["admin"]},
        ],
    });
    let file = dir.join("org.json");
    std::fs::write(&file, org.to_string()).expect("write org.json");
    let file = file.to_str().expect("a UTF-8 path");
    cli(&["org", "import", file, "--database", url], &[]);
    cli(
        &[
            "user",
            "add",
            "clerk",
            "--name",
            "柜员小周",
            "--unit",
            "BJHD01",
            "--roles",
            "teller",
            "--database",
            url,
        ],
        &[("MANYI_PASSWORD", PASSWORD)],
    );
    let token = |login: &str| {
        cli(&["token", "create", login, "--database", url], &[])
            .trim()
            .to_owned()
    };
    (token("teller"), token("admin"))
}

/// A `manyi serve` process, killed when dropped.
pub struct Server {
    pub name: &'static str,
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything it wrote to stderr so far (its log).
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `manyi serve` on a free port of 127.0.0.1 and waits until it listens.
    pub fn start(name: &'static str, url: &str, extra: &[&str]) -> Server {
        let policies = policies_dir();
        let mut child = manyi()
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .arg("--policies")
            .arg(&policies)
            .args(extra)
            .env("MANYI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start manyi serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        // Drains stderr for the whole life of the process (a full pipe would block it).
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("manyi listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.parse::<SocketAddr>());
                }
                lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(addr)) => addr,
            outcome => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "{name} did not start ({outcome:?}, exit {status:?}); its log:\n{}",
                    log.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
                );
            }
        };
        Server {
            name,
            child,
            addr,
            log,
        }
    }

    /// The log lines containing `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    /// How many log lines contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_lines(needle).len()
    }
}

impl Server {
    /// Kills the process with SIGKILL (`Child::kill` on Unix) — no shutdown, no flush, as a
    /// crash or the OOM killer would — and waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status, headers and JSON body (`Null` if empty, a string if not JSON).
pub type Reply = (StatusCode, HeaderMap, Value);

/// A small HTTP/1.1 client. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

impl Http {
    pub fn new() -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends a request; panics if it gets no complete answer within [`REQUEST_TIMEOUT`].
    pub async fn send(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        self.try_send(addr, method, path, auth, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{addr}{path}: {e}"))
    }

    /// Sends a request; `Err` (naming what failed) when no complete answer came back — the
    /// connection refused or cut, or no answer within [`REQUEST_TIMEOUT`]. For tests that
    /// kill the server while requests are in flight.
    pub async fn try_send(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => request = request.header(AUTHORIZATION, format!("Bearer {t}")),
            Auth::Cookie(c) => request = request.header(COOKIE, c),
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let bytes = match body {
            Some(v) => {
                request = request.header(CONTENT_TYPE, "application/json");
                serde_json::to_vec(v).expect("serialisable")
            }
            None => Vec::new(),
        };
        let request = request
            .body(Full::new(Bytes::from(bytes)))
            .expect("a well-formed request");
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
            .map_err(|e| format!("no response: {e}"))?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| format!("body not read: {e}"))?
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((parts.status, parts.headers, value))
    }

    pub async fn get(&self, addr: SocketAddr, path: &str, token: &str) -> Reply {
        self.send(addr, Method::GET, path, Auth::Bearer(token), &[], None)
            .await
    }

    pub async fn create_case(&self, addr: SocketAddr, token: &str, key: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        self.send(
            addr,
            Method::POST,
            "/api/v1/cases",
            Auth::Bearer(token),
            &headers,
            Some(&ccb_complaint()),
        )
        .await
    }
}

/// A complaint at the counter of an outlet (ccb-counter: 1 working day, 第十九条).
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

/// The serial of a ccb-counter number of 2026 (`CCB2026000123` → 123).
pub fn serial(number: &str) -> u64 {
    number
        .strip_prefix("CCB2026")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{number}: not a ccb-counter number of 2026"))
}

/// A fresh PostgreSQL database, or `None` after saying why this test does not run.
pub async fn postgres_or_skip() -> Option<TestDb> {
    let db = TestDb::create("postgres").await;
    if db.is_none() {
        eprintln!(
            "{}: skipped: it needs PostgreSQL (MANYI_TEST_PG=skip or MANYI_TEST_BACKEND=sqlite \
             leave it out)",
            std::thread::current().name().unwrap_or("this test")
        );
    }
    db
}

pub fn t(s: &str) -> Timestamp {
    s.parse().expect("an instant")
}
