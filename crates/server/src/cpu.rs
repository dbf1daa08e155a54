//! CPU-heavy work of a request (rendering Markdown and diffs) runs here:
//! on tokio's blocking threads, never on the async workers that serve every
//! other request, at most one job per core at a time, each with a deadline.
//!
//! A blocking thread cannot be cancelled, so the deadline is enforced twice:
//! the renderers check it as they go and give up, and the request stops
//! waiting at the deadline whatever the job does. A job that overruns keeps
//! its permit until it really ends, so a flood of hostile requests can
//! occupy the cores it is allowed, never more; the rest wait for a permit
//! until their own deadline and then get 503.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentd_protocol::ErrorCode;
use agentd_web::TooComplex;
use axum::http::StatusCode;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// How long one render may take, waiting for a core included.
pub const DEFAULT_RENDER_BUDGET: Duration = Duration::from_secs(2);

pub(crate) struct CpuPool {
    permits: Arc<Semaphore>,
    budget: Duration,
}

impl CpuPool {
    pub(crate) fn new(budget: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            permits: Arc::new(Semaphore::new(cores)),
            budget,
        }
    }

    /// Runs `work(deadline)` on a blocking thread. Past the deadline the
    /// answer is `422 too_complex`; no free core until then is `503`.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Instant) -> Result<T, TooComplex> + Send + 'static,
    ) -> Result<T, ApiError> {
        let deadline = Instant::now() + self.budget;
        let tokio_deadline = tokio::time::Instant::from_std(deadline);
        let acquired =
            tokio::time::timeout_at(tokio_deadline, self.permits.clone().acquire_owned()).await;
        // Closed never happens (the semaphore is never closed); treat it
        // like a busy server.
        let Ok(Ok(permit)) = acquired else {
            return Err(ApiError::rate_limited(
                Duration::from_secs(1),
                "the server is busy rendering; try again",
            )
            .with_status(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable));
        };
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(deadline)
        });
        match tokio::time::timeout_at(tokio_deadline, job).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(TooComplex))) | Err(_) => Err(too_complex(self.budget)),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a render job failed");
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "rendering failed",
                ))
            }
        }
    }
}

fn too_complex(budget: Duration) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::TooComplex,
        format!(
            "the input could not be rendered within {} ms; it is shown as plain text",
            budget.as_millis()
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn a_job_past_its_budget_is_too_complex_and_keeps_its_core() {
        let pool = CpuPool {
            permits: Arc::new(Semaphore::new(1)),
            budget: Duration::from_millis(100),
        };
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let err = pool
            .run(move |_| {
                // Ignores its deadline, as a sanitiser pass would.
                let _ = rx.recv_timeout(Duration::from_secs(5));
                Ok(())
            })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::TooComplex);
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        // The overrunning job still holds the only core: the next waits,
        // then is told the server is busy.
        let err = pool.run(|_| Ok(())).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unavailable);
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        tx.send(()).unwrap();
        for _ in 0..200 {
            if pool.permits.available_permits() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(pool.run(|_| Ok(7)).await.unwrap(), 7);
        assert_eq!(
            pool.run(|_| Err::<(), _>(TooComplex))
                .await
                .unwrap_err()
                .code,
            ErrorCode::TooComplex
        );
    }
}
