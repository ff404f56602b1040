//! `manyi org import|export`: the organisation tree as JSON (`{"units": [...], "users": [...]}`)
//! or as two CSV files (units: `code,name,level,parent`; users: `login,name,unit,roles` with
//! roles separated by `;`).
//!
//! An import is checked as a whole first (codes, parents, cycles, levels and roles against the
//! active policies) and every bad row is reported; only a clean import is written, in one
//! transaction, so nothing is ever half-imported.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use manyi_core::org::{UnitRow, UserRow, validate_import};
use manyi_core::policy;
use manyi_store::{NewUnit, NewUser, Store};
use serde::{Deserialize, Serialize};

use crate::DbArgs;

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Import units and users (insert or update by code / login). Either one JSON file, or
    /// `--units FILE.csv` and/or `--users FILE.csv`.
    Import {
        /// A JSON file `{"units": [...], "users": [...]}`.
        file: Option<PathBuf>,
        #[arg(long)]
        units: Option<PathBuf>,
        #[arg(long)]
        users: Option<PathBuf>,
        /// Check only; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Export units and users: JSON to stdout, or CSV files into `--out DIR`.
    Export {
        #[arg(long, default_value = "json")]
        format: String,
        /// With `--format csv`: the directory for units.csv and users.csv.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgFile {
    #[serde(default)]
    units: Vec<UnitRow>,
    #[serde(default)]
    users: Vec<UserRow>,
}

/// A user row as CSV has it: roles in one column.
#[derive(Serialize, Deserialize)]
struct CsvUser {
    login: String,
    name: String,
    unit: String,
    roles: String,
}

fn read_csv<T: for<'de> Deserialize<'de>>(path: &PathBuf) -> anyhow::Result<Vec<T>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, record) in reader.deserialize().enumerate() {
        // Row numbers count data rows from 1, as the validation errors do.
        rows.push(record.with_context(|| format!("{} row {}", path.display(), i + 1))?);
    }
    Ok(rows)
}

/// Level and role ids the active policies declare, to check the import against.
async fn declared(store: &Store) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut levels = Vec::new();
    let mut roles = vec!["admin".to_owned()];
    for record in store.active_policies().await? {
        if let Some(p) = policy::load(&record.name, &record.source).policy {
            levels.extend(p.levels.iter().map(|l| l.id.clone()));
            roles.extend(p.roles.iter().map(|r| r.id.clone()));
        }
    }
    levels.sort();
    levels.dedup();
    roles.sort();
    roles.dedup();
    // With no active policy there is nothing to check levels against.
    if levels.is_empty() {
        roles.clear();
    }
    Ok((levels, roles))
}

pub async fn run(cmd: OrgCommand) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::Import {
            file,
            units,
            users,
            dry_run,
            db,
        } => {
            let org = match (&file, &units, &users) {
                (Some(f), None, None) => {
                    let text = std::fs::read_to_string(f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    serde_json::from_str::<OrgFile>(&text).with_context(|| {
                        format!("{} is not a valid organisation file", f.display())
                    })?
                }
                (None, u, s) if u.is_some() || s.is_some() => OrgFile {
                    units: u.as_ref().map(read_csv).transpose()?.unwrap_or_default(),
                    users: s
                        .as_ref()
                        .map(read_csv::<CsvUser>)
                        .transpose()?
                        .unwrap_or_default()
                        .into_iter()
                        .map(|u| UserRow {
                            login: u.login,
                            name: u.name,
                            unit: u.unit,
                            roles: u
                                .roles
                                .split([';', '|'])
                                .map(str::trim)
                                .filter(|r| !r.is_empty())
                                .map(str::to_owned)
                                .collect(),
                        })
                        .collect(),
                },
                _ => bail!("give either one JSON file, or --units and/or --users CSV files"),
            };
            let store = db.open().await?;
            let existing: Vec<String> = store
                .list_units()
                .await?
                .into_iter()
                .map(|u| u.code)
                .collect();
            let (levels, roles) = declared(&store).await?;
            let errors = validate_import(&org.units, &org.users, &existing, &levels, &roles);
            if !errors.is_empty() {
                for e in &errors {
                    eprintln!("{e}");
                }
                bail!("{} error(s); nothing was imported", errors.len());
            }
            if dry_run {
                eprintln!(
                    "dry run: {} units and {} users would be imported",
                    org.units.len(),
                    org.users.len()
                );
                return Ok(());
            }
            // Parents before children, so that each unit's parent exists when it is written.
            let units = parents_first(org.units);
            let summary = store
                .import_org(
                    units
                        .into_iter()
                        .map(|u| NewUnit {
                            code: u.code,
                            name: u.name,
                            level: u.level,
                            parent_code: u.parent,
                        })
                        .collect(),
                    org.users
                        .into_iter()
                        .map(|u| NewUser {
                            login: u.login,
                            name: u.name,
                            unit_code: u.unit,
                            roles: u.roles,
                            password_hash: None,
                        })
                        .collect(),
                )
                .await?;
            eprintln!(
                "imported: units {} new, {} updated; users {} new, {} updated",
                summary.units_inserted,
                summary.units_updated,
                summary.users_inserted,
                summary.users_updated
            );
            Ok(())
        }
        OrgCommand::Export { format, out, db } => {
            let store = db.open().await?;
            let units = store.list_units().await?;
            let code_of = |id: i64| units.iter().find(|u| u.id == id).map(|u| u.code.clone());
            let unit_rows: Vec<UnitRow> = units
                .iter()
                .map(|u| UnitRow {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    level: u.level.clone(),
                    parent: u.parent_id.and_then(code_of),
                })
                .collect();
            let user_rows: Vec<UserRow> = store
                .list_users()
                .await?
                .into_iter()
                .map(|u| UserRow {
                    login: u.login,
                    name: u.name,
                    unit: u.unit_code,
                    roles: u.roles,
                })
                .collect();
            match format.as_str() {
                "json" => {
                    let file = OrgFile {
                        units: unit_rows,
                        users: user_rows,
                    };
                    println!("{}", serde_json::to_string_pretty(&file)?);
                }
                "csv" => {
                    let dir = out.context("--format csv needs --out DIR")?;
                    std::fs::create_dir_all(&dir)?;
                    let mut w = csv::Writer::from_path(dir.join("units.csv"))?;
                    for u in &unit_rows {
                        w.serialize(u)?;
                    }
                    w.flush()?;
                    let mut w = csv::Writer::from_path(dir.join("users.csv"))?;
                    for u in user_rows {
                        w.serialize(CsvUser {
                            login: u.login,
                            name: u.name,
                            unit: u.unit,
                            roles: u.roles.join(";"),
                        })?;
                    }
                    w.flush()?;
                    eprintln!("wrote {0}/units.csv and {0}/users.csv", dir.display());
                }
                other => bail!("--format `{other}`: use json or csv"),
            }
            Ok(())
        }
    }
}

/// Orders units so that every parent comes before its children (the input has no cycles:
/// validation ran first). Parents that already exist in the database count as placed.
fn parents_first(units: Vec<UnitRow>) -> Vec<UnitRow> {
    let pending: HashSet<String> = units.iter().map(|u| u.code.clone()).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(units.len());
    let mut rest = units;
    while !rest.is_empty() {
        let before = rest.len();
        let (ready, later): (Vec<_>, Vec<_>) = rest.into_iter().partition(|u| match &u.parent {
            None => true,
            Some(p) => placed.contains(p) || !pending.contains(p),
        });
        placed.extend(ready.iter().map(|u| u.code.clone()));
        ordered.extend(ready);
        rest = later;
        if rest.len() == before {
            // Unreachable after validation; keep every row rather than loop or drop one.
            ordered.append(&mut rest);
        }
    }
    ordered
}
