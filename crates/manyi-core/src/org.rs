//! The organisation tree, the people acting in it, and jurisdiction.
//!
//! Units form a tree (总行 → 一级分行 → 二级分行 → 营业网点). A user belongs to one unit and
//! holds roles. **Jurisdiction:** a user sees and acts on the cases owned by any unit in their
//! own unit's subtree, and on the cases they registered as first-contact owner (首问负责人),
//! wherever those cases went later.
//!
//! This module also validates an organisation import (CSV or JSON rows) as a whole, so that the
//! shell can refuse it with row-level errors before writing anything.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

pub type UnitId = i64;
pub type UserId = i64;

/// A unit as the engine needs it: identity, level and its ancestors (root first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRef {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub level: String,
    /// Ancestors from the root down to the parent; empty for the root.
    pub ancestors: Vec<UnitId>,
}

impl UnitRef {
    /// Builds a unit from a materialised path such as `/1/5/12/` (the last id is the unit).
    pub fn from_path(id: UnitId, code: &str, name: &str, level: &str, path: &str) -> UnitRef {
        let ancestors = path
            .split('/')
            .filter_map(|p| p.parse::<UnitId>().ok())
            .filter(|&p| p != id)
            .collect();
        UnitRef {
            id,
            code: code.to_owned(),
            name: name.to_owned(),
            level: level.to_owned(),
            ancestors,
        }
    }

    pub fn parent(&self) -> Option<UnitId> {
        self.ancestors.last().copied()
    }

    /// Whether this unit is `ancestor` or lies below it.
    pub fn is_within(&self, ancestor: UnitId) -> bool {
        self.id == ancestor || self.ancestors.contains(&ancestor)
    }

    /// The materialised path of this unit (`/1/5/12/`).
    pub fn path(&self) -> String {
        let mut path = String::from("/");
        for id in self.ancestors.iter().chain(std::iter::once(&self.id)) {
            path.push_str(&id.to_string());
            path.push('/');
        }
        path
    }
}

/// The user performing an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub unit: UnitRef,
    pub roles: Vec<String>,
}

impl Actor {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether any of `roles` is held (`*` admits every actor).
    pub fn has_any_role(&self, roles: &[String]) -> bool {
        roles.iter().any(|r| r == "*" || self.has_role(r))
    }

    /// Jurisdiction: cases owned in the actor's subtree, or first-contact cases of the actor.
    pub fn has_jurisdiction(&self, owner_unit: &UnitRef, first_contact: UserId) -> bool {
        first_contact == self.id || owner_unit.is_within(self.unit.id)
    }
}

/// A unit row of an organisation import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub level: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub parent: Option<String>,
}

/// A user row of an organisation import. `roles` is a list; in CSV, separated by `;` or `|`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRow {
    pub login: String,
    pub name: String,
    pub unit: String,
    pub roles: Vec<String>,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.filter(|s| !s.trim().is_empty()))
}

/// A problem with one row of an import: which list, which row (1-based), which column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub list: &'static str,
    pub row: usize,
    pub column: &'static str,
    pub value: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} row {}, column `{}` = {:?}: {}",
            self.list, self.row, self.column, self.value, self.message
        )
    }
}

/// Validates an import against itself and the units that already exist: unique codes and
/// logins, known parents and levels, no cycles, users in known units, known roles. `levels` and
/// `roles` are the ids the active policies declare (empty = do not check).
pub fn validate_import(
    units: &[UnitRow],
    users: &[UserRow],
    existing_units: &[String],
    levels: &[String],
    roles: &[String],
) -> Vec<RowError> {
    let mut errors = Vec::new();
    let mut err = |list, row: usize, column, value: &str, message: String| {
        errors.push(RowError {
            list,
            row: row + 1,
            column,
            value: value.to_owned(),
            message,
        })
    };
    let mut codes: HashMap<&str, usize> = HashMap::new();
    for (i, u) in units.iter().enumerate() {
        if u.code.trim().is_empty() {
            err("units", i, "code", &u.code, "a unit needs a code".into());
        } else if let Some(first) = codes.insert(u.code.as_str(), i) {
            err(
                "units",
                i,
                "code",
                &u.code,
                format!("duplicate unit code (first on row {})", first + 1),
            );
        }
        if u.name.trim().is_empty() {
            err("units", i, "name", &u.name, "a unit needs a name".into());
        }
        if !levels.is_empty() && !levels.contains(&u.level) {
            err(
                "units",
                i,
                "level",
                &u.level,
                format!("unknown level; the policies declare: {}", levels.join(", ")),
            );
        }
    }
    let known = |code: &str| codes.contains_key(code) || existing_units.iter().any(|c| c == code);
    for (i, u) in units.iter().enumerate() {
        if let Some(parent) = &u.parent {
            if !known(parent) {
                err("units", i, "parent", parent, "unknown parent unit".into());
            } else if parent == &u.code {
                err(
                    "units",
                    i,
                    "parent",
                    parent,
                    "a unit cannot be its own parent".into(),
                );
            }
        }
    }
    // Cycles among the imported rows: follow parents; a walk longer than the list loops.
    let parent_of: HashMap<&str, &str> = units
        .iter()
        .filter_map(|u| Some((u.code.as_str(), u.parent.as_deref()?)))
        .collect();
    for (i, u) in units.iter().enumerate() {
        let mut seen = HashSet::from([u.code.as_str()]);
        let mut cursor = u.code.as_str();
        while let Some(&p) = parent_of.get(cursor) {
            if !seen.insert(p) {
                if p == u.code {
                    err(
                        "units",
                        i,
                        "parent",
                        u.parent.as_deref().unwrap_or(""),
                        "the parents form a cycle".into(),
                    );
                }
                break;
            }
            cursor = p;
        }
    }
    let mut logins: HashMap<&str, usize> = HashMap::new();
    for (i, u) in users.iter().enumerate() {
        if u.login.trim().is_empty() || u.login.chars().any(char::is_whitespace) {
            err(
                "users",
                i,
                "login",
                &u.login,
                "a login is required and may not contain spaces".into(),
            );
        } else if let Some(first) = logins.insert(u.login.as_str(), i) {
            err(
                "users",
                i,
                "login",
                &u.login,
                format!("duplicate login (first on row {})", first + 1),
            );
        }
        if u.name.trim().is_empty() {
            err("users", i, "name", &u.name, "a user needs a name".into());
        }
        if !known(&u.unit) {
            err("users", i, "unit", &u.unit, "unknown unit".into());
        }
        for r in &u.roles {
            if !roles.is_empty() && !roles.contains(r) {
                err(
                    "users",
                    i,
                    "roles",
                    r,
                    "unknown role; no active policy declares it".into(),
                );
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, parent: Option<&str>) -> UnitRow {
        UnitRow {
            code: code.into(),
            name: code.into(),
            level: "outlet".into(),
            parent: parent.map(Into::into),
        }
    }

    #[test]
    fn paths_give_ancestors_and_jurisdiction() {
        let outlet = UnitRef::from_path(12, "O1", "网点", "outlet", "/1/5/12/");
        assert_eq!(outlet.ancestors, vec![1, 5]);
        assert_eq!(outlet.parent(), Some(5));
        assert!(outlet.is_within(1));
        assert!(outlet.is_within(12));
        assert!(!outlet.is_within(6));
        assert_eq!(outlet.path(), "/1/5/12/");
    }

    #[test]
    fn an_import_with_a_cycle_and_unknown_parent_is_refused_by_row() {
        let units = vec![
            unit("A", Some("B")),
            unit("B", Some("A")),
            unit("C", Some("Z")),
        ];
        let errors = validate_import(&units, &[], &[], &[], &[]);
        assert!(
            errors
                .iter()
                .any(|e| e.row == 1 && e.message.contains("cycle"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.row == 3 && e.column == "parent" && e.message.contains("unknown"))
        );
    }
}
