//! The organisation tree's materialised paths, and the backend-neutral logic around them.
//!
//! A unit's path is the list of ids from the root down to itself, `/1/5/12/`. A subtree is
//! then every path that starts with the subtree root's path. Backends query it as a half-open
//! byte range `[prefix, upper)` instead of `LIKE prefix || '%'`: a range uses a plain B-tree
//! index on both SQLite and PostgreSQL (given a byte-order collation), where `LIKE` needs
//! collation-specific tricks to use one.

use std::collections::HashMap;

use crate::{NewUnit, StoreError};

/// The path of a unit with id `id` under a parent with path `parent_path` (`None` for a root).
pub(crate) fn child_path(parent_path: Option<&str>, id: i64) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

/// The half-open range of path strings inside the subtree rooted at `prefix`.
///
/// `prefix` must look like a path (`/…/`): without the trailing slash `/1/5` would also take
/// in `/1/50/`. The upper bound replaces that trailing `/` by the next byte, `0`, so the range
/// holds exactly the strings that start with `prefix`.
pub(crate) fn subtree_range(prefix: &str) -> Result<(String, String), StoreError> {
    let well_formed = prefix.len() >= 2
        && prefix.starts_with('/')
        && prefix.ends_with('/')
        && prefix.bytes().all(|b| b == b'/' || b.is_ascii_digit());
    if !well_formed {
        return Err(StoreError::Invalid {
            what: "unit path",
            reason: format!("`{prefix}` is not a unit path such as `/1/5/`"),
        });
    }
    let stem = &prefix[..prefix.len() - 1];
    Ok((prefix.to_owned(), format!("{stem}0")))
}

/// Orders a batch of units so that each comes after its parent whenever the parent is in the
/// same batch; otherwise the input order is kept. Org exports are rarely sorted, and an import
/// should not depend on row order.
///
/// Refuses a batch that names the same code twice or whose parent links form a cycle.
pub(crate) fn parents_first(units: Vec<NewUnit>) -> Result<Vec<NewUnit>, StoreError> {
    let mut index = HashMap::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        if index.insert(u.code.as_str(), i).is_some() {
            return Err(StoreError::Invalid {
                what: "unit import",
                reason: format!("unit code `{}` appears more than once", u.code),
            });
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnChain,
        Placed,
    }
    let mut marks = vec![Mark::New; units.len()];
    let mut order = Vec::with_capacity(units.len());
    let mut chain = Vec::new();
    for start in 0..units.len() {
        // Walk up from `start` through parents that are in the batch and not yet placed; then
        // place that chain root-first. Meeting a unit already on the chain means a cycle.
        // Iterative, so that a deep (or hostile) tree cannot overflow the stack.
        chain.clear();
        let mut cursor = Some(start);
        while let Some(i) = cursor {
            match marks[i] {
                Mark::Placed => break,
                Mark::OnChain => {
                    return Err(StoreError::Invalid {
                        what: "unit import",
                        reason: format!("unit `{}` is its own ancestor", units[i].code),
                    });
                }
                Mark::New => {
                    marks[i] = Mark::OnChain;
                    chain.push(i);
                    cursor = units[i]
                        .parent_code
                        .as_deref()
                        .and_then(|p| index.get(p).copied());
                }
            }
        }
        for &i in chain.iter().rev() {
            marks[i] = Mark::Placed;
            order.push(i);
        }
    }

    let mut slots: Vec<Option<NewUnit>> = units.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, parent: Option<&str>) -> NewUnit {
        NewUnit {
            code: code.into(),
            name: code.into(),
            level: "L".into(),
            parent_code: parent.map(Into::into),
        }
    }

    fn codes(units: &[NewUnit]) -> Vec<&str> {
        units.iter().map(|u| u.code.as_str()).collect()
    }

    #[test]
    fn a_child_path_extends_its_parents_path() {
        assert_eq!(child_path(None, 1), "/1/");
        assert_eq!(child_path(Some("/1/5/"), 12), "/1/5/12/");
    }

    #[test]
    fn a_subtree_range_holds_exactly_the_paths_under_the_prefix() {
        let (lo, hi) = subtree_range("/1/5/").expect("well formed");
        let inside = |p: &str| lo.as_str() <= p && p < hi.as_str();
        assert!(inside("/1/5/"));
        assert!(inside("/1/5/12/"));
        assert!(inside("/1/5/99999/3/"));
        assert!(!inside("/1/50/"));
        assert!(!inside("/1/"));
        assert!(!inside("/1/6/"));
        assert!(!inside("/1/4/"));
    }

    #[test]
    fn a_malformed_subtree_prefix_is_refused() {
        for p in ["", "/", "/1/5", "1/5/", "/1/%/", "/a/"] {
            assert!(subtree_range(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn parents_are_ordered_before_their_children() {
        let batch = vec![
            unit("outlet", Some("branch")),
            unit("branch", Some("hq")),
            unit("other", Some("existing-in-db")),
            unit("hq", None),
        ];
        let ordered = parents_first(batch).expect("acyclic");
        assert_eq!(codes(&ordered), ["hq", "branch", "outlet", "other"]);
    }

    #[test]
    fn a_cycle_or_a_repeated_code_in_a_batch_is_refused() {
        let cycle = vec![unit("a", Some("b")), unit("b", Some("a"))];
        assert!(parents_first(cycle).is_err());
        assert!(parents_first(vec![unit("a", Some("a"))]).is_err());
        assert!(parents_first(vec![unit("a", None), unit("a", None)]).is_err());
    }
}
