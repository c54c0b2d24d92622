//! Medians and the printed report.

/// The median of `values` (the mean of the middle two for an even count);
/// NaN for none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// A rate with thousands separators and no decimals: `49,812`.
pub fn rate(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A ratio to two decimals.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}")
}

/// A share as a percentage: `97%`.
pub fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

/// Prints `message` on stderr with the seconds since the first call, so a
/// long run shows where it is (and where its time goes).
pub fn progress(message: &str) {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(std::time::Instant::now);
    eprintln!("[{:6.1} s] {message}", started.elapsed().as_secs_f64());
}

/// The median ratio of `values` and, in brackets, the lowest and highest
/// (how much the rounds agreed): `0.37 (0.36..0.42)`.
pub fn ratio_with_spread(values: impl IntoIterator<Item = f64>) -> String {
    let values: Vec<f64> = values.into_iter().collect();
    let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{} ({}..{})",
        ratio(median(values)),
        ratio(lowest),
        ratio(highest)
    )
}

/// Set once by a smoke round (`harness::Run::Smoke`): its figures come from
/// a debug build and one short round, so they are never read as results.
static SMOKE_ROUND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks this run a smoke round: `target` stops comparing.
pub fn mark_smoke_round() {
    SMOKE_ROUND.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `target >= 0.50` beside a figure, or, in a smoke round, that its figures
/// are not compared with any target.
pub fn target(comparison: &str) -> String {
    if SMOKE_ROUND.load(std::sync::atomic::Ordering::Relaxed) {
        "smoke round, not compared with the target".to_string()
    } else {
        format!("target {comparison}")
    }
}
