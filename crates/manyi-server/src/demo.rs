//! Demo data for `manyi serve --demo`: a bank with a head office, 2 tier-1 branches, 4 tier-2
//! branches and 12 outlets, users for every role, and about 200 complaints in Chinese spread
//! over states, units and the last six weeks.
//!
//! Cases are made through the same functions as the HTTP API ([`create_as`], [`transition_as`])
//! with a moving clock, so every demo case has a real, consistent event log.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use manyi_core::clock::ManualClock;
use manyi_core::engine::TransitionInput;
use manyi_store::{NewUnit, NewUser, User};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::cases::{CreateRequest, create_as, transition_as};
use crate::auth::hash_password;
use crate::error::AppError;

/// The password of every demo login (printed by `serve --demo` and in the README).
pub const DEMO_PASSWORD: &str = "manyi-demo";

/// What the seeder made.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub units: usize,
    pub users: usize,
    pub cases: usize,
}

const UNITS: &[(&str, &str, &str, Option<&str>)] = &[
    ("HQ", "总行", "hq", None),
    ("BJ", "北京分行", "branch1", Some("HQ")),
    ("SH", "上海分行", "branch1", Some("HQ")),
    ("BJHD", "北京海淀支行", "branch2", Some("BJ")),
    ("BJCY", "北京朝阳支行", "branch2", Some("BJ")),
    ("SHPD", "上海浦东支行", "branch2", Some("SH")),
    ("SHXH", "上海徐汇支行", "branch2", Some("SH")),
    ("BJHD01", "中关村营业网点", "outlet", Some("BJHD")),
    ("BJHD02", "学院路营业网点", "outlet", Some("BJHD")),
    ("BJHD03", "五道口营业网点", "outlet", Some("BJHD")),
    ("BJCY01", "国贸营业网点", "outlet", Some("BJCY")),
    ("BJCY02", "望京营业网点", "outlet", Some("BJCY")),
    ("BJCY03", "三里屯营业网点", "outlet", Some("BJCY")),
    ("SHPD01", "陆家嘴营业网点", "outlet", Some("SHPD")),
    ("SHPD02", "张江营业网点", "outlet", Some("SHPD")),
    ("SHPD03", "世纪公园营业网点", "outlet", Some("SHPD")),
    ("SHXH01", "徐家汇营业网点", "outlet", Some("SHXH")),
    ("SHXH02", "漕河泾营业网点", "outlet", Some("SHXH")),
    ("SHXH03", "田林营业网点", "outlet", Some("SHXH")),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东",
];

/// (category, matter, demand) — typical counter-service complaints.
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
        "other",
        "网点营业时间变更未提前公示，白跑一趟。",
        "要求今后提前张贴变更通知。",
    ),
    (
        "efficiency",
        "95533 热线反映的问题三天无人回电。",
        "要求专人跟进并回复。",
    ),
];

/// A tiny deterministic generator, so every demo database looks the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
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

fn mobile(rng: &mut Rng) -> String {
    let prefixes = [
        "138", "139", "137", "136", "150", "151", "158", "186", "188", "177", "199",
    ];
    format!("{}{:08}", rng.pick(&prefixes), rng.next() % 100_000_000)
}

/// A resident ID number with a valid GB 11643 check digit.
fn resident_id(rng: &mut Rng) -> String {
    let areas = ["110108", "110105", "310115", "310104", "440305", "330106"];
    let year = 1955 + rng.below(45);
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

fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Seeds the demo organisation, users and cases, unless the database already has units.
/// `now` is the real time; cases are spread over the six weeks before it.
pub async fn seed(state: &AppState, now: Timestamp) -> Result<Option<DemoSummary>, AppError> {
    if !state.store.list_units().await?.is_empty() {
        return Ok(None);
    }
    let mut summary = DemoSummary::default();
    for (code, name, level, parent) in UNITS {
        state
            .store
            .insert_unit(NewUnit {
                code: (*code).into(),
                name: (*name).into(),
                level: (*level).into(),
                parent_code: parent.map(Into::into),
            })
            .await?;
        summary.units += 1;
    }

    // One hash for every demo login: Argon2 is deliberately slow.
    let hash = hash_password(DEMO_PASSWORD)?;
    let mut users: Vec<(&str, String, String, Vec<&str>)> = vec![
        ("admin", "系统管理员".into(), "HQ".into(), vec!["admin"]),
        (
            "hq.service",
            "王芳（总行服务管理部）".into(),
            "HQ".into(),
            vec!["service_mgmt", "service_dept", "dept_head"],
        ),
    ];
    for (code, branch) in [("BJ", "北京分行"), ("SH", "上海分行")] {
        users.push((
            if code == "BJ" {
                "bj.service"
            } else {
                "sh.service"
            },
            format!("{}服务管理部", branch),
            code.into(),
            vec!["service_mgmt", "service_dept", "dept_head"],
        ));
    }
    for code in ["BJHD", "BJCY", "SHPD", "SHXH"] {
        users.push((
            match code {
                "BJHD" => "bjhd.head",
                "BJCY" => "bjcy.head",
                "SHPD" => "shpd.head",
                _ => "shxh.head",
            },
            format!("{code} 支行负责人"),
            code.into(),
            vec!["dept_head", "unit_head", "service_mgmt", "service_dept"],
        ));
    }
    let outlet_codes: Vec<&str> = UNITS
        .iter()
        .filter(|u| u.2 == "outlet")
        .map(|u| u.0)
        .collect();
    let mut rng = Rng(0x6d61_6e79_6931_2345);
    let mut outlet_logins = Vec::new();
    for (i, code) in outlet_codes.iter().enumerate() {
        let lower = code.to_lowercase();
        let teller = format!("{lower}.teller");
        let head = format!("{lower}.head");
        outlet_logins.push((teller.clone(), head.clone()));
        users.push((
            leak(teller),
            format!(
                "{}{}（柜员）",
                SURNAMES[i % SURNAMES.len()],
                GIVEN[i % GIVEN.len()]
            ),
            (*code).into(),
            vec!["teller", "frontline"],
        ));
        users.push((
            leak(head),
            format!(
                "{}{}（网点负责人）",
                SURNAMES[(i + 7) % SURNAMES.len()],
                GIVEN[(i + 3) % GIVEN.len()]
            ),
            (*code).into(),
            vec!["outlet_head", "unit_head", "handler"],
        ));
    }
    // The customers' web page registers complaints as this intake user (web/public.rs).
    users.push((
        "web.intake",
        "网上投诉受理".into(),
        "HQ".into(),
        vec!["frontline", "service_dept"],
    ));
    users.push((
        "bjhd01.lobby",
        "赵敏（大堂经理）".into(),
        "BJHD01".into(),
        vec!["lobby_manager", "frontline"],
    ));
    for (login, name, unit, roles) in &users {
        state
            .store
            .insert_user(NewUser {
                login: (*login).into(),
                name: name.clone(),
                unit_code: unit.clone(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                // The intake user is for the public page only: nobody signs in as it.
                password_hash: (*login != "web.intake").then(|| hash.clone()),
            })
            .await?;
        summary.users += 1;
    }

    // Cases, made with a clock that walks through the last six weeks.
    let clock = ManualClock::new(now);
    let demo_state = AppState {
        clock: Arc::new(clock.clone()),
        ..state.clone()
    };
    let by_login = |login: &str| {
        let store = state.store.clone();
        let login = login.to_owned();
        async move {
            store
                .user_by_login(&login)
                .await?
                .ok_or_else(|| AppError::Internal(format!("demo user {login} missing")))
        }
    };
    let service = by_login("hq.service").await?;
    let mut starts: Vec<i64> = (0..200)
        .map(|_| (rng.next() % (42 * 24 * 60)) as i64)
        .collect();
    starts.sort_unstable_by(|a, b| b.cmp(a));
    for minutes_ago in starts {
        let at = now - SignedDuration::from_mins(minutes_ago);
        clock.set(at);
        let outlet = rng.below(outlet_codes.len());
        let (teller_login, head_login) = &outlet_logins[outlet];
        let teller = by_login(teller_login).await?;
        let head = by_login(head_login).await?;
        let parent_head = by_login(match &outlet_codes[outlet][..4] {
            "BJHD" => "bjhd.head",
            "BJCY" => "bjcy.head",
            "SHPD" => "shpd.head",
            _ => "shxh.head",
        })
        .await?;
        let (category, matter, demand) = *rng.pick(MATTERS);
        let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
        let phone = mobile(&mut rng);
        let with_id = rng.below(3) == 0;
        let ccb = rng.below(5) < 2;
        let (policy, request) = if ccb {
            let mut f = fields(&[
                ("customer_name", json!(name)),
                ("customer_phone", json!(phone)),
                ("content", json!(matter)),
                ("customer_demand", json!(demand)),
            ]);
            if with_id {
                f.insert("id_number".into(), json!(resident_id(&mut rng)));
            }
            let channel = *rng.pick(&[
                "counter",
                "counter",
                "hotline_95533",
                "letter_visit",
                "phone",
            ]);
            (
                "ccb-counter",
                CreateRequest {
                    policy: Some("ccb-counter".into()),
                    kind: "complaint".into(),
                    channel: channel.into(),
                    fields: f,
                },
            )
        } else {
            let mut f = fields(&[
                ("complainant_name", json!(name)),
                ("contact_phone", json!(phone)),
                ("matter", json!(matter)),
                ("customer_demand", json!(demand)),
            ]);
            if with_id {
                f.insert("id_number".into(), json!(resident_id(&mut rng)));
            }
            let channel = *rng.pick(&["counter", "phone", "hotline", "web", "letter"]);
            (
                "default-complaint",
                CreateRequest {
                    policy: Some("default-complaint".into()),
                    kind: "complaint".into(),
                    channel: channel.into(),
                    fields: f,
                },
            )
        };
        let created = create_as(&demo_state, &teller, &request, None).await?;
        summary.cases += 1;
        let number = created.record.number.clone();
        let steps = rng.below(7);
        let step = |actor: User, action: &'static str, pairs: Vec<(&'static str, Value)>| {
            let demo_state = demo_state.clone();
            let number = number.clone();
            let clock = clock.clone();
            async move {
                clock.advance(SignedDuration::from_mins(20 + (minutes_ago % 300)));
                let input = TransitionInput {
                    action: action.into(),
                    fields: fields(&pairs),
                    note: None,
                };
                transition_as(&demo_state, &actor, &number, &input).await
            }
        };
        if policy == "default-complaint" {
            if steps == 0 {
                continue;
            }
            let invalid = rng.below(10) == 0;
            step(
                teller.clone(),
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
                    ("validity", json!(if invalid { "invalid" } else { "valid" })),
                ],
            )
            .await?;
            if steps == 1 {
                continue;
            }
            if invalid {
                step(
                    head.clone(),
                    "reject_invalid",
                    vec![(
                        "invalid_reason",
                        json!("经核实不属于本行服务范围，已向客户耐心解释。"),
                    )],
                )
                .await?;
                continue;
            }
            let escalate = rng.below(5) == 0;
            let handler = if escalate {
                step(
                    head.clone(),
                    "hand_up",
                    vec![(
                        "escalation_reason",
                        json!("涉及跨网点协调，超出网点处理权限。"),
                    )],
                )
                .await?;
                if steps == 2 {
                    continue;
                }
                step(parent_head.clone(), "accept_escalated", vec![]).await?;
                parent_head.clone()
            } else {
                step(
                    head.clone(),
                    "dispatch",
                    vec![("handler", json!(head.login.clone()))],
                )
                .await?;
                head.clone()
            };
            if steps <= 3 {
                continue;
            }
            step(
                handler.clone(),
                "decide",
                vec![
                    (
                        "findings",
                        json!("经调阅监控和业务记录，客户反映情况属实。"),
                    ),
                    (
                        "handling_opinion",
                        json!("向客户致歉，按规定办理并对相关人员进行教育。"),
                    ),
                ],
            )
            .await?;
            if steps == 4 {
                continue;
            }
            step(
                handler.clone(),
                "reply",
                vec![
                    ("reply_content", json!("已向客户电话说明处理结果并致歉。")),
                    ("reply_channel", json!("phone")),
                ],
            )
            .await?;
            if steps == 5 {
                continue;
            }
            // 回访 by the service department (independent of the handler), then closing.
            clock.advance(SignedDuration::from_mins(30));
            let verdict = crate::api::callbacks::VerdictRequest {
                party: None,
                verdict: if rng.below(3) == 0 {
                    "basically_satisfied"
                } else {
                    "satisfied"
                }
                .into(),
                channel: Some("phone".into()),
                note: None,
            }
            .into_action()?;
            crate::api::callbacks::act_as(&demo_state, &service, &number, &verdict).await?;
            step(
                service.clone(),
                "close",
                vec![("final_result", json!("问题已解决，客户认可处理结果。"))],
            )
            .await?;
            // Most customers answer the survey the reply issued (one answer per link).
            if rng.below(4) != 0 {
                let overall = [5, 5, 4, 4, 3, 2][rng.below(6)];
                let timeliness = *rng.pick(&["timely", "timely", "acceptable", "slow"]);
                answer_survey(&demo_state, &number, overall, timeliness).await?;
            }
        } else {
            if steps == 0 {
                continue;
            }
            let refer = rng.below(3) == 0;
            if refer {
                step(
                    teller.clone(),
                    "refer_to_head",
                    vec![("referral_reason", json!("涉及费用退还，超出柜员处理权限。"))],
                )
                .await?;
                step(head.clone(), "take_over", vec![]).await?;
                if steps <= 2 {
                    continue;
                }
                if rng.below(2) == 0 {
                    step(
                        head.clone(),
                        "hand_up",
                        vec![
                            ("escalation_reason", json!("需二级分行协调相关部门处理。")),
                            ("responsibility_level", json!("branch2")),
                        ],
                    )
                    .await?;
                    if steps <= 3 {
                        continue;
                    }
                    step(parent_head.clone(), "accept_escalated", vec![]).await?;
                }
            } else {
                step(teller.clone(), "start_handling", vec![]).await?;
            }
            if steps <= 4 {
                continue;
            }
            let replier = if refer {
                parent_head.clone()
            } else {
                teller.clone()
            };
            step(
                replier,
                "reply",
                vec![
                    ("handling_result", json!("已按客户诉求处理完毕。")),
                    ("reply_channel", json!("phone")),
                    ("category", json!(category)),
                ],
            )
            .await?;
            if steps <= 5 {
                continue;
            }
            // 第二十二条 回访: by someone other than whoever gave the result or handles the case
            // — the outlet head after a teller's reply, else head office's service department.
            let (closer, caller) = if refer {
                (parent_head.clone(), service.clone())
            } else {
                (head.clone(), head.clone())
            };
            clock.advance(SignedDuration::from_mins(30));
            let verdict = crate::api::callbacks::VerdictRequest {
                party: None,
                verdict: if rng.below(8) == 0 {
                    "basically_satisfied"
                } else {
                    "satisfied"
                }
                .into(),
                channel: Some("phone".into()),
                note: None,
            }
            .into_action()?;
            crate::api::callbacks::act_as(&demo_state, &caller, &number, &verdict).await?;
            step(
                closer,
                "close_after_callback",
                vec![(
                    "analysis",
                    json!("服务流程执行不到位，已组织网点学习整改。"),
                )],
            )
            .await?;
        }
    }
    Ok(Some(summary))
}

/// Demo logins live for the whole process; leaking a few short strings keeps the table simple.
/// Issues the survey of a demo case and answers it at once.
async fn answer_survey(
    state: &AppState,
    number: &str,
    overall: i64,
    timeliness: &str,
) -> Result<(), AppError> {
    let Some(record) = state.store.case_by_number(number).await? else {
        return Ok(());
    };
    let case = crate::api::cases::case_of(&record)?;
    let policy = state.policies.get(&state.store, record.policy_id).await?;
    let Some(rule) = policy.kind(&case.kind).and_then(|k| k.survey.clone()) else {
        return Ok(());
    };
    let issued = crate::api::surveys::issue(
        state,
        &rule,
        record.id,
        &case,
        None,
        "",
        manyi_core::survey::Party::Customer,
        None,
    )
    .await?;
    let opened = crate::api::surveys::open_token(state, &issued.token).await?;
    let answers = json!({ "overall": overall, "timeliness": timeliness });
    let answers = answers.as_object().cloned().unwrap_or_default();
    crate::api::surveys::answer(state, &opened, &answers)
        .await
        .map_err(AppError::from)
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}
