//! Reading `[[kind.<id>.survey.schedule]]`: routine survey rounds the scheduler starts
//! (`crate::survey_schedule`).

use std::collections::HashSet;

use super::reader::{Ctx, Table};
use crate::survey_schedule::{Customers, Period, PeriodSetting, ScheduleRule};

/// The largest `sample_per_unit`: a round is one transaction, and a sample is a sample.
pub const MAX_SAMPLE_PER_UNIT: i64 = 1000;

pub(super) fn read(cx: &mut Ctx<'_>, st: &Table<'_, '_>, kind_id: &str) -> Vec<ScheduleRule> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for t in st.tables(cx, "schedule") {
        t.deny_unknown(
            cx,
            &[
                "id",
                "label",
                "label_en",
                "clause",
                "period",
                "customers",
                "sample_per_unit",
            ],
        );
        let id = t.req_str(cx, "id");
        if let Some(id) = &id
            && !seen.insert(id.value.clone())
        {
            cx.error(
                &id.span,
                format!(
                    "duplicate schedule `{}` in `kind.{kind_id}.survey`",
                    id.value
                ),
            );
        }
        let label = t.req_str(cx, "label");
        let clause = t.req_str(cx, "clause");
        let period = t.req_str(cx, "period").and_then(|p| {
            match p.value.as_str() {
                "configured" => Some(PeriodSetting::Configured),
                other => match Period::parse(other) {
                    Some(p) => Some(PeriodSetting::Fixed(p)),
                    None => {
                        cx.error(
                            &p.span,
                            format!(
                                "unknown schedule `period` `{other}`; expected monthly, quarterly or configured (the organisation sets it)"
                            ),
                        );
                        None
                    }
                },
            }
        });
        let sample = t.int(cx, "sample_per_unit");
        let customers = match t.str(cx, "customers") {
            None => Some("closed_in_period".to_owned()),
            Some(c) if ["closed_in_period", "sample"].contains(&c.value.as_str()) => Some(c.value),
            Some(c) => {
                cx.error(
                    &c.span,
                    format!(
                        "unknown schedule `customers` `{}`; expected closed_in_period (every complainant of a case closed in the period) or sample (`sample_per_unit` of them per unit)",
                        c.value
                    ),
                );
                None
            }
        };
        let customers = match (customers.as_deref(), &sample) {
            (Some("sample"), Some(n)) if (1..=MAX_SAMPLE_PER_UNIT).contains(&n.value) => {
                u32::try_from(n.value).ok().map(Customers::SamplePerUnit)
            }
            (Some("sample"), Some(n)) => {
                cx.error(
                    &n.span,
                    format!(
                        "`sample_per_unit` is 1 to {MAX_SAMPLE_PER_UNIT}, not {}",
                        n.value
                    ),
                );
                None
            }
            (Some("sample"), None) => {
                cx.error(
                    &t.span,
                    "`customers = \"sample\"` needs `sample_per_unit` (how many per unit)",
                );
                None
            }
            (Some(_), Some(n)) => {
                cx.error(
                    &n.span,
                    "`sample_per_unit` without `customers = \"sample\"`: every complainant is surveyed",
                );
                None
            }
            (Some(_), None) => Some(Customers::ClosedInPeriod),
            (None, _) => None,
        };
        if let (Some(id), Some(label), Some(clause), Some(period), Some(customers)) =
            (id, label, clause, period, customers)
        {
            out.push(ScheduleRule {
                id: id.value,
                label: label.value,
                label_en: t.str(cx, "label_en").map(|l| l.value),
                clause: clause.value,
                period,
                customers,
            });
        }
    }
    out
}
