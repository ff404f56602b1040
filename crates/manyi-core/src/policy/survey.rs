//! Reading `[kind.<id>.survey]` and its `[[kind.<id>.survey.question]]` list: the questions of
//! a satisfaction survey, when it is issued, by whom, and how long its link stays valid.

use std::collections::HashSet;

use jiff::SignedDuration;

use super::load::{Names, check_roles};
use super::reader::{At, Ctx, Table};
use super::{ChoiceOption, Field, State};
use crate::calendar::Duration;
use crate::survey::{
    DEFAULT_TEXT_LEN, InvitationField, PartySurvey, Question, QuestionKind, SurveyRule,
};

/// Reads the kind's survey section, if any.
pub(super) fn read(
    cx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    kind_id: &str,
    names: &Names<'_>,
    states: &[State],
    fields: &[Field],
) -> Option<SurveyRule> {
    let st = t.table(cx, "survey")?;
    st.deny_unknown(
        cx,
        &[
            "clause",
            "title",
            "title_en",
            "issue_on",
            "issue_roles",
            "expires",
            "invitation",
            "invitation_en",
            "also_subject",
            "subject_invitation",
            "subject_invitation_en",
            "intro",
            "intro_en",
            "question",
            "subject",
            "schedule",
        ],
    );
    let clause = st.req_str(cx, "clause");
    let title = st
        .str(cx, "title")
        .map_or_else(|| "满意度调查".to_owned(), |t| t.value);
    let title_en = st.str(cx, "title_en").map(|t| t.value);
    let issue_on: Vec<String> = st
        .str_list(cx, "issue_on")
        .map(|l| {
            for s in &l.value {
                if !states.iter().any(|x| x.id == s.value) {
                    cx.error(
                        &s.span,
                        format!("unknown state `{}` in survey `issue_on`", s.value),
                    );
                }
            }
            l.value.into_iter().map(|s| s.value).collect()
        })
        .unwrap_or_default();
    let issue_roles = st
        .str_list(cx, "issue_roles")
        .map(|l| check_roles(cx, &l.value, names.roles, "survey `issue_roles`"))
        .unwrap_or_default();
    let expires = match st.str(cx, "expires") {
        None => Some(SignedDuration::from_hours(7 * 24)),
        Some(text) => match text.value.parse::<Duration>() {
            Ok(Duration::CalendarDays(n)) => Some(SignedDuration::from_hours(i64::from(n) * 24)),
            Ok(Duration::Hours(n)) => Some(SignedDuration::from_hours(i64::from(n))),
            Ok(_) => {
                cx.error(
                    &text.span,
                    "survey `expires` is a number of days or hours, e.g. \"7 days\"",
                );
                None
            }
            Err(e) => {
                cx.error(&text.span, e);
                None
            }
        },
    };
    let invitation = st.str(cx, "invitation");
    let invitation_en = st.str(cx, "invitation_en");
    let also_subject = st.bool(cx, "also_subject").unwrap_or(false);
    if also_subject && t.get("subject_field").is_none() {
        cx.error(
            &st.span,
            format!(
                "`kind.{kind_id}.survey` has `also_subject = true` but the kind declares no `subject_field`: whom would the link go to?"
            ),
        );
    }
    let subject_invitation = st.str(cx, "subject_invitation");
    let subject_invitation_en = st.str(cx, "subject_invitation_en");
    if !also_subject {
        for text in [&subject_invitation, &subject_invitation_en]
            .into_iter()
            .flatten()
        {
            cx.error(
                &text.span,
                "a subject invitation without `also_subject = true`: no link goes to the person complained about",
            );
        }
    }
    if let (None, Some(en)) = (&subject_invitation, &subject_invitation_en) {
        cx.error(
            &en.span,
            "`subject_invitation_en` without `subject_invitation`: the Chinese text comes first",
        );
    }
    let mut invitation_fields: Vec<InvitationField> = Vec::new();
    for text in [
        &invitation,
        &invitation_en,
        &subject_invitation,
        &subject_invitation_en,
    ]
    .into_iter()
    .flatten()
    {
        check_invitation(cx, text, fields);
        for id in crate::survey::invitation_field_ids(&text.value) {
            if let Some(f) = fields.iter().find(|f| f.id == id)
                && !invitation_fields.iter().any(|x| x.id == id)
            {
                invitation_fields.push(InvitationField {
                    id: f.id.clone(),
                    field_type: f.field_type.clone(),
                });
            }
        }
    }
    if let (None, Some(en)) = (&invitation, &invitation_en) {
        cx.error(
            &en.span,
            "`invitation_en` without `invitation`: the Chinese text comes first (set both, or neither for the default wording)",
        );
    }

    let (ids, questions) = read_questions(cx, &st);
    if ids.is_empty() {
        cx.error(
            &st.span,
            format!(
                "`kind.{kind_id}.survey` asks nothing: add [[kind.{kind_id}.survey.question]] tables"
            ),
        );
    }
    let subject = read_subject(cx, &st, kind_id, also_subject);
    let schedules = super::survey_schedule::read(cx, &st, kind_id);
    Some(SurveyRule {
        clause: clause?.value,
        title,
        title_en,
        issue_on,
        issue_roles,
        expires: expires?,
        questions,
        invitation: invitation.map(|t| t.value),
        invitation_en: invitation_en.map(|t| t.value),
        invitation_fields,
        also_subject,
        subject_invitation: subject_invitation.map(|t| t.value),
        subject_invitation_en: subject_invitation_en.map(|t| t.value),
        intro: st.str(cx, "intro").map(|t| t.value),
        intro_en: st.str(cx, "intro_en").map(|t| t.value),
        subject,
        schedules,
    })
}

/// `[kind.<id>.survey.subject]`: the person complained about's own title, intro and
/// questions (lawfirm-complaint 三(二)(三)). Only with `also_subject`; it must ask something.
fn read_subject(
    cx: &mut Ctx<'_>,
    st: &Table<'_, '_>,
    kind_id: &str,
    also_subject: bool,
) -> Option<PartySurvey> {
    let sub = st.table(cx, "subject")?;
    sub.deny_unknown(cx, &["title", "title_en", "intro", "intro_en", "question"]);
    if !also_subject {
        cx.error(
            &sub.span,
            format!(
                "`kind.{kind_id}.survey.subject` without `also_subject = true`: no link goes to the person complained about"
            ),
        );
    }
    let title = sub.str(cx, "title");
    let title_en = sub.str(cx, "title_en");
    if let (None, Some(en)) = (&title, &title_en) {
        cx.error(
            &en.span,
            "`title_en` without `title`: the Chinese text comes first",
        );
    }
    let intro = sub.str(cx, "intro");
    let intro_en = sub.str(cx, "intro_en");
    if let (None, Some(en)) = (&intro, &intro_en) {
        cx.error(
            &en.span,
            "`intro_en` without `intro`: the Chinese text comes first",
        );
    }
    let (ids, questions) = read_questions(cx, &sub);
    if ids.is_empty() {
        cx.error(
            &sub.span,
            format!(
                "`kind.{kind_id}.survey.subject` asks nothing: add [[kind.{kind_id}.survey.subject.question]] tables, or drop the table to ask the common questions"
            ),
        );
    }
    Some(PartySurvey {
        title: title.map(|t| t.value),
        title_en: title_en.map(|t| t.value),
        intro: intro.map(|t| t.value),
        intro_en: intro_en.map(|t| t.value),
        questions,
    })
}

/// The `[[…question]]` tables of a survey table: every id as written (for the emptiness
/// check) and the questions that read without error. Duplicate ids are reported here.
fn read_questions(cx: &mut Ctx<'_>, st: &Table<'_, '_>) -> (Vec<At<String>>, Vec<Question>) {
    let mut ids: Vec<At<String>> = Vec::new();
    let mut questions = Vec::new();
    for qt in st.tables(cx, "question") {
        qt.deny_unknown(
            cx,
            &[
                "id", "label", "label_en", "type", "required", "options", "max_len",
            ],
        );
        let Some(id) = qt.req_str(cx, "id") else {
            continue;
        };
        let label = qt.req_str(cx, "label");
        let kind = match qt.req_str(cx, "type") {
            Some(ty) => match ty.value.as_str() {
                "rating" => Some(QuestionKind::Rating),
                "text" => Some(QuestionKind::Text {
                    max_len: qt
                        .int(cx, "max_len")
                        .and_then(|n| usize::try_from(n.value).ok())
                        .unwrap_or(DEFAULT_TEXT_LEN),
                }),
                "choice" => {
                    let options = read_options(cx, &qt);
                    if options.is_empty() {
                        cx.error(
                            &qt.span,
                            format!("choice question `{}` needs `options`", id.value),
                        );
                    }
                    Some(QuestionKind::Choice { options })
                }
                other => {
                    cx.error(
                        &ty.span,
                        format!("unknown question type `{other}`; expected rating, choice or text"),
                    );
                    None
                }
            },
            None => None,
        };
        let required = qt.bool(cx, "required").unwrap_or(false);
        ids.push(id.clone());
        if let (Some(label), Some(kind)) = (label, kind) {
            questions.push(Question {
                id: id.value,
                label: label.value,
                label_en: qt.str(cx, "label_en").map(|l| l.value),
                kind,
                required,
            });
        }
    }
    let mut seen = HashSet::new();
    for id in &ids {
        if !seen.insert(id.value.clone()) {
            cx.error(
                &id.span,
                format!("duplicate survey question `{}`", id.value),
            );
        }
    }
    (ids, questions)
}

/// Reports each problem of an invitation text at its place in the file. The offset inside the
/// text maps onto the file only when the string is written as it reads (a basic or literal
/// one-line string without escapes); otherwise the error points at the string's start.
fn check_invitation(cx: &mut Ctx<'_>, text: &At<String>, fields: &[Field]) {
    let written = cx.source.get(text.span.clone()).unwrap_or_default();
    let verbatim = written.len() == text.value.len() + 2
        && written.get(1..written.len() - 1) == Some(text.value.as_str());
    for e in crate::survey::check_invitation(&text.value, fields) {
        let offset = if verbatim {
            text.span.start + 1 + e.offset
        } else {
            text.span.start
        };
        cx.error_at(offset, format!("survey invitation: {}", e.message));
    }
}

/// `options = ["a", "b"]` or `options = [{ code = "a", label = "…" }]`.
fn read_options(cx: &mut Ctx<'_>, qt: &Table<'_, '_>) -> Vec<ChoiceOption> {
    let mut out = Vec::new();
    let Some(value) = qt.get("options") else {
        return out;
    };
    let all_strings = matches!(value.get_ref(), toml::de::DeValue::Array(items)
        if items.iter().all(|i| matches!(i.get_ref(), toml::de::DeValue::String(_))));
    if all_strings {
        for o in qt
            .str_list(cx, "options")
            .map(|l| l.value)
            .unwrap_or_default()
        {
            out.push(ChoiceOption {
                code: o.value.clone(),
                label: o.value,
            });
        }
        return out;
    }
    for ot in qt.tables(cx, "options") {
        ot.deny_unknown(cx, &["code", "label"]);
        if let (Some(code), Some(label)) = (ot.req_str(cx, "code"), ot.req_str(cx, "label")) {
            out.push(ChoiceOption {
                code: code.value,
                label: label.value,
            });
        }
    }
    out
}
