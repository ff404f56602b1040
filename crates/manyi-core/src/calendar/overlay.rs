//! Organisation overlays: a unit's own closures, extra working days and business hours,
//! applied on top of the official calendar.
//!
//! A branch may close for a day (renovation, a local holiday) or open on an official rest day;
//! a regulation may measure time in business hours or end a period at the close of business
//! (民法典 第二百零三条: "有业务时间的，停止业务活动的时间为截止时间"). Overlays are per
//! organisation unit and inherit down the tree: the effective overlay of a unit is
//! `merge(merge(root, region), branch)`, the nearer unit winning.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::data::Fnv1a;
use super::table::{MAX_YEAR, MIN_YEAR};

/// A unit's changes to the official calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overlay {
    /// Days the unit does not work although they are official working days.
    pub closures: Vec<Date>,
    /// Days the unit works although they are official rest days or weekends.
    pub extra_workdays: Vec<Date>,
    /// Opening hours; `None` means deadlines end at 24:00 and business-hour durations are
    /// refused.
    pub business_hours: Option<BusinessHours>,
}

/// The empty overlay: the official calendar as is.
pub(crate) static EMPTY_OVERLAY: Overlay = Overlay {
    closures: Vec::new(),
    extra_workdays: Vec::new(),
    business_hours: None,
};

impl Overlay {
    /// Whether this overlay changes nothing.
    pub fn is_empty(&self) -> bool {
        self.closures.is_empty() && self.extra_workdays.is_empty() && self.business_hours.is_none()
    }

    /// The overlay of a unit given its parent's effective overlay: the child wins. A day the
    /// child opens is no longer a closure inherited from the parent and vice versa; the
    /// child's business hours, if set, replace the parent's wholesale (a partial merge of
    /// opening intervals would produce hours nobody configured).
    pub fn merge(parent: &Overlay, child: &Overlay) -> Overlay {
        let mut closures: Vec<Date> = parent
            .closures
            .iter()
            .filter(|d| !child.extra_workdays.contains(d))
            .chain(&child.closures)
            .copied()
            .collect();
        let mut extra_workdays: Vec<Date> = parent
            .extra_workdays
            .iter()
            .filter(|d| !child.closures.contains(d))
            .chain(&child.extra_workdays)
            .copied()
            .collect();
        closures.sort_unstable();
        closures.dedup();
        extra_workdays.sort_unstable();
        extra_workdays.dedup();
        Overlay {
            closures,
            extra_workdays,
            business_hours: child
                .business_hours
                .clone()
                .or_else(|| parent.business_hours.clone()),
        }
    }

    /// Checks dates are in range, no day is both closed and open, and business hours are sane.
    pub fn validate(&self) -> Result<(), OverlayError> {
        for &date in self.closures.iter().chain(&self.extra_workdays) {
            if !(MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
                return Err(OverlayError::DateOutOfRange { date });
            }
        }
        if let Some(&date) = self
            .closures
            .iter()
            .find(|d| self.extra_workdays.contains(d))
        {
            return Err(OverlayError::Contradiction { date });
        }
        if let Some(hours) = &self.business_hours {
            hours.validate()?;
        }
        Ok(())
    }

    /// A stable hash of the overlay's content (order-insensitive for the date lists).
    pub fn content_hash(&self) -> u64 {
        let mut closures = self.closures.clone();
        closures.sort_unstable();
        closures.dedup();
        let mut extra = self.extra_workdays.clone();
        extra.sort_unstable();
        extra.dedup();
        let mut h = Fnv1a::new();
        for d in closures {
            h.write(format!("closed {d}\n").as_bytes());
        }
        for d in extra {
            h.write(format!("open {d}\n").as_bytes());
        }
        if let Some(b) = &self.business_hours {
            for (name, intervals) in WorkWeekday::ALL.iter().map(|w| (w.name(), b.day(*w))) {
                h.write(name.as_bytes());
                for i in intervals {
                    h.write(format!(" {i}").as_bytes());
                }
                h.write(b"\n");
            }
            h.write(format!("weekend as {}\n", b.weekend_workday_as.name()).as_bytes());
        }
        h.finish()
    }
}

/// A Monday-to-Friday weekday: the days whose hours a business-hours table defines.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum WorkWeekday {
    #[default]
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
}

impl WorkWeekday {
    pub const ALL: [WorkWeekday; 5] = [
        WorkWeekday::Monday,
        WorkWeekday::Tuesday,
        WorkWeekday::Wednesday,
        WorkWeekday::Thursday,
        WorkWeekday::Friday,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WorkWeekday::Monday => "monday",
            WorkWeekday::Tuesday => "tuesday",
            WorkWeekday::Wednesday => "wednesday",
            WorkWeekday::Thursday => "thursday",
            WorkWeekday::Friday => "friday",
        }
    }

    /// Monday = 0.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Opening hours for Monday to Friday, each a list of disjoint intervals in time order (a
/// lunch break is a gap between two intervals).
///
/// A working day that falls on a Saturday or Sunday — an official make-up working day (调休上班)
/// or an overlay extra working day — opens with the hours of `weekend_workday_as`
/// (default Monday): the notices move a weekday's work onto the weekend, so one weekday's
/// hours stand in for it. A Monday-to-Friday working day always uses its own weekday's hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[serde(default)]
    pub monday: Vec<OpenInterval>,
    #[serde(default)]
    pub tuesday: Vec<OpenInterval>,
    #[serde(default)]
    pub wednesday: Vec<OpenInterval>,
    #[serde(default)]
    pub thursday: Vec<OpenInterval>,
    #[serde(default)]
    pub friday: Vec<OpenInterval>,
    #[serde(default)]
    pub weekend_workday_as: WorkWeekday,
}

impl BusinessHours {
    /// The same intervals every weekday, e.g. `BusinessHours::weekdays(&["09:00-12:00",
    /// "13:30-17:30"])`.
    pub fn weekdays(intervals: &[&str]) -> Result<BusinessHours, OverlayError> {
        let parsed = intervals
            .iter()
            .map(|s| s.parse::<OpenInterval>())
            .collect::<Result<Vec<_>, _>>()?;
        let hours = BusinessHours {
            monday: parsed.clone(),
            tuesday: parsed.clone(),
            wednesday: parsed.clone(),
            thursday: parsed.clone(),
            friday: parsed,
            weekend_workday_as: WorkWeekday::Monday,
        };
        hours.validate()?;
        Ok(hours)
    }

    /// The intervals of a weekday.
    pub fn day(&self, day: WorkWeekday) -> &[OpenInterval] {
        match day {
            WorkWeekday::Monday => &self.monday,
            WorkWeekday::Tuesday => &self.tuesday,
            WorkWeekday::Wednesday => &self.wednesday,
            WorkWeekday::Thursday => &self.thursday,
            WorkWeekday::Friday => &self.friday,
        }
    }

    /// Intervals in order and disjoint on every day; some opening time in the week (otherwise
    /// a business-hour duration could never elapse).
    pub fn validate(&self) -> Result<(), OverlayError> {
        for day in WorkWeekday::ALL {
            let intervals = self.day(day);
            for pair in intervals.windows(2) {
                if pair[1].start < pair[0].end {
                    return Err(OverlayError::BadHours {
                        weekday: day.name(),
                        reason: format!(
                            "{} does not start after {} ends (intervals must be in time order \
                             and must not overlap)",
                            pair[1], pair[0]
                        ),
                    });
                }
            }
        }
        if WorkWeekday::ALL.iter().all(|d| self.day(*d).is_empty()) {
            return Err(OverlayError::NoOpenHours);
        }
        Ok(())
    }
}

/// An opening interval within one day, minute precision, written `"09:00-12:00"`; the end may
/// be `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpenInterval {
    start: u16,
    end: u16,
}

impl OpenInterval {
    /// From minutes since midnight: `0 <= start < end <= 1440`.
    pub fn new(start_minute: u16, end_minute: u16) -> Result<OpenInterval, OverlayError> {
        if start_minute >= end_minute || end_minute > 24 * 60 {
            return Err(OverlayError::BadInterval {
                value: format!("{}-{}", hhmm(start_minute), hhmm(end_minute)),
                reason: "the start must be before the end, and the end at most 24:00".to_owned(),
            });
        }
        Ok(OpenInterval {
            start: start_minute,
            end: end_minute,
        })
    }

    pub fn start_minute(self) -> u16 {
        self.start
    }

    pub fn end_minute(self) -> u16 {
        self.end
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl fmt::Display for OpenInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

impl FromStr for OpenInterval {
    type Err = OverlayError;

    fn from_str(s: &str) -> Result<OpenInterval, OverlayError> {
        let bad = |reason: &str| OverlayError::BadInterval {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| bad("expected HH:MM-HH:MM"))?;
        let start = parse_hhmm(a).ok_or_else(|| bad("bad start time, expected HH:MM"))?;
        let end = parse_hhmm(b).ok_or_else(|| bad("bad end time, expected HH:MM"))?;
        OpenInterval::new(start, end).map_err(|_| bad("the start must be before the end"))
    }
}

impl TryFrom<String> for OpenInterval {
    type Error = OverlayError;

    fn try_from(s: String) -> Result<OpenInterval, OverlayError> {
        s.parse()
    }
}

impl From<OpenInterval> for String {
    fn from(i: OpenInterval) -> String {
        i.to_string()
    }
}

/// An invalid overlay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlayError {
    #[error("{date} is listed both as a closure and as an extra working day")]
    Contradiction { date: Date },
    #[error("overlay date {date} is outside the supported years {MIN_YEAR}..={MAX_YEAR}")]
    DateOutOfRange { date: Date },
    #[error("invalid opening interval {value:?}: {reason}")]
    BadInterval { value: String, reason: String },
    #[error("business hours on {weekday}: {reason}")]
    BadHours {
        weekday: &'static str,
        reason: String,
    },
    #[error("business hours are empty on every weekday: a business-hour period could never end")]
    NoOpenHours,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn intervals_parse_and_print() {
        let i: OpenInterval = "09:00-12:00".parse().unwrap();
        assert_eq!((i.start_minute(), i.end_minute()), (540, 720));
        assert_eq!(i.to_string(), "09:00-12:00");
        assert_eq!(
            "20:00-24:00".parse::<OpenInterval>().unwrap().end_minute(),
            1440
        );
        for bad in [
            "12:00-09:00",
            "9:00-12:00",
            "09:00",
            "09:00-24:01",
            "25:00-26:00",
            "",
        ] {
            assert!(bad.parse::<OpenInterval>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hours_must_be_ordered_and_non_empty() {
        assert!(BusinessHours::weekdays(&["09:00-12:00", "13:30-17:30"]).is_ok());
        assert!(matches!(
            BusinessHours::weekdays(&["13:30-17:30", "09:00-12:00"]),
            Err(OverlayError::BadHours {
                weekday: "monday",
                ..
            })
        ));
        assert_eq!(BusinessHours::weekdays(&[]), Err(OverlayError::NoOpenHours));
    }

    #[test]
    fn merge_child_wins() {
        let hours = BusinessHours::weekdays(&["09:00-17:00"]).unwrap();
        let parent = Overlay {
            closures: vec![date(2026, 3, 2), date(2026, 3, 3)],
            extra_workdays: vec![date(2026, 3, 7)],
            business_hours: Some(hours.clone()),
        };
        let child = Overlay {
            closures: vec![date(2026, 3, 7)],
            extra_workdays: vec![date(2026, 3, 3)],
            business_hours: None,
        };
        let m = Overlay::merge(&parent, &child);
        assert_eq!(m.closures, vec![date(2026, 3, 2), date(2026, 3, 7)]);
        assert_eq!(m.extra_workdays, vec![date(2026, 3, 3)]);
        assert_eq!(m.business_hours, Some(hours));
        assert!(m.validate().is_ok());
        assert_eq!(Overlay::merge(&Overlay::default(), &parent), {
            let mut p = parent.clone();
            p.closures.sort();
            p
        });
    }

    #[test]
    fn contradiction_is_an_error() {
        let o = Overlay {
            closures: vec![date(2026, 3, 2)],
            extra_workdays: vec![date(2026, 3, 2)],
            business_hours: None,
        };
        assert_eq!(
            o.validate(),
            Err(OverlayError::Contradiction {
                date: date(2026, 3, 2)
            })
        );
    }

    #[test]
    fn serde_round_trip() {
        let o = Overlay {
            closures: vec![date(2026, 3, 2)],
            extra_workdays: vec![],
            business_hours: Some(BusinessHours::weekdays(&["09:00-12:00"]).unwrap()),
        };
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"09:00-12:00\""), "{json}");
        assert_eq!(serde_json::from_str::<Overlay>(&json).unwrap(), o);
        assert!(serde_json::from_str::<Overlay>(r#"{"closure": []}"#).is_err());
    }
}
