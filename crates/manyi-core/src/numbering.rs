//! Case numbers (编号): a pattern of literal text, date parts and a zero-padded serial.
//!
//! `{YYYY}` `{YY}` `{MM}` `{DD}` are the receipt date in Asia/Shanghai; `{SEQ:N}` is the serial,
//! zero-padded to N digits and widened, never truncated, past 10^N − 1 (CLAUSES.md A32: a
//! number is never reused). The serial resets yearly, monthly, daily or never. The store keeps
//! one counter per (pattern, period) and takes the next serial in the same transaction as the
//! case insert, so numbers are unique and gap-free per pattern.
//!
//! Example (pcb-complaint 第八条, year-month + serial): `pattern = "{YY}{MM}{SEQ:3}"`,
//! `reset = "monthly"` gives `2609001`, `2609002`, … and `2610001` in October.

use std::fmt::Write;

use jiff::civil::Date;

/// When the serial starts again from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Never,
    Yearly,
    Monthly,
    Daily,
}

impl Reset {
    pub fn parse(word: &str) -> Option<Reset> {
        Some(match word {
            "never" => Reset::Never,
            "yearly" => Reset::Yearly,
            "monthly" => Reset::Monthly,
            "daily" => Reset::Daily,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Year4,
    Year2,
    Month,
    Day,
    Serial { width: usize },
}

/// A checked numbering rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberingRule {
    pattern: String,
    parts: Vec<Part>,
    reset: Reset,
    pub clause: Option<String>,
}

/// A problem in a numbering pattern, at a character offset inside the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub offset: usize,
    pub message: String,
}

impl NumberingRule {
    pub fn parse(pattern: &str, reset: Reset) -> Result<NumberingRule, Vec<PatternError>> {
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut literal = String::new();
        let mut rest = pattern;
        let mut offset = 0;
        while let Some(open) = rest.find('{') {
            literal.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                errors.push(PatternError {
                    offset: offset + open,
                    message: "`{` without a closing `}`".into(),
                });
                rest = "";
                break;
            };
            let token = &rest[open + 1..open + close];
            let part = match token {
                "YYYY" => Some(Part::Year4),
                "YY" => Some(Part::Year2),
                "MM" => Some(Part::Month),
                "DD" => Some(Part::Day),
                _ => match token.strip_prefix("SEQ") {
                    Some("") => Some(Part::Serial { width: 1 }),
                    Some(width) => match width
                        .strip_prefix(':')
                        .and_then(|w| w.parse::<usize>().ok())
                    {
                        Some(width) if (1..=12).contains(&width) => Some(Part::Serial { width }),
                        _ => {
                            errors.push(PatternError {
                                offset: offset + open,
                                message: format!(
                                    "`{{{token}}}`: the serial width must be written {{SEQ:N}} with N from 1 to 12"
                                ),
                            });
                            None
                        }
                    },
                    None => {
                        errors.push(PatternError {
                            offset: offset + open,
                            message: format!(
                                "unknown placeholder `{{{token}}}`; use {{YYYY}}, {{YY}}, {{MM}}, {{DD}} or {{SEQ:N}}"
                            ),
                        });
                        None
                    }
                },
            };
            if let Some(part) = part {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(part);
            }
            offset += open + close + 1;
            rest = &rest[open + close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }

        let serials = parts
            .iter()
            .filter(|p| matches!(p, Part::Serial { .. }))
            .count();
        if serials == 0 && errors.is_empty() {
            errors.push(PatternError {
                offset: 0,
                message: "the numbering pattern has no serial: add {SEQ:N}".into(),
            });
        } else if serials > 1 {
            errors.push(PatternError {
                offset: 0,
                message: "the numbering pattern has more than one serial".into(),
            });
        }
        let has = |p: &dyn Fn(&Part) -> bool| parts.iter().any(p);
        let year = has(&|p| matches!(p, Part::Year4 | Part::Year2));
        let month = has(&|p| matches!(p, Part::Month));
        let day = has(&|p| matches!(p, Part::Day));
        let missing = match reset {
            Reset::Never => None,
            Reset::Yearly if !year => Some("{YYYY} or {YY}"),
            Reset::Monthly if !(year && month) => Some("a year and {MM}"),
            Reset::Daily if !(year && month && day) => Some("a year, {MM} and {DD}"),
            _ => None,
        };
        if let Some(missing) = missing {
            errors.push(PatternError {
                offset: 0,
                message: format!(
                    "the serial resets {} but the pattern lacks {missing}: numbers would repeat",
                    match reset {
                        Reset::Yearly => "yearly",
                        Reset::Monthly => "monthly",
                        _ => "daily",
                    }
                ),
            });
        }
        if errors.is_empty() {
            Ok(NumberingRule {
                pattern: pattern.to_owned(),
                parts,
                reset,
                clause: None,
            })
        } else {
            Err(errors)
        }
    }

    /// The counter scope: numbers are unique and gap-free per pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn reset(&self) -> Reset {
        self.reset
    }

    /// The counter period a receipt date falls in ("" when the serial never resets).
    pub fn period(&self, date: Date) -> String {
        match self.reset {
            Reset::Never => String::new(),
            Reset::Yearly => format!("{:04}", date.year()),
            Reset::Monthly => format!("{:04}-{:02}", date.year(), date.month()),
            Reset::Daily => format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day()),
        }
    }

    /// The case number for `serial` received on `date`.
    pub fn format(&self, date: Date, serial: u64) -> String {
        let mut out = String::new();
        for part in &self.parts {
            // Writing to a String cannot fail.
            let _ = match part {
                Part::Literal(s) => {
                    out.push_str(s);
                    Ok(())
                }
                Part::Year4 => write!(out, "{:04}", date.year()),
                Part::Year2 => write!(out, "{:02}", date.year().rem_euclid(100)),
                Part::Month => write!(out, "{:02}", date.month()),
                Part::Day => write!(out, "{:02}", date.day()),
                Part::Serial { width } => write!(out, "{serial:0width$}"),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn pcb_year_month_serial_resets_monthly() {
        let rule = NumberingRule::parse("{YY}{MM}{SEQ:3}", Reset::Monthly).unwrap();
        assert_eq!(rule.format(date(2026, 9, 30), 1), "2609001");
        assert_eq!(rule.period(date(2026, 9, 30)), "2026-09");
        assert_eq!(rule.period(date(2026, 10, 1)), "2026-10");
    }

    #[test]
    fn the_serial_widens_instead_of_truncating() {
        let rule = NumberingRule::parse("TS{YYYY}-{SEQ:2}", Reset::Yearly).unwrap();
        assert_eq!(rule.format(date(2026, 1, 1), 123), "TS2026-123");
    }

    #[test]
    fn a_pattern_without_serial_is_refused() {
        let errors = NumberingRule::parse("TS{YYYY}", Reset::Never).unwrap_err();
        assert!(errors[0].message.contains("no serial"));
    }

    #[test]
    fn a_monthly_reset_without_month_would_repeat_numbers() {
        let errors = NumberingRule::parse("{YYYY}{SEQ:4}", Reset::Monthly).unwrap_err();
        assert!(errors[0].message.contains("numbers would repeat"));
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let errors = NumberingRule::parse("{YYYY}{HH}{SEQ:4}", Reset::Yearly).unwrap_err();
        assert!(errors[0].message.contains("{HH}"));
        assert_eq!(errors[0].offset, 6);
    }
}
