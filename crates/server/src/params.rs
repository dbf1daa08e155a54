//! Range checks on query parameters, refused with 422 `validation_failed`
//! naming the parameter (as the body checks in `agentd_protocol::validate`).
//! A documented range is enforced, never silently clamped: `limit=0` used to
//! return one item.

use agentd_protocol::FieldError;

use crate::error::ApiError;

/// A page size: absent → `default`, else 1 to `max`.
pub(crate) fn page_limit(value: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(FieldError::new("limit", format!("must be 1 to {max}")).into()),
    }
}

/// An event `seq` to resume after: the store's sequence numbers stop at
/// `i64::MAX`.
pub(crate) fn seq(field: &str, value: u64) -> Result<u64, ApiError> {
    agentd_protocol::validate::check_stored_integer(field, Some(value))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused_not_clamped() {
        assert_eq!(page_limit(None, 50, 200).ok(), Some(50));
        assert_eq!(page_limit(Some(200), 50, 200).ok(), Some(200));
        for bad in [0, 201, u32::MAX] {
            let err = page_limit(Some(bad), 50, 200).expect_err("out of range");
            assert_eq!(err.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            assert!(err.message.starts_with("limit: "), "{}", err.message);
        }
    }
}
