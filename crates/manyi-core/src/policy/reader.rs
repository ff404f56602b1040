//! A forgiving reader over the spanned TOML tree.
//!
//! serde stops at the first problem; a policy author wants to see all of them at once. This
//! reader walks the tree by hand: every wrong type, missing key and unknown key becomes a
//! diagnostic with its position, and reading carries on with what is usable.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Severity, Span};

/// A value with the byte range it was written at.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct At<T> {
    pub value: T,
    pub span: Span,
}

/// Collects diagnostics for one file.
pub(super) struct Ctx<'s> {
    pub file: &'s str,
    pub source: &'s str,
    pub diagnostics: Vec<Diagnostic>,
    /// The `[[codelist]]`s read so far, for fields of type `code`.
    pub codelists: Vec<crate::codes::CodeList>,
}

impl<'s> Ctx<'s> {
    pub fn new(file: &'s str, source: &'s str) -> Self {
        Self {
            file,
            source,
            diagnostics: Vec::new(),
            codelists: Vec::new(),
        }
    }

    pub fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Error, span.start, message.into());
    }

    pub fn error_at(&mut self, offset: usize, message: impl Into<String>) {
        self.push(Severity::Error, offset, message.into());
    }

    pub fn warn(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Warning, span.start, message.into());
    }

    fn push(&mut self, severity: Severity, offset: usize, message: String) {
        self.diagnostics.push(Diagnostic::at(
            severity,
            self.file,
            self.source,
            offset,
            message,
        ));
    }
}

/// A TOML table being read; remembers its path for messages.
pub(super) struct Table<'a, 'i> {
    table: &'a DeTable<'i>,
    pub span: Span,
    pub path: String,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn root(doc: &'a Spanned<DeTable<'i>>) -> Self {
        Self {
            table: doc.get_ref(),
            span: doc.span(),
            path: String::new(),
        }
    }

    /// Reads `value` as a table, or reports that it is not one.
    pub fn from_value(
        cx: &mut Ctx<'_>,
        value: &'a Spanned<DeValue<'i>>,
        path: String,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Table(table) => Some(Self {
                table,
                span: value.span(),
                path,
            }),
            other => {
                cx.error(
                    &value.span(),
                    format!("`{path}` must be a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Iterates the table's entries: (key, key span, value).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Span, &'a Spanned<DeValue<'i>>)> {
        self.table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
    }

    pub fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    fn missing(&self, cx: &mut Ctx<'_>, key: &str) {
        let place = if self.path.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{}`", self.path)
        };
        cx.error(
            &self.span,
            format!("missing required key `{key}` in {place}"),
        );
    }

    pub fn str(&self, cx: &mut Ctx<'_>, key: &str) -> Option<At<String>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(At {
                value: s.to_string(),
                span: value.span(),
            }),
            other => {
                cx.error(
                    &value.span(),
                    format!(
                        "`{}` must be a string, found {}",
                        self.key_path(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    pub fn req_str(&self, cx: &mut Ctx<'_>, key: &str) -> Option<At<String>> {
        if self.get(key).is_none() {
            self.missing(cx, key);
            return None;
        }
        self.str(cx, key)
    }

    pub fn bool(&self, cx: &mut Ctx<'_>, key: &str) -> Option<bool> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                cx.error(
                    &value.span(),
                    format!(
                        "`{}` must be true or false, found {}",
                        self.key_path(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    pub fn int(&self, cx: &mut Ctx<'_>, key: &str) -> Option<At<i64>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(At {
                    value: n,
                    span: value.span(),
                }),
                Err(_) => {
                    cx.error(
                        &value.span(),
                        format!("`{}` is out of range", self.key_path(key)),
                    );
                    None
                }
            },
            other => {
                cx.error(
                    &value.span(),
                    format!(
                        "`{}` must be an integer, found {}",
                        self.key_path(key),
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    pub fn str_list(&self, cx: &mut Ctx<'_>, key: &str) -> Option<At<Vec<At<String>>>> {
        let value = self.get(key)?;
        let items = match value.get_ref() {
            DeValue::String(s) => vec![At {
                value: s.to_string(),
                span: value.span(),
            }],
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| match item.get_ref() {
                    DeValue::String(s) => Some(At {
                        value: s.to_string(),
                        span: item.span(),
                    }),
                    other => {
                        cx.error(
                            &item.span(),
                            format!(
                                "`{}` must list strings, found {}",
                                self.key_path(key),
                                other.type_str()
                            ),
                        );
                        None
                    }
                })
                .collect(),
            other => {
                cx.error(
                    &value.span(),
                    format!(
                        "`{}` must be a list of strings, found {}",
                        self.key_path(key),
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        Some(At {
            value: items,
            span: value.span(),
        })
    }

    pub fn table(&self, cx: &mut Ctx<'_>, key: &str) -> Option<Table<'a, 'i>> {
        let value = self.get(key)?;
        Table::from_value(cx, value, self.key_path(key))
    }

    /// An array of tables (`[[key]]` or `key = [{...}, {...}]`).
    pub fn tables(&self, cx: &mut Ctx<'_>, key: &str) -> Vec<Table<'a, 'i>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    Table::from_value(cx, item, format!("{}[{i}]", self.key_path(key)))
                })
                .collect(),
            other => {
                cx.error(
                    &value.span(),
                    format!(
                        "`{}` must be a list of tables, found {}",
                        self.key_path(key),
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Reports every key that is not in `known`, with the keys that are.
    pub fn deny_unknown(&self, cx: &mut Ctx<'_>, known: &[&str]) {
        for (key, span, _) in self.entries() {
            if !known.contains(&key) {
                let place = if self.path.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in `{}`", self.path)
                };
                cx.error(
                    &span,
                    format!(
                        "unknown key `{key}` {place}; expected one of: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

/// Converts a TOML value into JSON, for `set` effects and choice values.
pub(super) fn to_json(value: &DeValue<'_>) -> Option<serde_json::Value> {
    Some(match value {
        DeValue::String(s) => serde_json::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            serde_json::Value::from(i64::from_str_radix(i.as_str(), i.radix()).ok()?)
        }
        DeValue::Float(f) => serde_json::Value::from(f.as_str().parse::<f64>().ok()?),
        DeValue::Boolean(b) => serde_json::Value::Bool(*b),
        DeValue::Datetime(d) => serde_json::Value::String(d.to_string()),
        DeValue::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| to_json(i.get_ref()))
                .collect::<Option<_>>()?,
        ),
        DeValue::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| Some((k.get_ref().to_string(), to_json(v.get_ref())?)))
                .collect::<Option<_>>()?,
        ),
    })
}
