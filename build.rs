//! Embeds an rpath to libtorch's shared libraries so the binary runs without LD_LIBRARY_PATH.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB_DIR");
    // The justfile sets this to the clone's own venv: a clone elsewhere that shares the
    // cargo target dir must embed its own path, not the one a previous clone left.
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    let dir = std::env::var("LIBTORCH_LIB_DIR")
        .ok()
        .or_else(torch_lib_from_python);
    if let Some(dir) = dir {
        // A deleted venv (an old clone) reruns this script instead of leaving a dead rpath.
        println!("cargo:rerun-if-changed={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

/// `<site-packages>/torch/lib` of the `python3` on PATH (the setup venv, via the justfile).
fn torch_lib_from_python() -> Option<String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
        ])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|dir| !dir.is_empty())
}
