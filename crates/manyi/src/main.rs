//! `manyi`, the command line: serve the API, check and explain policies, manage users,
//! tokens and the organisation tree, and compute deadlines on the official calendar.
//!
//! Each subcommand is a thin shell: it parses arguments, opens the store, and calls the same
//! functions the server uses.

mod calendar_cmd;
mod find_cmd;
mod gen_cmd;
mod org_cmd;
mod stats_cmd;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use manyi_core::clock::{Clock, FileClock, SystemClock};
use manyi_core::policy;
use manyi_server::{AppState, ServerConfig, auth, demo, policies};
use manyi_store::{NewUser, Store, StoreError, StoreOptions, Synchronous};

#[derive(Parser)]
#[command(
    name = "manyi",
    version,
    about = "manyi (满意): complaint and customer-service case management that runs your regulation",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives: a SQLite path (`manyi.db`, `sqlite:manyi.db`) or, later,
/// `postgres://…`.
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
struct DbArgs {
    #[arg(long, env = "MANYI_DATABASE", default_value = "sqlite:manyi.db")]
    database: String,
    /// SQLite durability: `full` (default: an acknowledged write survives power loss) or
    /// `normal` (survives a process crash; faster). See docs/OPERATIONS.md.
    #[arg(long, env = "MANYI_SQLITE_SYNCHRONOUS", default_value = "full")]
    sqlite_synchronous: String,
    /// How long a request waits for a database connection before answering 503: `5s`
    /// (default), `500ms`, or a number of seconds. See docs/OPERATIONS.md.
    #[arg(long, env = "MANYI_DB_ACQUIRE_TIMEOUT", default_value = "5s")]
    db_acquire_timeout: String,
    /// PostgreSQL: the most connections this instance opens (default 16). The sum over all
    /// instances must stay below the server's `max_connections`.
    #[arg(long, env = "MANYI_PG_MAX_CONNECTIONS", default_value_t = 16)]
    pg_max_connections: u32,
}

/// `5s`, `500ms`, `2.5` (seconds): a positive duration of at most an hour.
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let t = text.trim();
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = t.strip_suffix('s') {
        (s, 1.0)
    } else {
        (t, 1.0)
    };
    let secs = number.trim().parse::<f64>().ok()? * scale;
    (secs.is_finite() && secs > 0.0 && secs <= 3600.0)
        .then(|| std::time::Duration::from_secs_f64(secs))
}

impl DbArgs {
    async fn open(&self) -> anyhow::Result<Store> {
        let synchronous = match self.sqlite_synchronous.as_str() {
            "full" => Synchronous::Full,
            "normal" => Synchronous::Normal,
            other => bail!("--sqlite-synchronous: `{other}` is not `full` or `normal`"),
        };
        let Some(acquire_timeout) = parse_duration(&self.db_acquire_timeout) else {
            bail!(
                "--db-acquire-timeout: `{}` is not a duration such as `5s` or `500ms` \
                 (more than 0, at most 3600 s)",
                self.db_acquire_timeout
            );
        };
        let opts = StoreOptions {
            sqlite_synchronous: synchronous,
            acquire_timeout,
            pg_max_connections: self.pg_max_connections,
            ..StoreOptions::default()
        };
        let store = Store::connect(&self.database, opts)
            .await
            .map_err(|e| open_error(&self.database, e))?;
        store
            .migrate()
            .await
            .with_context(|| format!("migrating the database `{}`", redact(&self.database)))?;
        Ok(store)
    }
}

/// Says which database could not be opened and why, in one line: the URL (password hidden),
/// the backend, and the reason — without the driver's repetitions.
fn open_error(url: &str, e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Connect {
            url_redacted,
            source,
        } => {
            let backend = if url_redacted.contains("://") {
                "PostgreSQL"
            } else {
                "SQLite"
            };
            anyhow::anyhow!(
                "cannot open the {backend} database `{url_redacted}` (--database / \
                 MANYI_DATABASE): {}",
                driver_reason(backend, &source)
            )
        }
        StoreError::BadUrl { .. } | StoreError::Invalid { .. } => {
            anyhow::anyhow!("--database `{}` (or MANYI_DATABASE): {e}", redact(url))
        }
        other => {
            anyhow::Error::new(other).context(format!("opening the database `{}`", redact(url)))
        }
    }
}

/// The driver's reason, for people: a server's refusal with its SQLSTATE (not the server's
/// source line that sqlx appends), an unreachable server, a bad URL.
fn driver_reason(backend: &str, e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match (backend, db.code()) {
            ("PostgreSQL", Some(code)) => {
                format!("the server refused: {} (SQLSTATE {code})", db.message())
            }
            (_, Some(code)) => format!("{} (SQLite code {code})", db.message()),
            (_, None) => db.message().to_owned(),
        },
        sqlx::Error::Io(io) => format!("the server cannot be reached: {io}"),
        sqlx::Error::Configuration(c) => format!("the URL is not valid: {c}"),
        sqlx::Error::Tls(t) => format!("the TLS handshake failed: {t}"),
        other => other.to_string(),
    }
}

/// An error with its causes, `a: b: c`, skipping a cause that its parent's text already
/// includes (drivers often repeat their source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut previous = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !previous.is_empty() && previous.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        previous = text;
    }
    out
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Check policy files, or print a policy's compliance matrix.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Import or export the organisation tree (units and users) as CSV or JSON.
    #[command(subcommand)]
    Org(org_cmd::OrgCommand),
    /// Show a case: its fields, state, owner and clocks.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Overdue and due-soon deadlines of a unit's subtree.
    Deadlines {
        /// A unit code (default: every unit).
        #[arg(long)]
        unit: Option<String>,
        /// "Due soon" = due within this many hours.
        #[arg(long, default_value_t = 8)]
        within_hours: u32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The official working-day calendar (调休 included) and deadline arithmetic.
    #[command(subcommand)]
    Calendar(calendar_cmd::CalendarCommand),
    /// Fill an empty database with a synthetic organisation and complaints (benchmarks, demos).
    Gen(gen_cmd::GenArgs),
    /// One month's case counts by unit, category and on-time status; `stats rebuild`
    /// recomputes them from the cases.
    Stats(stats_cmd::StatsArgs),
    /// Quick find: `find backfill` gives every case its search keys (phone, name, case
    /// number), with a progress bar; resumable.
    #[command(subcommand)]
    Find(find_cmd::FindCommand),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MANYI_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DbArgs,
    /// Directory of policy files (*.toml) to load and activate at start-up. Without it,
    /// `./policies` is used if it exists, else the policies built into the binary.
    #[arg(long, env = "MANYI_POLICIES")]
    policies: Option<PathBuf>,
    /// On first start, create a demo organisation, users and about 200 sample cases.
    #[arg(long)]
    demo: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MANYI_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// Largest attachment accepted, in bytes (stored in the database; 413 beyond).
    #[arg(long, env = "MANYI_ATTACHMENT_LIMIT", default_value_t = 10 * 1024 * 1024)]
    attachment_limit: usize,
    /// Mark session cookies Secure (set when served over HTTPS).
    #[arg(long, env = "MANYI_SECURE_COOKIES")]
    secure_cookies: bool,
    /// The scheme and host of survey links issued by the scheduler (routine survey rounds,
    /// which no request carries a host for), e.g. https://manyi.example.com.
    #[arg(long, env = "MANYI_PUBLIC_URL")]
    public_url: Option<String>,
    /// FOR MULTI-PROCESS TESTS AND DRILLS ONLY: take the current time from this file (an
    /// RFC 3339 instant, re-read on every use) instead of the system clock, so that one file
    /// moves the time of several servers at once. A change of the instant wakes the deadline
    /// scheduler at once. Logs a warning at start-up. See docs/OPERATIONS.md.
    #[arg(long, hide = true)]
    clock_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check policy files; print every problem as file:line:column. Exit 1 on any error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the compliance matrix: each clause and what in the policy enforces it.
    Explain {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from MANYI_PASSWORD or the first line of stdin.
    Add {
        login: String,
        #[arg(long)]
        name: String,
        /// The code of the user's unit.
        #[arg(long)]
        unit: String,
        /// Roles, comma-separated (e.g. teller,frontline). `admin` administers manyi.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Create the user without a password (API tokens only).
        #[arg(long)]
        no_password: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a user's password, read from MANYI_PASSWORD or the first line of stdin.
    Passwd {
        login: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum CaseCommand {
    /// Print a case with its clocks (JSON with --json).
    Show {
        number: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for USER and print it (it is shown once; only its hash is kept).
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// The policies shipped with manyi, built into the binary for when no directory is given.
const BUILT_IN_POLICIES: &[(&str, &str)] = &[
    (
        "default-complaint.toml",
        include_str!("../../../policies/default-complaint.toml"),
    ),
    (
        "ccb-counter.toml",
        include_str!("../../../policies/ccb-counter.toml"),
    ),
    (
        "jinbi-property.toml",
        include_str!("../../../policies/jinbi-property.toml"),
    ),
    (
        "regional-complaint.toml",
        include_str!("../../../policies/regional-complaint.toml"),
    ),
    (
        "pcb-complaint.toml",
        include_str!("../../../policies/pcb-complaint.toml"),
    ),
    (
        "pharma-complaint.toml",
        include_str!("../../../policies/pharma-complaint.toml"),
    ),
    (
        "lawfirm-complaint.toml",
        include_str!("../../../policies/lawfirm-complaint.toml"),
    ),
    (
        "sht-bigcustomer.toml",
        include_str!("../../../policies/sht-bigcustomer.toml"),
    ),
    (
        "csg-custservice.toml",
        include_str!("../../../policies/csg-custservice.toml"),
    ),
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; one-shot commands only warnings, so their output stays
    // readable. MANYI_LOG overrides both.
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MANYI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    // Policy and calendar commands need no runtime; the rest do IO on tokio.
    let result = match cli.command {
        Command::Policy(cmd) => return run_policy(cmd),
        Command::Calendar(calendar_cmd::CalendarCommand::Import { files, db }) => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")
                .and_then(|rt| rt.block_on(import_calendar(files, db)))
        }
        Command::Calendar(cmd) => {
            calendar_cmd::run(cmd, manyi_core::calendar::Calendar::official())
        }
        other => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")
            .and_then(|rt| rt.block_on(run(other))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn run_policy(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Check { files } => {
            let mut errors = 0;
            for file in &files {
                let name = file.display().to_string();
                let source = match std::fs::read_to_string(file) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{name}: error: cannot read: {e}");
                        errors += 1;
                        continue;
                    }
                };
                let outcome = policy::load(&name, &source);
                for d in &outcome.diagnostics {
                    println!("{d}");
                }
                let n = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
                errors += n;
                if n == 0 {
                    eprintln!("{name}: ok");
                }
            }
            if errors > 0 {
                eprintln!("{errors} error(s)");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        PolicyCommand::Explain { file, json } => {
            let name = file.display().to_string();
            let source = match std::fs::read_to_string(&file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{name}: error: cannot read: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let outcome = policy::load(&name, &source);
            let Some(p) = outcome.policy else {
                for d in &outcome.diagnostics {
                    eprintln!("{d}");
                }
                eprintln!("fix the errors above first (manyi policy check)");
                return ExitCode::FAILURE;
            };
            let rows = policy::compliance_matrix(&p);
            if json {
                match serde_json::to_string_pretty(&rows) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", policy::render_matrix(&p, &rows));
            }
            ExitCode::SUCCESS
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate { db } => {
            db.open().await?;
            eprintln!("database `{}` is up to date", redact(&db.database));
            Ok(())
        }
        Command::User(UserCommand::Add {
            login,
            name,
            unit,
            roles,
            no_password,
            db,
        }) => {
            let store = db.open().await?;
            let password_hash = if no_password {
                None
            } else {
                Some(read_password()?)
            };
            store
                .insert_user(NewUser {
                    login: login.clone(),
                    name,
                    unit_code: unit,
                    roles,
                    password_hash,
                })
                .await?;
            eprintln!("user `{login}` added");
            Ok(())
        }
        Command::User(UserCommand::Passwd { login, db }) => {
            let store = db.open().await?;
            let hash = read_password()?;
            store.set_password_hash(&login, &hash).await?;
            eprintln!("password of `{login}` changed");
            Ok(())
        }
        Command::Token(TokenCommand::Create { user, label, db }) => {
            let store = db.open().await?;
            let found = store
                .user_by_login(&user)
                .await?
                .with_context(|| format!("no user `{user}`"))?;
            let token = auth::random_token(32);
            store
                .create_api_token(
                    &auth::token_hash(&token),
                    found.id,
                    &label,
                    SystemClock.now(),
                )
                .await?;
            println!("{token}");
            eprintln!("token for `{user}` created; send it as `Authorization: Bearer <token>`");
            Ok(())
        }
        Command::Org(cmd) => org_cmd::run(cmd).await,
        Command::Gen(args) => gen_cmd::run(args).await,
        Command::Stats(args) => stats_cmd::run(args).await,
        Command::Find(cmd) => find_cmd::run(cmd).await,
        Command::Case(CaseCommand::Show { number, json, db }) => {
            let state = shell_state(&db).await?;
            let case = manyi_server::api::cases::case_view(&state, &number)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&case)?);
            } else {
                print_case(&case);
            }
            Ok(())
        }
        Command::Deadlines {
            unit,
            within_hours,
            json,
            db,
        } => {
            let state = shell_state(&db).await?;
            let list = manyi_server::api::cases::deadline_list(
                &state,
                None,
                unit.as_deref(),
                within_hours,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for (title, rows) in [
                    ("逾期 overdue", &list.overdue),
                    ("即将到期 due soon", &list.due_soon),
                ] {
                    println!("{title}: {}", rows.len());
                    for r in rows {
                        println!(
                            "  {}  {}  {}  {} {}  due {}{}{}",
                            r.number,
                            r.owner_unit,
                            r.state,
                            r.clause,
                            r.label,
                            r.due,
                            r.remaining_seconds
                                .map(|s| format!("  left {}", human_seconds(s)))
                                .unwrap_or_default(),
                            if r.provisional { "  (provisional)" } else { "" }
                        );
                    }
                }
                if !list.complete {
                    println!("(only the first {} open cases were examined)", list.scanned);
                }
            }
            Ok(())
        }
        Command::Policy(_) | Command::Calendar(_) => unreachable_command(),
    }
}

async fn import_calendar(files: Vec<PathBuf>, db: DbArgs) -> anyhow::Result<()> {
    let state = shell_state(&db).await?;
    manyi_server::calendar::refresh(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut contents = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.file_name().map_or_else(
            || f.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        contents.push((name, bytes));
    }
    let report = manyi_server::calendar::import(&state, contents)
        .await
        .map_err(|e| match e {
            manyi_server::AppError::Invalid { detail, .. } => {
                anyhow::anyhow!("{detail}; nothing was imported")
            }
            other => anyhow::anyhow!("{other:?}"),
        })?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The server's state over a database, for commands that read cases.
async fn shell_state(db: &DbArgs) -> anyhow::Result<AppState> {
    let store = db.open().await?;
    Ok(AppState::new(
        store,
        Arc::new(SystemClock),
        ServerConfig::default(),
    ))
}

/// "2d 3h", "-45m": a signed duration in seconds, for people.
fn human_seconds(s: i64) -> String {
    let sign = if s < 0 { "-" } else { "" };
    let s = s.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h) {
        (0, 0) => format!("{sign}{m}m"),
        (0, _) => format!("{sign}{h}h{m:02}m"),
        _ => format!("{sign}{d}d{h}h"),
    }
}

fn print_case(case: &manyi_server::api::cases::CaseBody) {
    println!(
        "{}  {}  {}（{}）",
        case.number, case.kind_label, case.state_label, case.state
    );
    println!(
        "policy {} v{}  channel {}  owner {} {}  first contact {} ({})",
        case.policy.id,
        case.policy.version,
        case.channel,
        case.owner_unit.code,
        case.owner_unit.name,
        case.first_contact.name,
        case.first_contact.login
    );
    for c in &case.clocks {
        println!(
            "clock {} {} [{}] {:?}  limit {}{}  due {}{}{}{}",
            c.id,
            c.label,
            c.clause,
            c.status,
            c.limit,
            c.level
                .as_ref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default(),
            c.due,
            c.remaining_seconds
                .map(|s| format!("  left {}", human_seconds(s)))
                .unwrap_or_default(),
            if c.overdue { "  OVERDUE" } else { "" },
            if c.provisional { "  (provisional)" } else { "" }
        );
    }
    for (k, v) in &case.fields {
        println!("  {k}: {v}");
    }
}

fn unreachable_command() -> anyhow::Result<()> {
    bail!("internal: this command runs without the async runtime")
}

/// Reads a new password from MANYI_PASSWORD or the first line of stdin, and hashes it.
fn read_password() -> anyhow::Result<String> {
    let password = match std::env::var("MANYI_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            if std::io::stdin().is_terminal() {
                eprint!("password (input is shown; prefer MANYI_PASSWORD or a pipe): ");
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < 8 {
        bail!("a password needs at least 8 characters");
    }
    auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Reads the policy files to load: the directory given, `./policies`, or the built-in ones.
fn policy_sources(dir: Option<&Path>) -> anyhow::Result<Vec<(String, String)>> {
    let dir = match dir {
        Some(d) => Some(d.to_owned()),
        None => Some(PathBuf::from("policies")).filter(|d| d.is_dir()),
    };
    let Some(dir) = dir else {
        return Ok(BUILT_IN_POLICIES
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect());
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading policy directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.toml policy files in {}", dir.display());
    }
    files
        .into_iter()
        .map(|p| {
            let source =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            Ok((p.display().to_string(), source))
        })
        .collect()
}

/// How often a `--clock-file` is re-read to notice that a test moved the time.
const CLOCK_FILE_POLL: std::time::Duration = std::time::Duration::from_millis(50);

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file_clock = match &args.clock_file {
        Some(path) => {
            let clock = FileClock::open(path).context("--clock-file")?;
            tracing::warn!(
                clock_file = %path.display(),
                now = %clock.now(),
                "THE TIME COMES FROM --clock-file, NOT FROM THE SYSTEM CLOCK: cases are dated and \
                 deadlines fire by what the file says. For multi-process tests and drills only; \
                 never in production"
            );
            Some(Arc::new(clock))
        }
        None => None,
    };
    let store = args.db.open().await?;
    let clock: Arc<dyn Clock> = match &file_clock {
        Some(c) => c.clone(),
        None => Arc::new(SystemClock),
    };
    let state = AppState::new(
        store.clone(),
        clock.clone(),
        ServerConfig {
            body_limit: args.body_limit,
            secure_cookies: args.secure_cookies,
            attachment_limit: args.attachment_limit,
            public_url: args.public_url.clone(),
            ..ServerConfig::default()
        },
    );

    // Every policy must check clean before any is activated: a server never starts on a
    // half-valid policy set.
    let sources = policy_sources(args.policies.as_deref())?;
    let mut broken = 0;
    for (name, source) in &sources {
        let outcome = policy::load(name, source);
        for d in &outcome.diagnostics {
            eprintln!("{d}");
        }
        broken += usize::from(outcome.has_errors());
    }
    if broken > 0 {
        bail!("{broken} policy file(s) have errors; nothing was activated");
    }
    for (name, source) in &sources {
        // A pack with unfilled placeholders (CLAUSES.md A31) is stored but not activated.
        let open = policy::placeholders(source);
        let (record, _) = policies::install(
            &store,
            &state.policies,
            name,
            source,
            clock.now(),
            open.is_empty(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("installing policy {name}: {e:?}"))?;
        if open.is_empty() {
            tracing::info!(policy = %record.name, version = record.version, "policy active");
        } else {
            let list: Vec<String> = open.iter().map(|p| format!("{name}:{p}")).collect();
            tracing::warn!(
                policy = %record.name,
                version = record.version,
                "NOT ACTIVATED: {} unfilled placeholder(s) to fill in first: {}",
                open.len(),
                list.join("; ")
            );
        }
    }

    if args.demo {
        match demo::seed(&state, clock.now())
            .await
            .map_err(|e| anyhow::anyhow!("seeding the demo: {e:?}"))?
        {
            Some(s) => eprintln!(
                "demo: created {} units, {} users and {} cases",
                s.units, s.users, s.cases
            ),
            None => eprintln!("demo: the database already has an organisation; not seeding"),
        }
        eprintln!(
            "demo logins (password `{}`): admin, hq.service, bj.service, bjhd.head, \
             bjhd01.head, bjhd01.teller, bjhd01.lobby — see README.md",
            demo::DEMO_PASSWORD
        );
    }

    let today = clock.now().to_zoned_datetime(manyi_core::china_tz()).date();
    for alert in state.calendar.gap_alerts(today) {
        tracing::warn!(year = alert.year, "{alert}");
    }

    if let Some(file_clock) = file_clock {
        tokio::spawn(wake_scheduler_on_clock_file_change(
            file_clock,
            state.timers_changed.clone(),
        ));
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "manyi listening on http://{addr} (database: {}, {})",
        redact(&args.db.database),
        store.backend_name()
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down");
    };
    manyi_server::serve(listener, state, shutdown).await?;
    store.close().await;
    Ok(())
}

/// With `--clock-file`: the time jumps when a test rewrites the file, not as seconds pass, so
/// the scheduler (which sleeps until the next due instant, at most `scheduler::MAX_SLEEP`)
/// is woken whenever the instant in the file changes, and fires what became due at once.
async fn wake_scheduler_on_clock_file_change(
    clock: Arc<FileClock>,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut seen = clock.now();
    let mut every = tokio::time::interval(CLOCK_FILE_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = clock.now();
        if now != seen {
            seen = now;
            // A permit is kept if the scheduler is busy ticking: it ticks again right after.
            wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn acquire_timeouts_read_as_seconds_or_milliseconds_and_nonsense_is_refused() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2.5"), Some(Duration::from_millis(2500)));
        for bad in ["", "0s", "-1s", "soon", "1h", "7200", "NaNs"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
