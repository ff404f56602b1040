//! Guard conditions in CEL (the Common Expression Language, <https://cel.dev>).
//!
//! A transition may carry `when = "..."`: a CEL expression that must be true for the
//! transition to be allowed. CEL is a standard, non-Turing-complete language with a Rust
//! implementation (the `cel` crate), so policies stay declarative and we invent no language.
//!
//! An expression sees three variables:
//! - `case`: `number`, `kind`, `state`, `channel`, `owner_unit` (`code`, `level`),
//!   `first_contact` (login), `assignee` (login or null), and `fields` (a map of field values);
//! - `actor`: `login`, `roles` (a list), `unit` (`code`, `level`), `is_first_contact` (bool);
//! - `input`: the fields submitted with the action.

use std::fmt;
use std::sync::Arc;

use cel::{Context, Program, Value};
use serde::Serialize;

/// The variables a condition may use.
pub const VARIABLES: &[&str] = &["case", "actor", "input"];

/// A compiled condition with its source text.
#[derive(Clone)]
pub struct Condition {
    source: String,
    program: Arc<Program>,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.source).finish()
    }
}

/// Why an expression did not compile: a message and a 1-based line and column inside the
/// expression text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a condition could not be evaluated to a boolean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition `{expression}` could not be evaluated: {reason}")]
pub struct EvalError {
    pub expression: String,
    pub reason: String,
}

impl Condition {
    /// Compiles `source`, and checks that it only uses the variables in [`VARIABLES`].
    pub fn compile(source: &str) -> Result<Condition, Vec<CompileError>> {
        let program = Program::compile(source).map_err(|errors| {
            errors
                .errors
                .into_iter()
                .map(|e| CompileError {
                    line: usize::try_from(e.pos.0).unwrap_or(1).max(1),
                    // The parser's columns are already 1-based.
                    column: usize::try_from(e.pos.1).unwrap_or(1).max(1),
                    message: e.msg,
                })
                .collect::<Vec<_>>()
        })?;
        let unknown: Vec<CompileError> = program
            .references()
            .variables()
            .into_iter()
            .filter(|v| !VARIABLES.contains(v))
            .map(|v| CompileError {
                line: 1,
                column: source
                    .find(v)
                    .map_or(1, |i| source[..i].chars().count() + 1),
                message: format!(
                    "unknown variable `{v}`; a condition may use: {}",
                    VARIABLES.join(", ")
                ),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        Ok(Condition {
            source: source.to_owned(),
            program: Arc::new(program),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the condition. Anything but a boolean result is an error, never a silent
    /// "allowed".
    pub fn evaluate(
        &self,
        case: &impl Serialize,
        actor: &impl Serialize,
        input: &impl Serialize,
    ) -> Result<bool, EvalError> {
        let fail = |reason: String| EvalError {
            expression: self.source.clone(),
            reason,
        };
        let mut context = Context::default();
        for (name, value) in [
            ("case", cel::to_value(case)),
            ("actor", cel::to_value(actor)),
            ("input", cel::to_value(input)),
        ] {
            let value = value.map_err(|e| fail(e.to_string()))?;
            context.add_variable_from_value(name, value);
        }
        match self.program.execute(&context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(fail(format!(
                "it gave {:?}, not true or false",
                other.type_of()
            ))),
            Err(e) => Err(fail(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_condition_sees_case_actor_and_input() {
        let c = Condition::compile("case.fields.amount < 1000 && 'teller' in actor.roles").unwrap();
        let case = json!({"fields": {"amount": 500}});
        let actor = json!({"roles": ["teller"]});
        assert!(c.evaluate(&case, &actor, &json!({})).unwrap());
        let big = json!({"fields": {"amount": 5000}});
        assert!(!c.evaluate(&big, &actor, &json!({})).unwrap());
    }

    #[test]
    fn a_syntax_error_has_a_position() {
        let errors = Condition::compile("case.state == ").unwrap_err();
        assert!(!errors.is_empty());
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn an_unknown_variable_is_refused_at_compile_time() {
        let errors = Condition::compile("customer.vip").unwrap_err();
        assert!(errors[0].message.contains("unknown variable `customer`"));
    }

    #[test]
    fn a_non_boolean_result_is_an_error() {
        let c = Condition::compile("case.state").unwrap();
        assert!(
            c.evaluate(&json!({"state": "x"}), &json!({}), &json!({}))
                .is_err()
        );
    }
}
