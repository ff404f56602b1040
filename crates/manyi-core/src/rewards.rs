//! Rewards: the mirror image of penalties (ccb-counter 第三十一条/第三十二条: 采取激励措施; 每年评选
//! 先进工作者和先进集体，并给予适当的奖励).
//!
//! A policy's `[[reward]]` rules (see `docs/POLICY.md`) name an award, whether it goes to a
//! person or to a unit (a collective award), its period (a year), an optional amount range,
//! who may propose it and who decides. [`check_proposal`] checks a nomination with its basis;
//! [`check_decision`] checks the decision — granted inside the range, or declined — by an
//! authorised person other than the recipient and the proposer, always with a reason.
//! Everything is pure; a refusal names the rule's clause. Like penalties, a reward is a
//! recorded decision: manyi computes no payroll.

use crate::engine::{FieldError, Refusal, RefusalReason};
use crate::org::Actor;
use crate::policy::Policy;
use crate::values::Money;

/// Who receives an award.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// 先进工作者: a person.
    Person,
    /// 先进集体: a unit.
    Unit,
}

impl Recipient {
    pub fn as_str(self) -> &'static str {
        match self {
            Recipient::Person => "person",
            Recipient::Unit => "unit",
        }
    }
}

/// A reward rule as the policy declares it (`[[reward]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RewardRule {
    pub id: String,
    pub label: String,
    pub recipient: Recipient,
    /// The amount range in fen (`0, 0`: an honour without money).
    pub min_fen: i64,
    pub max_fen: i64,
    /// Roles that may propose (nominate).
    pub proposed_by: Vec<String>,
    /// Roles that decide.
    pub decided_by: Vec<String>,
    pub clause: String,
}

impl RewardRule {
    /// `0.00–5000.00 元`, or `—` for an honour without money.
    pub fn amount_text(&self) -> String {
        if self.max_fen == 0 {
            "—".into()
        } else if self.min_fen == self.max_fen {
            format!("{} 元", Money::from_fen(self.min_fen))
        } else {
            format!(
                "{}–{} 元",
                Money::from_fen(self.min_fen),
                Money::from_fen(self.max_fen)
            )
        }
    }
}

fn refuse(rule: &RewardRule, reason: RefusalReason, zh: String, en: String) -> Refusal {
    Refusal::new(reason, Some(&rule.clause), zh, en)
}

/// The roles as the policy labels them, for a refusal: (Chinese, English). English uses
/// `label_en`, else the Chinese label; an id the policy does not declare (the loader refuses
/// those, so only a hand-built rule) shows as itself.
fn role_labels(policy: &Policy, roles: &[String]) -> (String, String) {
    let zh: Vec<&str> = roles
        .iter()
        .map(|r| {
            policy
                .role(r)
                .map_or(r.as_str(), |role| role.label.as_str())
        })
        .collect();
    let en: Vec<&str> = roles
        .iter()
        .map(|r| {
            policy.role(r).map_or(r.as_str(), |role| {
                role.label_en.as_deref().unwrap_or(&role.label)
            })
        })
        .collect();
    (zh.join("或"), en.join(" or "))
}

fn invalid(rule: &RewardRule, field: &str, code: &str, en: String, zh: String) -> Refusal {
    let mut r = refuse(rule, RefusalReason::InvalidFields, zh.clone(), en.clone());
    r.fields = vec![FieldError {
        field: field.into(),
        code: code.into(),
        message: en,
        message_zh: zh,
    }];
    r
}

/// Checks a nomination: by a holder of a `proposed_by` role, for the right kind of recipient,
/// for a year (`2026`), with a basis (事迹); nobody nominates themselves.
pub fn check_proposal(
    policy: &Policy,
    rule: &RewardRule,
    proposer: &Actor,
    period: &str,
    basis: &str,
    person: Option<i64>,
) -> Result<(), Refusal> {
    if !proposer.has_any_role(&rule.proposed_by) {
        let (zh, en) = role_labels(policy, &rule.proposed_by);
        return Err(refuse(
            rule,
            RefusalReason::RoleNotAllowed,
            format!("只有{zh}可以提名{}", rule.label),
            format!("only {en} may propose `{}`", rule.id),
        ));
    }
    let year_ok = period.len() == 4 && period.bytes().all(|b| b.is_ascii_digit());
    if !year_ok {
        return Err(invalid(
            rule,
            "period",
            "period.year",
            format!("period `{period}` must be a year such as 2026 (the awards are annual)"),
            format!("评选期间“{period}”应为年份，如 2026（每年评选）"),
        ));
    }
    match (rule.recipient, person) {
        (Recipient::Person, None) => {
            return Err(invalid(
                rule,
                "person",
                "required",
                format!("`{}` is awarded to a person: give `person`", rule.id),
                format!("{}授予个人，须指定 person", rule.label),
            ));
        }
        (Recipient::Unit, Some(_)) => {
            return Err(invalid(
                rule,
                "person",
                "reward.collective",
                format!(
                    "`{}` is a collective award: give `unit`, not `person`",
                    rule.id
                ),
                format!("{}授予集体，应指定 unit 而非 person", rule.label),
            ));
        }
        _ => {}
    }
    if person == Some(proposer.id) {
        return Err(refuse(
            rule,
            RefusalReason::SelfDecision,
            "不能提名自己".into(),
            "nobody may propose themselves".into(),
        ));
    }
    if basis.trim().is_empty() {
        return Err(refuse(
            rule,
            RefusalReason::ReasonRequired,
            "提名必须写明事迹（依据）".into(),
            "a proposal needs its basis".into(),
        ));
    }
    Ok(())
}

/// Checks a decision on a proposed reward and returns the amount it records: by a holder of a
/// `decided_by` role who is neither the recipient nor the proposer, with a reason; granted
/// inside the range (an honour without money records none), declined without an amount.
#[allow(clippy::too_many_arguments)]
pub fn check_decision(
    policy: &Policy,
    rule: &RewardRule,
    status: &str,
    recipient: Option<i64>,
    proposer: i64,
    decider: &Actor,
    granted: bool,
    amount_fen: Option<i64>,
    reason: &str,
) -> Result<Option<i64>, Refusal> {
    if status != "proposed" {
        return Err(refuse(
            rule,
            RefusalReason::WrongState,
            "该奖励已经决定".into(),
            format!("the reward is {status}: it was decided already"),
        ));
    }
    if !decider.has_any_role(&rule.decided_by) {
        let (zh, en) = role_labels(policy, &rule.decided_by);
        return Err(refuse(
            rule,
            RefusalReason::RoleNotAllowed,
            format!("只有{zh}可以决定{}", rule.label),
            format!("only {en} may decide `{}`", rule.id),
        ));
    }
    if recipient == Some(decider.id) || proposer == decider.id {
        return Err(refuse(
            rule,
            RefusalReason::SelfDecision,
            "获奖人和提名人不能决定该奖励".into(),
            "the recipient and the proposer may not decide the reward".into(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(refuse(
            rule,
            RefusalReason::ReasonRequired,
            "决定奖励必须说明理由".into(),
            "a reward decision needs a reason".into(),
        ));
    }
    if !granted {
        return Ok(None);
    }
    if rule.max_fen == 0 {
        return Ok(None);
    }
    let Some(amount) = amount_fen else {
        return Err(invalid(
            rule,
            "amount",
            "required",
            format!("a granted reward needs an amount in {}", rule.amount_text()),
            format!("授予奖励须填写金额，范围 {}", rule.amount_text()),
        ));
    };
    if amount < rule.min_fen || amount > rule.max_fen {
        return Err(refuse(
            rule,
            RefusalReason::OutOfRange,
            format!(
                "金额 {} 元超出规定范围 {}",
                Money::from_fen(amount),
                rule.amount_text()
            ),
            format!(
                "the amount {} yuan is outside the range {}",
                Money::from_fen(amount),
                rule.amount_text()
            ),
        ));
    }
    Ok(Some(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::UnitRef;

    /// The roles the refusals name: one with an English label, one without.
    const POLICY: &str = r#"
[policy]
id = "rewards"
title = "奖励"

[[role]]
id = "outlet_head"
label = "网点负责人"
label_en = "Outlet head"

[[role]]
id = "service_mgmt"
label = "服务管理部门"

[kind.complaint]
label = "投诉"
initial = "received"
create_roles = ["outlet_head"]
channels = ["counter"]
numbering = { pattern = "TS{YYYY}{SEQ:4}", reset = "yearly" }

[kind.complaint.state.received]
label = "已受理"

[kind.complaint.state.closed]
label = "已结案"
final = true

[[kind.complaint.transition]]
id = "close"
label = "结案"
from = ["received"]
to = "closed"
roles = ["outlet_head"]
clause = "第一条"

[[reward]]
id = "advanced_worker"
label = "先进工作者"
recipient = "person"
period = "yearly"
amount = [0, 5000]
proposed_by = ["outlet_head"]
decided_by = ["service_mgmt"]
clause = "第三十二条"
"#;

    fn policy() -> Policy {
        let outcome = crate::policy::load("rewards.toml", POLICY);
        let diagnostics: Vec<String> = outcome.diagnostics.iter().map(|d| d.to_string()).collect();
        outcome.policy.unwrap_or_else(|| panic!("{diagnostics:#?}"))
    }

    fn rule() -> RewardRule {
        RewardRule {
            id: "advanced_worker".into(),
            label: "先进工作者".into(),
            recipient: Recipient::Person,
            min_fen: 0,
            max_fen: 500_000,
            proposed_by: vec!["outlet_head".into()],
            decided_by: vec!["service_mgmt".into()],
            clause: "第三十二条".into(),
        }
    }

    #[test]
    fn the_loaded_rule_is_the_one_the_tests_build() {
        assert_eq!(policy().rewards, vec![rule()]);
    }

    #[test]
    fn role_refusals_name_the_roles_by_their_labels() {
        let (p, r) = (policy(), rule());
        let e = check_proposal(&p, &r, &actor(3, &["teller"]), "2026", "x", Some(2)).unwrap_err();
        assert_eq!(e.message_zh, "第三十二条: 只有网点负责人可以提名先进工作者");
        assert_eq!(
            e.message,
            "第三十二条: only Outlet head may propose `advanced_worker`"
        );
        let e = check_decision(
            &p,
            &r,
            "proposed",
            Some(2),
            1,
            &actor(3, &["outlet_head"]),
            true,
            None,
            "x",
        )
        .unwrap_err();
        assert_eq!(
            e.message_zh,
            "第三十二条: 只有服务管理部门可以决定先进工作者"
        );
        // No `label_en`: the Chinese label rather than the id.
        assert_eq!(
            e.message,
            "第三十二条: only 服务管理部门 may decide `advanced_worker`"
        );
    }

    fn actor(id: i64, roles: &[&str]) -> Actor {
        Actor {
            id,
            login: format!("u{id}"),
            name: format!("u{id}"),
            unit: UnitRef::from_path(1, "HQ", "HQ", "hq", "/1/"),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn ccb_32_a_nomination_needs_the_role_a_year_a_person_and_a_basis() {
        let (p, r) = (policy(), rule());
        let head = actor(1, &["outlet_head"]);
        assert!(check_proposal(&p, &r, &head, "2026", "全年零投诉", Some(2)).is_ok());
        let e = check_proposal(&p, &r, &actor(3, &["teller"]), "2026", "x", Some(2)).unwrap_err();
        assert_eq!(e.reason, RefusalReason::RoleNotAllowed);
        assert_eq!(e.clause.as_deref(), Some("第三十二条"));
        let e = check_proposal(&p, &r, &head, "2026Q1", "x", Some(2)).unwrap_err();
        assert_eq!(e.fields[0].field, "period");
        let e = check_proposal(&p, &r, &head, "2026", " ", Some(2)).unwrap_err();
        assert_eq!(e.reason, RefusalReason::ReasonRequired);
        let e = check_proposal(&p, &r, &head, "2026", "x", Some(1)).unwrap_err();
        assert_eq!(e.reason, RefusalReason::SelfDecision);
    }

    #[test]
    fn ccb_32_a_reward_is_decided_once_inside_the_range_with_a_reason_by_someone_else() {
        let (p, r) = (policy(), rule());
        let mgmt = actor(5, &["service_mgmt"]);
        assert_eq!(
            check_decision(
                &p,
                &r,
                "proposed",
                Some(2),
                1,
                &mgmt,
                true,
                Some(100_000),
                "评选通过"
            ),
            Ok(Some(100_000))
        );
        let e = check_decision(
            &p,
            &r,
            "proposed",
            Some(2),
            1,
            &mgmt,
            true,
            Some(500_001),
            "x",
        )
        .unwrap_err();
        assert_eq!(e.reason, RefusalReason::OutOfRange);
        let e =
            check_decision(&p, &r, "proposed", Some(2), 1, &mgmt, true, Some(1), "").unwrap_err();
        assert_eq!(e.reason, RefusalReason::ReasonRequired);
        let e =
            check_decision(&p, &r, "granted", Some(2), 1, &mgmt, true, Some(1), "x").unwrap_err();
        assert_eq!(e.reason, RefusalReason::WrongState);
        let e =
            check_decision(&p, &r, "proposed", Some(5), 1, &mgmt, true, Some(1), "x").unwrap_err();
        assert_eq!(e.reason, RefusalReason::SelfDecision);
        assert_eq!(
            check_decision(
                &p,
                &r,
                "proposed",
                Some(2),
                1,
                &mgmt,
                false,
                None,
                "名额已满"
            ),
            Ok(None)
        );
    }
}
