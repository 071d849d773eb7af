//! The engine knows no HTTP framework: only the HTTP layer (`src/api`, `src/server.rs`) and
//! the binary (`src/main.rs`) may name poem or poem-openapi; everything else is engine code
//! whose records `api::dto` mirrors on the wire.

use std::fs;
use std::path::{Path, PathBuf};

/// Files allowed to name the web framework, relative to the crate root.
const HTTP_LAYER: [&str; 3] = ["src/api/", "src/server.rs", "src/main.rs"];

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `path:line: text` for each line of an engine file that names poem.
fn framework_mentions(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for path in rust_files(&root.join("src")) {
        let relative = path
            .strip_prefix(root)
            .expect("under the crate root")
            .to_string_lossy()
            .replace('\\', "/");
        if HTTP_LAYER
            .iter()
            .any(|allowed| relative.starts_with(allowed))
        {
            continue;
        }
        let text = fs::read_to_string(&path).expect("source file is UTF-8");
        for (number, line) in text.lines().enumerate() {
            if line.contains("poem") {
                found.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn only_the_http_layer_names_the_web_framework() {
    let mentions = framework_mentions(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        mentions.is_empty(),
        "engine code names poem (wire types belong in src/api/dto, converted with From):\n{}",
        mentions.join("\n")
    );
}
