//! Penalties: the fine schedule of a regulation, applied to recorded violations.
//!
//! A policy's `[[penalty]]` rules (see `docs/POLICY.md`) say which violation a fine applies to,
//! its amount (fixed, or a range a person must decide within), per instance or per item, who
//! answers for it, who decides, whether the complaint must first be found substantiated
//! (经调查情况属实, CLAUSES.md A23) and whether it goes on to a disciplinary referral.
//!
//! Everything here is pure. [`propose`] turns a violation into **proposals**, one per liable
//! person; [`decide`] checks a person's decision on a proposal; [`appeal`] checks the penalised
//! person's one appeal; [`decide_appeal`] checks the second decision, by another authorised
//! person. A refusal names the rule's clause and changes nothing.
//!
//! Penalties are **recorded decisions**, never wage deductions: manyi keeps who proposed,
//! decided and reviewed what, and why. Whether and how an employer may act on them is a matter
//! of labour law (CLAUSES.md A21: the 1982 rules that allowed fines were repealed in 2008).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::{Case, PersonRef};
use crate::deadlines::{Liable, Violation};
use crate::engine::{Directory, Refusal, RefusalReason};
use crate::org::{Actor, UnitRef};
use crate::values::Money;

/// `Violation::kind` of a complaint closed as substantiated (`rule`: `FIELD=CODE`).
pub const UPHELD: &str = "upheld_complaint";
/// `Violation::kind` of a record field missing at closing (`rule`: the field).
pub const RECORD_INCOMPLETE: &str = "record_incomplete";
/// `Violation::kind` of a repeat complaint while the first was open (`rule`: `repeat`).
pub const REPEAT: &str = "repeat_complaint";
/// `Violation::kind` of a recused person's attempt to act (`rule`: the action).
pub const RECUSAL: &str = "recusal_attempt";
/// `Violation::kind` of an assistance request refused (ccb-counter 第二十条: 不得推诿).
pub const ASSIST_REFUSED: &str = "assistance_refused";
/// `Violation::kind` of an assistance request still open at its deadline (不得拖延).
pub const ASSIST_OVERDUE: &str = "assistance_overdue";
/// `Violation::kind` of a dispute decision not carried out in time (ccb-counter 第二十一条).
pub const DISPUTE_NOT_CARRIED_OUT: &str = "dispute_decision_not_carried_out";
/// `Violation::kind` of a person's conduct recorded by an authorised role (`rule`: the
/// `[[conduct]]` type's id; jinbi-property 第四条 礼仪, 第六条 规范用语).
pub const CONDUCT: &str = "conduct";

/// The violation a penalty rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationSelector {
    /// `clock:<id>`: a breach of the clock with this id (in any kind of the policy).
    Clock(String),
    /// `upheld:<field>=<code>`: a complaint found substantiated whose choice field has this
    /// code (ccb-counter 第三十三条: by cause). Such violations are recorded when a case is
    /// closed as substantiated, which arrives with the validity gate; until then a rule of this
    /// form is checked and listed but proposes nothing.
    Upheld { field: String, code: String },
    /// `record` or `record:<field>`: a case closed with a record field missing (jinbi-property
    /// 第五条: one violation per missing item), any field or that one.
    Record(Option<String>),
    /// `repeat`: the same customer complained again about the same matter while the first case
    /// was still open (jinbi-property 第七条附则).
    Repeat,
    /// `recusal`: the person a case is about tried to act on it (回避, CLAUSES.md A26).
    Recusal,
    /// `assist`, `assist:refused` or `assist:overdue`: an assistance request refused or left
    /// open past its deadline (ccb-counter 第二十条). `role:ROLE` liability falls on the
    /// **requested** unit's role holders.
    Assist(Option<AssistFault>),
    /// `dispute`: a dispute decision the ordered unit did not carry out in time (ccb-counter
    /// 第二十一条). `role:ROLE` liability falls on the **ordered** unit's role holders.
    Dispute,
    /// `conduct:<id>`: a person's conduct of the `[[conduct]]` type `id`, recorded by an
    /// authorised role (jinbi-property 第四条, 第六条). `role:ROLE` liability falls on the
    /// role holders of the person's unit.
    Conduct(String),
}

/// Which assistance violation an `assist:` selector names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssistFault {
    /// 推诿: the requested unit refused.
    Refused,
    /// 拖延: the request was still open at its deadline.
    Overdue,
}

impl ViolationSelector {
    /// `clock:ID` or `upheld:FIELD=CODE`.
    pub fn parse(s: &str) -> Option<ViolationSelector> {
        match s.trim() {
            "record" => return Some(ViolationSelector::Record(None)),
            "repeat" => return Some(ViolationSelector::Repeat),
            "recusal" => return Some(ViolationSelector::Recusal),
            "assist" => return Some(ViolationSelector::Assist(None)),
            "dispute" => return Some(ViolationSelector::Dispute),
            _ => {}
        }
        let (word, arg) = s.split_once(':')?;
        let arg = arg.trim();
        match word.trim() {
            "clock" if !arg.is_empty() => Some(ViolationSelector::Clock(arg.to_owned())),
            "record" if !arg.is_empty() => Some(ViolationSelector::Record(Some(arg.to_owned()))),
            "assist" => match arg {
                "refused" => Some(ViolationSelector::Assist(Some(AssistFault::Refused))),
                "overdue" => Some(ViolationSelector::Assist(Some(AssistFault::Overdue))),
                _ => None,
            },
            "conduct" if !arg.is_empty() => Some(ViolationSelector::Conduct(arg.to_owned())),
            "upheld" => {
                let (field, code) = arg.split_once('=')?;
                let (field, code) = (field.trim(), code.trim());
                (!field.is_empty() && !code.is_empty()).then(|| ViolationSelector::Upheld {
                    field: field.to_owned(),
                    code: code.to_owned(),
                })
            }
            _ => None,
        }
    }

    /// Whether `violation` is one this selector names.
    pub fn matches(&self, violation: &Violation) -> bool {
        match self {
            ViolationSelector::Clock(id) => {
                violation.kind == "deadline_breach" && &violation.rule == id
            }
            ViolationSelector::Upheld { field, code } => {
                violation.kind == UPHELD && violation.rule == format!("{field}={code}")
            }
            ViolationSelector::Record(field) => {
                violation.kind == RECORD_INCOMPLETE
                    && field.as_ref().is_none_or(|f| f == &violation.rule)
            }
            ViolationSelector::Repeat => violation.kind == REPEAT,
            ViolationSelector::Recusal => violation.kind == RECUSAL,
            ViolationSelector::Assist(fault) => match fault {
                None => violation.kind == ASSIST_REFUSED || violation.kind == ASSIST_OVERDUE,
                Some(AssistFault::Refused) => violation.kind == ASSIST_REFUSED,
                Some(AssistFault::Overdue) => violation.kind == ASSIST_OVERDUE,
            },
            ViolationSelector::Dispute => violation.kind == DISPUTE_NOT_CARRIED_OUT,
            ViolationSelector::Conduct(id) => violation.kind == CONDUCT && &violation.rule == id,
        }
    }
}

/// The unit whose role holders answer for `violation` under `role:ROLE` (and whose parent
/// under `parent_role:ROLE`): the unit the violation names for the violations another unit
/// commits on a case (an assistance request refused or overdue, a dispute decision not carried
/// out) and for a person's recorded conduct; the case's owning unit for all others.
pub fn answering_unit<'a>(case: &'a Case, violation: &'a Violation) -> &'a UnitRef {
    let elsewhere = matches!(
        violation.kind.as_str(),
        ASSIST_REFUSED | ASSIST_OVERDUE | DISPUTE_NOT_CARRIED_OUT | CONDUCT
    );
    match violation.liable_units.first() {
        Some(unit) if elsewhere => unit,
        _ => &case.owner_unit,
    }
}

impl std::fmt::Display for ViolationSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ViolationSelector::Clock(id) => write!(f, "clock:{id}"),
            ViolationSelector::Upheld { field, code } => write!(f, "upheld:{field}={code}"),
            ViolationSelector::Record(None) => write!(f, "record"),
            ViolationSelector::Record(Some(field)) => write!(f, "record:{field}"),
            ViolationSelector::Repeat => write!(f, "repeat"),
            ViolationSelector::Recusal => write!(f, "recusal"),
            ViolationSelector::Assist(None) => write!(f, "assist"),
            ViolationSelector::Assist(Some(AssistFault::Refused)) => write!(f, "assist:refused"),
            ViolationSelector::Assist(Some(AssistFault::Overdue)) => write!(f, "assist:overdue"),
            ViolationSelector::Dispute => write!(f, "dispute"),
            ViolationSelector::Conduct(id) => write!(f, "conduct:{id}"),
        }
    }
}

/// What one fine counts: each occurrence, or each item (jinbi-property 第五条: 30 元 per
/// missing record item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    Instance,
    Item,
}

/// How a case records that a complaint was substantiated (经调查情况属实): a field and the
/// value it must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Substantiation {
    pub field: String,
    pub value: Value,
}

/// A penalty rule as the policy declares it (`[[penalty]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltyRule {
    pub id: String,
    pub label: String,
    pub violation: ViolationSelector,
    /// The amount per instance or item, in fen: `min == max` for a fixed amount.
    pub min_fen: i64,
    pub max_fen: i64,
    pub per: Per,
    /// Who is proposed a penalty; empty: every person the violation names.
    pub liable: Vec<Liable>,
    /// Only for complaints found substantiated (CLAUSES.md A23).
    pub requires_substantiation: bool,
    /// How substantiation is recorded; present when `requires_substantiation`.
    pub substantiation: Option<Substantiation>,
    /// The matter also goes to a disciplinary referral (情节严重的，给予纪律处分).
    pub discipline_referral: bool,
    /// Roles that may decide a proposal.
    pub decided_by: Vec<String>,
    /// Roles that may decide an appeal (someone other than the first decider).
    pub appeal_decided_by: Vec<String>,
    /// How this rule combines with others for one person on one case (CLAUSES.md A22).
    pub stacking: Stacking,
    pub clause: String,
}

/// How several penalties for one case combine (CLAUSES.md A22).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Stacking {
    /// Fines in different sentences of a regulation add up (jinbi-property 第五条: 30 元 per
    /// missing item, plus 100 元 if it delayed the handling). The default.
    #[default]
    Stack,
    /// Tiers of one sentence replace each other: of the rules in the same group, only the
    /// highest (by maximum) applies to one person on one case (ccb-counter 第三十三条: a
    /// procedure violation exposed by the media is fined under (三), not (二) as well).
    Highest { group: String },
}

impl PenaltyRule {
    pub fn is_range(&self) -> bool {
        self.min_fen != self.max_fen
    }

    /// The amount as people write it: `30.00 元` or `50.00–1000.00 元`.
    pub fn amount_text(&self) -> String {
        range_text(self.min_fen, self.max_fen)
    }
}

fn range_text(min: i64, max: i64) -> String {
    if min == max {
        format!("{} 元", Money::from_fen(min))
    } else {
        format!("{}–{} 元", Money::from_fen(min), Money::from_fen(max))
    }
}

/// A proposed penalty for one person, before anyone decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The penalty rule's id.
    pub rule: String,
    pub clause: String,
    pub person: PersonRef,
    /// The allowed range for this proposal (items included), in fen.
    pub min_fen: i64,
    pub max_fen: i64,
    pub items: u32,
    pub discipline_referral: bool,
    pub requires_substantiation: bool,
}

/// Where a penalty stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyStatus {
    Proposed,
    Decided,
    Appealed,
    AppealDecided,
}

impl PenaltyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PenaltyStatus::Proposed => "proposed",
            PenaltyStatus::Decided => "decided",
            PenaltyStatus::Appealed => "appealed",
            PenaltyStatus::AppealDecided => "appeal_decided",
        }
    }

    pub fn parse(s: &str) -> Option<PenaltyStatus> {
        Some(match s {
            "proposed" => PenaltyStatus::Proposed,
            "decided" => PenaltyStatus::Decided,
            "appealed" => PenaltyStatus::Appealed,
            "appeal_decided" => PenaltyStatus::AppealDecided,
            _ => return None,
        })
    }
}

/// A penalty as the shell reads it back: its proposal and how far it has gone.
#[derive(Debug, Clone, PartialEq)]
pub struct Penalty {
    pub proposal: Proposal,
    pub status: PenaltyStatus,
    /// The first decider, once decided.
    pub decided_by: Option<PersonRef>,
}

/// A decision on an amount: by whom, when, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub amount_fen: i64,
    pub reason: String,
    pub by: PersonRef,
    pub at: Timestamp,
}

/// The penalised person's appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appeal {
    pub reason: String,
    pub by: PersonRef,
    pub at: Timestamp,
}

/// The proposals `violation` gives under `rules`: for each rule that applies, one per liable
/// person. `case` is the case as it was when the violation was recorded; `directory` holds the
/// role holders of its owning unit (for `role:ROLE`).
pub fn propose(
    rules: &[PenaltyRule],
    case: &Case,
    violation: &Violation,
    directory: &Directory,
    items: u32,
) -> Vec<Proposal> {
    propose_in(rules, Some(case), violation, directory, items)
}

/// The proposals of a violation recorded without a case (conduct seen at the counter, issue
/// 5): as [`propose`], with no first contact nor assignee to be liable, and `role:ROLE` /
/// `parent_role:ROLE` resolved in the unit the violation names (the person's).
pub fn propose_without_case(
    rules: &[PenaltyRule],
    violation: &Violation,
    directory: &Directory,
    items: u32,
) -> Vec<Proposal> {
    propose_in(rules, None, violation, directory, items)
}

fn propose_in(
    rules: &[PenaltyRule],
    case: Option<&Case>,
    violation: &Violation,
    directory: &Directory,
    items: u32,
) -> Vec<Proposal> {
    let items = items.max(1);
    let unit = match case {
        Some(case) => Some(answering_unit(case, violation)),
        None => violation.liable_units.first(),
    };
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| r.violation.matches(violation)) {
        let mut persons: Vec<PersonRef> = Vec::new();
        let mut add = |p: &PersonRef| {
            if !persons.iter().any(|x| x.id == p.id) {
                persons.push(p.clone());
            }
        };
        if rule.liable.is_empty() {
            violation.liable_persons.iter().for_each(&mut add);
        }
        for l in &rule.liable {
            match l {
                Liable::FirstContact => {
                    if let Some(case) = case {
                        add(&case.first_contact);
                    }
                }
                Liable::Assignee => {
                    if let Some(a) = case.and_then(|c| c.assignee.as_ref()) {
                        add(a);
                    }
                }
                // A unit is not a person: collective liability is recorded on the violation.
                Liable::OwnerUnit => {}
                Liable::Role(role) => {
                    for p in unit
                        .iter()
                        .flat_map(|u| directory.members_with_role(u.id, role))
                    {
                        add(p);
                    }
                }
                Liable::ParentRole(role) => {
                    if let Some(parent) = unit.and_then(UnitRef::parent) {
                        for p in directory.members_with_role(parent, role) {
                            add(p);
                        }
                    }
                }
            }
        }
        let factor = match rule.per {
            Per::Instance => 1,
            Per::Item => i64::from(items),
        };
        for person in persons {
            out.push(Proposal {
                rule: rule.id.clone(),
                clause: rule.clause.clone(),
                person,
                min_fen: rule.min_fen.saturating_mul(factor),
                max_fen: rule.max_fen.saturating_mul(factor),
                items: if rule.per == Per::Item { items } else { 1 },
                discipline_referral: rule.discipline_referral,
                requires_substantiation: rule.requires_substantiation,
            });
        }
    }
    out
}

/// A proposal already in the ledger for the same case, for [`apply_stacking`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub rule: String,
    pub person_id: i64,
    pub max_fen: i64,
}

/// Applies CLAUSES.md A22 to new proposals for one case: `new` holds (violation index,
/// proposal) pairs; of the rules in one `Stacking::Highest` group, one person keeps only the
/// highest tier (by maximum; the first declared wins a tie) across `new` and the proposals
/// `existing` in the ledger for that case. A new proposal that a higher existing one covers is
/// dropped; an existing lower one stays in the ledger (a decider sees both and decides the
/// lower one at its minimum or leaves it). Rules that stack are untouched.
pub fn apply_stacking(
    rules: &[PenaltyRule],
    new: Vec<(usize, Proposal)>,
    existing: &[Existing],
) -> Vec<(usize, Proposal)> {
    let group_of = |rule: &str| {
        rules
            .iter()
            .find(|r| r.id == rule)
            .and_then(|r| match &r.stacking {
                Stacking::Highest { group } => Some(group.clone()),
                Stacking::Stack => None,
            })
    };
    let order = |rule: &str| {
        rules
            .iter()
            .position(|r| r.id == rule)
            .unwrap_or(usize::MAX)
    };
    let mut keep = vec![true; new.len()];
    for (i, (_, p)) in new.iter().enumerate() {
        let Some(group) = group_of(&p.rule) else {
            continue;
        };
        let beaten_by_existing = existing.iter().any(|e| {
            e.person_id == p.person.id
                && group_of(&e.rule).as_deref() == Some(group.as_str())
                && e.max_fen >= p.max_fen
        });
        let beaten_by_new = new.iter().enumerate().any(|(j, (_, q))| {
            j != i
                && q.person.id == p.person.id
                && group_of(&q.rule).as_deref() == Some(group.as_str())
                && (q.max_fen > p.max_fen
                    || (q.max_fen == p.max_fen && order(&q.rule) < order(&p.rule))
                    || (q.max_fen == p.max_fen && q.rule == p.rule && j < i))
        });
        if beaten_by_existing || beaten_by_new {
            keep[i] = false;
        }
    }
    new.into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// Whether `case` records the substantiation `rule` needs (always true when it needs none).
pub fn is_substantiated(rule: &PenaltyRule, case: &Case) -> bool {
    if !rule.requires_substantiation {
        return true;
    }
    match &rule.substantiation {
        Some(s) => case.fields.get(&s.field) == Some(&s.value),
        None => false,
    }
}

fn refuse(reason: RefusalReason, clause: &str, zh: String, en: String) -> Refusal {
    Refusal::new(reason, Some(clause), zh, en)
}

fn check_amount_and_reason(
    proposal: &Proposal,
    amount_fen: i64,
    reason: &str,
) -> Result<(), Refusal> {
    if reason.trim().is_empty() {
        return Err(refuse(
            RefusalReason::ReasonRequired,
            &proposal.clause,
            "决定处罚金额必须说明理由".into(),
            "a penalty decision needs a reason".into(),
        ));
    }
    if amount_fen < proposal.min_fen || amount_fen > proposal.max_fen {
        let range = range_text(proposal.min_fen, proposal.max_fen);
        return Err(refuse(
            RefusalReason::OutOfRange,
            &proposal.clause,
            format!(
                "金额 {} 元超出规定范围 {range}",
                Money::from_fen(amount_fen)
            ),
            format!(
                "the amount {} yuan is outside the range {range} set by the rule",
                Money::from_fen(amount_fen)
            ),
        ));
    }
    Ok(())
}

fn check_decider(
    proposal: &Proposal,
    roles: &[String],
    decider: &Actor,
    what_zh: &str,
    what: &str,
) -> Result<(), Refusal> {
    if decider.id == proposal.person.id {
        return Err(refuse(
            RefusalReason::SelfDecision,
            &proposal.clause,
            format!("被处罚人不能{what_zh}自己的处罚"),
            format!("the penalised person cannot {what} their own penalty"),
        ));
    }
    if !decider.has_any_role(roles) {
        return Err(refuse(
            RefusalReason::RoleNotAllowed,
            &proposal.clause,
            format!("只有{}可以{what_zh}此处罚", roles.join("或")),
            format!("only {} may {what} this penalty", roles.join(" or ")),
        ));
    }
    Ok(())
}

/// Checks a decision on a proposed penalty: by a holder of one of the rule's `decided_by`
/// roles who is not the penalised person, with a reason, inside the range, and (where the rule
/// says so) only for a substantiated complaint.
pub fn decide(
    penalty: &Penalty,
    rule: &PenaltyRule,
    case: &Case,
    amount_fen: i64,
    reason: &str,
    decider: &Actor,
    now: Timestamp,
) -> Result<Decision, Refusal> {
    decide_in(
        penalty,
        rule,
        is_substantiated(rule, case),
        amount_fen,
        reason,
        decider,
        now,
    )
}

/// [`decide`] for the penalty of a violation recorded without a case (issue 5): there is no
/// complaint to be found substantiated, so a rule that requires it is never decided this way.
pub fn decide_without_case(
    penalty: &Penalty,
    rule: &PenaltyRule,
    amount_fen: i64,
    reason: &str,
    decider: &Actor,
    now: Timestamp,
) -> Result<Decision, Refusal> {
    decide_in(
        penalty,
        rule,
        !rule.requires_substantiation,
        amount_fen,
        reason,
        decider,
        now,
    )
}

fn decide_in(
    penalty: &Penalty,
    rule: &PenaltyRule,
    substantiated: bool,
    amount_fen: i64,
    reason: &str,
    decider: &Actor,
    now: Timestamp,
) -> Result<Decision, Refusal> {
    let p = &penalty.proposal;
    if penalty.status != PenaltyStatus::Proposed {
        return Err(refuse(
            RefusalReason::WrongState,
            &p.clause,
            "该处罚已经决定，不能再次决定（如有异议请申诉）".into(),
            format!(
                "the penalty is {}, not proposed: it was decided already",
                penalty.status.as_str()
            ),
        ));
    }
    check_decider(p, &rule.decided_by, decider, "决定", "decide")?;
    if !substantiated {
        return Err(refuse(
            RefusalReason::NotSubstantiated,
            &p.clause,
            "投诉尚未经调查认定属实，不能决定处罚".into(),
            "the complaint has not been found substantiated (经调查情况属实); no penalty may be \
             decided"
                .into(),
        ));
    }
    check_amount_and_reason(p, amount_fen, reason)?;
    Ok(Decision {
        amount_fen,
        reason: reason.trim().to_owned(),
        by: person_of(decider),
        at: now,
    })
}

/// Checks the penalised person's appeal: only they may appeal, once, after the decision, with
/// a reason.
pub fn appeal(
    penalty: &Penalty,
    reason: &str,
    appellant: &Actor,
    now: Timestamp,
) -> Result<Appeal, Refusal> {
    let p = &penalty.proposal;
    if appellant.id != p.person.id {
        return Err(refuse(
            RefusalReason::RoleNotAllowed,
            &p.clause,
            "只有被处罚人本人可以申诉".into(),
            "only the penalised person may appeal".into(),
        ));
    }
    match penalty.status {
        PenaltyStatus::Decided => {}
        PenaltyStatus::Proposed => {
            return Err(refuse(
                RefusalReason::WrongState,
                &p.clause,
                "处罚尚未决定，无需申诉".into(),
                "the penalty has not been decided yet; there is nothing to appeal".into(),
            ));
        }
        PenaltyStatus::Appealed | PenaltyStatus::AppealDecided => {
            return Err(refuse(
                RefusalReason::AlreadyAppealed,
                &p.clause,
                "每项处罚只能申诉一次".into(),
                "a penalty may be appealed only once".into(),
            ));
        }
    }
    if reason.trim().is_empty() {
        return Err(refuse(
            RefusalReason::ReasonRequired,
            &p.clause,
            "申诉必须说明理由".into(),
            "an appeal needs a reason".into(),
        ));
    }
    Ok(Appeal {
        reason: reason.trim().to_owned(),
        by: person_of(appellant),
        at: now,
    })
}

/// Checks the decision on an appeal: by a holder of one of the rule's `appeal_decided_by`
/// roles who is neither the penalised person nor the first decider, with a reason, inside the
/// range (which may confirm, lower or raise the amount within it).
pub fn decide_appeal(
    penalty: &Penalty,
    rule: &PenaltyRule,
    amount_fen: i64,
    reason: &str,
    decider: &Actor,
    now: Timestamp,
) -> Result<Decision, Refusal> {
    let p = &penalty.proposal;
    if penalty.status != PenaltyStatus::Appealed {
        return Err(refuse(
            RefusalReason::WrongState,
            &p.clause,
            "该处罚没有待决定的申诉".into(),
            format!(
                "the penalty is {}: there is no pending appeal",
                penalty.status.as_str()
            ),
        ));
    }
    check_decider(p, &rule.appeal_decided_by, decider, "复核", "review")?;
    if penalty
        .decided_by
        .as_ref()
        .is_some_and(|d| d.id == decider.id)
    {
        return Err(refuse(
            RefusalReason::SelfDecision,
            &p.clause,
            "申诉须由原决定人以外的人复核".into(),
            "an appeal must be decided by someone other than the first decider".into(),
        ));
    }
    check_amount_and_reason(p, amount_fen, reason)?;
    Ok(Decision {
        amount_fen,
        reason: reason.trim().to_owned(),
        by: person_of(decider),
        at: now,
    })
}

fn person_of(actor: &Actor) -> PersonRef {
    PersonRef {
        id: actor.id,
        login: actor.login.clone(),
        name: actor.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::org::UnitRef;

    fn unit() -> UnitRef {
        UnitRef::from_path(2, "JB01", "客服中心", "department", "/1/2/")
    }

    fn person(id: i64, login: &str) -> PersonRef {
        PersonRef {
            id,
            login: login.into(),
            name: login.into(),
        }
    }

    fn actor(id: i64, login: &str, roles: &[&str]) -> Actor {
        Actor {
            id,
            login: login.into(),
            name: login.into(),
            unit: unit(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn case(fields: &[(&str, &str)]) -> Case {
        let now: Timestamp = "2026-03-10T02:00:00Z".parse().unwrap();
        Case {
            number: "JB1".into(),
            kind: "complaint".into(),
            policy_id: "jinbi-property".into(),
            policy_version: 1,
            state: "received".into(),
            channel: "phone".into(),
            owner_unit: unit(),
            first_contact: person(10, "duty"),
            assignee: Some(person(10, "duty")),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect::<BTreeMap<_, _>>(),
            created_at: now,
            updated_at: now,
            closed: false,
            closed_at: None,
            version: 1,
            clocks: BTreeMap::new(),
            callbacks: Vec::new(),
            assists: Vec::new(),
            disputes: Vec::new(),
        }
    }

    fn rule(min: i64, max: i64) -> PenaltyRule {
        PenaltyRule {
            id: "late_dispatch".into(),
            label: "未在五分钟内调度".into(),
            violation: ViolationSelector::Clock("dispatch".into()),
            min_fen: min,
            max_fen: max,
            per: Per::Instance,
            liable: vec![Liable::FirstContact],
            requires_substantiation: false,
            substantiation: None,
            discipline_referral: false,
            decided_by: vec!["dispatch_supervisor".into()],
            appeal_decided_by: vec!["customer_service".into()],
            stacking: Stacking::Stack,
            clause: "第七条附则".into(),
        }
    }

    fn violation(rule: &str) -> Violation {
        Violation {
            kind: "deadline_breach".into(),
            rule: rule.into(),
            clause: "第七条".into(),
            due: "2026-03-10T02:05:00Z".parse().unwrap(),
            liable_persons: vec![person(10, "duty")],
            liable_units: vec![],
        }
    }

    fn proposed(r: &PenaltyRule) -> Penalty {
        let props = propose(
            std::slice::from_ref(r),
            &case(&[]),
            &violation("dispatch"),
            &Directory::default(),
            1,
        );
        Penalty {
            proposal: props.into_iter().next().expect("one proposal"),
            status: PenaltyStatus::Proposed,
            decided_by: None,
        }
    }

    fn now() -> Timestamp {
        "2026-03-10T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_breach_of_the_named_clock_proposes_one_penalty_per_liable_person() {
        let mut dir = Directory::default();
        dir.add_member(2, "dispatch_supervisor", person(11, "sup"));
        let mut r = rule(3000, 3000);
        r.liable = vec![
            Liable::FirstContact,
            Liable::Role("dispatch_supervisor".into()),
        ];
        let props = propose(&[r.clone()], &case(&[]), &violation("dispatch"), &dir, 1);
        let who: Vec<&str> = props.iter().map(|p| p.person.login.as_str()).collect();
        assert_eq!(who, ["duty", "sup"]);
        assert!(props.iter().all(|p| p.min_fen == 3000 && p.max_fen == 3000));
        // Another clock's breach is not this rule's business.
        assert!(propose(&[r], &case(&[]), &violation("record_review"), &dir, 1).is_empty());
    }

    #[test]
    fn assist_dispute_and_conduct_selectors_parse_print_and_match_their_violations() {
        for text in [
            "assist",
            "assist:refused",
            "assist:overdue",
            "dispute",
            "conduct:etiquette",
        ] {
            let sel = ViolationSelector::parse(text).expect(text);
            assert_eq!(sel.to_string(), text);
        }
        for bad in ["assist:late", "conduct:", "conduct", "dispute:x"] {
            assert_eq!(ViolationSelector::parse(bad), None, "{bad}");
        }
        let of = |kind: &str, rule: &str| Violation {
            kind: kind.into(),
            rule: rule.into(),
            ..violation("x")
        };
        let refused = of(ASSIST_REFUSED, "assist:1");
        let overdue = of(ASSIST_OVERDUE, "assist:1");
        let any = ViolationSelector::parse("assist").unwrap();
        assert!(any.matches(&refused) && any.matches(&overdue));
        let only_refused = ViolationSelector::parse("assist:refused").unwrap();
        assert!(only_refused.matches(&refused) && !only_refused.matches(&overdue));
        let dispute = ViolationSelector::parse("dispute").unwrap();
        assert!(dispute.matches(&of(DISPUTE_NOT_CARRIED_OUT, "dispute:1")));
        assert!(!dispute.matches(&refused));
        let conduct = ViolationSelector::parse("conduct:etiquette").unwrap();
        assert!(conduct.matches(&of(CONDUCT, "etiquette")));
        assert!(!conduct.matches(&of(CONDUCT, "language")));
        // A clock named like a conduct type is not conduct.
        assert!(!conduct.matches(&of("deadline_breach", "etiquette")));
    }

    #[test]
    fn role_liability_for_another_units_fault_falls_on_that_units_role_holders() {
        // The case is owned by unit 2 (/1/2/); unit 5 (/1/4/5/) was asked to help and refused.
        let requested = UnitRef::from_path(5, "U5", "u5", "outlet", "/1/4/5/");
        let mut dir = Directory::default();
        dir.add_member(2, "outlet_head", person(20, "owner_head"));
        dir.add_member(5, "outlet_head", person(50, "requested_head"));
        dir.add_member(4, "service_mgmt", person(40, "requested_parent"));
        let mut r = rule(5000, 100_000);
        r.violation = ViolationSelector::Assist(None);
        r.liable = vec![
            Liable::Role("outlet_head".into()),
            Liable::ParentRole("service_mgmt".into()),
        ];
        let v = Violation {
            kind: ASSIST_REFUSED.into(),
            rule: "assist:1".into(),
            liable_units: vec![requested.clone()],
            ..violation("x")
        };
        let who: Vec<String> = propose(&[r.clone()], &case(&[]), &v, &dir, 1)
            .into_iter()
            .map(|p| p.person.login)
            .collect();
        assert_eq!(who, ["requested_head", "requested_parent"]);
        // A clock breach with the same liability stays with the owning unit.
        r.violation = ViolationSelector::Clock("x".into());
        let breach = Violation {
            liable_units: vec![requested],
            ..violation("x")
        };
        let who: Vec<String> = propose(&[r], &case(&[]), &breach, &dir, 1)
            .into_iter()
            .map(|p| p.person.login)
            .collect();
        assert_eq!(who, ["owner_head"]);
    }

    #[test]
    fn a_per_item_rule_multiplies_its_amount_by_the_items() {
        let mut r = rule(3000, 3000);
        r.per = Per::Item;
        let props = propose(
            &[r],
            &case(&[]),
            &violation("dispatch"),
            &Directory::default(),
            3,
        );
        assert_eq!((props[0].min_fen, props[0].items), (9000, 3));
    }

    #[test]
    fn a_decision_inside_the_range_with_a_reason_is_accepted() {
        let r = rule(5000, 100_000);
        let sup = actor(11, "sup", &["dispatch_supervisor"]);
        let d = decide(
            &proposed(&r),
            &r,
            &case(&[]),
            20_000,
            "态度生硬",
            &sup,
            now(),
        )
        .unwrap();
        assert_eq!((d.amount_fen, d.by.login.as_str()), (20_000, "sup"));
    }

    #[test]
    fn a_decision_outside_the_range_is_refused_naming_the_range_and_clause() {
        let r = rule(5000, 100_000);
        let sup = actor(11, "sup", &["dispatch_supervisor"]);
        let e = decide(&proposed(&r), &r, &case(&[]), 100_001, "x", &sup, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::OutOfRange);
        assert_eq!(e.clause.as_deref(), Some("第七条附则"));
        assert!(
            e.message_zh.contains("50.00–1000.00 元"),
            "{}",
            e.message_zh
        );
    }

    #[test]
    fn a_decision_without_a_reason_is_refused() {
        let r = rule(3000, 3000);
        let sup = actor(11, "sup", &["dispatch_supervisor"]);
        let e = decide(&proposed(&r), &r, &case(&[]), 3000, "  ", &sup, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::ReasonRequired);
    }

    #[test]
    fn the_penalised_person_cannot_decide_their_own_penalty_even_holding_the_role() {
        let r = rule(3000, 3000);
        let me = actor(10, "duty", &["dispatch_supervisor"]);
        let e = decide(&proposed(&r), &r, &case(&[]), 3000, "x", &me, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::SelfDecision);
    }

    #[test]
    fn someone_without_the_deciding_role_is_refused() {
        let r = rule(3000, 3000);
        let other = actor(12, "clerk", &["duty_staff"]);
        let e = decide(&proposed(&r), &r, &case(&[]), 3000, "x", &other, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::RoleNotAllowed);
    }

    #[test]
    fn an_unsubstantiated_complaint_cannot_be_fined_where_the_rule_requires_substantiation() {
        let mut r = rule(5000, 100_000);
        r.requires_substantiation = true;
        r.substantiation = Some(Substantiation {
            field: "substantiated".into(),
            value: Value::from("yes"),
        });
        let sup = actor(11, "sup", &["dispatch_supervisor"]);
        let p = proposed(&r);
        let e = decide(&p, &r, &case(&[]), 5000, "x", &sup, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::NotSubstantiated);
        let upheld = case(&[("substantiated", "yes")]);
        assert!(decide(&p, &r, &upheld, 5000, "x", &sup, now()).is_ok());
    }

    #[test]
    fn the_penalised_person_appeals_once_and_another_person_decides_it() {
        let r = rule(5000, 100_000);
        let sup = actor(11, "sup", &["dispatch_supervisor", "customer_service"]);
        let duty = actor(10, "duty", &["duty_staff"]);
        let mut p = proposed(&r);
        let first = decide(&p, &r, &case(&[]), 50_000, "x", &sup, now()).unwrap();
        p.status = PenaltyStatus::Decided;
        p.decided_by = Some(first.by);
        // Only the penalised person appeals.
        let e = appeal(&p, "不服", &sup, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::RoleNotAllowed);
        appeal(&p, "系统故障导致", &duty, now()).unwrap();
        p.status = PenaltyStatus::Appealed;
        // A second appeal is refused.
        let e = appeal(&p, "再次申诉", &duty, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::AlreadyAppealed);
        // The first decider may not review their own decision.
        let e = decide_appeal(&p, &r, 5000, "y", &sup, now()).unwrap_err();
        assert_eq!(e.reason, RefusalReason::SelfDecision);
        let cs = actor(13, "cs", &["customer_service"]);
        let d = decide_appeal(&p, &r, 5000, "情有可原", &cs, now()).unwrap();
        assert_eq!(d.amount_fen, 5000);
        p.status = PenaltyStatus::AppealDecided;
        assert_eq!(
            appeal(&p, "三诉", &duty, now()).unwrap_err().reason,
            RefusalReason::AlreadyAppealed
        );
    }

    #[test]
    fn selectors_parse_and_print_back() {
        for s in ["clock:dispatch", "upheld:cause=attitude"] {
            assert_eq!(ViolationSelector::parse(s).unwrap().to_string(), s);
        }
        for s in ["clock:", "upheld:cause", "deadline:x", "nothing"] {
            assert!(ViolationSelector::parse(s).is_none(), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn an_amount_outside_the_range_is_always_refused(
            min in 0i64..1_000_000,
            width in 0i64..1_000_000,
            amount in -10_000_000i64..10_000_000,
        ) {
            let max = min + width;
            let r = rule(min, max);
            let sup = actor(11, "sup", &["dispatch_supervisor"]);
            let result = decide(&proposed(&r), &r, &case(&[]), amount, "理由", &sup, now());
            if amount < min || amount > max {
                let e = result.unwrap_err();
                proptest::prop_assert_eq!(e.reason, RefusalReason::OutOfRange);
            } else {
                proptest::prop_assert_eq!(result.unwrap().amount_fen, amount);
            }
        }
    }
}
