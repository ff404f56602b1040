//! Day numbering and the precomputed working-day table.
//!
//! Deadline arithmetic is on the hot path of every case action and of the scheduler, so the
//! calendar is compiled once into a bitset of working days over the whole supported range
//! (1900-01-01 ..= 2200-12-31, about 110 000 days, 14 KiB) with a running count of working days
//! per 64-day word (7 KiB). With it:
//!
//! - `rank(d)` (working days up to and including day `d`) is one array read and a popcount;
//! - `select(k)` (the day on which the k-th working day falls) is a binary search over the
//!   1 722 word counts plus a select inside one 64-bit word.
//!
//! Adding N working days is `select(rank(start) + N)`: O(log n), independent of N.
//!
//! Days are numbered by their *Unix epoch day* (days since 1970-01-01) in Asia/Shanghai, using
//! the proleptic-Gregorian conversion of Howard Hinnant's `days_from_civil` (public domain). It
//! is integer-only and much cheaper than going through `jiff::Span` arithmetic; a unit test
//! checks it against jiff for every day of the range.

use jiff::civil::Date;

/// First supported year. Holiday notices exist only since 1999 and this dataset starts in
/// 2007; the wider range lets old complaints be re-examined on the Monday–Friday rule.
pub const MIN_YEAR: i16 = 1900;
/// Last supported year.
pub const MAX_YEAR: i16 = 2200;

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;
pub(crate) const NANOS_PER_SECOND: i128 = 1_000_000_000;
pub(crate) const NANOS_PER_DAY: i128 = SECONDS_PER_DAY as i128 * NANOS_PER_SECOND;
/// Asia/Shanghai is UTC+08:00 all year (no DST since 1991).
pub(crate) const OFFSET_SECONDS: i64 = 8 * 3_600;
pub(crate) const OFFSET_NANOS: i128 = OFFSET_SECONDS as i128 * NANOS_PER_SECOND;

/// `days_from_civil`: the Unix epoch day of a proleptic-Gregorian date.
pub(crate) const fn epoch_day_ymd(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Unix epoch day of `date`.
pub(crate) fn epoch_day(date: Date) -> i64 {
    epoch_day_ymd(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    )
}

/// `civil_from_days`: the date of a Unix epoch day, `None` outside jiff's range.
pub(crate) fn date_of_epoch_day(z: i64) -> Option<Date> {
    let z = z.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// Monday = 0 … Sunday = 6. 1970-01-01 was a Thursday.
pub(crate) const fn weekday_of_epoch_day(z: i64) -> u8 {
    (z + 3).rem_euclid(7) as u8
}

/// Epoch day of the first day in the table (1900-01-01).
pub(crate) const ORIGIN: i64 = epoch_day_ymd(MIN_YEAR as i64, 1, 1);
/// Number of days in the table (1900-01-01 ..= 2200-12-31).
pub(crate) const LEN: i64 = epoch_day_ymd(MAX_YEAR as i64 + 1, 1, 1) - ORIGIN;

/// Table index of an epoch day, if inside the supported range.
pub(crate) fn index_of_epoch_day(z: i64) -> Option<u32> {
    let i = z - ORIGIN;
    if (0..LEN).contains(&i) {
        u32::try_from(i).ok()
    } else {
        None
    }
}

/// Table index of a date, if inside the supported range.
pub(crate) fn index_of(date: Date) -> Option<u32> {
    index_of_epoch_day(epoch_day(date))
}

/// Date of a table index (the index is always valid when it comes from the table).
pub(crate) fn date_of_index(i: u32) -> Option<Date> {
    date_of_epoch_day(ORIGIN + i64::from(i))
}

/// The Asia/Shanghai epoch day containing `local_nanos` (nanoseconds since 1970-01-01T00:00
/// local time), and the nanoseconds into that day.
pub(crate) fn split_local(local_nanos: i128) -> (i64, i128) {
    let day = local_nanos.div_euclid(NANOS_PER_DAY);
    let into = local_nanos.rem_euclid(NANOS_PER_DAY);
    // `day` fits: jiff timestamps span about ±10 000 years.
    (i64::try_from(day).unwrap_or(i64::MAX), into)
}

/// A bitset over table indices with per-word running counts: rank and select in O(1)/O(log n).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DayTable {
    bits: Vec<u64>,
    /// `before[w]` = number of set bits in words `0..w`; one extra entry holds the total.
    before: Vec<u32>,
}

impl DayTable {
    /// Builds the table from a predicate over indices `0..LEN`.
    pub(crate) fn build(mut is_set: impl FnMut(u32) -> bool) -> DayTable {
        let len = u32::try_from(LEN).unwrap_or(u32::MAX);
        let words = len.div_ceil(64) as usize;
        let mut bits = vec![0u64; words];
        for i in 0..len {
            if is_set(i) {
                bits[(i / 64) as usize] |= 1u64 << (i % 64);
            }
        }
        let mut before = Vec::with_capacity(words + 1);
        let mut total = 0u32;
        for w in &bits {
            before.push(total);
            total += w.count_ones();
        }
        before.push(total);
        DayTable { bits, before }
    }

    pub(crate) fn get(&self, i: u32) -> bool {
        self.bits
            .get((i / 64) as usize)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// Number of set bits at indices `0..=i` (saturating at the table end).
    pub(crate) fn rank(&self, i: u32) -> u32 {
        let w = (i / 64) as usize;
        match self.bits.get(w) {
            Some(word) => {
                // Bits 0..=b of the word; `2 << 63` is 0, so b = 63 gives all ones.
                let mask = (2u64 << (i % 64)).wrapping_sub(1);
                self.before[w] + (word & mask).count_ones()
            }
            None => self.total(),
        }
    }

    pub(crate) fn total(&self) -> u32 {
        self.before.last().copied().unwrap_or(0)
    }

    /// The smallest index `i` with `rank(i) >= k`, for `k >= 1`; `None` past the last set bit.
    pub(crate) fn select(&self, k: u32) -> Option<u32> {
        if k == 0 || k > self.total() {
            return None;
        }
        // First word whose running count before it is >= k; the k-th bit is in the word
        // before that one.
        let w = self.before.partition_point(|&b| b < k) - 1;
        let mut word = self.bits[w];
        for _ in 1..(k - self.before[w]) {
            word &= word - 1;
        }
        Some(w as u32 * 64 + word.trailing_zeros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_day_matches_jiff_over_the_whole_range() {
        let mut d = jiff::civil::date(MIN_YEAR, 1, 1);
        let mut z = epoch_day(d);
        assert_eq!(z, -25_567);
        assert_eq!(epoch_day(jiff::civil::date(1970, 1, 1)), 0);
        let end = jiff::civil::date(MAX_YEAR, 12, 31);
        while d <= end {
            assert_eq!(epoch_day(d), z, "{d}");
            assert_eq!(date_of_epoch_day(z), Some(d), "{z}");
            assert_eq!(
                weekday_of_epoch_day(z),
                d.weekday().to_monday_zero_offset() as u8,
                "{d}"
            );
            d = d.tomorrow().unwrap();
            z += 1;
        }
        assert_eq!(z - ORIGIN, LEN);
    }

    #[test]
    fn rank_and_select_agree_with_a_naive_count() {
        // A pseudo-random pattern with long runs of zeros and ones.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut pattern = Vec::new();
        let table = DayTable::build(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let set = if (i / 1000) % 7 == 3 {
                false
            } else {
                !x.is_multiple_of(3)
            };
            pattern.push(set);
            set
        });
        let mut count = 0u32;
        for (i, &set) in pattern.iter().enumerate() {
            let i = i as u32;
            assert_eq!(table.get(i), set);
            if set {
                count += 1;
                assert_eq!(table.select(count), Some(i));
            }
            assert_eq!(table.rank(i), count);
        }
        assert_eq!(table.total(), count);
        assert_eq!(table.select(count + 1), None);
        assert_eq!(table.select(0), None);
    }
}
