//! Forms generated from a policy's fields, and posted forms turned back into field values.
//!
//! A field's input is named `f.<field id>`, so that it cannot collide with the form's own
//! controls (`csrf`, `action`, …). Values go to the engine as text (it parses phone numbers,
//! money, dates …); a multi-choice field becomes a list. Whatever the user typed is kept to
//! show the form again on an error.

use std::collections::{BTreeMap, HashMap};

use manyi_core::engine::FieldError;
use manyi_core::policy::{CaseKind, Field, FieldType, TaxonomyNode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::i18n::Lang;
use super::session::FormData;
use super::view::{display_value, field_label};

/// The prefix of a field's input name.
pub const FIELD_PREFIX: &str = "f.";

/// One input of a generated form.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// The field id; the input's name is `f.<id>`, its element id `f-<id>`.
    pub id: String,
    pub name: String,
    pub label: String,
    /// text, textarea, select, multi, number, date, datetime-local, tel, email, unsupported.
    pub control: &'static str,
    pub required: bool,
    pub options: Vec<Choice>,
    /// What the user typed (or the current value).
    pub value: String,
    /// For multi-choice: the chosen codes.
    pub values: Vec<String>,
    pub error: Option<String>,
    pub max_len: Option<usize>,
    /// `tel`/`numeric` keyboards on phones.
    pub inputmode: Option<&'static str>,
    pub autocomplete: Option<&'static str>,
    /// Checked by the server as the user types (phone, ID numbers, e-mail, money, dates).
    pub live_check: bool,
    /// For person and unit fields: suggestions (`<datalist>`).
    pub suggestions: Vec<Choice>,
    pub personal: bool,
    pub clause: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub code: String,
    pub label: String,
}

/// Builds the input of `field`, with the typed values and errors of a previous attempt.
pub fn input(
    field: &Field,
    required: bool,
    typed: &Typed,
    errors: &HashMap<String, String>,
    lang: Lang,
) -> Input {
    let options = |opts: &[manyi_core::policy::ChoiceOption]| {
        opts.iter()
            .map(|o| Choice {
                code: o.code.clone(),
                label: o.label.clone(),
            })
            .collect::<Vec<_>>()
    };
    let (control, opts, inputmode, live_check) = match &field.field_type {
        FieldType::Text { .. } => ("text", Vec::new(), None, false),
        FieldType::LongText { .. } => ("textarea", Vec::new(), None, false),
        FieldType::Choice { options: o } => ("select", options(o), None, false),
        FieldType::MultiChoice { options: o } => ("multi", options(o), None, false),
        FieldType::Taxonomy { nodes } => {
            let mut flat = Vec::new();
            flatten(nodes, 0, &mut flat);
            ("select", flat, None, false)
        }
        FieldType::Integer { .. } => ("number", Vec::new(), Some("numeric"), false),
        FieldType::Money => ("text", Vec::new(), Some("decimal"), true),
        FieldType::Date => ("date", Vec::new(), None, false),
        FieldType::DateTime => ("datetime-local", Vec::new(), None, false),
        FieldType::Phone => ("tel", Vec::new(), Some("tel"), true),
        FieldType::ResidentId => ("text", Vec::new(), None, true),
        FieldType::CreditCode => ("text", Vec::new(), None, true),
        FieldType::Email => ("email", Vec::new(), Some("email"), true),
        FieldType::Person | FieldType::Unit => ("text", Vec::new(), None, false),
        FieldType::Attachment => ("unsupported", Vec::new(), None, false),
        FieldType::Code { list } => {
            let flat = list
                .codes
                .iter()
                .map(|c| Choice {
                    code: c.code.clone(),
                    label: format!(
                        "{}{} {}",
                        "　".repeat(usize::from(c.level.saturating_sub(1))),
                        c.code,
                        c.label
                    ),
                })
                .collect();
            ("select", flat, None, false)
        }
    };
    let max_len = match field.field_type {
        FieldType::Text { max_len } | FieldType::LongText { max_len } => Some(max_len),
        _ => None,
    };
    let autocomplete = match (&field.field_type, field.id.as_str()) {
        (FieldType::Phone, _) => Some("tel"),
        (FieldType::Email, _) => Some("email"),
        (FieldType::Text { .. }, id) if field.personal && id.contains("name") => Some("name"),
        _ => Some("off"),
    };
    let typed_values = typed.0.get(&field.id).cloned().unwrap_or_default();
    Input {
        id: field.id.clone(),
        name: format!("{FIELD_PREFIX}{}", field.id),
        label: field_label(field, lang),
        control,
        required,
        options: opts,
        value: typed_values.first().cloned().unwrap_or_default(),
        values: typed_values,
        error: errors.get(&field.id).cloned(),
        max_len,
        inputmode,
        autocomplete,
        live_check,
        suggestions: Vec::new(),
        personal: field.personal,
        clause: field.clause.clone(),
    }
}

fn flatten(nodes: &[TaxonomyNode], depth: usize, out: &mut Vec<Choice>) {
    for n in nodes {
        out.push(Choice {
            code: n.code.clone(),
            label: format!("{}{} {}", "　".repeat(depth), n.code, n.label),
        });
        flatten(&n.children, depth + 1, out);
    }
}

/// What the user typed, by field id (several values for a multi-choice field).
#[derive(Debug, Clone, Default)]
pub struct Typed(pub HashMap<String, Vec<String>>);

impl Typed {
    /// The current values of a case, as a form shows them (for editing).
    pub fn from_case(kind: &CaseKind, fields: &BTreeMap<String, Value>) -> Typed {
        let mut out = HashMap::new();
        for f in &kind.fields {
            let Some(v) = fields.get(&f.id) else { continue };
            let values = match (&f.field_type, v) {
                (FieldType::MultiChoice { .. }, Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                (FieldType::Money, Value::Number(_)) => {
                    vec![display_value(Some(f), v).trim_start_matches('¥').to_owned()]
                }
                (_, Value::String(s)) => vec![s.clone()],
                (_, other) => vec![other.to_string()],
            };
            out.insert(f.id.clone(), values);
        }
        Typed(out)
    }
}

/// The field values of a posted form for `kind` (only the fields in `allowed`), and what was
/// typed. Empty inputs are left out (the engine then says what is required).
pub fn fields_from_form(
    kind: &CaseKind,
    form: &FormData,
    allowed: &[&str],
) -> (Map<String, Value>, Typed) {
    let mut typed: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in &form.0 {
        if let Some(id) = name.strip_prefix(FIELD_PREFIX)
            && allowed.contains(&id)
        {
            typed.entry(id.to_owned()).or_default().push(value.clone());
        }
    }
    let mut fields = Map::new();
    for field in &kind.fields {
        let Some(values) = typed.get(&field.id) else {
            continue;
        };
        match field.field_type {
            FieldType::MultiChoice { .. } => {
                let chosen: Vec<Value> = values
                    .iter()
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_owned()))
                    .collect();
                if !chosen.is_empty() {
                    fields.insert(field.id.clone(), Value::Array(chosen));
                }
            }
            _ => {
                let v = values.first().map_or("", |v| v.trim());
                if !v.is_empty() {
                    fields.insert(field.id.clone(), Value::String(v.to_owned()));
                }
            }
        }
    }
    (fields, Typed(typed))
}

/// Field errors by field id, in `lang`; errors of fields without an input go to `other`.
pub fn errors_by_field(
    errors: &[FieldError],
    shown: &[&str],
    lang: Lang,
) -> (HashMap<String, String>, Vec<String>) {
    let mut by_field: HashMap<String, String> = HashMap::new();
    let mut other = Vec::new();
    for e in errors {
        let message = lang.message(&e.message_zh, &e.message).to_owned();
        if shown.contains(&e.field.as_str()) {
            by_field
                .entry(e.field.clone())
                .and_modify(|m| {
                    m.push('；');
                    m.push_str(&message);
                })
                .or_insert(message);
        } else {
            other.push(message);
        }
    }
    (by_field, other)
}

/// The fields a registration form shows: those required when registering, and those no
/// later step asks for (the rest belong to later steps and their forms).
pub fn registration_fields(kind: &CaseKind) -> Vec<(&Field, bool)> {
    let initial_requires: Vec<&str> = kind
        .state(&kind.initial)
        .map(|s| s.requires.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let later: Vec<&str> = kind
        .transitions
        .iter()
        .flat_map(|t| t.requires.iter())
        .chain(
            kind.states
                .iter()
                .filter(|s| s.id != kind.initial)
                .flat_map(|s| s.requires.iter()),
        )
        .map(String::as_str)
        .collect();
    kind.fields
        .iter()
        .filter_map(|f| {
            let required = f.required || initial_requires.contains(&f.id.as_str());
            let shown = required
                || (!later.contains(&f.id.as_str())
                    && !matches!(
                        f.field_type,
                        FieldType::Person | FieldType::Unit | FieldType::Attachment
                    ));
            shown.then_some((f, required))
        })
        .collect()
}
