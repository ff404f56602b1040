//! `manyi gen`: fills an empty database with a synthetic bank — head office, tier-1 and tier-2
//! branches, outlets, their staff — and complaints in Chinese spread over the last twelve
//! months, for benchmarks and demos.
//!
//! Every case is made by the domain, not by hand: `engine::decide_create`, then the
//! transitions a real case would take (`engine::decide_transition`), each applied with
//! `case::apply` and planned with `deadlines::timer_plan`, on the official calendar, with the
//! time each step happened. So snapshots, event logs and timers are the ones the server would
//! have written. Only the writing differs: cases go to the store in large batches
//! (`Store::bulk_insert_cases`), which also advances the number counters, so that the next
//! case created the normal way continues each serial without a gap.
//!
//! What a dataset looks like (deterministic per `--seed` and `--now`):
//! - cases are spread evenly over the 365 days before `--now`, in time order (ids and serials
//!   grow with time);
//! - a case whose clocks would still be running at `--now` (registered in the last working
//!   day or two) stops at a random step of its life: open, with its timers pending;
//! - an older case has been handled to the end (closed) within hours, before any timer fell
//!   due — except about 4 %, which wait for the customer's callback or feedback (replied,
//!   open, no running clock);
//! - no clock has breached: a generated database starts with no violations and no overdue
//!   timers, so `manyi serve` over it has nothing to catch up on.
//!
//! Generation runs on worker threads (one per CPU), writing on the async runtime overlaps it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use jiff::{SignedDuration, Timestamp};
use manyi_core::calendar::Calendar;
use manyi_core::callback;
use manyi_core::case::{self, Case, PersonRef};
use manyi_core::clock::{Clock, SystemClock};
use manyi_core::deadlines::{self, TimerInstruction};
use manyi_core::engine::{self, CreateInput, Directory, TransitionInput};
use manyi_core::org::{Actor, UnitRef};
use manyi_server::api::cases::{event_of, snapshot_of};
use manyi_server::policies::Compiled;
use manyi_server::{AppState, ServerConfig, auth, demo, policies};
use manyi_store::{BulkCase, BulkTimer, BulkWrite, NewUnit, NewUser, Store};
use serde_json::{Map, Value, json};

use crate::DbArgs;

#[derive(clap::Args)]
pub struct GenArgs {
    /// About how many units: head office, tier-1 and tier-2 branches, and the rest outlets.
    #[arg(long, default_value_t = 1_000)]
    pub units: usize,
    /// How many cases.
    #[arg(long, default_value_t = 100_000)]
    pub cases: u64,
    /// The same seed (and `--now`) gives the same database.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The end of the twelve months the cases span (RFC 3339); default: the current time.
    #[arg(long)]
    pub now: Option<Timestamp>,
    /// Cases per transaction.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Directory of policy files to install (default: as `manyi serve`).
    #[arg(long, env = "MANYI_POLICIES")]
    pub policies: Option<PathBuf>,
    /// Print no progress.
    #[arg(long)]
    pub quiet: bool,
    /// Keep the secondary indexes of `cases` and `case_find` during the load instead of
    /// dropping them before it and re-creating them after it (to measure the two).
    #[arg(long, hide = true)]
    pub keep_indexes: bool,
    /// How PostgreSQL is written: `copy` (the default), or `insert`, the earlier multi-row
    /// INSERTs, to measure the two against each other (BENCHMARKS.md). SQLite ignores it.
    #[arg(long, hide = true, default_value = "copy", value_parser = ["copy", "insert"])]
    pub bulk_write: String,
    #[command(flatten)]
    pub db: DbArgs,
}

/// What `gen` made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenSummary {
    pub units: usize,
    pub users: usize,
    pub cases: u64,
    pub open: u64,
    pub timers: u64,
}

pub async fn run(args: GenArgs) -> anyhow::Result<()> {
    let store = args.db.open().await?;
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let sources = crate::policy_sources(args.policies.as_deref())?;
    let started = Instant::now();
    let summary = generate(&store, &sources, &args, now).await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "gen: {} units, {} users, {} cases ({} open, {} pending timers) in {secs:.1} s — {:.0} cases/s ({})",
        summary.units,
        summary.users,
        summary.cases,
        summary.open,
        summary.timers,
        summary.cases as f64 / secs.max(1e-9),
        store.backend_name()
    );
    store.close().await;
    Ok(())
}

/// Fills `store` (which must have no units yet). `sources` are the policy files to install.
pub async fn generate(
    store: &Store,
    sources: &[(String, String)],
    args: &GenArgs,
    now: Timestamp,
) -> anyhow::Result<GenSummary> {
    if !store.list_units().await?.is_empty() {
        bail!("the database already has an organisation; `manyi gen` fills an empty one");
    }
    let state = AppState::new(
        store.clone(),
        Arc::new(SystemClock),
        ServerConfig::default(),
    );
    for (name, source) in sources {
        // A pack with unfilled placeholders (CLAUSES.md A31) is stored, not activated.
        let activate = manyi_core::policy::placeholders(source).is_empty();
        if !activate {
            eprintln!(
                "{name}: has unfilled placeholders (manyi policy check); stored, not activated"
            );
        }
        policies::install(store, &state.policies, name, source, now, activate)
            .await
            .map_err(|e| anyhow::anyhow!("installing policy {name}: {e:?}"))?;
    }
    let mut compiled = Vec::new();
    for name in ["default-complaint", "ccb-counter"] {
        let record = store
            .active_policy(name)
            .await?
            .with_context(|| format!("`manyi gen` needs the policy `{name}`"))?;
        compiled.push(
            state
                .policies
                .compile(&record)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        );
    }

    let org = Org::plan(args.units)?;
    let hash = auth::hash_password(demo::DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    store
        .import_org(org.units.clone(), org.users(&hash))
        .await
        .context("writing the organisation")?;
    let world = Arc::new(World::load(store, &org, compiled).await?);
    let mut summary = GenSummary {
        units: world.units_count,
        users: world.users_count,
        ..GenSummary::default()
    };

    let total = args.cases;
    let batch = args.batch.max(1) as u64;
    let batches = total.div_ceil(batch);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(usize::try_from(batches).unwrap_or(1).max(1));
    let span = SignedDuration::from_hours(365 * 24);
    let start = now - span;
    let slot_ms = (span.as_millis() / i128::from(total.max(1))).max(1) as i64;

    // Worker w makes batches w, w + W, w + 2W, …; the writer takes them in order.
    let mut receivers = Vec::new();
    let mut handles = Vec::new();
    for w in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::channel::<anyhow::Result<Vec<Made>>>(1);
        receivers.push(rx);
        let world = world.clone();
        let seed = args.seed;
        handles.push(std::thread::spawn(move || {
            let mut b = w as u64;
            while b < batches {
                let lo = b * batch;
                let hi = (lo + batch).min(total);
                let made = (lo..hi)
                    .map(|i| {
                        let at = start
                            + SignedDuration::from_millis(
                                slot_ms * i as i64 + (mix(seed, i) % slot_ms as u64) as i64,
                            );
                        world.make_case(seed, i, at, now)
                    })
                    .collect::<anyhow::Result<Vec<_>>>();
                if tx.blocking_send(made).is_err() {
                    return;
                }
                b += workers as u64;
            }
        }));
    }

    let how = if args.bulk_write == "insert" {
        BulkWrite::Insert
    } else {
        BulkWrite::Copy
    };
    // Maintaining the secondary indexes row by row is what slows a large load once they
    // outgrow the cache: they are dropped here and built once at the end. Their definitions
    // are recorded in the same transaction, so a load killed halfway leaves them listed, and
    // the next `manyi migrate` (or start of `manyi serve`) re-creates them.
    let deferred = if total > 0 && !args.keep_indexes {
        store.defer_bulk_indexes(now).await?
    } else {
        Vec::new()
    };
    let loaded = load(
        store,
        args,
        how,
        batches,
        batch,
        total,
        workers,
        &mut receivers,
        &mut summary,
    )
    .await;
    // A generator blocked on a full channel ends when its receiver is gone.
    drop(receivers);
    for h in handles {
        let _ = h.join();
    }
    if !deferred.is_empty() {
        let t = Instant::now();
        let rebuilt = store.rebuild_deferred_indexes().await;
        match (&loaded, rebuilt) {
            (_, Ok(names)) => {
                if !args.quiet {
                    eprintln!(
                        "gen: re-created {} indexes and foreign keys ({}) in {:.1} s",
                        names.len(),
                        names.join(", "),
                        t.elapsed().as_secs_f64()
                    );
                }
            }
            (Ok(()), Err(e)) => {
                return Err(anyhow::Error::new(e).context(
                    "re-creating the indexes dropped for the load; they are listed in \
                     `deferred_indexes` and `manyi migrate` re-creates them",
                ));
            }
            (Err(_), Err(e)) => eprintln!(
                "gen: re-creating the indexes dropped for the load failed too ({e}); \
                 `manyi migrate` re-creates them"
            ),
        }
    }
    loaded?;
    Ok(summary)
}

/// Receives the generated batches in order and writes them.
#[expect(clippy::too_many_arguments, reason = "one private helper of generate")]
async fn load(
    store: &Store,
    args: &GenArgs,
    how: BulkWrite,
    batches: u64,
    batch: u64,
    total: u64,
    workers: usize,
    receivers: &mut [tokio::sync::mpsc::Receiver<anyhow::Result<Vec<Made>>>],
    summary: &mut GenSummary,
) -> anyhow::Result<()> {
    let mut serials: BTreeMap<(String, String), u64> = BTreeMap::new();
    let started = Instant::now();
    // Time the writer spent waiting for the generators, and in the store.
    let mut waiting = std::time::Duration::ZERO;
    let mut writing = std::time::Duration::ZERO;
    let mut last_report = Instant::now();
    for b in 0..batches {
        let rx = &mut receivers[(b % workers as u64) as usize];
        let t = Instant::now();
        let made = rx.recv().await.context("a generator thread stopped")??;
        waiting += t.elapsed();
        let mut cases = Vec::with_capacity(made.len());
        for m in made {
            let serial = serials
                .entry((m.numbering.pattern().to_owned(), m.period.clone()))
                .or_insert(0);
            *serial += 1;
            let number = m.numbering.format(m.date, *serial);
            let mut c = m.case;
            // The create path stores the snapshot before the number exists; any later write
            // stores it with its number (as `transition_as` does).
            if c.events.len() > 1
                && let Some(obj) = c.snapshot.as_object_mut()
            {
                obj.insert("number".into(), Value::String(number.clone()));
            }
            c.number = number;
            c.serial = *serial;
            summary.open += u64::from(!c.closed);
            summary.timers += c.timers.len() as u64;
            cases.push(c);
        }
        summary.cases += cases.len() as u64;
        let t = Instant::now();
        store
            .bulk_insert_cases_with(&cases, how)
            .await
            .with_context(|| format!("writing cases {}..", b * batch))?;
        writing += t.elapsed();
        // Freeing a batch's JSON trees takes a while: off the writer's path.
        drop(tokio::task::spawn_blocking(move || drop(cases)));
        if !args.quiet && (last_report.elapsed().as_secs() >= 5 || b + 1 == batches) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let rate = summary.cases as f64 / secs.max(1e-9);
            eprintln!(
                "gen: {}/{} cases ({:.1} %), {rate:.0} cases/s, {:.0} s left \
                 (writer: {:.0} % writing, {:.0} % waiting for the generators)",
                summary.cases,
                total,
                100.0 * summary.cases as f64 / total.max(1) as f64,
                (total - summary.cases) as f64 / rate.max(1e-9),
                100.0 * writing.as_secs_f64() / secs.max(1e-9),
                100.0 * waiting.as_secs_f64() / secs.max(1e-9),
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The organisation
// ---------------------------------------------------------------------------------------------

const CITIES: &[&str] = &[
    "北京",
    "上海",
    "广州",
    "深圳",
    "天津",
    "重庆",
    "杭州",
    "南京",
    "武汉",
    "成都",
    "西安",
    "苏州",
    "郑州",
    "长沙",
    "沈阳",
    "青岛",
    "宁波",
    "济南",
    "合肥",
    "福州",
    "厦门",
    "昆明",
    "大连",
    "哈尔滨",
    "长春",
    "石家庄",
    "南昌",
    "南宁",
    "贵阳",
    "太原",
    "兰州",
    "乌鲁木齐",
    "呼和浩特",
    "海口",
    "银川",
    "西宁",
];
const DISTRICTS: &[&str] = &[
    "城东",
    "城西",
    "城南",
    "城北",
    "高新",
    "经开",
    "新区",
    "江北",
    "江南",
    "河东",
    "河西",
    "滨海",
    "东湖",
    "西湖",
    "中山",
    "人民路",
    "解放路",
    "建设路",
    "和平",
    "开发区",
];
const PLACES: &[&str] = &[
    "中山路",
    "人民广场",
    "火车站",
    "大学城",
    "科技园",
    "万达广场",
    "体育中心",
    "新城",
    "湖滨",
    "花园路",
    "世纪大道",
    "文化路",
    "工业园",
    "港口",
    "机场路",
    "步行街",
    "金融街",
    "会展中心",
    "政务中心",
    "老城",
];

/// The planned tree: HQ, `f` tier-1 branches, `f` tier-2 branches under each, and the rest of
/// the units as outlets spread over the tier-2 branches.
struct Org {
    units: Vec<NewUnit>,
}

impl Org {
    fn plan(n: usize) -> anyhow::Result<Org> {
        let f = ((n as f64).cbrt().floor() as usize).max(2);
        let outlets = n.saturating_sub(1 + f + f * f);
        if outlets == 0 {
            bail!(
                "--units {n} is too few: at least {} for a tree with outlets",
                2 + f + f * f
            );
        }
        let mut units = vec![NewUnit {
            code: "HQ".into(),
            name: "总行".into(),
            level: "hq".into(),
            parent_code: None,
        }];
        let mut tier2 = Vec::new();
        for a in 0..f {
            let city = CITIES[a % CITIES.len()];
            let round = a / CITIES.len();
            let code = format!("B{:02}", a + 1);
            units.push(NewUnit {
                code: code.clone(),
                name: if round == 0 {
                    format!("{city}分行")
                } else {
                    format!("{city}第{}分行", round + 1)
                },
                level: "branch1".into(),
                parent_code: Some("HQ".into()),
            });
            for b in 0..f {
                let child = format!("{code}S{:02}", b + 1);
                let district = DISTRICTS[b % DISTRICTS.len()];
                let suffix = if b >= DISTRICTS.len() {
                    format!("{}", b / DISTRICTS.len() + 1)
                } else {
                    String::new()
                };
                units.push(NewUnit {
                    code: child.clone(),
                    name: format!("{city}{district}{suffix}支行"),
                    level: "branch2".into(),
                    parent_code: Some(code.clone()),
                });
                tier2.push((child, format!("{city}{district}{suffix}")));
            }
        }
        for o in 0..outlets {
            let (parent, prefix) = &tier2[o % tier2.len()];
            let k = o / tier2.len();
            let place = PLACES[k % PLACES.len()];
            let nth = if k >= PLACES.len() {
                format!("第{}", k / PLACES.len() + 1)
            } else {
                String::new()
            };
            units.push(NewUnit {
                code: format!("{parent}W{:03}", k + 1),
                name: format!("{prefix}{place}{nth}营业网点"),
                level: "outlet".into(),
                parent_code: Some(parent.clone()),
            });
        }
        Ok(Org { units })
    }

    /// Staff for the roles of the shipped policies (as `serve --demo` gives them): an outlet
    /// has a teller and a head, a tier-2 branch a head, a tier-1 branch and the head office a
    /// service-management department. All share the demo password.
    fn users(&self, hash: &str) -> Vec<NewUser> {
        let mut rng = Rng(0x5eed);
        let mut users = vec![NewUser {
            login: "admin".into(),
            name: "系统管理员".into(),
            unit_code: "HQ".into(),
            roles: vec!["admin".into()],
            password_hash: Some(hash.to_owned()),
        }];
        for u in &self.units {
            let lower = u.code.to_lowercase();
            let mut add = |suffix: &str, title: &str, roles: &[&str]| {
                users.push(NewUser {
                    login: format!("{lower}.{suffix}"),
                    name: format!("{}（{}{title}）", person_name(&mut rng), u.name),
                    unit_code: u.code.clone(),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    password_hash: Some(hash.to_owned()),
                });
            };
            match u.level.as_str() {
                "hq" | "branch1" => add(
                    "service",
                    "服务管理部",
                    &["service_mgmt", "service_dept", "dept_head"],
                ),
                "branch2" => add(
                    "head",
                    "负责人",
                    &["dept_head", "unit_head", "service_mgmt", "service_dept"],
                ),
                _ => {
                    add("teller", "柜员", &["teller", "frontline"]);
                    add("head", "负责人", &["outlet_head", "unit_head", "handler"]);
                }
            }
        }
        users
    }
}

/// An outlet with the people who act on its cases.
struct Outlet {
    teller: Actor,
    head: Actor,
    /// The service department of its tier-1 branch (calls customers back).
    service: Actor,
}

/// Everything a worker needs to make cases: policies, units, people. Read-only.
struct World {
    policies: Vec<Arc<Compiled>>,
    directory: Directory,
    outlets: Vec<Outlet>,
    units_count: usize,
    users_count: usize,
}

impl World {
    async fn load(store: &Store, org: &Org, policies: Vec<Arc<Compiled>>) -> anyhow::Result<World> {
        let units = store.list_units().await?;
        let users = store.list_users().await?;
        let mut directory = Directory::default();
        let mut refs = BTreeMap::new();
        for u in &units {
            let r = UnitRef::from_path(u.id, &u.code, &u.name, &u.level, &u.path);
            directory.add_unit(r.clone());
            refs.insert(u.code.clone(), r);
        }
        let mut actors = BTreeMap::new();
        for u in &users {
            directory.add_person(PersonRef {
                id: u.id,
                login: u.login.clone(),
                name: u.name.clone(),
            });
            let unit = refs
                .get(&u.unit_code)
                .cloned()
                .context("a user's unit is missing")?;
            actors.insert(
                u.login.clone(),
                Actor {
                    id: u.id,
                    login: u.login.clone(),
                    name: u.name.clone(),
                    unit,
                    roles: u.roles.clone(),
                },
            );
        }
        let actor = |login: String| {
            actors
                .get(&login)
                .cloned()
                .with_context(|| format!("generated user {login} missing"))
        };
        let mut outlets = Vec::new();
        for u in org.units.iter().filter(|u| u.level == "outlet") {
            let lower = u.code.to_lowercase();
            // B01S02W003 → b01
            outlets.push(Outlet {
                teller: actor(format!("{lower}.teller"))?,
                head: actor(format!("{lower}.head"))?,
                service: actor(format!("{}.service", &lower[..3]))?,
            });
        }
        Ok(World {
            policies,
            directory,
            outlets,
            units_count: units.len(),
            users_count: users.len(),
        })
    }

    /// Case `i`, registered at `at`, as it stands at `now`.
    fn make_case(&self, seed: u64, i: u64, at: Timestamp, now: Timestamp) -> anyhow::Result<Made> {
        let mut rng = Rng(mix(seed, i) | 1);
        let outlet = &self.outlets[rng.below(self.outlets.len())];
        let ccb = rng.below(5) < 2;
        let policy = &self.policies[usize::from(ccb)];
        let (category, matter, demand) = *rng.pick(MATTERS);
        let name = person_name(&mut rng);
        let phone = mobile(&mut rng);
        let id_number = (rng.below(3) == 0).then(|| resident_id(&mut rng));
        let detail = format!("{}{}", rng.pick(OPENINGS), matter);
        let mut fields = Map::new();
        let (name_f, phone_f, text_f) = if ccb {
            ("customer_name", "customer_phone", "content")
        } else {
            ("complainant_name", "contact_phone", "matter")
        };
        fields.insert(name_f.into(), json!(name));
        fields.insert(phone_f.into(), json!(phone));
        fields.insert(text_f.into(), json!(detail));
        fields.insert("customer_demand".into(), json!(demand));
        if let Some(id) = id_number {
            fields.insert("id_number".into(), json!(id));
        }
        let channel = if ccb {
            *rng.pick(&[
                "counter",
                "counter",
                "hotline_95533",
                "letter_visit",
                "phone",
            ])
        } else {
            *rng.pick(&["counter", "counter", "phone", "hotline", "web", "letter"])
        };
        let input = CreateInput {
            kind: "complaint".into(),
            channel: channel.into(),
            fields,
        };
        let calendar = Calendar::official().view();
        let event = engine::decide_create(
            policy,
            policy.record_id,
            &input,
            &outlet.teller,
            &self.directory,
            &calendar,
            at,
        )
        .map_err(|r| anyhow::anyhow!("generated case refused: {r:?}"))?;
        let opened = case::apply("", None, &event)?;
        let first = event_of(&event).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut first_timers = Pending::new();
        plan_timers(
            &mut first_timers,
            deadlines::timer_plan(&BTreeMap::new(), &event.clocks),
        );

        let full = step_count(ccb);
        // Young cases stop anywhere; old ones are closed, or (4 %) replied and waiting for the
        // callback (the last two steps are the callback's verdict and the close).
        let young = at + SignedDuration::from_hours(3 * 24) > now;
        let stop_at = if young {
            rng.below(full + 1)
        } else if rng.below(25) == 0 {
            full - 2
        } else {
            full
        };
        // A case that would have a timer due by `now` was handled to its end in time instead.
        let mut lived = None;
        for stop in [stop_at, full] {
            let life = self.live(
                policy, outlet, ccb, category, &opened, stop, at, now, &mut rng,
            )?;
            let mut timers = first_timers.clone();
            for plan in &life.plans {
                plan_timers(&mut timers, plan.clone());
            }
            if timers.values().all(|due| *due > now) {
                lived = Some((life, timers));
                break;
            }
        }
        let Some((life, timers)) = lived else {
            bail!("case {i} would have a timer due by --now even when handled at once");
        };
        let case = life.case.unwrap_or(opened);
        let snapshot = snapshot_of(&case).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut events = vec![first];
        events.extend(life.events);
        let kind = policy
            .kind("complaint")
            .context("the policy has no complaint kind")?;
        let date = at.to_zoned_datetime(manyi_core::china_tz()).date();
        let numbering = kind.numbering.clone();
        Ok(Made {
            period: numbering.period(date),
            numbering,
            date,
            case: BulkCase {
                number: String::new(),
                number_scope: kind.numbering.pattern().to_owned(),
                number_period: kind.numbering.period(date),
                serial: 0,
                kind: case.kind.clone(),
                policy_id: policy.record_id,
                state: case.state.clone(),
                owner_unit_id: case.owner_unit.id,
                first_contact_id: case.first_contact.id,
                assignee_id: case.assignee.as_ref().map(|a| a.id),
                channel: case.channel.clone(),
                created_at: at,
                updated_at: case.updated_at,
                closed: case.closed,
                find: manyi_server::api::cases::find_keys(&case.policy_id, kind, &case.fields),
                due_at: manyi_core::deadlines::due_at(&case),
                snapshot,
                events,
                timers: timers
                    .into_iter()
                    .map(|((clock, kind, generation), due_at)| BulkTimer {
                        clock,
                        kind,
                        generation,
                        due_at,
                    })
                    .collect(),
            },
        })
    }
    /// The transitions of a case after it was opened, up to `stop` of them, each 10–90
    /// minutes after the previous one and never after `now`.
    #[expect(clippy::too_many_arguments, reason = "one private helper of make_case")]
    fn live(
        &self,
        policy: &Compiled,
        outlet: &Outlet,
        ccb: bool,
        category: &str,
        opened: &Case,
        stop: usize,
        at: Timestamp,
        now: Timestamp,
        rng: &mut Rng,
    ) -> anyhow::Result<Life> {
        let calendar = Calendar::official().view();
        let mut life = Life::default();
        let mut case = opened.clone();
        // As `transition_as` reads it back: with its number (set once the serial is known).
        case.number = String::new();
        let mut t = at;
        // Whether any step happened (the case is then the one after the last).
        let mut moved = false;
        for (actor, action, pairs) in steps(ccb, outlet, category, rng).into_iter().take(stop) {
            t += SignedDuration::from_mins(10 + rng.below(80) as i64);
            if t > now {
                break;
            }
            let ev = if action == "callback_verdict" {
                // 回访 is not a transition: the callback's own decision records the verdict.
                let verdict = pairs
                    .iter()
                    .find(|(k, _)| *k == "verdict")
                    .and_then(|(_, v)| v.as_str())
                    .and_then(callback::Verdict::parse)
                    .unwrap_or(callback::Verdict::Satisfied);
                let input = callback::VerdictInput {
                    party: callback::Party::Customer,
                    verdict,
                    channel: Some("phone".into()),
                    note: None,
                };
                callback::decide_verdict(
                    policy,
                    &case,
                    &input,
                    actor,
                    &self.directory,
                    &calendar,
                    t,
                )
            } else {
                let input = TransitionInput {
                    action: action.into(),
                    fields: pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    note: None,
                };
                engine::decide_transition(
                    policy,
                    &case,
                    &input,
                    actor,
                    &self.directory,
                    &calendar,
                    t,
                )
            }
            .map_err(|r| anyhow::anyhow!("generated {action} refused: {r:?}"))?;
            // Planned before `apply` takes the case: the plan compares the clocks before and
            // after, and moving the case instead of cloning it at each step is a good part of
            // the generator's time per case.
            life.plans
                .push(deadlines::timer_plan(&case.clocks, &ev.clocks));
            let number = std::mem::take(&mut case.number);
            let mut next = case::apply(&number, Some(case), &ev)?;
            life.events
                .push(event_of(&ev).map_err(|e| anyhow::anyhow!("{e:?}"))?);
            // Entering a state that owes a callback opens it, as `transition_as` does.
            if let Some(opened) = callback::follow_up(policy, &next, &ev) {
                next = case::apply(&number, Some(next), &opened)?;
                life.events
                    .push(event_of(&opened).map_err(|e| anyhow::anyhow!("{e:?}"))?);
            }
            case = next;
            moved = true;
        }
        life.case = moved.then_some(case);
        Ok(life)
    }
}

/// What happened to a case after it was opened.
#[derive(Default)]
struct Life {
    case: Option<Case>,
    events: Vec<manyi_store::NewEvent>,
    plans: Vec<Vec<TimerInstruction>>,
}

/// A generated case before its serial is known.
struct Made {
    numbering: manyi_core::numbering::NumberingRule,
    period: String,
    date: jiff::civil::Date,
    case: BulkCase,
}

type Pending = BTreeMap<(String, String, i64), Timestamp>;

/// Applies a timer plan to the pending timers, as the store would.
fn plan_timers(pending: &mut Pending, plan: Vec<TimerInstruction>) {
    for change in manyi_server::api::cases::timer_changes(plan) {
        match change {
            manyi_store::TimerChange::Schedule {
                clock,
                kind,
                generation,
                due_at,
                ..
            } => {
                pending.entry((clock, kind, generation)).or_insert(due_at);
            }
            manyi_store::TimerChange::CancelClock { clock } => {
                pending.retain(|(c, _, _), _| *c != clock);
            }
        }
    }
}

type Step<'a> = (&'a Actor, &'static str, Vec<(&'static str, Value)>);

/// How many steps [`steps`] walks a case through to its close: a hard-coded count once fell
/// behind a new step (the callback) and left every default-complaint case open.
fn step_count(ccb: bool) -> usize {
    if ccb { 4 } else { 6 }
}

/// The life of a complaint handled without escalation, step by step (as in `serve --demo`).
fn steps<'a>(ccb: bool, o: &'a Outlet, category: &str, rng: &mut Rng) -> Vec<Step<'a>> {
    if ccb {
        vec![
            (&o.teller, "start_handling", vec![]),
            (
                &o.teller,
                "reply",
                vec![
                    ("handling_result", json!(rng.pick(RESULTS))),
                    ("reply_channel", json!("phone")),
                    ("category", json!(category)),
                ],
            ),
            // 第二十二条: the outlet head, not the teller who replied, calls the customer back.
            (
                &o.head,
                "callback_verdict",
                vec![(
                    "verdict",
                    json!(if rng.below(8) == 0 {
                        "basically_satisfied"
                    } else {
                        "satisfied"
                    }),
                )],
            ),
            (
                &o.head,
                "close_after_callback",
                vec![("analysis", json!(rng.pick(ANALYSES)))],
            ),
        ]
    } else {
        vec![
            (
                &o.teller,
                "assess",
                vec![
                    ("category", json!(category)),
                    (
                        "severity",
                        json!(if rng.below(6) == 0 {
                            "serious"
                        } else {
                            "normal"
                        }),
                    ),
                    ("validity", json!("valid")),
                ],
            ),
            (
                &o.head,
                "dispatch",
                vec![("handler", json!(o.head.login.clone()))],
            ),
            (
                &o.head,
                "decide",
                vec![
                    ("findings", json!(rng.pick(FINDINGS))),
                    ("handling_opinion", json!(rng.pick(RESULTS))),
                ],
            ),
            (
                &o.head,
                "reply",
                vec![
                    ("reply_content", json!("已向客户电话说明处理结果并致歉。")),
                    ("reply_channel", json!("phone")),
                ],
            ),
            (
                &o.service,
                "callback_verdict",
                vec![(
                    "verdict",
                    json!(if rng.below(3) == 0 {
                        "basically_satisfied"
                    } else {
                        "satisfied"
                    }),
                )],
            ),
            (
                &o.service,
                "close",
                vec![("final_result", json!("问题已解决，客户认可处理结果。"))],
            ),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// People and texts
// ---------------------------------------------------------------------------------------------

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "志强", "海燕", "玉兰",
    "婷", "浩", "宇", "欣怡", "子涵", "梓轩", "雨桐", "俊杰", "嘉怡", "文博", "思远", "佳琪",
];

fn person_name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// (category, matter, demand): counter-service complaints across the categories of both
/// shipped policies.
const MATTERS: &[(&str, &str, &str)] = &[
    (
        "attitude",
        "办理转账业务时柜员态度冷淡，多次询问不予回应。",
        "要求网点负责人道歉并说明情况。",
    ),
    (
        "attitude",
        "大堂经理在客户排队时大声呵斥，影响恶劣。",
        "要求对相关人员批评教育。",
    ),
    (
        "attitude",
        "客户经理电话推销理财产品，拒绝后仍反复来电。",
        "要求停止骚扰电话。",
    ),
    (
        "efficiency",
        "排队等候超过一个小时，只开放一个对公窗口。",
        "要求增加窗口，缩短等候时间。",
    ),
    (
        "efficiency",
        "挂失补卡承诺三个工作日办结，至今已十天未办好。",
        "要求尽快办结并给予说明。",
    ),
    (
        "efficiency",
        "热线反映的问题三天无人回电。",
        "要求专人跟进并回复。",
    ),
    (
        "efficiency",
        "办理房贷结清证明往返三次仍未拿到。",
        "要求一次性告知所需材料并尽快出具。",
    ),
    (
        "procedure",
        "未经本人同意被开通短信收费服务，每月扣费二元。",
        "要求关闭服务并退还已扣费用。",
    ),
    (
        "procedure",
        "理财产品风险未如实告知，购买后出现亏损。",
        "要求调查销售过程并赔偿损失。",
    ),
    (
        "procedure",
        "代办业务时被要求提供与业务无关的个人信息。",
        "要求说明收集依据并删除多余信息。",
    ),
    (
        "procedure",
        "销户时被告知须先购买保险产品才能办理。",
        "要求立即办理销户，不得搭售。",
    ),
    (
        "facility",
        "自助取款机吞卡，现场无人处理。",
        "要求尽快退还银行卡。",
    ),
    (
        "facility",
        "网点无障碍通道被杂物堵塞，轮椅无法通行。",
        "要求立即清理并整改。",
    ),
    (
        "facility",
        "自助存款机少记存款五百元。",
        "要求核查并补记款项。",
    ),
    (
        "product",
        "信用卡年费在首年免年费期内被收取。",
        "要求退还年费。",
    ),
    (
        "product",
        "房贷提前还款违约金计算与合同约定不符。",
        "要求按合同重新计算。",
    ),
    (
        "product",
        "手机银行转账限额被无故调低，影响正常使用。",
        "要求恢复原限额并说明原因。",
    ),
    (
        "other",
        "网点营业时间变更未提前公示，白跑一趟。",
        "要求今后提前张贴变更通知。",
    ),
    (
        "other",
        "网点停车场收费标准不明，被多收停车费。",
        "要求公示收费标准并退还多收部分。",
    ),
];
const OPENINGS: &[&str] = &[
    "",
    "客户来电反映：",
    "客户到网点现场反映：",
    "客户在营业厅留言：",
    "客户来信称：",
    "客户通过热线反映：",
    "老年客户及其家属反映：",
];
const FINDINGS: &[&str] = &[
    "经调阅监控和业务记录，客户反映情况属实。",
    "经核查业务流水，客户反映情况部分属实。",
    "经询问当班员工并调阅录音，确认存在服务不到位。",
];
const RESULTS: &[&str] = &[
    "已按客户诉求处理完毕。",
    "向客户致歉，按规定办理并对相关人员进行教育。",
    "已退还相关费用并向客户说明。",
    "已协调相关部门办结业务并回复客户。",
];
const ANALYSES: &[&str] = &[
    "服务流程执行不到位，已组织网点学习整改。",
    "高峰时段人手不足，已调整排班。",
    "员工业务不熟练，已安排专项培训。",
];

fn mobile(rng: &mut Rng) -> String {
    let prefixes = [
        "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
        "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "199",
    ];
    format!("{}{:08}", rng.pick(&prefixes), rng.next() % 100_000_000)
}

/// A resident ID number (GB 11643) with a valid check digit.
fn resident_id(rng: &mut Rng) -> String {
    let areas = [
        "110101", "110105", "110108", "120101", "310101", "310104", "310115", "320102", "330106",
        "370202", "420106", "440106", "440305", "500103", "510104", "610103",
    ];
    let year = 1950 + rng.below(56);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let body = format!(
        "{}{year:04}{month:02}{day:02}{:03}",
        rng.pick(&areas),
        rng.below(1000)
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A well-mixed 64-bit value of (seed, i) (splitmix64), so that case `i` is the same whatever
/// the batch size or the number of threads.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_have_a_valid_check_digit() {
        let mut rng = Rng(7);
        for _ in 0..100 {
            let id = resident_id(&mut rng);
            assert_eq!(id.len(), 18);
            assert!(
                manyi_core::values::ResidentId::parse(&id).is_ok(),
                "{id} refused"
            );
        }
    }

    #[test]
    fn the_tree_has_the_size_asked_for() {
        let org = Org::plan(1_000).expect("plan");
        assert_eq!(org.units.len(), 1_000);
        assert_eq!(
            org.units.iter().filter(|u| u.level == "branch1").count(),
            10
        );
        assert!(Org::plan(5).is_err());
    }
}
