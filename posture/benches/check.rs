//! Benchmark: one full posture check of this Linux machine (every probe, then `evaluate`), wall time,
//! with every command run afresh and with the package manager's answer kept between checks (as
//! `daypass-posture check` and the client service do).
//! Run: `cargo bench -p daypass-posture --bench check`

use daypass_posture::baseline::BaselineProblem;
use daypass_posture::evaluate::evaluate;
use daypass_posture::policy::Policy;
use daypass_posture::probes::collect;
use daypass_posture::system::{CachingSystem, RealSystem, System};
use std::time::{Duration, Instant};

const RUNS: usize = 20;

fn measure(name: &str, sys: &dyn System) {
    let policy = Policy::default();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t0 = Instant::now();
            let facts = collect(sys);
            let report = evaluate(&facts, &policy, &Err(BaselineProblem::Missing), sys.now());
            assert_eq!(report.results.len(), 6);
            t0.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name} ({RUNS} runs): median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(times[RUNS / 2]),
        ms(times[RUNS * 9 / 10]),
        ms(times[RUNS - 1])
    );
}

fn main() {
    measure("full check, every command afresh", &RealSystem);
    let cached = CachingSystem::new(RealSystem);
    collect(&cached); // the first check fills the cache
    measure("full check, package manager's answer kept", &cached);
}
