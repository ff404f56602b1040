//! Diagnostics: what `manyi policy check` prints, one per problem, each with its place in the
//! file as `file:line:column` (1-based; columns count characters, so Chinese text lines up).

use std::fmt;
use std::ops::Range;

/// A byte range in the policy source.
pub type Span = Range<usize>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn at(
        severity: Severity,
        file: &str,
        source: &str,
        offset: usize,
        message: String,
    ) -> Self {
        let (line, column) = line_column(source, offset);
        Self {
            severity,
            file: file.to_owned(),
            line,
            column,
            message,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {word}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// 1-based line and character column of a byte offset. Offsets past the end or inside a
/// multi-byte character are clamped to the nearest character boundary before it.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = "a = 1\n名称 = \"x\"\n";
        let offset = src.find('=').unwrap();
        assert_eq!(line_column(src, offset), (1, 3));
        let second = src.rfind('=').unwrap();
        assert_eq!(line_column(src, second), (2, 4));
    }

    #[test]
    fn an_offset_past_the_end_is_clamped() {
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
