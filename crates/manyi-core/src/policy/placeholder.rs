//! Placeholders: values a regulation names but does not give (CLAUSES.md A31, e.g. the
//! pcb-complaint's truncated 处理期限 and 核决权限), which the organisation must fill in before
//! the policy may be activated.
//!
//! A placeholder is written inside any TOML string, so the file stays valid TOML:
//!
//! ```toml
//! limit = "<<待填: 处理期限 | 2 workdays>>"
//! when = "case.fields.claim_amount <= <<待填: 核决权限（分） | 1000000>>"
//! ```
//!
//! The text before `|` names the value; the text after it is a *provisional* value the checker
//! uses in its place, so the rest of the policy can be checked (where a duration, a percentage
//! or a number is expected, give one). Without `|` the placeholder stays as literal text.
//! `<<TODO: …>>` is accepted as well. `manyi policy check` reports each placeholder as a warning
//! at its `file:line:column`; activation is refused while any is left ([`find`]).
//!
//! Placeholders in comments are ignored.

use super::diag::{Diagnostic, Severity, line_column};

const OPENERS: [&str; 2] = ["<<待填", "<<TODO"];

/// One unfilled value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placeholder {
    /// What the organisation must fill in, e.g. `处理期限`.
    pub name: String,
    /// The provisional value used for checking, if one is given after `|`.
    pub provisional: Option<String>,
    pub line: usize,
    pub column: usize,
    /// Byte range of the `<<…>>` token in the source.
    #[serde(skip)]
    pub span: std::ops::Range<usize>,
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.name)
    }
}

/// Every placeholder in `source`, in file order (comments excluded).
pub fn find(source: &str) -> Vec<Placeholder> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in source.split_inclusive('\n') {
        let code_end = line_start + code_len(line);
        let mut at = line_start;
        while at < code_end {
            let rest = &source[at..code_end];
            let Some((rel, opener)) = OPENERS
                .iter()
                .filter_map(|o| rest.find(o).map(|i| (i, *o)))
                .min_by_key(|(i, _)| *i)
            else {
                break;
            };
            let start = at + rel;
            let body_start = start + opener.len();
            let Some(close_rel) = source[body_start..code_end].find(">>") else {
                break;
            };
            let end = body_start + close_rel + 2;
            let body = source[body_start..body_start + close_rel]
                .trim_start_matches([':', '：'])
                .trim();
            let (name, provisional) = match body.split_once('|') {
                Some((n, p)) => (n.trim(), Some(p.trim().to_owned())),
                None => (body, None),
            };
            let (line_no, column) = line_column(source, start);
            found.push(Placeholder {
                name: name.to_owned(),
                provisional: provisional.filter(|p| !p.is_empty()),
                line: line_no,
                column,
                span: start..end,
            });
            at = end;
        }
        line_start += line.len();
    }
    found
}

/// The source with each placeholder replaced by its provisional value, plus one warning per
/// placeholder. Lines and character columns are kept (the value is padded with spaces, after
/// the string's closing quote when the placeholder ends the string), so every later
/// diagnostic points at the same place in the file as written.
pub(super) fn fill(file: &str, source: &str) -> (String, Vec<Diagnostic>) {
    let found = find(source);
    let mut text = String::with_capacity(source.len());
    let mut warnings = Vec::with_capacity(found.len());
    let mut copied = 0;
    for p in &found {
        text.push_str(&source[copied..p.span.start]);
        copied = p.span.start;
        let how = match &p.provisional {
            Some(v) => format!("checked with the provisional value `{v}`"),
            None => "no provisional value".to_owned(),
        };
        warnings.push(Diagnostic::at(
            Severity::Warning,
            file,
            source,
            p.span.start,
            format!(
                "placeholder `{}` must be filled in before the policy can be activated \
                 (CLAUSES.md A31; {how})",
                p.name
            ),
        ));
        let Some(value) = &p.provisional else {
            continue;
        };
        let pad = source[p.span.clone()]
            .chars()
            .count()
            .saturating_sub(value.chars().count());
        text.push_str(value);
        copied = p.span.end;
        if source[p.span.end..].starts_with('"') {
            text.push('"');
            copied += 1;
        }
        text.extend(std::iter::repeat_n(' ', pad));
    }
    text.push_str(&source[copied..]);
    (text, warnings)
}

/// Length in bytes of the part of a line before a `#` comment (outside basic and literal
/// strings).
fn code_len(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return i,
            None => {}
        }
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_in_strings_but_not_in_comments() {
        let src = "# \"<<待填: 注释>>\"\nlimit = \"<<待填: 处理期限 | 2 workdays>>\" # x\n\
                   when = \"a <= <<TODO: 上限>> && b\"\n";
        let found = find(src);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].name, "处理期限");
        assert_eq!(found[0].provisional.as_deref(), Some("2 workdays"));
        assert_eq!((found[0].line, found[0].column), (2, 10));
        assert_eq!(found[1].name, "上限");
        assert_eq!(found[1].provisional, None);
    }

    #[test]
    fn filling_keeps_lines_and_columns() {
        let src = "limit = \"<<待填: 处理期限 | 2 workdays>>\", x = 1\n";
        let (text, warnings) = fill("f.toml", src);
        assert!(text.starts_with("limit = \"2 workdays\" "), "{text}");
        let col = |s: &str| s[..s.find("x =").unwrap()].chars().count();
        assert_eq!(col(&text), col(src));
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].to_string(),
            "f.toml:1:10: warning: placeholder `处理期限` must be filled in before the policy can \
             be activated (CLAUSES.md A31; checked with the provisional value `2 workdays`)"
        );
    }
}
