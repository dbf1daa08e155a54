//! Conversions between our types and the portable column representation:
//! integers as i64, timestamps as unix milliseconds, JSON and enums as text.

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::StoreError;

/// Unix milliseconds, truncated (floored) so stored times compare equal to
/// `truncate_to_ms` of the original.
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    // `OffsetDateTime` spans ±9999 years, well inside i64 milliseconds.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

pub(crate) fn from_ms(
    ms: i64,
    what: impl FnOnce() -> String,
) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("{}: timestamp {ms} out of range", what())))
}

/// A time as the store keeps it (millisecond precision, UTC offset kept).
pub fn truncate_to_ms(t: OffsetDateTime) -> OffsetDateTime {
    let sub_ms = t.nanosecond() % 1_000_000;
    t - time::Duration::nanoseconds(i64::from(sub_ms))
}

pub(crate) fn u64_to_db(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

pub(crate) fn u64_from_db(v: i64, what: impl FnOnce() -> String) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{}: negative value {v}", what())))
}

pub(crate) fn u32_from_db(v: i64, what: impl FnOnce() -> String) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{}: value {v} out of range", what())))
}

/// Parses a wire-string enum (status, runtime, …) read from a column.
pub(crate) fn parse_enum<T: FromStr>(
    s: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{}: unknown value {s:?}", what())))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    s: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))
}

/// JSON for a TEXT column. Serializing our own types cannot fail in practice
/// (string keys only); if it does, it is the caller's value that is bad.
pub(crate) fn to_json<T: serde::Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

/// Typed column access shared by both backends' rows, so each row decoder is
/// written once. A column that fails to decode means the schema and the code
/// disagree: `Corrupt`.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn float(&self, col: &str) -> Result<f64, StoreError>;
    fn opt_float(&self, col: &str) -> Result<Option<f64>, StoreError>;
}

macro_rules! impl_row_ext {
    ($($row:ty),*) => {$(
        impl RowExt for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                self.try_get(col).map_err(|e| column_error(col, e))
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                self.try_get(col).map_err(|e| column_error(col, e))
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                self.try_get(col).map_err(|e| column_error(col, e))
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(col).map_err(|e| column_error(col, e))
            }
            fn float(&self, col: &str) -> Result<f64, StoreError> {
                self.try_get(col).map_err(|e| column_error(col, e))
            }
            fn opt_float(&self, col: &str) -> Result<Option<f64>, StoreError> {
                self.try_get(col).map_err(|e| column_error(col, e))
            }
        }
    )*};
}

impl_row_ext!(SqliteRow, PgRow);

fn column_error(col: &str, err: sqlx::Error) -> StoreError {
    tracing::error!(column = col, error = %err, "cannot decode column");
    StoreError::Corrupt(format!("column {col} cannot be decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn milliseconds_truncate_and_round_trip() {
        let t = datetime!(2026-11-21 10:00:00.123_456_789 UTC);
        let ms = to_ms(t);
        assert_eq!(ms % 1000, 123);
        assert_eq!(from_ms(ms, String::new).unwrap(), truncate_to_ms(t));
        // Before 1970 truncation still goes towards the past, like the clock.
        let old = datetime!(1969-12-31 23:59:59.999_9 UTC);
        assert_eq!(
            from_ms(to_ms(old), String::new).unwrap(),
            truncate_to_ms(old)
        );
    }

    #[test]
    fn out_of_range_numbers_are_reported() {
        assert!(matches!(
            u64_to_db(u64::MAX, "seq"),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            u64_from_db(-1, String::new),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            u32_from_db(1 << 40, String::new),
            Err(StoreError::Corrupt(_))
        ));
    }
}
