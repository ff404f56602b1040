//! `manyi find backfill`: runs quick find's backfill (`manyi_server::find`) to the end, with a
//! progress bar — the search keys of cases stored before migration 0013, then the number keys
//! of cases stored before migration 0015, then the repeat-complaint keys of cases stored
//! before migration 0016. `manyi serve` runs the same at start-up in the
//! background; this is for running it ahead of an upgrade's first start, or watching it.
//! Resumable (progress is kept in the database) and idempotent (a key already there stays).

use std::io::{IsTerminal, Write};

use clap::Subcommand;

use crate::{DbArgs, shell_state};

#[derive(Subcommand)]
pub enum FindCommand {
    /// Give every case its quick-find keys (phone, name, case number) and exit. Safe to
    /// interrupt and run again, also while `manyi serve` runs.
    Backfill {
        /// Cases per transaction.
        #[arg(long, default_value_t = manyi_server::find::BATCH)]
        batch: u32,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// A one-line bar on stderr, redrawn in place on a terminal, every tenth otherwise.
struct Bar {
    label: &'static str,
    tty: bool,
    last_tenth: Option<u64>,
}

impl Bar {
    fn new(label: &'static str) -> Self {
        Bar {
            label,
            tty: std::io::stderr().is_terminal(),
            last_tenth: None,
        }
    }

    fn show(&mut self, done: i64, total: i64) {
        let fraction = if total <= 0 {
            1.0
        } else {
            (done as f64 / total as f64).clamp(0.0, 1.0)
        };
        let tenth = (fraction * 10.0) as u64;
        if !self.tty && self.last_tenth == Some(tenth) {
            return;
        }
        self.last_tenth = Some(tenth);
        let filled = (fraction * 30.0).round() as usize;
        let line = format!(
            "{:<12} [{}{}] {:>5.1}%  case id {done} of {total}",
            self.label,
            "#".repeat(filled),
            " ".repeat(30 - filled),
            fraction * 100.0
        );
        let mut err = std::io::stderr();
        let _ = if self.tty {
            write!(err, "\r{line}")
        } else {
            writeln!(err, "{line}")
        };
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

pub async fn run(cmd: FindCommand) -> anyhow::Result<()> {
    let FindCommand::Backfill { batch, db } = cmd;
    if batch == 0 {
        anyhow::bail!("--batch 0: a batch must hold at least one case");
    }
    let state = shell_state(&db).await?;
    let store = state.store.clone();
    let err = |e: manyi_server::error::AppError| anyhow::anyhow!("{e:?}");
    // The highest id when migration 0015 ran bounds both walks' bars; cases created since
    // were keyed by their own transaction.
    let numbers = store.number_backfill().await?;
    let fields = store.find_backfill().await?;
    let total = numbers.upto.max(fields.last_case_id);

    let mut bar = Bar::new("phone, name");
    bar.show(
        if fields.done {
            total
        } else {
            fields.last_case_id
        },
        total,
    );
    let examined = manyi_server::find::backfill_fields(&state, batch, |p| {
        bar.show(if p.done { total } else { p.last_case_id }, total);
    })
    .await
    .map_err(err)?;
    bar.show(total, total);
    bar.finish();

    let mut bar = Bar::new("case number");
    bar.show(numbers.last_case_id, numbers.upto);
    let end = manyi_server::find::backfill_numbers(&state, batch, |p| {
        bar.show(p.last_case_id, p.upto);
    })
    .await
    .map_err(err)?;
    bar.show(end.last_case_id, end.upto);
    bar.finish();

    // The repeat-complaint keys (migration 0016), as `manyi serve` runs them at start-up.
    let mut bar = Bar::new("repeat key");
    let repeat = store.repeat_backfill().await?;
    bar.show(
        if repeat.done {
            total
        } else {
            repeat.last_case_id
        },
        total,
    );
    let repeats = manyi_server::find::backfill_repeat_with(&state, batch, |p| {
        bar.show(if p.done { total } else { p.last_case_id }, total);
    })
    .await
    .map_err(err)?;
    bar.show(total, total);
    bar.finish();
    println!(
        "quick find is complete: {examined} cases examined for phone and name keys, every case \
         up to id {} has its number keys; {repeats} cases examined for repeat-complaint keys",
        end.upto
    );
    state.store.close().await;
    Ok(())
}
