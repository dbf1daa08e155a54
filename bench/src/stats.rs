//! Summaries of samples: percentiles by the nearest-rank method, so a p99 of
//! 100 samples is a sample that was actually observed, never an interpolation.

use serde::Serialize;

/// Order statistics of one series, in the unit the samples were given in.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    /// `None` for no samples (a benchmark that produced nothing says so
    /// instead of reporting zeros).
    pub fn of(samples: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        Some(Self {
            n,
            min: sorted[0],
            p50: nearest_rank(&sorted, 50.0),
            p95: nearest_rank(&sorted, 95.0),
            p99: nearest_rank(&sorted, 99.0),
            max: sorted[n - 1],
            mean: sorted.iter().sum::<f64>() / n as f64,
        })
    }
}

/// The smallest sample with at least `pct` % of the samples at or below it.
/// `sorted` must be sorted and non-empty.
pub fn nearest_rank(sorted: &[f64], pct: f64) -> f64 {
    let n = sorted.len();
    let rank = ((pct / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Milliseconds from a duration, for tables.
pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// A number for a table: three significant figures, no exponent.
pub fn fmt(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_are_observed_samples() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!((s.n, s.min, s.max), (100, 1.0, 100.0));
        assert_eq!((s.p50, s.p95, s.p99), (50.0, 95.0, 99.0));
        assert!((s.mean - 50.5).abs() < 1e-9);
    }

    #[test]
    fn small_and_empty_series() {
        assert_eq!(Summary::of(&[]), None);
        let one = Summary::of(&[7.0]).unwrap();
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        let three = Summary::of(&[3.0, 1.0, 2.0, f64::NAN]).unwrap();
        assert_eq!((three.n, three.p50, three.p95), (3, 2.0, 3.0));
    }

    #[test]
    fn numbers_keep_three_figures() {
        assert_eq!(fmt(1234.4), "1234");
        assert_eq!(fmt(12.345), "12.3");
        assert_eq!(fmt(1.2345), "1.23");
        assert_eq!(fmt(0.01234), "0.012");
    }
}
