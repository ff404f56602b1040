//! `manyi-bench`: the load generator and baselines behind `BENCHMARKS.md`.
//!
//! - `baseline --listen ADDR`: a bare axum server whose `POST /api/v1/cases` reads the body and
//!   answers a constant 201 JSON of about the size of manyi's answer. Whatever manyi does on top
//!   of HTTP parsing, routing and JSON on the same runtime shows up as the ratio against it.
//! - `load --url … --token … --clients 64 --duration-secs 10`: closed-loop HTTP/1.1 load, one
//!   keep-alive connection per client, each client sending its next request as soon as the
//!   previous answer has been read. Only loopback targets are accepted.
//! - `summary FILE…`: reads the JSON lines that `load` prints and tabulates medians and min–max
//!   per label, with each label's throughput as a ratio of the `baseline` label's.
//!
//! This is a measuring tool, not part of manyi: it is never shipped (`publish = false`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(
    name = "manyi-bench",
    about = "Load generator and baselines for manyi's benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A bare axum server: `POST /api/v1/cases` reads the body and answers a constant 201.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
    },
    /// Closed-loop HTTP/1.1 load on `POST /api/v1/cases`, one keep-alive connection per client.
    Load(LoadArgs),
    /// Tabulate the JSON lines printed by `load` (medians, min–max, ratio to `baseline`).
    Summary {
        /// Files holding `load` output; only its JSON result lines are read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The label whose throughput the others are divided by.
        #[arg(long, default_value = "baseline")]
        baseline_label: String,
    },
}

#[derive(clap::Args, Clone)]
struct LoadArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8080 (loopback only). The path defaults to
    /// /api/v1/cases.
    #[arg(long)]
    url: String,
    /// API token, sent as `Authorization: Bearer TOKEN`.
    #[arg(long, default_value = "")]
    token: String,
    /// Concurrent clients, each with its own keep-alive connection.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Length of the measured window.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Load sent before the measured window and not counted.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Stop the measured window after this many requests (whichever comes first).
    #[arg(long)]
    requests: Option<u64>,
    /// Worker threads of the load generator's runtime. One keeps the generator's share of a
    /// small machine bounded; raise it only if the generator is the bottleneck.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// A name for this run in the JSON result (e.g. `sqlite-full`, `baseline`).
    #[arg(long, default_value = "run")]
    label: String,
    /// The server's process id: its CPU time over the measured window and its resident memory
    /// at the end are read from /proc and reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Fail (exit 2) when more than this fraction of measured requests is not the expected
    /// status (201, or 422 with `--invalid`).
    #[arg(long, default_value_t = 0.01)]
    max_failure_ratio: f64,
    /// Experiment: leave out a required field, so that the server authenticates, loads the
    /// policy and the organisation and decides — everything but the write — and answers 422.
    /// Successes are then the 422s. Compared with a normal run this splits a create's cost
    /// into the read-and-decide part and the write part.
    #[arg(long)]
    invalid: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Baseline { listen } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(baseline(listen)),
        Command::Load(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads.max(1))
                .enable_all()
                .build()?;
            let report = rt.block_on(load(args.clone()))?;
            report.print();
            if report.failure_ratio() > args.max_failure_ratio {
                eprintln!(
                    "FAILED: {:.2}% of measured requests were not {} (limit {:.2}%): {:?}",
                    report.failure_ratio() * 100.0,
                    report.expect.as_u16(),
                    args.max_failure_ratio * 100.0,
                    report.failures
                );
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Summary {
            files,
            baseline_label,
        } => summary(&files, &baseline_label),
    }
}

// ------------------------------------------------------------------------------------------
// The baseline server.

/// About the size and shape of manyi's answer to a create (a case with its fields and the
/// actions open to the caller), so that serialising and sending it costs the same.
const BASELINE_BODY: &str = r#"{"number":"TS202601000001","kind":"complaint","kind_label":"客户投诉","policy":{"id":"default-complaint","version":1},"state":"registered","state_label":"已登记","closed":false,"channel":"phone","owner_unit":{"code":"BJHD01","name":"北京海淀第一营业网点","level":"outlet"},"first_contact":{"login":"bjhd01.teller","name":"柜员"},"assignee":null,"fields":{"complainant_name":"张伟","contact_phone":"13800138000","customer_demand":"增加窗口","matter":"排队时间过长"},"created_at":"2026-01-05T10:00:00+08:00","updated_at":"2026-01-05T10:00:00+08:00","version":1,"actions":[{"action":"assess","label":"初步评估","to":"assessed","requires":[],"clause":"ISO 10002 8.5"}]}"#;

async fn baseline(listen: SocketAddr) -> anyhow::Result<()> {
    async fn create(body: Bytes) -> impl axum::response::IntoResponse {
        // The body is read (axum buffers it before calling us); its length keeps it "used".
        let _ = body.len();
        (
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::LOCATION, "/api/v1/cases/TS202601000001"),
            ],
            BASELINE_BODY,
        )
    }
    async fn healthz() -> &'static str {
        "{\"status\":\"ok\",\"backend\":\"none\"}"
    }
    let app = Router::new()
        .route("/api/v1/cases", post(create))
        .route("/healthz", get(healthz));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    eprintln!("baseline listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The load generator.

/// The target of `--url`: a loopback socket address and a path.
struct Target {
    addr: SocketAddr,
    authority: String,
    path: String,
}

fn parse_target(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .context("--url must start with http:// (no TLS here)")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = if path.is_empty() || path == "/" {
        "/api/v1/cases".to_owned()
    } else {
        path.to_owned()
    };
    let addr: SocketAddr = authority
        .replace("localhost", "127.0.0.1")
        .parse()
        .with_context(|| format!("--url: `{authority}` is not IP:PORT"))?;
    let loopback = match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback(),
    };
    ensure!(
        loopback,
        "--url: load is only ever sent to a loopback address, not {addr}"
    );
    Ok(Target {
        addr,
        authority: authority.to_owned(),
        path,
    })
}

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞",
];
const MATTERS: &[(&str, &str)] = &[
    (
        "排队时间过长，等候超过一小时仍未办理",
        "增加窗口，缩短等候时间",
    ),
    (
        "柜员服务态度生硬，未解释手续费收取原因",
        "说明收费依据并道歉",
    ),
    ("办理挂失后补卡迟迟未到，多次来回奔波", "尽快补发并给予说明"),
    (
        "网点自助设备吞卡，工作人员未及时处理",
        "退还卡片并改进设备维护",
    ),
];

/// A complaint as a front-line clerk would register it; the name, phone and text vary with `n`.
/// With `invalid`, the required `customer_demand` is left out.
fn complaint_body(n: u64, invalid: bool) -> Bytes {
    let idx = |len: usize, div: u64| usize::try_from((n / div) % len as u64).unwrap_or(0);
    let name = format!(
        "{}{}",
        SURNAMES[idx(SURNAMES.len(), 1)],
        GIVEN[idx(GIVEN.len(), 7)]
    );
    let phone = format!("13{}{:08}", 8 + (n % 2), n % 100_000_000);
    let (matter, demand) = MATTERS[idx(MATTERS.len(), 3)];
    let mut body = json!({
        "policy": "default-complaint",
        "kind": "complaint",
        "channel": "phone",
        "fields": {
            "complainant_name": name,
            "contact_phone": phone,
            "matter": matter,
            "customer_demand": demand,
        }
    });
    if invalid && let Some(fields) = body["fields"].as_object_mut() {
        fields.remove("customer_demand");
    }
    Bytes::from(body.to_string())
}

/// What one client saw in the measured window.
#[derive(Default)]
struct ClientResult {
    latencies_us: Vec<u64>,
    successes: u64,
    /// Non-201 answers by status code, and transport errors under 0.
    failures: BTreeMap<u16, u64>,
    first_failure: Option<String>,
}

struct Shared {
    warmup_end: Instant,
    measure_end: Instant,
    /// Measured requests started so far (for `--requests`).
    started: AtomicU64,
    limit: Option<u64>,
    /// Set when `--requests` is reached: every client stops after its current request.
    stop: AtomicBool,
    /// Distinct bodies across all clients.
    seq: AtomicU64,
    /// The status that counts as a success.
    expect: StatusCode,
    invalid: bool,
}

async fn connect(
    target: &Target,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("connecting to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the server closes the connection.
        let _ = conn.await;
    });
    Ok(sender)
}

async fn client(
    target: Arc<Target>,
    token: Arc<str>,
    shared: Arc<Shared>,
) -> anyhow::Result<ClientResult> {
    let mut result = ClientResult::default();
    let mut sender = connect(&target).await?;
    let auth = format!("Bearer {token}");
    let mut consecutive_errors = 0;
    loop {
        let now = Instant::now();
        if now >= shared.measure_end || shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let measured = now >= shared.warmup_end;
        if measured
            && let Some(limit) = shared.limit
            && shared.started.fetch_add(1, Ordering::Relaxed) >= limit
        {
            shared.stop.store(true, Ordering::Relaxed);
            break;
        }
        let n = shared.seq.fetch_add(1, Ordering::Relaxed);
        let req = Request::post(target.path.as_str())
            .header(header::HOST, target.authority.as_str())
            .header(header::AUTHORIZATION, auth.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(complaint_body(n, shared.invalid)))?;
        let start = Instant::now();
        let outcome = async {
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        let elapsed = start.elapsed();
        match outcome {
            Ok((status, body)) => {
                consecutive_errors = 0;
                if !measured {
                    continue;
                }
                result
                    .latencies_us
                    .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
                if status == shared.expect {
                    result.successes += 1;
                } else {
                    *result.failures.entry(status.as_u16()).or_default() += 1;
                    if result.first_failure.is_none() {
                        let text = String::from_utf8_lossy(&body);
                        result.first_failure = Some(format!(
                            "{status}: {}",
                            text.chars().take(300).collect::<String>()
                        ));
                    }
                }
            }
            Err(e) => {
                if measured {
                    *result.failures.entry(0).or_default() += 1;
                }
                if result.first_failure.is_none() {
                    result.first_failure = Some(format!("transport: {e:#}"));
                }
                consecutive_errors += 1;
                if consecutive_errors >= 5 {
                    bail!("5 transport errors in a row, last: {e:#}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                sender = connect(&target).await?;
            }
        }
    }
    Ok(result)
}

/// CPU time (user + system) of a process, from /proc/PID/stat, in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are at 11 and 12 after the name.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Resident memory of a process (VmRSS), in KiB.
fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Linux reports CPU times in USER_HZ, 100 per second on every mainstream architecture.
const TICKS_PER_SEC: f64 = 100.0;

struct Report {
    label: String,
    expect: StatusCode,
    clients: usize,
    elapsed: Duration,
    requests: u64,
    successes: u64,
    failures: BTreeMap<u16, u64>,
    first_failure: Option<String>,
    sorted_us: Vec<u64>,
    server_cpu_secs: Option<f64>,
    server_rss_kib: Option<u64>,
    loader_cpu_secs: Option<f64>,
}

impl Report {
    fn failure_ratio(&self) -> f64 {
        if self.requests == 0 {
            return 1.0;
        }
        (self.requests - self.successes) as f64 / self.requests as f64
    }

    fn throughput(&self) -> f64 {
        self.successes as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile, in milliseconds.
    fn pct_ms(&self, p: f64) -> f64 {
        if self.sorted_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.sorted_us.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.sorted_us.len()) - 1;
        self.sorted_us[i] as f64 / 1000.0
    }

    fn json(&self) -> Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "bench": "intake-load",
            "label": self.label,
            "expect_status": self.expect.as_u16(),
            "clients": self.clients,
            "elapsed_s": round(self.elapsed.as_secs_f64()),
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "throughput": round(self.throughput()),
            "p50_ms": round(self.pct_ms(50.0)),
            "p90_ms": round(self.pct_ms(90.0)),
            "p99_ms": round(self.pct_ms(99.0)),
            "max_ms": round(self.pct_ms(100.0)),
            "server_cpu_ms_per_req": self.server_cpu_secs.map(|s| round(s * 1000.0 / self.requests.max(1) as f64)),
            "server_cpu_cores": self.server_cpu_secs.map(|s| round(s / self.elapsed.as_secs_f64())),
            "loader_cpu_cores": self.loader_cpu_secs.map(|s| round(s / self.elapsed.as_secs_f64())),
            "server_rss_kib": self.server_rss_kib,
        })
    }

    fn print(&self) {
        println!("label       {}", self.label);
        println!("clients     {}", self.clients);
        println!("window      {:.2} s", self.elapsed.as_secs_f64());
        println!("requests    {}", self.requests);
        println!("successes   {} ({})", self.successes, self.expect.as_u16());
        if !self.failures.is_empty() {
            println!(
                "failures    {:?} (status: count; 0 = transport error)",
                self.failures
            );
        }
        if let Some(f) = &self.first_failure {
            println!("first fail  {f}");
        }
        println!("throughput  {:.1} creates/s", self.throughput());
        println!(
            "latency ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            self.pct_ms(50.0),
            self.pct_ms(90.0),
            self.pct_ms(99.0),
            self.pct_ms(100.0)
        );
        if let Some(s) = self.server_cpu_secs {
            println!(
                "server cpu  {:.2} cores, {:.3} ms per request",
                s / self.elapsed.as_secs_f64(),
                s * 1000.0 / self.requests.max(1) as f64
            );
        }
        if let Some(s) = self.loader_cpu_secs {
            println!("loader cpu  {:.2} cores", s / self.elapsed.as_secs_f64());
        }
        if let Some(kib) = self.server_rss_kib {
            println!("server rss  {:.1} MiB", kib as f64 / 1024.0);
        }
        println!("{}", self.json());
    }
}

async fn load(args: LoadArgs) -> anyhow::Result<Report> {
    ensure!(args.clients >= 1, "--clients must be at least 1");
    ensure!(
        (1..=1024).contains(&args.clients),
        "--clients: at most 1024 (a bounded load)"
    );
    ensure!(
        (1..=600).contains(&args.duration_secs),
        "--duration-secs: 1 to 600 (a bounded load)"
    );
    ensure!(args.warmup_secs <= 120, "--warmup-secs: at most 120");
    let target = Arc::new(parse_target(&args.url)?);
    let token: Arc<str> = Arc::from(args.token.as_str());
    let server_pid = args.server_pid.map(|p| p.to_string());

    let begin = Instant::now();
    let warmup_end = begin + Duration::from_secs(args.warmup_secs);
    let shared = Arc::new(Shared {
        warmup_end,
        measure_end: warmup_end + Duration::from_secs(args.duration_secs),
        started: AtomicU64::new(0),
        limit: args.requests,
        stop: AtomicBool::new(false),
        seq: AtomicU64::new(0),
        expect: if args.invalid {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::CREATED
        },
        invalid: args.invalid,
    });
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| tokio::spawn(client(target.clone(), token.clone(), shared.clone())))
        .collect();

    // The CPU counters are read when the measured window opens.
    tokio::time::sleep_until(warmup_end.into()).await;
    let window_start = Instant::now();
    let server_cpu0 = server_pid.as_deref().and_then(cpu_ticks);
    let loader_cpu0 = cpu_ticks("self");

    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.context("a client task panicked")??);
    }
    // The window closes when the last request started in it has been answered.
    let elapsed = window_start.elapsed();
    let server_cpu1 = server_pid.as_deref().and_then(cpu_ticks);
    let loader_cpu1 = cpu_ticks("self");
    let server_rss_kib = server_pid.as_deref().and_then(rss_kib);

    let mut sorted_us = Vec::new();
    let mut successes = 0;
    let mut failures: BTreeMap<u16, u64> = BTreeMap::new();
    let mut first_failure = None;
    for r in results {
        sorted_us.extend(r.latencies_us);
        successes += r.successes;
        for (code, n) in r.failures {
            *failures.entry(code).or_default() += n;
        }
        first_failure = first_failure.or(r.first_failure);
    }
    sorted_us.sort_unstable();
    // Transport errors have no latency sample but are requests.
    let requests = sorted_us.len() as u64 + failures.get(&0).copied().unwrap_or(0);
    let ticks = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?) as f64 / TICKS_PER_SEC);
    Ok(Report {
        label: args.label,
        expect: shared.expect,
        clients: args.clients,
        elapsed,
        requests,
        successes,
        failures,
        first_failure,
        sorted_us,
        server_cpu_secs: ticks(server_cpu0, server_cpu1),
        server_rss_kib,
        loader_cpu_secs: ticks(loader_cpu0, loader_cpu1),
    })
}

// ------------------------------------------------------------------------------------------
// The summary.

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn summary(files: &[PathBuf], baseline_label: &str) -> anyhow::Result<()> {
    // label -> the runs' JSON results, in the order read.
    let mut runs: Vec<(String, Vec<Value>)> = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines().filter(|l| l.starts_with('{')) {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if v["bench"] != "intake-load" {
                continue;
            }
            let label = v["label"].as_str().unwrap_or("?").to_owned();
            match runs.iter_mut().find(|(l, _)| *l == label) {
                Some((_, list)) => list.push(v),
                None => runs.push((label, vec![v])),
            }
        }
    }
    ensure!(!runs.is_empty(), "no `load` results in the files given");

    // (median, min, max) of a key over a label's runs; None when no run has it.
    let stat = |list: &[Value], key: &str| -> Option<(f64, f64, f64)> {
        let mut xs: Vec<f64> = list.iter().filter_map(|v| v[key].as_f64()).collect();
        if xs.is_empty() {
            return None;
        }
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((median(&mut xs), lo, hi))
    };
    // "median (min–max)", scaled, or a dash.
    let cell = |s: Option<(f64, f64, f64)>, scale: f64, prec: usize, range: bool| match s {
        None => "–".to_owned(),
        Some((m, lo, hi)) if range && lo < hi => format!(
            "{:.prec$} ({:.prec$}–{:.prec$})",
            m / scale,
            lo / scale,
            hi / scale
        ),
        Some((m, _, _)) => format!("{:.prec$}", m / scale),
    };
    let base = runs
        .iter()
        .find(|(l, _)| l == baseline_label)
        .and_then(|(_, list)| stat(list, "throughput"))
        .map(|s| s.0);

    println!(
        "| run | runs | creates/s median (min–max) | p50 ms | p99 ms | max ms | vs {baseline_label} \
         | server CPU ms/create | server RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut out = Vec::new();
    for (label, list) in &runs {
        let t = stat(list, "throughput");
        let p50 = stat(list, "p50_ms");
        let p99 = stat(list, "p99_ms");
        let ratio = base.zip(t).map(|(b, t)| t.0 / b);
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
            list.len(),
            cell(t, 1.0, 0, true),
            cell(p50, 1.0, 1, true),
            cell(p99, 1.0, 1, true),
            cell(stat(list, "max_ms"), 1.0, 0, false),
            ratio.map_or_else(|| "–".to_owned(), |r| format!("{r:.4}")),
            cell(stat(list, "server_cpu_ms_per_req"), 1.0, 2, false),
            cell(stat(list, "server_rss_kib"), 1024.0, 0, true),
        );
        out.push(json!({
            "label": label,
            "runs": list.len(),
            "throughput": t.map(|s| json!({"median": s.0, "min": s.1, "max": s.2})),
            "p50_ms": p50.map(|s| json!({"median": s.0, "min": s.1, "max": s.2})),
            "p99_ms": p99.map(|s| json!({"median": s.0, "min": s.1, "max": s.2})),
            "ratio_to_baseline": ratio,
        }));
    }
    println!("{}", json!({ "bench": "intake-summary", "rows": out }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted_and_the_path_defaults_to_cases() {
        let t = parse_target("http://127.0.0.1:8080").expect("loopback");
        assert_eq!(t.path, "/api/v1/cases");
        assert_eq!(
            t.addr,
            "127.0.0.1:8080".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(
            parse_target("http://localhost:9/x")
                .expect("localhost")
                .path,
            "/x"
        );
        assert!(parse_target("http://[::1]:8080/").is_ok());
        assert!(parse_target("http://10.0.0.1:8080").is_err());
        assert!(parse_target("http://192.168.1.2:80").is_err());
        assert!(parse_target("https://127.0.0.1:443").is_err());
    }

    #[test]
    fn bodies_vary_and_carry_the_required_fields_of_default_complaint() {
        let a: Value = serde_json::from_slice(&complaint_body(0, false)).expect("json");
        let b: Value = serde_json::from_slice(&complaint_body(12_345, false)).expect("json");
        assert_ne!(a["fields"]["contact_phone"], b["fields"]["contact_phone"]);
        for body in [&a, &b] {
            assert_eq!(body["policy"], "default-complaint");
            assert_eq!(body["kind"], "complaint");
            for field in [
                "complainant_name",
                "contact_phone",
                "matter",
                "customer_demand",
            ] {
                assert!(body["fields"][field].is_string(), "{field} missing");
            }
            let phone = body["fields"]["contact_phone"].as_str().expect("phone");
            assert_eq!(phone.len(), 11);
            assert!(phone.starts_with("13") && phone.bytes().all(|c| c.is_ascii_digit()));
        }
        let invalid: Value = serde_json::from_slice(&complaint_body(1, true)).expect("json");
        assert!(invalid["fields"].get("customer_demand").is_none());
    }

    #[test]
    fn percentiles_are_nearest_rank_and_medians_average_the_middle_pair() {
        let report = Report {
            label: "t".into(),
            expect: StatusCode::CREATED,
            clients: 1,
            elapsed: Duration::from_secs(1),
            requests: 100,
            successes: 99,
            failures: BTreeMap::from([(500, 1)]),
            first_failure: None,
            sorted_us: (1..=100).map(|i| i * 1000).collect(),
            server_cpu_secs: None,
            server_rss_kib: None,
            loader_cpu_secs: None,
        };
        assert_eq!(report.pct_ms(50.0), 50.0);
        assert_eq!(report.pct_ms(99.0), 99.0);
        assert_eq!(report.pct_ms(100.0), 100.0);
        assert!((report.failure_ratio() - 0.01).abs() < 1e-9);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
