//! What the benchmarks print: durations in milliseconds and their percentiles, one line each.

use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Prints p50, p99 and the worst of `times` (at least one).
pub fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let n = times.len();
    println!(
        "{name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({n} runs)",
        ms(times[n / 2]),
        ms(times[(n * 99 / 100).min(n - 1)]),
        ms(times[n - 1])
    );
}
