//! Every parser of what a probe reads from the machine (command output and files the contractor
//! controls) gets arbitrary bytes: it must answer or refuse, never panic or hang.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    daypass_posture::probes::exercise_parsers(&String::from_utf8_lossy(data));
});
