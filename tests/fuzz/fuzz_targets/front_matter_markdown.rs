//! cargo fuzz target `front_matter_markdown`: see `tests/fuzz/checks.rs` for what it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::front_matter_markdown(data));
