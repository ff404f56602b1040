//! Benchmark: one month's statistics from the pre-aggregated `case_stats` (what
//! `GET /api/v1/stats` runs) against the same counts computed with a GROUP BY over `cases`
//! (the baseline), on a database already loaded by `scripts/bench-stats.sh`.
//!
//! ```sh
//! cargo run --release -p manyi-server --example stats_bench -- URL MONTH [RUNS] [BRANCH]
//! ```
//!
//! Each run times, interleaved, the aggregate for all units, the aggregate for one tier-1
//! branch's subtree (`BRANCH`, a unit code, default `B01`) and the GROUP BY over all units;
//! it checks that the aggregate and the GROUP BY give the same rows, and prints medians with
//! min–max and the ratio. One JSON line at the end (`"bench":"stats"`).

use std::time::{Duration, Instant};

use manyi_core::stats::Month;
use manyi_store::{StatsQuery, Store, StoreOptions};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(month)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: stats_bench URL MONTH [RUNS] [BRANCH]");
        std::process::exit(2);
    };
    let runs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let branch = args.get(4).map_or("B01", String::as_str);
    let store = Store::connect(url, StoreOptions::default())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let m = Month::parse(month).expect("a month");
    let (from, to) = m.bounds();
    let all = StatsQuery {
        month: m.to_string(),
        from,
        to,
        unit_subtree: None,
    };
    let unit = store
        .unit_by_code(branch)
        .await
        .expect("unit")
        .expect("the branch exists");
    let sub = StatsQuery {
        unit_subtree: Some(unit.path.clone()),
        ..all.clone()
    };
    let (mut agg, mut agg_sub, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let mut cases = 0;
    for run in 0..runs {
        let t = Instant::now();
        let mut a = store.case_stats(&all).await.expect("case_stats");
        agg.push(ms(t.elapsed()));
        let t = Instant::now();
        let s = store.case_stats(&sub).await.expect("case_stats subtree");
        agg_sub.push(ms(t.elapsed()));
        let t = Instant::now();
        let mut r = store.case_stats_from_cases(&all).await.expect("from cases");
        raw.push(ms(t.elapsed()));
        a.sort();
        r.sort();
        assert_eq!(a, r, "run {run}: the aggregate differs from the GROUP BY");
        cases = a.iter().map(|x| x.cases).sum::<i64>();
        eprintln!(
            "run {run}: aggregate {:.2} ms ({} rows), subtree {branch} {:.2} ms ({} rows), \
             GROUP BY over cases {:.1} ms — {cases} cases in {month}",
            agg[run],
            a.len(),
            agg_sub[run],
            s.len(),
            raw[run]
        );
    }
    let (a, amin, amax) = summary(agg);
    let (s, smin, smax) = summary(agg_sub);
    let (r, rmin, rmax) = summary(raw);
    println!(
        "{}",
        serde_json::json!({
            "bench": "stats", "backend": store.backend_name(), "month": month, "runs": runs,
            "cases_in_month": cases,
            "aggregate_ms": {"median": a, "min": amin, "max": amax},
            "aggregate_subtree_ms": {"median": s, "min": smin, "max": smax},
            "group_by_ms": {"median": r, "min": rmin, "max": rmax},
            "speedup": r / a,
        })
    );
    store.close().await;
}
