//! The fuzz targets' checks (`tests/fuzz/checks.rs`) as an ordinary test: every seed in
//! `tests/fuzz/seeds/<target>/` and every input a fuzzing run once crashed on, saved in
//! `tests/fuzz/regressions/<target>/` by `tests/fuzz/run.sh`, goes through them again. So a
//! crash found by fuzzing stays fixed, and CI exercises the targets without libFuzzer.

#[path = "fuzz/checks.rs"]
mod checks;
#[path = "common/counts.rs"]
mod counts;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz");
    let mut files = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() && !path.file_name().unwrap().to_string_lossy().starts_with('.') {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `check` on every saved input of `target`; names the files that fail.
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no seeds for {target}");
    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target} fails on {failed:#?}");
    counts::report(&format!(
        "模糊测试回归：{target} 的 {} 个输入全部通过",
        files.len()
    ));
}

#[test]
fn front_matter_and_markdown_inputs_still_pass() {
    replay("front_matter_markdown", checks::front_matter_markdown);
}

#[test]
fn form_body_inputs_still_pass() {
    replay("form_body", checks::form_body);
}

#[test]
fn spreadsheet_import_inputs_still_pass() {
    replay("spreadsheet_import", checks::spreadsheet_import);
}
