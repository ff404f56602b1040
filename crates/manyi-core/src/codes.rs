//! Coded classification: versioned code lists (`[[codelist]]`) and fields of type `code`.
//!
//! A regulation's taxonomies — JR/T 0169-2018's three axes (channel, business type, cause),
//! service vs product quality, severity normal / serious / major / media — are declared once as
//! a list with an id, a version and a clause, and referenced by fields. Codes are hierarchical
//! through `parent` (a parent is declared before its children, so a list has no cycles), which
//! is what statistics roll up by: a count "by level 1" folds every code into its top ancestor.
//! A stored value is the bare code; the list's version travels with the case's policy version.

use serde::Serialize;

/// A versioned list of codes.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeList {
    pub id: String,
    pub label: String,
    /// The list's own version (e.g. the standard's year), named in every error.
    pub version: String,
    pub clause: Option<String>,
    /// In declaration order; parents before their children.
    pub codes: Vec<Code>,
}

/// One code of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Code {
    pub code: String,
    pub label: String,
    pub parent: Option<String>,
    /// 1 for a top-level code, 2 for its children …
    pub level: u8,
}

impl CodeList {
    pub fn get(&self, code: &str) -> Option<&Code> {
        self.codes.iter().find(|c| c.code == code)
    }

    /// The ancestor of `code` at `level` (the code itself when it is at that level or above).
    pub fn at_level(&self, code: &str, level: u8) -> Option<&Code> {
        let mut c = self.get(code)?;
        while c.level > level {
            c = self.get(c.parent.as_deref()?)?;
        }
        Some(c)
    }

    /// The deepest level of the list.
    pub fn depth(&self) -> u8 {
        self.codes.iter().map(|c| c.level).max().unwrap_or(0)
    }
}

/// Why a value is not a code of its list: the stable error code and both messages, naming the
/// field, the value, the list and its version.
pub fn check(
    list: &CodeList,
    field_id: &str,
    field_label: &str,
    value: &str,
) -> Result<(), (String, String)> {
    if list.get(value).is_some() {
        return Ok(());
    }
    Err((
        format!(
            "{field_id}: `{value}` is not a code of list {} version {}",
            list.id, list.version
        ),
        format!(
            "{field_label}：“{value}”不是代码表 {}（版本 {}）中的代码",
            list.id, list.version
        ),
    ))
}

/// One row of a statistics table by code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    pub code: String,
    pub label: String,
    pub count: u64,
}

/// Counts `values` by their ancestor at `level`, in the list's order (codes with no case are
/// listed with 0, so a period's table always has the same rows). Values that are not codes of
/// the list (recorded under another version) are counted in the second result.
pub fn count_by_level<'a>(
    list: &CodeList,
    level: u8,
    values: impl IntoIterator<Item = &'a str>,
) -> (Vec<CodeCount>, u64) {
    let mut rows: Vec<CodeCount> = list
        .codes
        .iter()
        .filter(|c| c.level == level)
        .map(|c| CodeCount {
            code: c.code.clone(),
            label: c.label.clone(),
            count: 0,
        })
        .collect();
    let mut unknown = 0;
    for v in values {
        match list
            .at_level(v, level)
            .and_then(|a| rows.iter_mut().find(|r| r.code == a.code))
        {
            Some(row) => row.count += 1,
            // A code above the level asked for (a case coded only "01" counted by level 2).
            None => unknown += 1,
        }
    }
    (rows, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> CodeList {
        let code = |c: &str, p: Option<&str>, level| Code {
            code: c.into(),
            label: format!("label {c}"),
            parent: p.map(Into::into),
            level,
        };
        CodeList {
            id: "cause".into(),
            label: "投诉原因".into(),
            version: "2018".into(),
            clause: None,
            codes: vec![
                code("01", None, 1),
                code("0101", Some("01"), 2),
                code("010101", Some("0101"), 3),
                code("02", None, 1),
            ],
        }
    }

    #[test]
    fn a_code_rolls_up_to_its_ancestor_at_a_level() {
        let l = list();
        assert_eq!(l.at_level("010101", 1).map(|c| c.code.as_str()), Some("01"));
        assert_eq!(
            l.at_level("010101", 2).map(|c| c.code.as_str()),
            Some("0101")
        );
        assert_eq!(l.at_level("02", 2).map(|c| c.code.as_str()), Some("02"));
        assert_eq!(l.depth(), 3);
    }

    #[test]
    fn an_unknown_code_names_field_value_list_and_version() {
        let (en, zh) = check(&list(), "cause", "投诉原因", "99").expect_err("unknown");
        assert_eq!(en, "cause: `99` is not a code of list cause version 2018");
        assert!(zh.contains("99") && zh.contains("2018"), "{zh}");
        assert!(check(&list(), "cause", "投诉原因", "0101").is_ok());
    }

    #[test]
    fn counts_by_level_keep_every_row_and_set_aside_what_does_not_fit() {
        let (rows, unknown) = count_by_level(&list(), 1, ["010101", "0101", "02", "x"]);
        let got: Vec<(&str, u64)> = rows.iter().map(|r| (r.code.as_str(), r.count)).collect();
        assert_eq!(got, [("01", 2), ("02", 1)]);
        assert_eq!(unknown, 1);
    }
}
