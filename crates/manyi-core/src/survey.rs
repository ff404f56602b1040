//! Satisfaction surveys (满意度调查): the questions a kind's `[kind.<id>.survey]` section asks,
//! the checks on a customer's answers, who may issue a survey, and the SMS / e-mail text that
//! carries the link. The tokenised link itself (random, stored hashed, expiring) is the shell's;
//! this module stays pure.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

pub use crate::callback::Party;
use crate::case::{Case, Event};
use crate::engine::{FieldError, Refusal, RefusalReason};
use crate::org::Actor;
use crate::policy::{CaseKind, ChoiceOption, Field, FieldType, Policy, TaxonomyNode};

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
    /// The case fields the invitation texts name (`{field:<id>}`), with their types, so a
    /// choice is written as its label and money in yuan. Filled when the policy loads.
    pub invitation_fields: Vec<InvitationField>,
    /// lawfirm-complaint 三(二)(三): links may also be addressed to the person complained about
    /// (the kind's `subject_field`), and their answers are counted apart (`also_subject`).
    pub also_subject: bool,
    /// The text of a link to the person complained about (`subject_invitation`, else
    /// [`DEFAULT_SUBJECT_INVITATION`]); `subject_invitation_en` its English.
    pub subject_invitation: Option<String>,
    pub subject_invitation_en: Option<String>,
    /// A line under the title on the answering page (`intro`, `intro_en`).
    pub intro: Option<String>,
    pub intro_en: Option<String>,
    /// The survey of the person complained about, when the policy gives them their own
    /// (`[kind.<id>.survey.subject]`); without it they answer the common questions.
    pub subject: Option<PartySurvey>,
    /// Routine rounds started by the scheduler (`[[kind.<id>.survey.schedule]]`).
    pub schedules: Vec<crate::survey_schedule::ScheduleRule>,
}

/// What one party is asked when it is not the common survey: its own title, intro and
/// questions. A title or intro not given falls back to the common one.
#[derive(Debug, Clone, PartialEq)]
pub struct PartySurvey {
    pub title: Option<String>,
    pub title_en: Option<String>,
    pub intro: Option<String>,
    pub intro_en: Option<String>,
    pub questions: Vec<Question>,
}

impl SurveyRule {
    /// The party's own section, if the policy gives one.
    fn own(&self, party: Party) -> Option<&PartySurvey> {
        match party {
            Party::Customer => None,
            Party::Subject => self.subject.as_ref(),
        }
    }

    /// The questions `party` answers: its own, else the common ones.
    pub fn questions_for(&self, party: Party) -> &[Question] {
        self.own(party).map_or(&self.questions, |p| &p.questions)
    }

    /// The title `party` sees (Chinese, English): its own, else the common one.
    pub fn title_for(&self, party: Party) -> (&str, Option<&str>) {
        match self.own(party).and_then(|p| p.title.as_deref()) {
            Some(t) => (t, self.own(party).and_then(|p| p.title_en.as_deref())),
            None => (&self.title, self.title_en.as_deref()),
        }
    }

    /// The intro `party` sees (Chinese, English): its own, else the common one.
    pub fn intro_for(&self, party: Party) -> (Option<&str>, Option<&str>) {
        match self.own(party).and_then(|p| p.intro.as_deref()) {
            Some(t) => (Some(t), self.own(party).and_then(|p| p.intro_en.as_deref())),
            None => (self.intro.as_deref(), self.intro_en.as_deref()),
        }
    }
}

/// A case field an invitation text names as `{field:<id>}`.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationField {
    pub id: String,
    pub field_type: FieldType,
}

/// The placeholders an invitation text may use: the survey's title, the case number, the link
/// and the day the link expires (`YYYY-MM-DD`). Besides these, `{field:<id>}` names a case
/// field ([`FIELD_PREFIX`]).
pub const INVITATION_PLACEHOLDERS: [&str; 4] = ["title", "case_number", "link", "expires"];

/// The prefix of a placeholder naming a case field: `{field:store_name}`.
pub const FIELD_PREFIX: &str = "field:";

/// The most characters of a field value written into an invitation; a longer value is cut and
/// ends in `…`, so a long free-text field cannot blow an SMS up to many parts.
pub const INVITATION_FIELD_MAX_CHARS: usize = 40;

/// The invitation when the policy sets none: the complaint follow-up wording.
pub const DEFAULT_INVITATION: &str = "【{title}】您好，您反映的事项（编号 {case_number}）已处理完毕。请点击链接评价我们的服务：{link} （{expires} 前有效，每个链接仅可提交一次）";

/// The English invitation when the policy sets no `invitation`.
pub const DEFAULT_INVITATION_EN: &str = "[{title}] Your case {case_number} has been handled. Please tell us how we did: {link} (valid until {expires}; one answer per link)";

/// The invitation to the person complained about when the policy sets none: it speaks of the
/// complaint's handling, not of "the matter you reported".
pub const DEFAULT_SUBJECT_INVITATION: &str = "【{title}】您好，编号 {case_number} 的投诉已有处理意见。请点击链接评价投诉处理工作：{link} （{expires} 前有效，每个链接仅可提交一次）";

/// The English invitation to the person complained about when the policy sets none.
pub const DEFAULT_SUBJECT_INVITATION_EN: &str = "[{title}] The complaint {case_number} has been decided. Please tell us how it was handled: {link} (valid until {expires}; one answer per link)";

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

/// Checks an invitation text: every placeholder known, every `{field:<id>}` a field of the
/// kind (`fields`) that is neither personal data nor an attachment, and the link in it (a text
/// without the link would invite to nothing). Returns every problem, in text order.
pub fn check_invitation(text: &str, fields: &[Field]) -> Vec<InvitationError> {
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
                } else if let Some(id) = name.strip_prefix(FIELD_PREFIX) {
                    if let Some(message) = check_field(id, fields) {
                        errors.push(InvitationError {
                            offset: at,
                            message,
                        });
                    }
                } else if !INVITATION_PLACEHOLDERS.contains(name) {
                    errors.push(InvitationError {
                        offset: at,
                        message: format!(
                            "unknown placeholder `{{{name}}}`; known: {}, {{{FIELD_PREFIX}<field id>}}",
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

/// What is wrong with `{field:<id>}` for this kind, if anything. Personal data (a field with
/// `personal = true`, phones, identity numbers and e-mail addresses by default) never goes into
/// a text sent over SMS or e-mail; an attachment has no text to write.
fn check_field(id: &str, fields: &[Field]) -> Option<String> {
    let Some(field) = fields.iter().find(|f| f.id == id) else {
        let known: Vec<&str> = fields
            .iter()
            .filter(|f| !f.personal && f.field_type != FieldType::Attachment)
            .map(|f| f.id.as_str())
            .collect();
        return Some(format!(
            "unknown field `{id}` in `{{{FIELD_PREFIX}{id}}}`: not a field of this kind; fields an invitation may name: {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
    };
    if field.personal {
        return Some(format!(
            "`{{{FIELD_PREFIX}{id}}}` names personal data (field `{id}` is `personal`): it is never written into an SMS or e-mail"
        ));
    }
    if field.field_type == FieldType::Attachment {
        return Some(format!(
            "`{{{FIELD_PREFIX}{id}}}` names an attachment, which has no text to write"
        ));
    }
    None
}

/// The case fields an invitation text names (`{field:<id>}`), in text order, without repeats.
pub fn invitation_field_ids(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for piece in pieces(text).unwrap_or_default() {
        if let Piece::Placeholder(name, _) = piece
            && let Some(id) = name.strip_prefix(FIELD_PREFIX)
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// A case field's value as invitation text: a choice, taxonomy or code list entry as its
/// label, several choices joined, money in yuan with two decimals (`12.50`), anything else as
/// stored. Line breaks and other control characters become spaces and the value is cut at
/// [`INVITATION_FIELD_MAX_CHARS`]. A missing or empty value is empty text.
fn field_text(field: &InvitationField, value: Option<&Value>, en: bool) -> String {
    let as_code = |v: &Value| v.as_str().map(str::to_owned);
    let option_label = |options: &[ChoiceOption], code: &str| {
        options
            .iter()
            .find(|o| o.code == code)
            .map_or_else(|| code.to_owned(), |o| o.label.clone())
    };
    let raw = match value {
        None | Some(Value::Null) => String::new(),
        Some(v) => match &field.field_type {
            FieldType::Choice { options } => as_code(v)
                .map(|c| option_label(options, &c))
                .unwrap_or_default(),
            FieldType::MultiChoice { options } => v
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|c| option_label(options, c))
                        .collect::<Vec<_>>()
                        .join(if en { ", " } else { "、" })
                })
                .unwrap_or_default(),
            FieldType::Taxonomy { nodes } => as_code(v)
                .map(|c| TaxonomyNode::find(nodes, &c).map_or(c, |n| n.label.clone()))
                .unwrap_or_default(),
            FieldType::Code { list } => as_code(v)
                .map(|c| list.get(&c).map_or(c, |n| n.label.clone()))
                .unwrap_or_default(),
            FieldType::Money => match v.as_i64() {
                Some(fen) => crate::values::Money::from_fen(fen).to_string(),
                None => String::new(),
            },
            _ => match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => String::new(),
            },
        },
    };
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() > INVITATION_FIELD_MAX_CHARS {
        let mut cut: String = cleaned
            .chars()
            .take(INVITATION_FIELD_MAX_CHARS - 1)
            .collect();
        cut.push('…');
        cut
    } else {
        cleaned.to_owned()
    }
}

/// Fills a checked invitation's placeholders. An unknown placeholder (only possible in a text
/// that was not checked) is kept as written rather than dropped.
fn render(text: &str, value_of: &dyn Fn(&str) -> Option<String>) -> String {
    let Ok(parsed) = pieces(text) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 64);
    for piece in parsed {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name, _) => match value_of(name) {
                Some(v) => out.push_str(&v),
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
    validate_party_answers(rule, Party::Customer, answers)
}

/// [`validate_answers`] against the questions `party` is asked ([`SurveyRule::questions_for`]):
/// a question of the other party's survey is unknown here.
pub fn validate_party_answers(
    rule: &SurveyRule,
    party: Party,
    answers: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let questions = rule.questions_for(party);
    let mut errors = Vec::new();
    let mut out = Map::new();
    for key in answers.keys() {
        if !questions.iter().any(|q| &q.id == key) {
            errors.push(error(
                key,
                "unknown",
                format!("`{key}` is not a question of this survey"),
                "不是本问卷的问题".into(),
            ));
        }
    }
    for q in questions {
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

/// A `party` given with a request to issue a survey: `customer` (also when none is given) or
/// `subject`; anything else is refused naming the field.
pub fn parse_party(value: Option<&str>) -> Result<Party, Refusal> {
    match value.map(str::trim) {
        None | Some("") => Ok(Party::Customer),
        Some(p) => Party::parse(p).ok_or_else(|| {
            let en = format!("`party` is `customer` or `subject`, not `{p}`");
            let zh = format!("调查对象“{p}”无效，应为 customer 或 subject");
            let mut r = Refusal::new(RefusalReason::InvalidFields, None, zh.clone(), en.clone());
            r.fields = vec![error("party", "party.unknown", en, zh)];
            r
        }),
    }
}

/// To whom a survey of `case` may be addressed: the customer always; the person complained
/// about (the kind's `subject_field`) only when the survey says `also_subject` and the case
/// names one. Returns that person's login for a [`Party::Subject`] survey.
pub fn check_party(
    policy: &Policy,
    rule: &SurveyRule,
    case: &Case,
    party: Party,
) -> Result<Option<String>, Refusal> {
    if party == Party::Customer {
        return Ok(None);
    }
    let invalid = |zh: String, en: String| {
        let mut r = Refusal::new(
            RefusalReason::InvalidFields,
            Some(&rule.clause),
            zh.clone(),
            en.clone(),
        );
        r.fields = vec![error("party", "party.subject", en, zh)];
        r
    };
    if !rule.also_subject {
        return Err(invalid(
            "本类案件的满意度调查只发给投诉人".into(),
            format!(
                "party `subject`: the survey of `{}` is addressed to the customer only (no `also_subject`)",
                case.kind
            ),
        ));
    }
    let field = policy
        .kind(&case.kind)
        .and_then(|k| k.subject_field.as_deref())
        .unwrap_or_default();
    match case
        .fields
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    {
        Some(login) => Ok(Some(login.to_owned())),
        None => Err(invalid(
            "案件未载明被投诉人，无法向其发送调查".into(),
            format!(
                "party `subject`: the case names no person complained about (`{field}` is empty)"
            ),
        )),
    }
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
/// `invitation_en` if set, else the default complaint follow-up wording. `fields` are the
/// case's field values, for `{field:<id>}` (see [`field_text`] for how each is written).
pub fn message(
    rule: &SurveyRule,
    party: Party,
    case_number: &str,
    fields: &BTreeMap<String, Value>,
    link: &str,
    expires: &str,
) -> (String, String) {
    let title_en = rule.title_en.as_deref().unwrap_or(&rule.title);
    let value_of = |name: &str, title: &str, en: bool| -> Option<String> {
        if let Some(id) = name.strip_prefix(FIELD_PREFIX) {
            let field = rule.invitation_fields.iter().find(|f| f.id == id)?;
            return Some(field_text(field, fields.get(id), en));
        }
        match name {
            "title" => Some(title.to_owned()),
            "case_number" => Some(case_number.to_owned()),
            "link" => Some(link.to_owned()),
            "expires" => Some(expires.to_owned()),
            _ => None,
        }
    };
    let zh_values = |name: &str| value_of(name, &rule.title, false);
    let en_values = |name: &str| value_of(name, title_en, true);
    let (zh, en, default_zh, default_en) = match party {
        Party::Customer => (
            &rule.invitation,
            &rule.invitation_en,
            DEFAULT_INVITATION,
            DEFAULT_INVITATION_EN,
        ),
        Party::Subject => (
            &rule.subject_invitation,
            &rule.subject_invitation_en,
            DEFAULT_SUBJECT_INVITATION,
            DEFAULT_SUBJECT_INVITATION_EN,
        ),
    };
    match (zh, en) {
        (None, _) => (
            render(default_zh, &zh_values),
            render(default_en, &en_values),
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
    if rule.also_subject {
        how.push_str("; also to the person complained about, counted apart");
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
            invitation_fields: Vec::new(),
            also_subject: false,
            subject_invitation: None,
            subject_invitation_en: None,
            intro: None,
            intro_en: None,
            subject: None,
            schedules: Vec::new(),
        }
    }

    fn no_fields() -> BTreeMap<String, Value> {
        BTreeMap::new()
    }

    #[test]
    fn without_an_invitation_the_text_is_the_complaint_follow_up() {
        let (zh, en) = message(
            &rule(None, None),
            Party::Customer,
            "DC20260001",
            &no_fields(),
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
        let (zh, en) = message(
            &r,
            Party::Customer,
            "DC20260001",
            &no_fields(),
            "https://x/s/t",
            "2026-12-01",
        );
        assert_eq!(
            zh,
            "【大客户服务质量调查】请评价本季度服务：https://x/s/t，2026-12-01 前有效。{编号 DC20260001}"
        );
        assert_eq!(en, "[Key-account survey] Rate this quarter: https://x/s/t");
        assert!(!zh.contains("已处理完毕"));
    }

    #[test]
    fn an_invitation_without_english_is_sent_in_chinese_rather_than_the_complaint_wording() {
        let (zh, en) = message(
            &rule(Some("请评价：{link}"), None),
            Party::Customer,
            "N1",
            &no_fields(),
            "L",
            "D",
        );
        assert_eq!((zh.as_str(), en.as_str()), ("请评价：L", "请评价：L"));
    }

    #[test]
    fn invitation_checks_name_the_placeholder_and_its_offset() {
        assert_eq!(check_invitation(DEFAULT_INVITATION, &[]), Vec::new());
        assert_eq!(check_invitation(DEFAULT_INVITATION_EN, &[]), Vec::new());
        let errors = check_invitation("ab{lnk} {link} {who}", &[]);
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
        let errors = check_invitation("请评价 {title}", &[]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("no `{link}`"));
        let errors = check_invitation("{link} {title", &[]);
        assert_eq!(errors[0].offset, 7);
        assert!(errors[0].message.starts_with("unclosed `{`"));
        let errors = check_invitation("{link} }", &[]);
        assert_eq!(errors[0].offset, 7);
        // `{{link}}` is the literal text "{link}", not the link.
        assert!(
            check_invitation("{{link}}", &[])[0]
                .message
                .contains("no `{link}`")
        );
    }

    fn field(id: &str, field_type: FieldType, personal: bool) -> Field {
        Field {
            id: id.into(),
            label: id.into(),
            label_en: None,
            field_type,
            required: false,
            personal,
            clause: None,
        }
    }

    fn kind_fields() -> Vec<Field> {
        vec![
            field("store_name", FieldType::Text { max_len: 100 }, false),
            field("phone", FieldType::Phone, true),
            field("customer_name", FieldType::Text { max_len: 50 }, true),
            field("scan", FieldType::Attachment, false),
            field(
                "channel",
                FieldType::Choice {
                    options: vec![
                        ChoiceOption {
                            code: "counter".into(),
                            label: "柜台".into(),
                        },
                        ChoiceOption {
                            code: "phone".into(),
                            label: "电话".into(),
                        },
                    ],
                },
                false,
            ),
            field("refund", FieldType::Money, false),
        ]
    }

    #[test]
    fn a_field_placeholder_must_name_a_field_of_the_kind_that_is_not_personal() {
        let fields = kind_fields();
        assert_eq!(
            check_invitation("{field:store_name} {field:channel} {link}", &fields),
            Vec::new()
        );
        let errors = check_invitation(
            "{link} {field:shop} {field:phone} {field:customer_name} {field:scan} {field:}",
            &fields,
        );
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.offset, e.message.as_str()))
            .collect();
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(found[0].0, 7);
        assert!(
            found[0].1.starts_with(
                "unknown field `shop` in `{field:shop}`: not a field of this kind; fields an invitation may name: store_name, channel, refund"
            ),
            "{}",
            found[0].1
        );
        assert_eq!(found[1].0, 20);
        assert!(found[1].1.contains("personal data (field `phone`"));
        assert_eq!(found[2].0, 34);
        assert!(found[2].1.contains("personal data (field `customer_name`"));
        assert_eq!(found[3].0, 56);
        assert!(found[3].1.contains("attachment"));
        assert_eq!(found[4].0, 69);
        assert!(found[4].1.starts_with("unknown field ``"));
    }

    #[test]
    fn field_placeholders_are_filled_from_the_case_and_a_missing_value_is_empty() {
        let fields = kind_fields();
        let text = "【{title}】{field:store_name}（{field:channel}，退款 {field:refund} 元）：{link}{field:store_name}";
        let mut r = rule(
            Some(text),
            Some("{field:store_name} / {field:channel}: {link}"),
        );
        r.invitation_fields = invitation_field_ids(text)
            .into_iter()
            .map(|id| {
                let f = fields.iter().find(|f| f.id == id).unwrap();
                InvitationField {
                    id: f.id.clone(),
                    field_type: f.field_type.clone(),
                }
            })
            .collect();
        assert_eq!(
            r.invitation_fields
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>(),
            ["store_name", "channel", "refund"]
        );
        let mut values = BTreeMap::new();
        values.insert("store_name".to_owned(), Value::from("徐汇\n旗舰店"));
        values.insert("channel".to_owned(), Value::from("phone"));
        values.insert("refund".to_owned(), Value::from(1250));
        let (zh, en) = message(&r, Party::Customer, "N1", &values, "L", "D");
        assert_eq!(
            zh,
            "【大客户服务质量调查】徐汇 旗舰店（电话，退款 12.50 元）：L徐汇 旗舰店"
        );
        assert_eq!(en, "徐汇 旗舰店 / 电话: L");
        // Missing values render as empty text, never as the placeholder itself.
        let (zh, _) = message(&r, Party::Customer, "N1", &no_fields(), "L", "D");
        assert_eq!(zh, "【大客户服务质量调查】（，退款  元）：L");
        // A long value is cut so the SMS stays short.
        values.insert("store_name".to_owned(), Value::from("店".repeat(100)));
        let (_, en) = message(&r, Party::Customer, "N1", &values, "L", "D");
        let name = en.split(" / ").next().unwrap();
        assert_eq!(name.chars().count(), INVITATION_FIELD_MAX_CHARS);
        assert!(name.ends_with('…'));
    }

    #[test]
    fn a_party_is_customer_by_default_subject_by_name_and_nothing_else() {
        assert_eq!(parse_party(None), Ok(Party::Customer));
        assert_eq!(parse_party(Some(" ")), Ok(Party::Customer));
        assert_eq!(parse_party(Some("subject")), Ok(Party::Subject));
        let refusal = parse_party(Some("lawyer")).expect_err("unknown party");
        assert_eq!(refusal.reason, RefusalReason::InvalidFields);
        assert_eq!(refusal.fields[0].field, "party");
        assert!(
            refusal.message.contains("not `lawyer`"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn a_link_to_the_person_complained_about_has_its_own_text() {
        let mut r = rule(Some("请评价：{link}"), None);
        let (zh, en) = message(&r, Party::Subject, "N1", &no_fields(), "L", "D");
        assert_eq!(
            zh,
            "【大客户服务质量调查】您好，编号 N1 的投诉已有处理意见。请点击链接评价投诉处理工作：L （D 前有效，每个链接仅可提交一次）"
        );
        assert!(en.starts_with("[Key-account survey] The complaint N1 has been decided."));
        r.subject_invitation = Some("律师您好，请评价：{link}".into());
        let (zh, en) = message(&r, Party::Subject, "N1", &no_fields(), "L", "D");
        assert_eq!(
            (zh.as_str(), en.as_str()),
            ("律师您好，请评价：L", "律师您好，请评价：L")
        );
        // The customer's text is untouched by the subject's.
        let (zh, _) = message(&r, Party::Customer, "N1", &no_fields(), "L", "D");
        assert_eq!(zh, "请评价：L");
        assert_eq!(
            check_invitation(DEFAULT_SUBJECT_INVITATION, &[]),
            Vec::new()
        );
        assert_eq!(
            check_invitation(DEFAULT_SUBJECT_INVITATION_EN, &[]),
            Vec::new()
        );
    }

    fn q(id: &str, required: bool) -> Question {
        Question {
            id: id.into(),
            label: id.into(),
            label_en: None,
            kind: QuestionKind::Rating,
            required,
        }
    }

    #[test]
    fn the_person_complained_about_answers_their_own_questions_and_falls_back_to_the_common() {
        let mut r = rule(None, None);
        r.questions = vec![q("overall", true)];
        r.intro = Some("请评价".into());
        // Without their own section, the subject answers the common questions and title.
        assert_eq!(r.questions_for(Party::Subject)[0].id, "overall");
        assert_eq!(r.title_for(Party::Subject).0, "大客户服务质量调查");
        assert_eq!(r.intro_for(Party::Subject).0, Some("请评价"));
        r.subject = Some(PartySurvey {
            title: Some("被投诉人调查".into()),
            title_en: None,
            intro: None,
            intro_en: None,
            questions: vec![q("fair", true)],
        });
        assert_eq!(r.questions_for(Party::Subject)[0].id, "fair");
        assert_eq!(r.questions_for(Party::Customer)[0].id, "overall");
        assert_eq!(r.title_for(Party::Subject), ("被投诉人调查", None));
        assert_eq!(
            r.title_for(Party::Customer),
            ("大客户服务质量调查", Some("Key-account survey"))
        );
        // An intro not given falls back to the common one.
        assert_eq!(r.intro_for(Party::Subject).0, Some("请评价"));

        let answers = |v: Value| v.as_object().cloned().unwrap_or_default();
        let errors = validate_party_answers(
            &r,
            Party::Subject,
            &answers(serde_json::json!({"overall": 5})),
        )
        .expect_err("the customer's question is not the subject's");
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(found, [("overall", "unknown"), ("fair", "required")]);
        assert_eq!(
            validate_party_answers(
                &r,
                Party::Subject,
                &answers(serde_json::json!({"fair": "4"}))
            )
            .expect("valid")
            .get("fair"),
            Some(&Value::from(4))
        );
        assert!(validate_answers(&r, &answers(serde_json::json!({"fair": 4}))).is_err());
    }
}
