//! Embeds the form definitions in `content/forms/` so each Lambda binary carries them.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/forms");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries = Vec::new();
    if let Ok(read) = std::fs::read_dir(&dir) {
        for entry in read.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                println!("cargo:rerun-if-changed={}", path.display());
                entries.push(path);
            }
        }
    }
    entries.sort();
    let mut code = String::from("/// Form definitions compiled in: (file name, text).\nconst EMBEDDED: &[(&str, &str)] = &[\n");
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let full = path.canonicalize().unwrap();
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            full.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_forms.rs");
    std::fs::write(out, code).unwrap();
}
