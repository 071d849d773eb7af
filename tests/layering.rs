//! The layering of `src/`, read from the code: the engine knows no HTTP framework (only the
//! HTTP layer, `src/api` and `src/server.rs`, and the binary, `src/main.rs`, may name poem or
//! poem-openapi; `api::dto` mirrors the engine's records on the wire); no module imports one
//! that imports it back, neither among the crate's top-level modules nor among the files of
//! one module; and the foundation (`model`, `text`, `ops`, `config`, `error`, `telemetry`)
//! imports nothing above it.

use std::collections::{BTreeMap, BTreeSet};
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

/// Modules below all others: they may use each other, nothing else of the crate.
const FOUNDATION: [&str; 6] = ["model", "text", "ops", "config", "error", "telemetry"];

/// A module's source without its test module (conventionally last, after `#[cfg(test)]`,
/// where `super` names the file itself) and without comment lines (doc links are not imports).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("source file is UTF-8");
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names following each `prefix` in `code` (`crate::api::` → `api`'s children named),
/// including every first name of a `prefix{a, b::c}` group.
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            names.extend(group.split(',').map(|part| word(part.trim())));
        } else {
            names.insert(word(rest));
        }
    }
    names.remove("");
    names
}

/// The child modules of the module whose directory is `dir`: each name with the files that
/// make it up (`name.rs`, and everything under `name/`).
fn child_modules(dir: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut children: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("module directory") {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            children.entry(name).or_default().extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && !["mod", "lib", "main"].contains(&name.as_str())
        {
            children.entry(name).or_default().push(path);
        }
    }
    children
}

/// Which siblings each child module of `dir` (the module `crate::{module_path}`) names.
fn sibling_imports(dir: &Path, module_path: &str) -> BTreeMap<String, BTreeSet<String>> {
    let children = child_modules(dir);
    let by_path = format!("crate::{module_path}");
    let mut edges = BTreeMap::new();
    for (name, files) in &children {
        let mut named = BTreeSet::new();
        for file in files {
            let code = code_of(file);
            named.extend(names_after(&code, &by_path));
            let own_file = file.parent() == Some(dir) || file.ends_with(format!("{name}/mod.rs"));
            if own_file {
                named.extend(names_after(&code, "super::"));
            }
        }
        named.retain(|other| other != name && children.contains_key(other));
        edges.insert(name.clone(), named);
    }
    edges
}

/// One cycle of `edges`, as the path `a -> b -> a`, if there is any.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// Every module directory under `src/` with its path from the crate root (`api::dto`).
fn module_directories(src: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![(src.to_path_buf(), String::new())];
    while let Some((dir, path)) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("module directory") {
            let child = entry.expect("directory entry").path();
            if child.is_dir() {
                let name = child.file_name().expect("a name").to_string_lossy();
                let child_path = if path.is_empty() {
                    name.into_owned()
                } else {
                    format!("{path}::{name}")
                };
                pending.push((child.clone(), child_path));
            }
        }
        found.push((dir, path));
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut cycles = Vec::new();
    for (dir, path) in module_directories(&src) {
        let edges = if path.is_empty() {
            // Top level: a module names another only as `crate::other`.
            let mut edges = sibling_imports(&dir, "");
            for (name, files) in child_modules(&dir) {
                let named = edges.entry(name.clone()).or_default();
                named.clear();
                for file in files {
                    named.extend(names_after(&code_of(&file), "crate::"));
                }
                named.remove(&name);
            }
            let modules: BTreeSet<String> = edges.keys().cloned().collect();
            for named in edges.values_mut() {
                named.retain(|other| modules.contains(other));
            }
            edges
        } else {
            sibling_imports(&dir, &path)
        };
        if let Some(cycle) = find_cycle(&edges) {
            let scope = if path.is_empty() { "crate" } else { &path };
            cycles.push(format!("in {scope}: {}", cycle.join(" -> ")));
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles (move the shared piece below both):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_foundation_imports_nothing_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut upward = Vec::new();
    for (name, files) in child_modules(&src) {
        if !FOUNDATION.contains(&name.as_str()) {
            continue;
        }
        for file in files {
            for other in names_after(&code_of(&file), "crate::") {
                if other != name && !FOUNDATION.contains(&other.as_str()) {
                    upward.push(format!("{}: crate::{other}", file.display()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "the foundation imports upward:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_import_reader_sees_cycles_and_groups() {
    let code =
        "use super::{alpha, beta::Gamma};\nuse crate::delta::Epsilon;\nfn f() { super::zeta::g() }";
    assert_eq!(
        names_after(code, "super::"),
        BTreeSet::from(["alpha".into(), "beta".into(), "zeta".into()])
    );
    assert_eq!(
        names_after(code, "crate::"),
        BTreeSet::from(["delta".into()])
    );
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = edges;
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
}
