//! The policy language: a regulation in machine form.
//!
//! A policy is a TOML file (see `docs/POLICY.md`). [`load`] reads it into a [`Policy`] and
//! reports every problem it finds with `file:line:column`; [`explain`] prints which clause
//! each rule enforces. The model types here are what the engine runs: they are only ever built
//! by [`load`], so a `Policy` in memory has passed every check.

mod archive;
mod assist;
mod callback;
mod codes;
mod conduct;
mod diag;
mod dispute;
mod explain;
mod load;
pub mod placeholder;
mod reader;
mod survey;
mod survey_schedule;
mod violations;

use std::collections::BTreeMap;

pub use diag::{Diagnostic, Severity, Span};
pub use explain::{ComplianceRow, compliance_matrix, render_matrix};
pub use load::{LoadOutcome, load};
pub use placeholder::{Placeholder, find as placeholders};

use crate::expr::Condition;
use crate::numbering::NumberingRule;

/// A checked, runnable policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Stable identifier, e.g. `ccb-counter`. Versions of one policy share it.
    pub id: String,
    pub title: String,
    /// The regulation this policy implements, as its title reads.
    pub regulation: Option<String>,
    /// Organisation levels, top (head office) first.
    pub levels: Vec<Level>,
    pub roles: Vec<Role>,
    pub kinds: Vec<CaseKind>,
    /// The fine schedule (`[[penalty]]`): what a violation may cost whom.
    pub penalties: Vec<crate::penalties::PenaltyRule>,
    /// Awards (`[[reward]]`): the mirror image of penalties.
    pub rewards: Vec<crate::rewards::RewardRule>,
    /// Versioned code lists (`[[codelist]]`) that `code` fields take their values from.
    pub codelists: Vec<crate::codes::CodeList>,
    /// Conduct violations a person records against another (`[[conduct]]`, e.g.
    /// jinbi-property 第四条 礼仪).
    pub conduct: Vec<crate::conduct::ConductType>,
}

impl Policy {
    pub fn kind(&self, id: &str) -> Option<&CaseKind> {
        self.kinds.iter().find(|k| k.id == id)
    }

    pub fn level(&self, id: &str) -> Option<&Level> {
        self.levels.iter().find(|l| l.id == id)
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    pub fn penalty(&self, id: &str) -> Option<&crate::penalties::PenaltyRule> {
        self.penalties.iter().find(|p| p.id == id)
    }

    pub fn reward(&self, id: &str) -> Option<&crate::rewards::RewardRule> {
        self.rewards.iter().find(|r| r.id == id)
    }
}

/// An organisation level (总行 / 一级分行 / 二级分行 / 营业网点 …).
#[derive(Debug, Clone)]
pub struct Level {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub clause: Option<String>,
}

/// A role a user can hold (柜员, 网点负责人, 服务管理部门 …).
#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub clause: Option<String>,
}

/// A kind of case: complaint, service request, inspection …
#[derive(Debug, Clone)]
pub struct CaseKind {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub clause: Option<String>,
    /// The state a new case starts in.
    pub initial: String,
    /// Roles that may register a case of this kind (and so become its first-contact owner).
    pub create_roles: Vec<String>,
    /// Channels a case may arrive through (counter, phone, 95533, letter …).
    pub channels: Vec<String>,
    pub numbering: NumberingRule,
    pub fields: Vec<Field>,
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
    /// Time limits (`[[kind.<id>.clock]]`).
    pub clocks: Vec<crate::deadlines::ClockRule>,
    /// 回避 (recusal): the `person` field naming whom the case is about (被投诉人). That person
    /// may take no transition of the case and never be assigned to it.
    pub subject_field: Option<String>,
    /// The clause every recusal refusal names (default `CLAUSES A26`).
    pub recusal_clause: String,
    /// 回访 (`[kind.<id>.callback]`).
    pub callback: Option<crate::callback::CallbackRule>,
    /// 满意度调查 (`[kind.<id>.survey]`).
    pub survey: Option<crate::survey::SurveyRule>,
    /// The validity gate, record completeness and repeat-complaint rules (`crate::violations`).
    pub checks: crate::violations::KindChecks,
    /// `[kind.<id>.archive]`: when a closed case becomes read-only, and who may read it then.
    pub archive: Option<crate::archive::ArchiveRule>,
    /// `[kind.<id>.assist]`: asking other units for help (ccb-counter 第二十条).
    pub assist: Option<crate::assist::AssistRule>,
    /// `[kind.<id>.dispute]`: disputes between units (ccb-counter 第二十一条).
    pub dispute: Option<crate::dispute::DisputeRule>,
}

impl CaseKind {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn state(&self, id: &str) -> Option<&State> {
        self.states.iter().find(|s| s.id == id)
    }

    pub fn transition(&self, id: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.id == id)
    }

    /// Transitions that may leave `state`.
    pub fn transitions_from<'a>(&'a self, state: &'a str) -> impl Iterator<Item = &'a Transition> {
        self.transitions.iter().filter(move |t| t.leaves(state))
    }
}

/// A typed field of a case kind.
#[derive(Debug, Clone)]
pub struct Field {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    pub field_type: FieldType,
    /// Must be given when the case is registered.
    pub required: bool,
    /// Personal data: masked for roles that do not need it and never logged.
    pub personal: bool,
    pub clause: Option<String>,
}

/// The type of a field, with what its values may be.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    /// One line of text, at most `max_len` characters.
    Text {
        max_len: usize,
    },
    /// Free text over several lines.
    LongText {
        max_len: usize,
    },
    Choice {
        options: Vec<ChoiceOption>,
    },
    MultiChoice {
        options: Vec<ChoiceOption>,
    },
    /// A code from a tree of codes (e.g. JR/T 0169 business types).
    Taxonomy {
        nodes: Vec<TaxonomyNode>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// CNY, stored in fen.
    Money,
    Date,
    DateTime,
    /// A mainland phone number (mobile or landline with area code).
    Phone,
    /// A resident identity number (GB 11643, check digit verified).
    ResidentId,
    /// A unified social credit code (GB 32100, check character verified).
    CreditCode,
    Email,
    /// A user, by login.
    Person,
    /// An organisation unit, by code.
    Unit,
    /// A reference to a stored attachment.
    Attachment,
    /// A code from a versioned `[[codelist]]` (JR/T 0169's axes, severity …).
    Code {
        list: Box<crate::codes::CodeList>,
    },
}

impl FieldType {
    /// The word used for this type in the policy file.
    pub fn keyword(&self) -> &'static str {
        match self {
            FieldType::Text { .. } => "text",
            FieldType::LongText { .. } => "long_text",
            FieldType::Choice { .. } => "choice",
            FieldType::MultiChoice { .. } => "multi_choice",
            FieldType::Taxonomy { .. } => "taxonomy",
            FieldType::Integer { .. } => "integer",
            FieldType::Money => "money",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Phone => "phone",
            FieldType::ResidentId => "resident_id",
            FieldType::CreditCode => "credit_code",
            FieldType::Email => "email",
            FieldType::Person => "person",
            FieldType::Unit => "unit",
            FieldType::Attachment => "attachment",
            FieldType::Code { .. } => "code",
        }
    }

    pub const KEYWORDS: &'static [&'static str] = &[
        "text",
        "long_text",
        "choice",
        "multi_choice",
        "taxonomy",
        "integer",
        "money",
        "date",
        "datetime",
        "phone",
        "resident_id",
        "credit_code",
        "email",
        "person",
        "unit",
        "attachment",
        "code",
    ];
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceOption {
    pub code: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaxonomyNode {
    pub code: String,
    pub label: String,
    pub children: Vec<TaxonomyNode>,
}

impl TaxonomyNode {
    /// Finds `code` anywhere in the forest.
    pub fn find<'a>(nodes: &'a [TaxonomyNode], code: &str) -> Option<&'a TaxonomyNode> {
        nodes.iter().find_map(|n| {
            if n.code == code {
                Some(n)
            } else {
                TaxonomyNode::find(&n.children, code)
            }
        })
    }
}

/// A state of a case kind.
#[derive(Debug, Clone)]
pub struct State {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    /// A final state closes the case (it may still be reopened by a transition).
    pub is_final: bool,
    /// Fields that must be filled for a case to enter this state.
    pub requires: Vec<String>,
    pub clause: Option<String>,
}

/// `to = "*"`: a transition that leaves the case in the state it is in.
pub const STAY: &str = "*";

/// A permitted move between states: the heart of a regulation's workflow.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The action name users and the API call it by (`hand_up`, `reply`, `close` …).
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
    /// States it may start from; `None` means any non-final state.
    pub from: Option<Vec<String>>,
    /// The target state, or [`STAY`].
    pub to: String,
    /// Roles allowed to take it (any one suffices).
    pub roles: Vec<String>,
    /// Only the case's first-contact owner (首问负责人) may take it.
    pub first_contact_only: bool,
    /// Only the case's handler (承办人: its assignee) may take it (CLAUSES.md A20).
    pub handler_only: bool,
    /// Fields that must be filled once the transition is done.
    pub requires: Vec<String>,
    /// A CEL guard; the transition is refused when it is false.
    pub condition: Option<Condition>,
    pub effects: Vec<Effect>,
    /// The clause this rule implements; named in every refusal.
    pub clause: String,
    /// A custom refusal message (zh-CN) shown when the guard fails.
    pub refusal: Option<String>,
    /// `soft = true`: the guard is a 原则上 rule an authorised role may override (`crate::soft`).
    pub soft: Option<crate::soft::SoftRule>,
}

impl Transition {
    /// The state a case in `current` ends up in.
    pub fn target<'a>(&'a self, current: &'a str) -> &'a str {
        if self.to == STAY { current } else { &self.to }
    }

    /// Whether this transition may start from `state` (a transition with no `from` list may
    /// start from any state that is not final, which the caller checks).
    pub fn leaves(&self, state: &str) -> bool {
        match &self.from {
            Some(states) => states.iter().any(|s| s == state),
            None => true,
        }
    }
}

/// What a transition does besides changing state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Make the acting user the assignee.
    AssignActor,
    /// Make the user named in a `person` field the assignee.
    AssignFromField(String),
    /// Clear the assignee.
    Unassign,
    /// Hand the intake ownership (首问负责人: customer contact, deadline watch, callback,
    /// archive) to the acting user — e.g. the general manager taking the intake over when the
    /// intake department is the one complained about (CLAUSES.md A26).
    HandIntakeToActor,
    /// Hand the intake ownership to the user named in a `person` field.
    HandIntakeFromField(String),
    /// Hand the case up to the parent of the owning unit (beyond authority).
    HandUp,
    /// Hand the case across to the unit named in a `unit` field.
    HandAcrossFromField(String),
    /// Hand the case across to a unit by its code.
    HandAcrossTo(String),
    /// Set a field to a fixed value.
    SetField {
        field: String,
        value: serde_json::Value,
    },
}

/// The clause references a policy declares, in file order, for [`explain`].
pub type ClauseIndex = BTreeMap<String, Vec<String>>;
