//! `manyi policy check` diagnostics, snapshot-tested on a set of broken policies (each file in
//! `broken-policies/` says what is wrong with it), and the shipped policies checked clean.

use std::path::Path;

use manyi_core::policy;

fn check(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/broken-policies")
        .join(name);
    let source = std::fs::read_to_string(&path).unwrap();
    let outcome = policy::load(name, &source);
    assert!(outcome.policy.is_none(), "{name} should not load");
    assert!(outcome.has_errors());
    outcome
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unknown_states_roles_and_fields_are_each_reported() {
    insta::assert_snapshot!(check("unknown-names.toml"));
}

#[test]
fn unreachable_states_and_dead_ends_are_reported() {
    insta::assert_snapshot!(check("graph.toml"));
}

#[test]
fn duplicate_declarations_point_at_the_first_one() {
    insta::assert_snapshot!(check("duplicates.toml"));
}

#[test]
fn bad_cel_is_reported_at_its_position_in_the_file() {
    insta::assert_snapshot!(check("bad-cel.toml"));
}

#[test]
fn numbering_without_serial_or_with_a_reset_the_pattern_cannot_show_is_refused() {
    insta::assert_snapshot!(check("numbering.toml"));
}

#[test]
fn unknown_keys_wrong_types_and_missing_clauses_are_all_reported() {
    insta::assert_snapshot!(check("unknown-keys.toml"));
}

#[test]
fn survey_invitations_with_unknown_placeholders_or_no_link_are_refused_at_their_column() {
    assert_eq!(
        check("survey-invitation.toml"),
        [
            "survey-invitation.toml:35:35: error: survey invitation: unknown placeholder \
             `{expiry}`; known: {title}, {case_number}, {link}, {expires}, {field:<field id>}",
            "survey-invitation.toml:36:18: error: survey invitation: the text has no `{link}`: \
             the customer would get no link to answer",
            "survey-invitation.toml:67:17: error: `invitation_en` without `invitation`: the \
             Chinese text comes first (set both, or neither for the default wording)",
            "survey-invitation.toml:67:34: error: survey invitation: unclosed `{`: write a \
             placeholder as `{link}`, a brace as `{{`",
        ]
        .join("\n")
    );
}

#[test]
fn survey_invitations_naming_unknown_or_personal_case_fields_are_refused_at_their_column() {
    assert_eq!(
        check("survey-invitation-fields.toml"),
        [
            "survey-invitation-fields.toml:50:1: error: `kind.complaint.survey` has \
             `also_subject = true` but the kind declares no `subject_field`: whom would the \
             link go to?",
            "survey-invitation-fields.toml:52:46: error: survey invitation: unknown field `shop` \
             in `{field:shop}`: not a field of this kind; fields an invitation may name: \
             store_name",
            "survey-invitation-fields.toml:53:18: error: survey invitation: `{field:phone}` \
             names personal data (field `phone` is `personal`): it is never written into an \
             SMS or e-mail",
            "survey-invitation-fields.toml:53:32: error: survey invitation: \
             `{field:customer_name}` names personal data (field `customer_name` is `personal`): \
             it is never written into an SMS or e-mail",
        ]
        .join("\n")
    );
}

#[test]
fn bad_per_party_surveys_and_schedules_are_refused_at_their_place() {
    let f = "survey-parties-schedules.toml";
    assert_eq!(
        check(f),
        [
            format!(
                "{f}:44:1: error: `kind.complaint.survey.subject` without `also_subject = true`: \
                 no link goes to the person complained about"
            ),
            format!("{f}:45:12: error: `title_en` without `title`: the Chinese text comes first"),
            format!("{f}:53:6: error: duplicate survey question `fair`"),
            format!(
                "{f}:61:10: error: unknown schedule `period` `weekly`; expected monthly, \
                 quarterly or configured (the organisation sets it)"
            ),
            format!(
                "{f}:63:1: error: `customers = \"sample\"` needs `sample_per_unit` (how many per \
                 unit)"
            ),
            format!("{f}:76:19: error: `sample_per_unit` is 1 to 1000, not 0"),
            format!(
                "{f}:83:19: error: `sample_per_unit` without `customers = \"sample\"`: every \
                 complainant is surveyed"
            ),
            format!("{f}:86:6: error: duplicate schedule `stray` in `kind.complaint.survey`"),
            format!(
                "{f}:90:13: error: unknown schedule `customers` `everyone`; expected \
                 closed_in_period (every complainant of a case closed in the period) or sample \
                 (`sample_per_unit` of them per unit)"
            ),
            format!(
                "{f}:92:1: error: missing required key `clause` in \
                 `kind.complaint.survey.schedule[5]`"
            ),
        ]
        .join("\n")
    );
}

#[test]
fn a_toml_syntax_error_is_reported_with_its_location() {
    insta::assert_snapshot!(check("syntax.toml"));
}

#[test]
fn the_shipped_policies_check_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let source = std::fs::read_to_string(&path).unwrap();
            let outcome = policy::load(&path.display().to_string(), &source);
            let errors: Vec<String> = outcome
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(ToString::to_string)
                .collect();
            assert!(
                errors.is_empty(),
                "{}:\n{}",
                path.display(),
                errors.join("\n")
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "expected the shipped policies in {}",
        dir.display()
    );
}

#[test]
fn every_transition_of_the_shipped_policies_cites_a_clause() {
    let source = include_str!("../../../policies/ccb-counter.toml");
    let p = policy::load("ccb-counter.toml", source).policy.unwrap();
    let rows = policy::compliance_matrix(&p);
    for kind in &p.kinds {
        for t in &kind.transitions {
            assert!(
                rows.iter()
                    .any(|r| r.element.ends_with(&format!("transition {}", t.id))),
                "{} missing from the matrix",
                t.id
            );
        }
    }
    // 第十七条 to 第二十三条 are what this first pack covers.
    for clause in [
        "第十七条",
        "第十八条",
        "第十九条",
        "第二十二条",
        "第二十三条",
    ] {
        assert!(
            rows.iter().any(|r| r.clause == clause),
            "{clause} not enforced"
        );
    }
}
