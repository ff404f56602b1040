//! Micro-benchmark of the calendar's hot paths, without a benchmark framework.
//!
//! Times 1 000 000 calls of each operation over pre-generated random inputs (fixed seed,
//! receipt dates 2007..2026, N in 1..=30), repeats every measurement several times and prints
//! the median nanoseconds per call. Run in release:
//!
//! ```sh
//! cargo run --release -p manyi-core --example calendar_bench
//! ```

use std::hint::black_box;
use std::time::Instant;

use jiff::Timestamp;
use jiff::civil::Date;
use manyi_core::calendar::{
    BusinessHours, Calendar, CalendarView, Duration, EMBEDDED_FILES, Overlay,
};

const CALLS: usize = 1_000_000;
const RUNS: usize = 7;

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn median_ns_per_call(mut run: impl FnMut() -> u64) -> (f64, u64) {
    let mut samples = Vec::with_capacity(RUNS);
    let mut sink = 0u64;
    for _ in 0..RUNS {
        let t = Instant::now();
        sink = sink.wrapping_add(run());
        samples.push(t.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (samples[RUNS / 2], sink)
}

fn main() {
    let t = Instant::now();
    let built = Calendar::from_files(EMBEDDED_FILES.iter().copied()).expect("embedded data");
    let build_us = t.elapsed().as_micros();
    black_box(&built);

    let cal = Calendar::official();
    let mut rng = Rng(0x5EED_2026_0807_0001);
    let first = Timestamp::from_second(1_167_580_800).expect("2007-01-01"); // 2007-01-01 +08:00
    let span_s = 20 * 365 * 86_400;
    let inputs: Vec<(Timestamp, Date, u32)> = (0..CALLS)
        .map(|_| {
            let ts = first
                .checked_add(jiff::SignedDuration::from_secs(
                    i64::try_from(rng.below(span_s)).expect("small"),
                ))
                .expect("in range");
            let date = ts.to_zoned_datetime(manyi_core::china_tz()).date();
            let n = 1 + u32::try_from(rng.below(30)).expect("small");
            (ts, date, n)
        })
        .collect();

    let view = cal.view();
    let overlay = Overlay {
        closures: (1..=28)
            .map(|d| jiff::civil::date(2020, 2, d))
            .chain((1..=10).map(|d| jiff::civil::date(2024, 7, d)))
            .collect(),
        extra_workdays: vec![jiff::civil::date(2025, 10, 4)],
        business_hours: Some(
            BusinessHours::weekdays(&["09:00-12:00", "13:30-17:30"]).expect("valid hours"),
        ),
    };
    let unit_view = CalendarView::new(cal, &overlay).expect("valid overlay");

    println!(
        "calendar_bench: {CALLS} calls per run, median of {RUNS} runs, \
         calendar build {build_us} µs"
    );

    let (ns, s1) = median_ns_per_call(|| {
        let mut acc = 0u64;
        for &(_, date, n) in &inputs {
            let due = view
                .add_working_days(black_box(date), black_box(n))
                .expect("ok");
            acc = acc.wrapping_add(due.day() as u64);
        }
        acc
    });
    println!("add_working_days (official)          {ns:8.1} ns/call");

    let (ns, s2) = median_ns_per_call(|| {
        let mut acc = 0u64;
        for &(ts, _, n) in &inputs {
            let d = view
                .add(black_box(ts), Duration::WorkingDays(black_box(n)))
                .expect("ok");
            acc = acc.wrapping_add(d.due.as_second() as u64);
        }
        acc
    });
    println!("add(WorkingDays) → Deadline          {ns:8.1} ns/call");

    let (ns, s3) = median_ns_per_call(|| {
        let mut acc = 0u64;
        for &(ts, _, n) in &inputs {
            let d = view
                .add(black_box(ts), Duration::CalendarDays(black_box(n)))
                .expect("ok");
            acc = acc.wrapping_add(d.due.as_second() as u64);
        }
        acc
    });
    println!("add(CalendarDays) → Deadline         {ns:8.1} ns/call");

    let (ns, s4) = median_ns_per_call(|| {
        let mut acc = 0u64;
        for &(ts, _, n) in &inputs {
            let d = unit_view
                .add(black_box(ts), Duration::WorkingDays(black_box(n)))
                .expect("ok");
            acc = acc.wrapping_add(d.due.as_second() as u64);
        }
        acc
    });
    println!("add(WorkingDays), overlay + hours    {ns:8.1} ns/call");

    let (ns, s5) = median_ns_per_call(|| {
        let mut acc = 0u64;
        for &(ts, _, n) in &inputs {
            let d = unit_view
                .add(black_box(ts), Duration::BusinessHours(black_box(n)))
                .expect("ok");
            acc = acc.wrapping_add(d.due.as_second() as u64);
        }
        acc
    });
    println!("add(BusinessHours 1..30), overlay    {ns:8.1} ns/call");

    // Keep the results observable so nothing is optimised away.
    black_box(s1 ^ s2 ^ s3 ^ s4 ^ s5);
}
