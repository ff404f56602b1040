//! Benchmark: the list a tier-1 branch's service department opens first — the open cases of
//! its subtree, first page of 50 — straight through `Store::list_cases`, over a database made
//! by `manyi gen`. Run by `scripts/bench-read.sh`:
//!
//! ```sh
//! cargo run --release -p manyi-server --example read_bench -- sqlite:/tmp/gen.db 1000
//! ```
//!
//! The filter is the one `GET /api/v1/cases?closed=false&limit=50` builds for a non-admin
//! user: `visible_to` (owned in their unit's subtree, or first contact) and `closed = false`,
//! newest (highest id) first — the list is ordered by id, not by due time (there is no such
//! order in the store yet). The queries go round robin over every tier-1 branch's service
//! user, so no single page stays hot. Prints one JSON line.
//!
//! `READ_BENCH_ORDER=due` lists in the due order instead (`order=due`: soonest due first, from
//! the index of open cases by subtree and due time, migration 0012); the JSON lines say which.
//!
//! With `READ_BENCH_HTTP=http://127.0.0.1:PORT` and `READ_BENCH_TOKENS=FILE` (one API token
//! of a tier-1 service user per line), it also times the same list through a running
//! `manyi serve`: `GET /api/v1/cases?closed=false&limit=50`, one request at a time over one
//! keep-alive connection, tokens round robin (a second JSON line, `read-http`).

use std::time::Instant;

use manyi_store::{CaseFilter, Store, StoreOptions, Visibility};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: read_bench DATABASE_URL [QUERIES] [WARMUP]");
    let queries: usize = args.next().map_or(1_000, |s| s.parse().expect("QUERIES"));
    let warmup: usize = args.next().map_or(100, |s| s.parse().expect("WARMUP"));
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("open the database");

    let units = store.list_units().await.expect("units");
    let users = store.list_users().await.expect("users");
    let viewers: Vec<Visibility> = units
        .iter()
        .filter(|u| u.level == "branch1")
        .filter_map(|u| {
            let login = format!("{}.service", u.code.to_lowercase());
            users.iter().find(|p| p.login == login).map(|p| Visibility {
                unit_path: p.unit_path.clone(),
                user_id: p.id,
            })
        })
        .collect();
    assert!(
        !viewers.is_empty(),
        "no tier-1 service users: is this a `manyi gen` database?"
    );

    let due = std::env::var("READ_BENCH_ORDER").is_ok_and(|o| o == "due");
    let order = if due {
        manyi_store::CaseOrder::Due
    } else {
        manyi_store::CaseOrder::Newest
    };
    let filter = |i: usize| CaseFilter {
        visible_to: Some(viewers[i % viewers.len()].clone()),
        closed: Some(false),
        limit: 50,
        order,
        ..CaseFilter::default()
    };
    for i in 0..warmup {
        store.list_cases(&filter(i)).await.expect("list");
    }
    let mut times = Vec::with_capacity(queries);
    let mut rows = 0usize;
    let started = Instant::now();
    for i in 0..queries {
        let t = Instant::now();
        let page = store.list_cases(&filter(i)).await.expect("list");
        times.push(t.elapsed().as_secs_f64() * 1_000.0);
        rows += page.items.len();
    }
    let wall = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "{{\"bench\":\"read-list\",\"order\":\"{}\",\"backend\":\"{}\",\"queries\":{queries},\"branches\":{},\
         \"rows_per_page\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"qps\":{:.0}}}",
        if due { "due" } else { "newest" },
        store.backend_name(),
        viewers.len(),
        rows as f64 / queries as f64,
        pct(0.50),
        pct(0.99),
        times[times.len() - 1],
        queries as f64 / wall
    );
    store.close().await;

    if let (Ok(base), Ok(tokens)) = (
        std::env::var("READ_BENCH_HTTP"),
        std::env::var("READ_BENCH_TOKENS"),
    ) {
        http(&base, &tokens, queries, warmup).await;
    }
}

async fn http(base: &str, tokens_file: &str, queries: usize, warmup: usize) {
    use http_body_util::{BodyExt, Empty};
    use hyper::Request;
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let tokens: Vec<String> = std::fs::read_to_string(tokens_file)
        .expect("READ_BENCH_TOKENS")
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!tokens.is_empty(), "no tokens in {tokens_file}");
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build_http::<Empty<Bytes>>();
    let order = std::env::var("READ_BENCH_ORDER").unwrap_or_else(|_| "newest".to_owned());
    let uri = format!("{base}/api/v1/cases?closed=false&limit=50&order={order}");
    let mut times = Vec::with_capacity(queries);
    let mut bytes = 0usize;
    for i in 0..warmup + queries {
        let request = Request::get(uri.as_str())
            .header(
                "authorization",
                format!("Bearer {}", tokens[i % tokens.len()]),
            )
            .body(Empty::new())
            .expect("request");
        let t = Instant::now();
        let response = client.request(request).await.expect("GET");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let ms = t.elapsed().as_secs_f64() * 1_000.0;
        assert!(status.is_success(), "GET {uri}: {status}");
        if i >= warmup {
            times.push(ms);
            bytes += body.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "{{\"bench\":\"read-http\",\"order\":\"{order}\",\"queries\":{queries},\"tokens\":{},\"bytes_per_page\":{},\
         \"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        tokens.len(),
        bytes / queries.max(1),
        pct(0.50),
        pct(0.99),
        times[times.len() - 1]
    );
}
