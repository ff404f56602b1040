//! A line diff of two texts (two versions of a policy's source), for the administration
//! pages: the longest common subsequence of lines, after the common head and tail are set
//! aside, then unchanged runs folded down to a few lines of context around each change.

use serde::Serialize;

/// Unchanged lines shown before and after each change.
pub const CONTEXT: usize = 3;

/// Above this many cells (lines of one side × lines of the other, once the common head and
/// tail are set aside) the table of the LCS would be too big: the middle is then shown as
/// removed whole and added whole.
const MAX_CELLS: usize = 4_000_000;

/// One row of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// `same`, `del` (only in the old text), `add` (only in the new one), or `skip` (that
    /// many unchanged lines folded away).
    pub kind: &'static str,
    /// 1-based line number in the old text.
    pub old: Option<usize>,
    /// 1-based line number in the new text.
    pub new: Option<usize>,
    pub text: String,
    /// For `skip`: how many lines.
    pub skipped: usize,
}

fn row(kind: &'static str, old: Option<usize>, new: Option<usize>, text: &str) -> Row {
    Row {
        kind,
        old,
        new,
        text: text.to_owned(),
        skipped: 0,
    }
}

/// Every line of `old` and `new`, as unchanged, removed or added, in order.
pub fn diff(old: &str, new: &str) -> Vec<Row> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for (i, line) in a[..head].iter().enumerate() {
        out.push(row("same", Some(i + 1), Some(i + 1), line));
    }
    let (n, m) = (am.len(), bm.len());
    if n.saturating_mul(m) > MAX_CELLS {
        for (i, line) in am.iter().enumerate() {
            out.push(row("del", Some(head + i + 1), None, line));
        }
        for (j, line) in bm.iter().enumerate() {
            out.push(row("add", None, Some(head + j + 1), line));
        }
    } else {
        // lcs[i][j]: the length of the LCS of am[i..] and bm[j..].
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push(row("same", Some(head + i + 1), Some(head + j + 1), am[i]));
                i += 1;
                j += 1;
            } else if j == m || (i < n && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                out.push(row("del", Some(head + i + 1), None, am[i]));
                i += 1;
            } else {
                out.push(row("add", None, Some(head + j + 1), bm[j]));
                j += 1;
            }
        }
    }
    for k in 0..tail {
        let (i, j) = (a.len() - tail + k, b.len() - tail + k);
        out.push(row("same", Some(i + 1), Some(j + 1), a[i]));
    }
    out
}

/// The rows near a change (within [`CONTEXT`] lines); longer unchanged runs become one
/// `skip` row.
pub fn fold(rows: Vec<Row>) -> Vec<Row> {
    let changed: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind != "same")
        .map(|(i, _)| i)
        .collect();
    let near = |i: usize| {
        // The first change at or after i - CONTEXT.
        let k = changed.partition_point(|&c| c + CONTEXT < i);
        changed.get(k).is_some_and(|&c| c <= i + CONTEXT)
    };
    let mut out: Vec<Row> = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        if r.kind != "same" || near(i) {
            out.push(r);
        } else if let Some(last) = out.last_mut().filter(|l| l.kind == "skip") {
            last.skipped += 1;
        } else {
            out.push(Row {
                kind: "skip",
                old: None,
                new: None,
                text: String::new(),
                skipped: 1,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(rows: &[Row]) -> String {
        rows.iter()
            .map(|r| match r.kind {
                "same" => '=',
                "del" => '-',
                "add" => '+',
                _ => '~',
            })
            .collect()
    }

    #[test]
    fn equal_texts_have_no_change() {
        let rows = diff("a\nb\nc", "a\nb\nc");
        assert_eq!(kinds(&rows), "===");
        assert_eq!(kinds(&fold(rows)), "~");
    }

    #[test]
    fn a_changed_line_is_removed_then_added_with_both_numbers() {
        let rows = diff("a\nb\nc\nd", "a\nB\nc\nd\ne");
        assert_eq!(kinds(&rows), "=-+==+");
        assert_eq!(rows[1].old, Some(2));
        assert_eq!(rows[2].new, Some(2));
        assert_eq!(rows[5].new, Some(5));
        assert_eq!(rows[5].text, "e");
    }

    #[test]
    fn the_longest_common_subsequence_is_kept() {
        // x y z a b c → a b c x y z: keeping `a b c` (3) beats keeping `x y z` only if equal;
        // either way three lines stay, three go and three come.
        let rows = diff("x\ny\nz\na\nb\nc", "a\nb\nc\nx\ny\nz");
        assert_eq!(rows.iter().filter(|r| r.kind == "same").count(), 3);
        assert_eq!(rows.iter().filter(|r| r.kind == "del").count(), 3);
        assert_eq!(rows.iter().filter(|r| r.kind == "add").count(), 3);
    }

    #[test]
    fn long_unchanged_runs_are_folded() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l10\n", "ten\n");
        let rows = fold(diff(&old, &new));
        assert_eq!(kinds(&rows), "~===-+===~");
        assert_eq!(rows[0].skipped, 6);
        assert_eq!(rows[9].skipped, 7);
    }

    #[test]
    fn from_nothing_everything_is_added() {
        assert_eq!(kinds(&diff("", "a\nb")), "++");
        assert_eq!(kinds(&diff("a\nb", "")), "--");
    }
}
