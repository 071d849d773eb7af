//! How a peer process ended, said plainly: its exit code, or the signal that killed it (also
//! when a shell in between reports it as `128 + N`), with what it wrote to stderr.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};

/// `exit code 1`, or `killed by signal 11 (SIGSEGV)` for a process (or a shell's child) that
/// died of a signal.
pub fn describe(status: ExitStatus) -> String {
    let signal = status.signal().or_else(|| {
        status
            .code()
            .filter(|code| (129..160).contains(code))
            .map(|code| code - 128)
    });
    match (signal, status.code()) {
        (Some(signal), _) => format!("killed by signal {signal} ({})", signal_name(signal)),
        (None, Some(code)) => format!("exit code {code}"),
        (None, None) => status.to_string(),
    }
}

/// Panics with `what`, how it ended and its stderr unless `output` is a success.
pub fn assert_succeeded(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n--- stderr ---\n{}",
        describe(output.status),
        String::from_utf8_lossy(&output.stderr).trim_end()
    );
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal",
    }
}
