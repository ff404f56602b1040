//! Satisfaction surveys (满意度调查): the questions a kind's `[kind.<id>.survey]` section asks,
//! the checks on a customer's answers, who may issue a survey, and the SMS / e-mail text that
//! carries the link. The tokenised link itself (random, stored hashed, expiring) is the shell's;
//! this module stays pure.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::case::{Case, Event};
use crate::engine::{FieldError, Refusal, RefusalReason};
use crate::org::Actor;
use crate::policy::{CaseKind, ChoiceOption, Policy};

/// Longest text answer, in characters, unless the question sets `max_len`.
pub const DEFAULT_TEXT_LEN: usize = 1000;

/// A kind's survey section, as the policy declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyRule {
    pub clause: String,
    pub title: String,
    pub title_en: Option<String>,
    /// Entering one of these states issues a survey by itself.
    pub issue_on: Vec<String>,
    /// Who may issue one through the API.
    pub issue_roles: Vec<String>,
    /// How long a link stays valid.
    pub expires: SignedDuration,
    pub questions: Vec<Question>,
}

/// One question of a survey.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub kind: QuestionKind,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuestionKind {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    Rating,
    Choice {
        options: Vec<ChoiceOption>,
    },
    Text {
        max_len: usize,
    },
}

impl QuestionKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            QuestionKind::Rating => "rating",
            QuestionKind::Choice { .. } => "choice",
            QuestionKind::Text { .. } => "text",
        }
    }
}

fn error(field: &str, code: &str, en: String, zh: String) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code: code.to_owned(),
        message: en,
        message_zh: zh,
    }
}

/// Checks a customer's answers: every required question answered, ratings 1–5, choices among
/// the options, text within its length, no unknown question. Returns the answers to store
/// (empty ones dropped), or every problem at once.
pub fn validate_answers(
    rule: &SurveyRule,
    answers: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    for key in answers.keys() {
        if !rule.questions.iter().any(|q| &q.id == key) {
            errors.push(error(
                key,
                "unknown",
                format!("`{key}` is not a question of this survey"),
                "不是本问卷的问题".into(),
            ));
        }
    }
    for q in &rule.questions {
        let value = answers.get(&q.id).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        let Some(value) = value else {
            if q.required {
                errors.push(error(
                    &q.id,
                    "required",
                    format!("`{}` must be answered", q.id),
                    format!("请回答“{}”", q.label),
                ));
            }
            continue;
        };
        match &q.kind {
            QuestionKind::Rating => {
                let n = match value {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n @ 1..=5) => {
                        out.insert(q.id.clone(), Value::from(n));
                    }
                    _ => errors.push(error(
                        &q.id,
                        "rating.range",
                        format!("`{}` is a rating from 1 to 5, not {value}", q.id),
                        format!("“{}”须为 1 到 5 分", q.label),
                    )),
                }
            }
            QuestionKind::Choice { options } => {
                let code = value.as_str().map(str::trim).unwrap_or_default();
                if options.iter().any(|o| o.code == code) {
                    out.insert(q.id.clone(), Value::from(code));
                } else {
                    let known: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
                    errors.push(error(
                        &q.id,
                        "choice.unknown",
                        format!(
                            "`{value}` is not an option of `{}`; options: {}",
                            q.id,
                            known.join(", ")
                        ),
                        format!("“{}”的选项无效", q.label),
                    ));
                }
            }
            QuestionKind::Text { max_len } => {
                let text = match value {
                    Value::String(s) => s.trim().to_owned(),
                    other => other.to_string(),
                };
                if text.chars().count() > *max_len {
                    errors.push(error(
                        &q.id,
                        "text.too_long",
                        format!("`{}` takes at most {max_len} characters", q.id),
                        format!("“{}”不得超过 {max_len} 个字", q.label),
                    ));
                } else {
                    out.insert(q.id.clone(), Value::from(text));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The kind's survey section, or the refusal for a kind without one.
pub fn rule_of<'p>(policy: &'p Policy, case: &Case) -> Result<&'p SurveyRule, Refusal> {
    policy
        .kind(&case.kind)
        .and_then(|k| k.survey.as_ref())
        .ok_or_else(|| {
            Refusal::new(
                RefusalReason::UnknownAction,
                None,
                "本类案件的策略没有规定满意度调查".into(),
                format!("the policy declares no survey for `{}`", case.kind),
            )
        })
}

/// Whether `actor` may issue a survey for `case` now: jurisdiction and role.
pub fn check_issue<'p>(
    policy: &'p Policy,
    case: &Case,
    actor: &Actor,
) -> Result<&'p SurveyRule, Refusal> {
    let rule = rule_of(policy, case)?;
    if !actor.has_jurisdiction(&case.owner_unit, case.first_contact.id) {
        return Err(Refusal::new(
            RefusalReason::OutsideJurisdiction,
            None,
            format!("案件由{}办理，不在您的辖区内", case.owner_unit.name),
            format!(
                "the case is owned by {}, outside your jurisdiction",
                case.owner_unit.code
            ),
        ));
    }
    if !actor.has_any_role(&rule.issue_roles) {
        return Err(Refusal::new(
            RefusalReason::RoleNotAllowed,
            Some(&rule.clause),
            format!(
                "只有{}可以发送满意度调查",
                crate::engine::role_labels(policy, &rule.issue_roles, true)
            ),
            format!(
                "only {} may issue a survey",
                crate::engine::role_labels(policy, &rule.issue_roles, false)
            ),
        ));
    }
    Ok(rule)
}

/// Whether `event` took the case into a state whose entry issues a survey.
pub fn issues_on(kind: &CaseKind, event: &Event) -> bool {
    let Some(rule) = &kind.survey else {
        return false;
    };
    match &event.change {
        crate::case::Change::Transitioned { from, to, .. } => {
            from != to && rule.issue_on.contains(to)
        }
        _ => false,
    }
}

/// When a link issued at `now` expires.
pub fn expires_at(rule: &SurveyRule, now: Timestamp) -> Timestamp {
    now.checked_add(rule.expires).unwrap_or(Timestamp::MAX)
}

/// The SMS / e-mail text carrying the link: (Chinese, English).
pub fn message(
    rule: &SurveyRule,
    case_number: &str,
    link: &str,
    expires: &str,
) -> (String, String) {
    (
        format!(
            "【{}】您好，您反映的事项（编号 {case_number}）已处理完毕。请点击链接评价我们的服务：{link} （{expires} 前有效，每个链接仅可提交一次）",
            rule.title
        ),
        format!(
            "[{}] Your case {case_number} has been handled. Please tell us how we did: {link} (valid until {expires}; one answer per link)",
            rule.title_en.as_deref().unwrap_or(&rule.title)
        ),
    )
}

/// The compliance-matrix rows of a kind's survey section: (clause, element, enforcement).
pub fn explain(kind: &CaseKind) -> Vec<(String, String, String)> {
    let Some(rule) = &kind.survey else {
        return Vec::new();
    };
    let mut how = format!(
        "satisfaction survey of {} question(s) by a tokenised link (hashed, one answer, expires after {}h)",
        rule.questions.len(),
        rule.expires.as_hours()
    );
    if !rule.issue_on.is_empty() {
        how.push_str(&format!("; issued on entering {}", rule.issue_on.join("|")));
    }
    if !rule.issue_roles.is_empty() {
        how.push_str(&format!("; issued by {}", rule.issue_roles.join("/")));
    }
    vec![(rule.clause.clone(), format!("{} / survey", kind.id), how)]
}
