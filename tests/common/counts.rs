//! What a robustness test counted (requests, pages, states, inputs), printed and, when
//! `BEIAN_TEST_COUNTS` names a file, appended to it: `tests/run.sh` shows that file after the
//! tests, since cargo test hides the output of tests that pass.

/// Prints `line` and appends it to the file `BEIAN_TEST_COUNTS` names, if any.
pub fn report(line: &str) {
    use std::io::Write;
    println!("{line}");
    if let Some(path) = std::env::var_os("BEIAN_TEST_COUNTS") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}
