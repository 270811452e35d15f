//! Benchmark: one full posture check of this Linux machine (every probe, then `evaluate`), wall time.
//! Run: `cargo bench -p daypass-posture --bench check`

use daypass_posture::baseline::BaselineProblem;
use daypass_posture::evaluate::evaluate;
use daypass_posture::policy::Policy;
use daypass_posture::probes::collect;
use daypass_posture::system::{RealSystem, System};
use std::time::{Duration, Instant};

const RUNS: usize = 50;

fn main() {
    let policy = Policy::default();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            let facts = collect(&RealSystem);
            let report = evaluate(&facts, &policy, &Err(BaselineProblem::Missing), RealSystem.now());
            assert_eq!(report.results.len(), 6);
            t0.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "full posture check ({RUNS} runs): median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(times[RUNS / 2]),
        ms(times[RUNS * 9 / 10]),
        ms(times[RUNS - 1])
    );
}
