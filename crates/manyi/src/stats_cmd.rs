//! `manyi stats`: one month's case counts by unit, category and on-time status (the report of
//! `GET /api/v1/stats`, for every unit), and `manyi stats rebuild`, which recomputes the
//! pre-aggregated tables (`case_stats`, `case_weeks`, the dashboard's rollups) from the cases.

use anyhow::bail;
use clap::Subcommand;
use manyi_server::error::AppError;

use crate::{DbArgs, shell_state};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct StatsArgs {
    #[command(subcommand)]
    command: Option<StatsCommand>,
    /// The month the cases were registered in, YYYY-MM (Asia/Shanghai).
    #[arg(long)]
    month: Option<String>,
    /// A unit code: only cases owned in its subtree (default: every unit).
    #[arg(long)]
    unit: Option<String>,
    /// Print the report as JSON (the API's body).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Recompute the statistics tables from the cases — `case_stats`, the weekly counts
    /// `case_weeks` and the dashboard's rollups `case_months` / `case_tree_months` — (after a
    /// restore, or to repair them: the database triggers keep them current otherwise). Case
    /// writes wait while it runs.
    Rebuild {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(args: StatsArgs) -> anyhow::Result<()> {
    if let Some(StatsCommand::Rebuild { db }) = args.command {
        let store = db.open().await?;
        let started = std::time::Instant::now();
        let r = store.rebuild_aggregates().await?;
        println!(
            "case statistics rebuilt in {:.1} s: case_stats {} rows, case_weeks {}, \
             case_months {}, case_tree_months {}",
            started.elapsed().as_secs_f64(),
            r.case_stats,
            r.case_weeks,
            r.case_months,
            r.case_tree_months
        );
        store.close().await;
        return Ok(());
    }
    let Some(month) = args.month else {
        bail!("--month YYYY-MM is required (or `manyi stats rebuild`)");
    };
    let state = shell_state(&args.db).await?;
    let report = manyi_server::api::stats::report(&state, None, &month, args.unit.as_deref())
        .await
        .map_err(|e| match e {
            AppError::BadRequest(m) | AppError::NotFound(m) => anyhow::anyhow!(m),
            other => anyhow::anyhow!("{other:?}"),
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} ({} – {}), {}: {} cases",
            report.month,
            report.from,
            report.to,
            report.unit.as_deref().unwrap_or("all units"),
            report.totals.cases
        );
        println!(
            "{:<12} {:<16} {:<16} {:>8}",
            "unit", "category", "status", "cases"
        );
        for r in &report.rows {
            println!(
                "{:<12} {:<16} {:<16} {:>8}",
                r.unit,
                r.category.as_deref().unwrap_or("-"),
                r.status,
                r.count
            );
        }
        for (status, n) in &report.totals.by_status {
            println!("total {status:<16} {n:>8}");
        }
        if let Some(rate) = report.totals.on_time_rate {
            println!("closed on time: {:.1} %", rate * 100.0);
        }
    }
    state.store.close().await;
    Ok(())
}
