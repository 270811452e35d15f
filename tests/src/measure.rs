//! What the benchmarks measure and print: durations in milliseconds and their percentiles, one line
//! each, and a process's resident memory.

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

/// The resident memory of process `pid` ("self" for this one), in MiB; 0 when it cannot be read.
pub fn rss_mib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
