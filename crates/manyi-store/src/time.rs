//! Instants as the database sees them: BIGINT Unix milliseconds.
//!
//! Milliseconds are the one representation both SQLite and PostgreSQL store, index and compare
//! identically, without time-zone interpretation; sub-millisecond precision is dropped.

use jiff::Timestamp;

use crate::error::corrupt;

/// The stored form of an instant (truncated to the millisecond).
pub(crate) fn to_millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// An instant read back from the database.
pub(crate) fn from_millis(ms: i64) -> Result<Timestamp, sqlx::Error> {
    Timestamp::from_millisecond(ms).map_err(|_| corrupt("instant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_at_millisecond_precision() {
        let t = Timestamp::from_millisecond(1_788_000_000_123).expect("in range");
        assert_eq!(from_millis(to_millis(t)).ok(), Some(t));
        let fine = Timestamp::new(1_788_000_000, 123_456_789).expect("in range");
        assert_eq!(from_millis(to_millis(fine)).ok(), Some(t));
    }

    #[test]
    fn an_out_of_range_stored_instant_is_a_decode_error() {
        assert!(matches!(from_millis(i64::MAX), Err(sqlx::Error::Decode(_))));
    }
}
