//! Quick find: the search keys of a case (the customer's phone digits and name) and how a
//! typed text is looked up in them.
//!
//! The shell stores the keys in a small indexed table beside the case (`case_find`, written in
//! the case's own transaction) and matches them **by prefix** only, which any B-tree index
//! serves on both databases. The keys are shaped so that a prefix match means what a person
//! typing into the find box expects:
//!
//! - a phone is kept as its digits **reversed**: the last four (or more) digits someone reads
//!   out are a prefix of the reversed digits (`…8000` → `0008…`);
//! - a name is kept as every **suffix** of its characters (lower-cased): a text contained in the
//!   name is a prefix of one of them (`小明` ⊂ `王小明` → the suffix `小明`);
//! - a case number is kept as every suffix of at least [`MIN_NUMBER_CHARS`] characters
//!   (upper-cased, [`number_keys`]): a part of it (`361994` of `CCB2026361994`) is a prefix of
//!   one of them. The number is given in the store's insert, so the database writes these
//!   keys itself (a trigger, migration 0015, mirroring [`number_keys`]).
//!
//! Which fields hold the phone and the name comes from the policy kind, as the workspace shows
//! them: every `phone` field, and the first personal text field whose id contains `name`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::policy::{CaseKind, FieldType};

/// The key kind of a phone (reversed digits).
pub const PHONE: &str = "phone";
/// The key kind of a name (a suffix of its characters).
pub const NAME: &str = "name";
/// The key kind of a case number (a suffix of it).
pub const NUMBER: &str = "number";
/// The fewest characters of a case number a lookup takes (and the shortest suffix kept).
pub const MIN_NUMBER_CHARS: usize = 4;
/// The fewest digits a phone lookup takes: fewer would match too much to be of use.
pub const MIN_PHONE_DIGITS: usize = 4;
/// Names are indexed on their first this many characters (names are short; a pasted
/// paragraph must not make hundreds of keys).
pub const MAX_NAME_CHARS: usize = 20;

/// One search key of a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SearchKey {
    /// [`PHONE`] or [`NAME`].
    pub kind: &'static str,
    /// Matched by prefix. Personal data: never logged.
    pub key: String,
}

/// What a typed text is looked up as: a key kind and the prefix its keys must start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub kind: &'static str,
    pub prefix: String,
}

/// The first personal text field whose id contains `name`: the customer's name.
pub fn name_field(kind: &CaseKind) -> Option<&str> {
    kind.fields
        .iter()
        .filter(|f| f.personal && matches!(f.field_type, FieldType::Text { .. }))
        .find(|f| f.id.contains("name"))
        .map(|f| f.id.as_str())
}

/// The ids of the kind's phone fields.
pub fn phone_fields(kind: &CaseKind) -> impl Iterator<Item = &str> {
    kind.fields
        .iter()
        .filter(|f| f.field_type == FieldType::Phone)
        .map(|f| f.id.as_str())
}

fn reversed_digits(s: &str) -> String {
    s.chars().rev().filter(char::is_ascii_digit).collect()
}

fn name_text(s: &str) -> Vec<char> {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .take(MAX_NAME_CHARS)
        .collect()
}

/// The search keys of a case of `kind` with these field values, sorted and without
/// duplicates.
pub fn keys(kind: &CaseKind, fields: &BTreeMap<String, Value>) -> Vec<SearchKey> {
    let mut out = Vec::new();
    for id in phone_fields(kind) {
        if let Some(v) = fields.get(id).and_then(Value::as_str) {
            let digits = reversed_digits(v);
            if digits.len() >= MIN_PHONE_DIGITS {
                out.push(SearchKey {
                    kind: PHONE,
                    key: digits,
                });
            }
        }
    }
    if let Some(name) = name_field(kind)
        .and_then(|id| fields.get(id))
        .and_then(Value::as_str)
    {
        let chars = name_text(name);
        for start in 0..chars.len() {
            let suffix: String = chars[start..].iter().collect();
            if !suffix.trim().is_empty() {
                out.push(SearchKey {
                    kind: NAME,
                    key: suffix.trim_start().to_owned(),
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The number keys of a case numbered `number`: every suffix of at least
/// [`MIN_NUMBER_CHARS`] characters, upper-cased. The database writes the same keys itself
/// (migration 0015: `upper(substr(number, n))` for `n` up to `length - 3`); case numbers are
/// ASCII, where both upper-case alike.
pub fn number_keys(number: &str) -> Vec<SearchKey> {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < MIN_NUMBER_CHARS {
        return Vec::new();
    }
    let mut out: Vec<SearchKey> = (0..=chars.len() - MIN_NUMBER_CHARS)
        .map(|start| SearchKey {
            kind: NUMBER,
            key: chars[start..]
                .iter()
                .collect::<String>()
                .to_ascii_uppercase(),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `text` may be a part of a case number: ASCII letters, digits and `-`, at least one
/// digit, at least [`MIN_NUMBER_CHARS`] characters.
fn number_like(text: &str) -> bool {
    text.len() >= MIN_NUMBER_CHARS
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && text.chars().any(|c| c.is_ascii_digit())
}

/// How `text` is looked up: as the end of a phone number when it has at least
/// [`MIN_PHONE_DIGITS`] digits and nothing but digits, spaces, `+` and `-`; as a part of a
/// case number when it has letters, digits and `-` only, a digit among them (digits alone are
/// looked up as both); otherwise as text contained in a name. Empty text looks up nothing.
pub fn lookups(text: &str) -> Vec<Lookup> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let number = number_like(text).then(|| Lookup {
        kind: NUMBER,
        prefix: text.to_ascii_uppercase(),
    });
    if number.is_some() && text.chars().any(|c| c.is_ascii_alphabetic()) {
        return number.into_iter().collect();
    }
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'));
    if phone_like {
        let digits = reversed_digits(text);
        let phone = (digits.len() >= MIN_PHONE_DIGITS).then_some(Lookup {
            kind: PHONE,
            prefix: digits,
        });
        return phone.into_iter().chain(number).collect();
    }
    let name: String = name_text(text).into_iter().collect();
    vec![Lookup {
        kind: NAME,
        prefix: name,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped default complaint: `complainant_name`, `contact_phone` and free text.
    fn kind() -> CaseKind {
        let source = include_str!("../../../policies/default-complaint.toml");
        let policy = crate::policy::load("default-complaint.toml", source)
            .policy
            .expect("the shipped policy loads");
        policy
            .kinds
            .into_iter()
            .find(|k| k.id == "complaint")
            .expect("a complaint kind")
    }

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect()
    }

    fn matches(keys: &[SearchKey], text: &str) -> bool {
        lookups(text).iter().any(|l| {
            keys.iter()
                .any(|k| k.kind == l.kind && k.key.starts_with(&l.prefix))
        })
    }

    #[test]
    fn the_last_digits_of_a_phone_find_it_and_middle_digits_do_not() {
        let keys = keys(&kind(), &fields(&[("contact_phone", "13800138000")]));
        assert!(matches(&keys, "8000"));
        assert!(matches(&keys, "138 000"));
        assert!(matches(&keys, "13800138000"));
        assert!(
            !matches(&keys, "0013"),
            "a middle run is not the end of the number"
        );
        assert!(!matches(&keys, "000"), "three digits are too few");
    }

    #[test]
    fn any_part_of_the_name_finds_it() {
        let keys = keys(&kind(), &fields(&[("complainant_name", "王小明")]));
        assert!(matches(&keys, "王小明"));
        assert!(matches(&keys, "小明"));
        assert!(matches(&keys, "王"));
        assert!(!matches(&keys, "小红"));
        let keys = super::keys(&kind(), &fields(&[("complainant_name", "John Smith")]));
        assert!(matches(&keys, "smith"));
        assert!(matches(&keys, "JOHN"));
    }

    #[test]
    fn fields_that_are_not_the_customers_make_no_keys() {
        let keys = keys(&kind(), &fields(&[("matter", "王小明 13800138000")]));
        assert!(keys.is_empty(), "{keys:?}");
    }

    #[test]
    fn a_long_name_makes_a_bounded_number_of_keys() {
        let long = "很".repeat(500);
        let keys = keys(&kind(), &fields(&[("complainant_name", &long)]));
        assert_eq!(keys.len(), MAX_NAME_CHARS);
        assert!(keys.iter().all(|k| k.key.chars().count() <= MAX_NAME_CHARS));
        let varied: String = ('a'..='z').cycle().take(500).collect();
        let keys = super::keys(&kind(), &fields(&[("complainant_name", &varied)]));
        assert!(keys.len() <= MAX_NAME_CHARS, "{}", keys.len());
    }

    #[test]
    fn any_part_of_a_case_number_of_four_characters_or_more_finds_it() {
        let keys = number_keys("CCB2026361994");
        assert_eq!(keys.len(), "CCB2026361994".len() - MIN_NUMBER_CHARS + 1);
        for part in [
            "361994",
            "1994",
            "ccb2026",
            "B2026361",
            "CCB2026361994",
            "2026-",
        ] {
            let found = matches(&keys, part);
            assert_eq!(found, part != "2026-", "{part}");
        }
        assert!(!matches(&keys, "994"), "three characters are too few");
        assert!(number_keys("A12").is_empty());
        // digits alone: the end of a phone, or a part of a number
        assert_eq!(
            lookups("361994").iter().map(|l| l.kind).collect::<Vec<_>>(),
            vec![PHONE, NUMBER]
        );
        assert_eq!(
            lookups("ccb2026"),
            vec![Lookup {
                kind: NUMBER,
                prefix: "CCB2026".into()
            }]
        );
    }

    #[test]
    fn empty_and_short_texts_look_up_nothing() {
        assert!(lookups("  ").is_empty());
        assert!(lookups("12").is_empty());
        assert_eq!(
            lookups("+86 138-0013-8000"),
            vec![Lookup {
                kind: PHONE,
                prefix: "0008310083168".into()
            }]
        );
    }
}
