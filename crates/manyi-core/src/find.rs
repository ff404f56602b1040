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
//!
//! The same table holds one **exact** key per case of a kind with a `repeat_complaint` rule
//! (jinbi-property 第七条附则): [`repeat_key`], the policy, the kind and the normalised values of
//! the rule's key fields. Two complaints are "the same matter" when their repeat keys are
//! equal, so the shell finds the case a new one repeats with one index lookup
//! (`Store::repeat_first`) instead of scanning open cases.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::policy::{CaseKind, FieldType};

/// The key kind of a phone (reversed digits).
pub const PHONE: &str = "phone";
/// The key kind of a name (a suffix of its characters).
pub const NAME: &str = "name";
/// The key kind of a repeat-complaint key (matched exactly, see [`repeat_key`]).
pub const REPEAT: &str = "repeat";
/// The key kind of the marker a new case of a kind with a repeat rule carries until the shell
/// has looked for the case it repeats (written with the case, removed after the look): what
/// the catch-up after a crash walks. Its key is empty.
pub const REPEAT_PENDING: &str = "repeat_pending";
/// A repeat key longer than this many bytes keeps its first part and a hash of the whole (an
/// index entry has a size limit: about 2,700 bytes on PostgreSQL).
pub const MAX_REPEAT_KEY_BYTES: usize = 512;
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

/// Separates the parts of a repeat key; normalised values never contain it (control
/// characters are dropped).
const SEP: char = '\u{1f}';

/// One value normalised for comparison: text trimmed, lower-cased, full-width forms folded to
/// ASCII (`３栋１０１` = `3栋101`), runs of white space made one space, control characters
/// dropped; a phone kept as its digits; a multiple choice as its sorted codes; numbers and
/// other values as their JSON.
fn normalised(field_type: Option<&FieldType>, value: &Value) -> String {
    match value {
        Value::String(s) if field_type == Some(&FieldType::Phone) => {
            s.chars().filter(char::is_ascii_digit).collect()
        }
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            let mut space = false;
            for c in s.chars() {
                let c = match c {
                    '\u{3000}' => ' ',
                    '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                    c => c,
                };
                if c.is_whitespace() {
                    space = !out.is_empty();
                } else if !c.is_control() {
                    if space {
                        out.push(' ');
                        space = false;
                    }
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        Value::Array(items) => {
            let mut parts: Vec<String> = items.iter().map(|v| normalised(None, v)).collect();
            parts.sort();
            parts.join(",")
        }
        other => other.to_string(),
    }
}

/// FNV-1a, 64 bits: enough to tell apart keys that share their first
/// [`MAX_REPEAT_KEY_BYTES`] bytes (not a defence against a forger: a customer gains nothing
/// from a collision but a violation recorded against someone else's case).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The repeat-complaint key of a case of `kind` under the policy `policy_id` with these field
/// values (`[kind.<id>.repeat_complaint] key`), or `None` when the kind has no such rule or
/// a key field is empty (an incomplete key repeats nothing). Equal keys mean the same policy,
/// the same kind and equal normalised key values. Personal data: never logged.
pub fn repeat_key(
    policy_id: &str,
    kind: &CaseKind,
    fields: &BTreeMap<String, Value>,
) -> Option<String> {
    let rule = kind.checks.repeat.as_ref()?;
    let mut key = format!("{policy_id}{SEP}{}", kind.id);
    for id in &rule.key {
        let value = fields.get(id)?;
        let field_type = kind.field(id).map(|f| &f.field_type);
        let part = normalised(field_type, value);
        if part.is_empty() || value.is_null() {
            return None;
        }
        key.push(SEP);
        key.push_str(&part);
    }
    if key.len() > MAX_REPEAT_KEY_BYTES {
        let mut cut = MAX_REPEAT_KEY_BYTES - 20;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        let hash = fnv1a(&key);
        key.truncate(cut);
        key.push_str(&format!("{SEP}#{hash:016x}"));
    }
    Some(key)
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

    fn jinbi() -> CaseKind {
        let source = include_str!("../../../policies/jinbi-property.toml");
        let policy = crate::policy::load("jinbi-property.toml", source)
            .policy
            .expect("the shipped policy loads");
        policy
            .kinds
            .into_iter()
            .find(|k| k.id == "complaint")
            .expect("a complaint kind")
    }

    #[test]
    fn jinbi_7_repeat_keys_are_equal_for_the_same_matter_written_differently() {
        let kind = jinbi();
        let a = repeat_key(
            "jinbi-property",
            &kind,
            &fields(&[("contact_phone", "13800138000"), ("location", "3栋 101")]),
        )
        .expect("both key fields filled");
        let b = repeat_key(
            "jinbi-property",
            &kind,
            &fields(&[
                ("contact_phone", "138-0013-8000"),
                ("location", "\u{3000}３栋\t　１０１ "),
                ("matter", "another text: not a key field"),
            ]),
        );
        assert_eq!(b.as_ref(), Some(&a));
        let other_place = repeat_key(
            "jinbi-property",
            &kind,
            &fields(&[("contact_phone", "13800138000"), ("location", "3栋102")]),
        );
        assert_ne!(other_place.as_ref(), Some(&a));
        // Another policy with the same kind id is another matter.
        let other_policy = repeat_key(
            "jinbi-property-2",
            &kind,
            &fields(&[("contact_phone", "13800138000"), ("location", "3栋 101")]),
        );
        assert_ne!(other_policy.as_ref(), Some(&a));
    }

    #[test]
    fn jinbi_7_an_incomplete_key_repeats_nothing_and_a_kind_without_the_rule_has_none() {
        let kind = jinbi();
        for f in [
            fields(&[("contact_phone", "13800138000")]),
            fields(&[("contact_phone", "13800138000"), ("location", "  ")]),
        ] {
            assert_eq!(repeat_key("jinbi-property", &kind, &f), None);
        }
        let no_rule = self::kind();
        assert!(no_rule.checks.repeat.is_none());
        let f = fields(&[("contact_phone", "13800138000"), ("complainant_name", "王")]);
        assert_eq!(repeat_key("default-complaint", &no_rule, &f), None);
    }

    #[test]
    fn a_long_repeat_key_is_bounded_and_still_tells_values_apart() {
        let kind = jinbi();
        let long_a = format!("{}甲", "很".repeat(400));
        let long_b = format!("{}乙", "很".repeat(400));
        let a = repeat_key(
            "jinbi-property",
            &kind,
            &fields(&[("contact_phone", "13800138000"), ("location", &long_a)]),
        )
        .expect("a key");
        let b = repeat_key(
            "jinbi-property",
            &kind,
            &fields(&[("contact_phone", "13800138000"), ("location", &long_b)]),
        )
        .expect("a key");
        assert!(a.len() <= MAX_REPEAT_KEY_BYTES, "{}", a.len());
        assert_ne!(a, b, "the same first part, a different whole");
    }
}
