//! `policy check` on `[[codelist]]`, `code` fields and `[kind.<id>.archive]`: every problem at
//! its file:line:column; a clean pack loads with its lists.

mod common;

use common::{BASE, diagnostics};
use manyi_core::policy;

const LIST: &str = r#"
[[codelist]]
id = "cause"
label = "原因"
version = "2018"
clause = "JR/T 0169-2018"
codes = [
  { code = "01", label = "服务" },
  { code = "0101", label = "态度", parent = "01" },
]
"#;

#[test]
fn a_code_list_and_a_code_field_check_clean_and_load_with_levels() {
    let src = format!(
        "{BASE}{LIST}\n[[kind.c.field]]\nid = \"cause\"\nlabel = \"原因\"\ntype = \"code\"\ncodelist = \"cause\"\n"
    );
    let outcome = policy::load("p.toml", &src);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let p = outcome.policy.expect("policy");
    let list = &p.codelists[0];
    assert_eq!((list.id.as_str(), list.version.as_str()), ("cause", "2018"));
    assert_eq!(list.get("0101").map(|c| c.level), Some(2));
    assert_eq!(
        p.kind("c")
            .and_then(|k| k.field("cause"))
            .map(|f| f.field_type.keyword()),
        Some("code")
    );
}

#[test]
fn duplicate_codes_orphans_and_unknown_lists_are_reported_at_their_place() {
    let src = format!(
        "{BASE}
[[codelist]]
id = \"cause\"
version = \"1\"
codes = [
  {{ code = \"01\", label = \"a\" }},
  {{ code = \"01\", label = \"b\" }},
  {{ code = \"0201\", label = \"c\", parent = \"02\" }},
]

[[kind.c.field]]
id = \"x\"
label = \"x\"
type = \"code\"
codelist = \"nope\"
"
    );
    let d = diagnostics(&src);
    let line = |n: usize| BASE.lines().count() + n;
    assert!(
        d.iter()
            .any(|m| m.starts_with(&format!("p.toml:{}:", line(7)))
                && m.contains("duplicate code `01` in list `cause`")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|m| m.starts_with(&format!("p.toml:{}:", line(8)))
                && m.contains("parent `02`, which is not declared before it")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|m| m.contains("unknown code list `nope`; declared: cause")),
        "{d:#?}"
    );
}

#[test]
fn an_archive_with_an_unknown_reader_or_a_working_day_period_is_refused() {
    let src = format!(
        "{BASE}\n[kind.c.archive]\nafter = \"3 workdays\"\nreaders = [\"ghost\"]\nclause = \"9\"\n"
    );
    let d = diagnostics(&src);
    assert!(
        d.iter()
            .any(|m| m.contains("unknown role `ghost` in `archive.readers`")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|m| m.contains("`archive.after` is 3 working days")),
        "{d:#?}"
    );

    let src = format!("{BASE}\n[kind.c.archive]\nafter = \"30 days\"\nreaders = [\"boss\"]\n");
    let d = diagnostics(&src);
    assert!(
        d.iter()
            .any(|m| m.contains("missing required key `clause`")),
        "{d:#?}"
    );

    let src = format!(
        "{BASE}\n[kind.c.archive]\nafter = \"30 days\"\nreaders = [\"boss\"]\nclause = \"第二十二条\"\n"
    );
    let outcome = policy::load("p.toml", &src);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
}
