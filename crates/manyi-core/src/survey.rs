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
    /// The SMS / e-mail text carrying the link (`invitation`), if the policy sets one;
    /// otherwise [`DEFAULT_INVITATION`]. Checked by [`check_invitation`] when the policy loads.
    pub invitation: Option<String>,
    /// Its English version (`invitation_en`); without it the English text is the Chinese one
    /// when `invitation` is set (the default English follows the complaint wording, which
    /// would not fit a text the policy rewrote).
    pub invitation_en: Option<String>,
}

/// The placeholders an invitation text may use: the survey's title, the case number, the link
/// and the day the link expires (`YYYY-MM-DD`).
pub const INVITATION_PLACEHOLDERS: [&str; 4] = ["title", "case_number", "link", "expires"];

/// The invitation when the policy sets none: the complaint follow-up wording.
pub const DEFAULT_INVITATION: &str = "【{title}】您好，您反映的事项（编号 {case_number}）已处理完毕。请点击链接评价我们的服务：{link} （{expires} 前有效，每个链接仅可提交一次）";

/// The English invitation when the policy sets no `invitation`.
pub const DEFAULT_INVITATION_EN: &str = "[{title}] Your case {case_number} has been handled. Please tell us how we did: {link} (valid until {expires}; one answer per link)";

/// A problem with an invitation text: the byte offset in the text it starts at, and what is
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationError {
    pub offset: usize,
    pub message: String,
}

/// One piece of a parsed invitation text.
enum Piece<'t> {
    Text(&'t str),
    /// The name, and the byte offset of its `{` in the text.
    Placeholder(&'t str, usize),
}

/// Splits an invitation into text and `{name}` placeholders; `{{` and `}}` are literal braces.
/// An unclosed `{` or a lone `}` is an error at its offset.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, InvitationError> {
    let mut out = Vec::new();
    let mut rest_at = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                out.push(Piece::Text(&text[rest_at..=i]));
                i += 2;
                rest_at = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                out.push(Piece::Text(&text[rest_at..=i]));
                i += 2;
                rest_at = i;
            }
            b'{' => {
                let Some(close) = text[i + 1..].find('}') else {
                    return Err(InvitationError {
                        offset: i,
                        message: "unclosed `{`: write a placeholder as `{link}`, a brace as `{{`"
                            .into(),
                    });
                };
                out.push(Piece::Text(&text[rest_at..i]));
                out.push(Piece::Placeholder(&text[i + 1..i + 1 + close], i));
                i += close + 2;
                rest_at = i;
            }
            b'}' => {
                return Err(InvitationError {
                    offset: i,
                    message: "lone `}`: write a brace as `}}`".into(),
                });
            }
            _ => i += 1,
        }
    }
    out.push(Piece::Text(&text[rest_at..]));
    Ok(out)
}

/// Checks an invitation text: every placeholder known, and the link in it (a text without the
/// link would invite to nothing). Returns every problem, in text order.
pub fn check_invitation(text: &str) -> Vec<InvitationError> {
    let parsed = match pieces(text) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let mut has_link = false;
    for piece in &parsed {
        match piece {
            Piece::Text(_) => {}
            Piece::Placeholder(name, at) => {
                let at = *at;
                if *name == "link" {
                    has_link = true;
                } else if !INVITATION_PLACEHOLDERS.contains(name) {
                    errors.push(InvitationError {
                        offset: at,
                        message: format!(
                            "unknown placeholder `{{{name}}}`; known: {}",
                            INVITATION_PLACEHOLDERS
                                .iter()
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
    }
    if !has_link {
        errors.push(InvitationError {
            offset: 0,
            message: "the text has no `{link}`: the customer would get no link to answer".into(),
        });
    }
    errors
}

/// Fills a checked invitation's placeholders. An unknown placeholder (only possible in a text
/// that was not checked) is kept as written rather than dropped.
fn render(text: &str, values: &[(&str, &str)]) -> String {
    let Ok(parsed) = pieces(text) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 64);
    for piece in parsed {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name, _) => match values.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
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

/// The SMS / e-mail text carrying the link: (Chinese, English). The policy's `invitation` /
/// `invitation_en` if set, else the default complaint follow-up wording.
pub fn message(
    rule: &SurveyRule,
    case_number: &str,
    link: &str,
    expires: &str,
) -> (String, String) {
    let title_en = rule.title_en.as_deref().unwrap_or(&rule.title);
    let zh_values = [
        ("title", rule.title.as_str()),
        ("case_number", case_number),
        ("link", link),
        ("expires", expires),
    ];
    let en_values = [
        ("title", title_en),
        ("case_number", case_number),
        ("link", link),
        ("expires", expires),
    ];
    match (&rule.invitation, &rule.invitation_en) {
        (None, _) => (
            render(DEFAULT_INVITATION, &zh_values),
            render(DEFAULT_INVITATION_EN, &en_values),
        ),
        (Some(zh), en) => (
            render(zh, &zh_values),
            match en {
                Some(en) => render(en, &en_values),
                None => render(zh, &zh_values),
            },
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(invitation: Option<&str>, invitation_en: Option<&str>) -> SurveyRule {
        SurveyRule {
            clause: "5.4.2".into(),
            title: "大客户服务质量调查".into(),
            title_en: Some("Key-account survey".into()),
            issue_on: Vec::new(),
            issue_roles: Vec::new(),
            expires: SignedDuration::from_hours(24),
            questions: Vec::new(),
            invitation: invitation.map(str::to_owned),
            invitation_en: invitation_en.map(str::to_owned),
        }
    }

    #[test]
    fn without_an_invitation_the_text_is_the_complaint_follow_up() {
        let (zh, en) = message(
            &rule(None, None),
            "DC20260001",
            "https://x/s/t",
            "2026-12-01",
        );
        assert_eq!(
            zh,
            "【大客户服务质量调查】您好，您反映的事项（编号 DC20260001）已处理完毕。请点击链接评价我们的服务：https://x/s/t （2026-12-01 前有效，每个链接仅可提交一次）"
        );
        assert_eq!(
            en,
            "[Key-account survey] Your case DC20260001 has been handled. Please tell us how we did: https://x/s/t (valid until 2026-12-01; one answer per link)"
        );
    }

    #[test]
    fn the_policy_invitation_replaces_the_default_in_both_languages() {
        let r = rule(
            Some("【{title}】请评价本季度服务：{link}，{expires} 前有效。{{编号 {case_number}}}"),
            Some("[{title}] Rate this quarter: {link}"),
        );
        let (zh, en) = message(&r, "DC20260001", "https://x/s/t", "2026-12-01");
        assert_eq!(
            zh,
            "【大客户服务质量调查】请评价本季度服务：https://x/s/t，2026-12-01 前有效。{编号 DC20260001}"
        );
        assert_eq!(en, "[Key-account survey] Rate this quarter: https://x/s/t");
        assert!(!zh.contains("已处理完毕"));
    }

    #[test]
    fn an_invitation_without_english_is_sent_in_chinese_rather_than_the_complaint_wording() {
        let (zh, en) = message(&rule(Some("请评价：{link}"), None), "N1", "L", "D");
        assert_eq!((zh.as_str(), en.as_str()), ("请评价：L", "请评价：L"));
    }

    #[test]
    fn invitation_checks_name_the_placeholder_and_its_offset() {
        assert_eq!(check_invitation(DEFAULT_INVITATION), Vec::new());
        assert_eq!(check_invitation(DEFAULT_INVITATION_EN), Vec::new());
        let errors = check_invitation("ab{lnk} {link} {who}");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].offset, 2);
        assert!(
            errors[0]
                .message
                .starts_with("unknown placeholder `{lnk}`; known: {title}"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[1].offset, 15);
        let errors = check_invitation("请评价 {title}");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("no `{link}`"));
        let errors = check_invitation("{link} {title");
        assert_eq!(errors[0].offset, 7);
        assert!(errors[0].message.starts_with("unclosed `{`"));
        let errors = check_invitation("{link} }");
        assert_eq!(errors[0].offset, 7);
        // `{{link}}` is the literal text "{link}", not the link.
        assert!(
            check_invitation("{{link}}")[0]
                .message
                .contains("no `{link}`")
        );
    }
}
