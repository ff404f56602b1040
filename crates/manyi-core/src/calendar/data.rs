//! The official holiday notices as data: parsing holiday-cn files, merging them, and the
//! copy shipped inside the binary.
//!
//! Each State Council notice ("国务院办公厅关于 YYYY 年部分节假日安排的通知") becomes one file,
//! `YYYY.json` in the NateScarlet/holiday-cn format:
//!
//! ```json
//! {"year": 2026, "papers": ["https://www.gov.cn/…"],
//!  "days": [{"name": "元旦", "date": "2026-01-01", "isOffDay": true}, …]}
//! ```
//!
//! `isOffDay: true` is an official rest day, `false` a make-up working day (调休上班). Days not
//! listed follow the Monday–Friday rule.
//!
//! Reading rules, each of which exists because of a real file:
//!
//! - The file year is the *notice* year, not the year of every date: `2008.json` lists
//!   2007-12-29..31. Files are merged into one map by date, and a date more than a year away
//!   from its notice year is rejected as a data error.
//! - A date listed twice (in one file or two) with different kinds is a contradiction, reported
//!   with both places; listed twice with the same kind it is harmless and kept once.
//! - A notice year is *covered* only if its file cites at least one paper. `2027.json` in the
//!   shipped snapshot has `papers: []` and `days: []`: the 2027 notice was not yet published,
//!   which is a gap to report, not a year without holidays.
//! - Two files for the same notice year are refused by [`HolidayData::merge`] (which one
//!   would win?); replacing a shipped year by an updated file is explicit, see
//!   `Calendar::official_with_updates`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::table::{MAX_YEAR, MIN_YEAR};

macro_rules! embed {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../../data/holiday-cn/", $name)),
        )
    };
}
/// The holiday-cn files compiled into the binary: `(file name, contents)`, oldest first.
///
/// Paths are relative to this source file (`crates/manyi-core/src/calendar/`), reaching the
/// repository's `data/holiday-cn/`. A test checks that every `YYYY.json` in that directory
/// is listed here, so a newly added notice cannot be forgotten.
pub const EMBEDDED_FILES: &[(&str, &str)] = &[
    embed!("2007.json"),
    embed!("2008.json"),
    embed!("2009.json"),
    embed!("2010.json"),
    embed!("2011.json"),
    embed!("2012.json"),
    embed!("2013.json"),
    embed!("2014.json"),
    embed!("2015.json"),
    embed!("2016.json"),
    embed!("2017.json"),
    embed!("2018.json"),
    embed!("2019.json"),
    embed!("2020.json"),
    embed!("2021.json"),
    embed!("2022.json"),
    embed!("2023.json"),
    embed!("2024.json"),
    embed!("2025.json"),
    embed!("2026.json"),
    embed!("2027.json"),
];

/// What an official notice says about a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// 法定节假日 / 调休放假: a day off, whatever its weekday.
    Rest,
    /// 调休上班: a working day, usually a Saturday or Sunday.
    MakeUpWorkday,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::Rest => "a rest day (isOffDay: true)",
            EntryKind::MakeUpWorkday => "a make-up working day (isOffDay: false)",
        })
    }
}

/// A malformed or contradictory holiday file. Every variant names the file, and the entry
/// (`days[i]`) where there is one, so that an administrator importing a file can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("{file}: not a valid holiday-cn notice file: {message}")]
    Json { file: String, message: String },
    #[error("{file}: notice year {year} is outside the supported range {min}..={max}")]
    YearOutOfRange {
        file: String,
        year: i64,
        min: i16,
        max: i16,
    },
    #[error("{file}: days[{index}]: invalid date {value:?} (expected YYYY-MM-DD): {reason}")]
    BadDate {
        file: String,
        index: usize,
        value: String,
        reason: String,
    },
    #[error(
        "{file}: days[{index}]: date {date} is more than a year away from the notice year {year}"
    )]
    DateOutsideYear {
        file: String,
        index: usize,
        date: Date,
        year: i16,
    },
    #[error(
        "{file}: days[{index}]: {date} is listed as {kind}, \
         but {other_file} days[{other_index}] lists it as {other_kind}"
    )]
    Conflict {
        file: String,
        index: usize,
        date: Date,
        kind: EntryKind,
        other_file: String,
        other_index: usize,
        other_kind: EntryKind,
    },
    #[error("{file}: notice year {year} is also given by {other_file}")]
    DuplicateYear {
        file: String,
        year: i16,
        other_file: String,
    },
}

/// One day of a notice, as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDay {
    pub date: Date,
    pub kind: EntryKind,
    pub name: String,
}

/// One parsed notice file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFile {
    /// The file name, used in error messages.
    pub file: String,
    /// The notice year (the `year` field, not the file name).
    pub year: i16,
    /// The notice URLs. Empty means the notice is not published (the year is not covered).
    pub papers: Vec<String>,
    pub days: Vec<NoticeDay>,
}

#[derive(Deserialize)]
struct RawNotice {
    year: i64,
    papers: Vec<String>,
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
struct RawDay {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

impl NoticeFile {
    /// Parses one holiday-cn file. `file` names it in errors.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<NoticeFile, DataError> {
        let raw: RawNotice = serde_json::from_slice(bytes).map_err(|e| DataError::Json {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        // Dates may lie one year either side of the notice year, and must stay inside the
        // supported range, hence the narrower bound on the notice year itself.
        let year = i16::try_from(raw.year)
            .ok()
            .filter(|y| (MIN_YEAR + 1..=MAX_YEAR - 1).contains(y))
            .ok_or_else(|| DataError::YearOutOfRange {
                file: file.to_owned(),
                year: raw.year,
                min: MIN_YEAR + 1,
                max: MAX_YEAR - 1,
            })?;
        let mut days = Vec::with_capacity(raw.days.len());
        for (index, d) in raw.days.into_iter().enumerate() {
            let date = parse_iso_date(&d.date).map_err(|reason| DataError::BadDate {
                file: file.to_owned(),
                index,
                value: d.date.clone(),
                reason,
            })?;
            if (i32::from(date.year()) - i32::from(year)).abs() > 1 {
                return Err(DataError::DateOutsideYear {
                    file: file.to_owned(),
                    index,
                    date,
                    year,
                });
            }
            let kind = if d.is_off_day {
                EntryKind::Rest
            } else {
                EntryKind::MakeUpWorkday
            };
            days.push(NoticeDay {
                date,
                kind,
                name: d.name,
            });
        }
        Ok(NoticeFile {
            file: file.to_owned(),
            year,
            papers: raw.papers,
            days,
        })
    }

    /// A notice counts as published when it cites at least one State Council paper.
    pub fn is_published(&self) -> bool {
        !self.papers.is_empty()
    }
}

/// Strict `YYYY-MM-DD`: jiff alone would also accept forms such as `20260101` that never
/// appear in the dataset and would hide a corrupted file.
fn parse_iso_date(value: &str) -> Result<Date, String> {
    let b = value.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err("not of the form YYYY-MM-DD".to_owned());
    }
    value.parse::<Date>().map_err(|e| e.to_string())
}

/// One merged entry: what the notices say about a date, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HolidayEntry {
    pub date: Date,
    pub kind: EntryKind,
    pub name: String,
    /// The file that listed it first.
    pub file: String,
    /// Its position in that file's `days`.
    pub index: usize,
}

/// All notices merged by date, with the set of notice years that are covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayData {
    entries: BTreeMap<Date, HolidayEntry>,
    covered: BTreeSet<i16>,
    /// Notice year → file name, for every file merged (published or not).
    files: BTreeMap<i16, String>,
}

impl HolidayData {
    /// Merges parsed notice files. Fails on two files for the same notice year and on a date
    /// given two different kinds.
    pub fn merge(files: impl IntoIterator<Item = NoticeFile>) -> Result<HolidayData, DataError> {
        let mut data = HolidayData::default();
        for notice in files {
            if let Some(other) = data.files.get(&notice.year) {
                return Err(DataError::DuplicateYear {
                    file: notice.file,
                    year: notice.year,
                    other_file: other.clone(),
                });
            }
            data.files.insert(notice.year, notice.file.clone());
            if notice.is_published() {
                data.covered.insert(notice.year);
            }
            for (index, day) in notice.days.into_iter().enumerate() {
                match data.entries.get(&day.date) {
                    Some(existing) if existing.kind != day.kind => {
                        return Err(DataError::Conflict {
                            file: notice.file,
                            index,
                            date: day.date,
                            kind: day.kind,
                            other_file: existing.file.clone(),
                            other_index: existing.index,
                            other_kind: existing.kind,
                        });
                    }
                    Some(_) => {}
                    None => {
                        data.entries.insert(
                            day.date,
                            HolidayEntry {
                                date: day.date,
                                kind: day.kind,
                                name: day.name,
                                file: notice.file.clone(),
                                index,
                            },
                        );
                    }
                }
            }
        }
        Ok(data)
    }

    /// Parses and merges `(file name, bytes)` pairs.
    pub fn from_files<I, N, B>(files: I) -> Result<HolidayData, DataError>
    where
        I: IntoIterator<Item = (N, B)>,
        N: AsRef<str>,
        B: AsRef<[u8]>,
    {
        let parsed = files
            .into_iter()
            .map(|(n, b)| NoticeFile::parse(n.as_ref(), b.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        HolidayData::merge(parsed)
    }

    /// The entry for `date`, if a notice lists it.
    pub fn entry(&self, date: Date) -> Option<&HolidayEntry> {
        self.entries.get(&date)
    }

    /// All entries, by date.
    pub fn entries(&self) -> impl Iterator<Item = &HolidayEntry> {
        self.entries.values()
    }

    /// Entries between two dates inclusive.
    pub fn entries_between(&self, from: Date, to: Date) -> impl Iterator<Item = &HolidayEntry> {
        let range = if from <= to { from..=to } else { to..=to };
        self.entries.range(range).map(|(_, e)| e)
    }

    /// Whether the notice for `year` is published and loaded.
    pub fn is_covered(&self, year: i16) -> bool {
        self.covered.contains(&year)
    }

    /// Covered notice years, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.covered.iter().copied()
    }

    /// Notice year → file name of every merged file.
    pub fn files(&self) -> &BTreeMap<i16, String> {
        &self.files
    }

    /// FNV-1a 64 over a canonical text of the merged data (entries by date, then covered
    /// years). Anything that can change a computed deadline — a day's kind, coverage — changes
    /// it; the order or naming of the input files does not.
    pub fn content_hash(&self) -> u64 {
        let mut h = Fnv1a::new();
        for e in self.entries.values() {
            let k = match e.kind {
                EntryKind::Rest => "rest",
                EntryKind::MakeUpWorkday => "work",
            };
            h.write(format!("{} {k} {}\n", e.date, e.name).as_bytes());
        }
        for y in &self.covered {
            h.write(format!("covered {y}\n").as_bytes());
        }
        h.finish()
    }
}

/// FNV-1a, 64-bit (Fowler–Noll–Vo). Not cryptographic: it identifies a data version so that
/// each deadline can record which calendar it was computed with; it is stable across builds
/// and platforms, unlike `std::hash`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    pub(crate) fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_vectors() {
        // From the FNV reference test suite.
        let hash = |s: &str| {
            let mut h = Fnv1a::new();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn strict_dates() {
        assert!(parse_iso_date("2026-01-01").is_ok());
        assert!(parse_iso_date("20260101").is_err());
        assert!(parse_iso_date("2026-1-01").is_err());
        assert!(parse_iso_date("2026-02-30").is_err());
        assert!(parse_iso_date("２０２６-01-01").is_err());
    }
}
