//! Files from disk: finding the ones with a known format, and the documents each holds.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::parse::{Format, ParsedDocument};
use crate::error::{AppError, AppResult};
use crate::model::DocumentInput;

/// Every file under `paths` with a known format, sorted. Directories are walked recursively
/// and symbolic links are followed, to files and to directories alike, so a corpus may link in
/// folders kept elsewhere. A link to a directory the walk is already inside (a cycle) is
/// skipped with a warning: the files under it are collected through that directory. A path
/// that cannot be read, or a dangling link, is an error.
pub fn collect_files(paths: &[PathBuf]) -> AppResult<Vec<PathBuf>> {
    let mut files = Vec::new();
    for root in paths {
        for entry in WalkDir::new(root).follow_links(true) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => match err.loop_ancestor() {
                    Some(ancestor) => {
                        tracing::warn!(
                            link = %err.path().unwrap_or(root).display(),
                            target = %ancestor.display(),
                            "skipping a symbolic link back to a directory already being walked"
                        );
                        continue;
                    }
                    None => return Err(unreadable(root, &err)),
                },
            };
            if entry.file_type().is_file() && Format::from_path(entry.path()).is_some() {
                files.push(entry.into_path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The `invalid_path` error for a walk that failed, naming the path it failed on.
fn unreadable(root: &Path, err: &walkdir::Error) -> AppError {
    let path = err.path().unwrap_or(root).display();
    match err.io_error() {
        Some(io) => AppError::invalid("invalid_path", format!("{path}: {io}")),
        None => AppError::invalid("invalid_path", format!("{path}: {err}")),
    }
}

/// The documents parsed from the file at `origin` (a path on disk, or an uploaded file's
/// name): each one's external id is the file's path (plus the record's own id or index for
/// multi-document files), so storing a changed file again replaces it; its title falls back
/// to the file's stem.
pub fn document_inputs(origin: &Path, documents: Vec<ParsedDocument>) -> Vec<DocumentInput> {
    let path = origin.display().to_string();
    let many = documents.len() > 1;
    documents
        .into_iter()
        .enumerate()
        .map(|(index, parsed)| {
            let external_id = match (&parsed.external_id, many) {
                (Some(id), _) => id.clone(),
                (None, true) => format!("{path}#{}", index + 1),
                (None, false) => path.clone(),
            };
            let title = parsed.title.or_else(|| {
                origin
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
            });
            DocumentInput {
                external_id: Some(external_id),
                title,
                source: Some(path.clone()),
                metadata: parsed.metadata.into_iter().collect(),
                text: parsed.text,
            }
        })
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Runs [`collect_files`] on another thread and fails if it has not finished in 30 s, so
    /// a walk that never ends fails the test instead of hanging it.
    fn collect_within_deadline(paths: Vec<PathBuf>) -> AppResult<Vec<PathBuf>> {
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || sender.send(collect_files(&paths)));
        receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("collect_files did not finish within 30 s")
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        std::fs::write(path, text).expect("write file");
    }

    #[test]
    fn a_symlink_cycle_ends_with_each_file_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let corpus = dir.path().join("corpus");
        write(
            &corpus.join("rf.txt"),
            "1 § All offentlig makt i Sverige utgår från folket.",
        );
        write(
            &corpus.join("kap2/tf.md"),
            "# Tryckfrihetsförordningen\n\nVarje svensk medborgare har rätt att ge ut skrifter.",
        );
        write(&corpus.join("kap2/notes.bin"), "not a document");
        symlink(&corpus, corpus.join("kap2/back-to-corpus")).expect("symlink");
        symlink(corpus.join("kap2"), corpus.join("kap2/itself")).expect("symlink");

        let files = collect_within_deadline(vec![corpus.clone()]).expect("collect");
        assert_eq!(
            files,
            vec![corpus.join("kap2/tf.md"), corpus.join("rf.txt")]
        );
    }

    #[test]
    fn symlinked_directories_and_files_are_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let elsewhere = dir.path().join("elsewhere");
        write(
            &elsewhere.join("ydi.html"),
            "<html><title>Yttrandefrihetsgrundlag</title></html>",
        );
        let corpus = dir.path().join("corpus");
        write(
            &corpus.join("rf.txt"),
            "Riksdagen är folkets främsta företrädare.",
        );
        symlink(&elsewhere, corpus.join("linked")).expect("symlink");
        symlink(corpus.join("rf.txt"), dir.path().join("rf-link.txt")).expect("symlink");

        let roots = vec![corpus.clone(), dir.path().join("rf-link.txt")];
        let files = collect_within_deadline(roots).expect("collect");
        assert_eq!(
            files,
            vec![
                corpus.join("linked/ydi.html"),
                corpus.join("rf.txt"),
                dir.path().join("rf-link.txt"),
            ]
        );
    }

    #[test]
    fn a_missing_path_or_dangling_link_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        let err = collect_within_deadline(vec![missing.clone()]).expect_err("missing path");
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );

        let corpus = dir.path().join("corpus");
        write(&corpus.join("rf.txt"), "Riksdagen stiftar lag.");
        symlink(dir.path().join("gone"), corpus.join("dangling.txt")).expect("symlink");
        let err = collect_within_deadline(vec![corpus.clone()]).expect_err("dangling link");
        let dangling = corpus.join("dangling.txt");
        assert!(
            err.to_string().contains(&*dangling.to_string_lossy()),
            "{err}"
        );
    }
}
