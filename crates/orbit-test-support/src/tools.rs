//! Tests that need a tool from outside the Rust toolchain (a tracking SDK in Python, a
//! browser…). On a developer's machine without the tool such a test skips, and says so;
//! in CI it fails, because a test that CI skips without a word protects nothing.

use std::ffi::OsStr;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// What becomes of a test whose tool may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Run,
    Skip,
    Fail,
}

/// `ci` is the value of the `CI` environment variable: set and non-empty means CI.
fn verdict(available: bool, ci: Option<&OsStr>) -> Verdict {
    let in_ci = ci.is_some_and(|value| !value.is_empty());
    match (available, in_ci) {
        (true, _) => Verdict::Run,
        (false, true) => Verdict::Fail,
        (false, false) => Verdict::Skip,
    }
}

/// Whether the calling test may go on with `tool`: `true` when `probe` runs and exits
/// successfully. Otherwise the test skips: this prints
/// `skipped: <test>: <tool> is not available (<install>)` and answers `false`, and the
/// caller returns at once.
///
/// ```no_run
/// # use std::process::Command;
/// let mut probe = Command::new("python3");
/// probe.args(["-c", "import segment.analytics"]);
/// if !orbit_test_support::require_tool(
///     "segment-analytics-python",
///     &mut probe,
///     "pip install segment-analytics-python",
/// ) {
///     return;
/// }
/// ```
///
/// The skip line goes straight to the process's standard error, past the test
/// harness's output capture, so that `cargo test` shows it although the test passes.
///
/// # Panics
/// When the tool is missing and the environment variable `CI` is set to a non-empty
/// value: CI provides every tool its tests use, so a missing one is a failure.
pub fn require_tool(tool: &str, probe: &mut Command, install: &str) -> bool {
    let available = succeeds(probe);
    let ci = std::env::var_os("CI");
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    match verdict(available, ci.as_deref()) {
        Verdict::Run => true,
        Verdict::Fail => panic!("{test}: {tool} is not available, and CI must provide it ({install})"),
        Verdict::Skip => {
            // `eprintln!` would be captured along with the test's other output and shown
            // only if it failed; a skip must be seen when it passes.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {test}: {tool} is not available ({install}); with CI set, this fails"
            );
            false
        }
    }
}

/// Whether `probe` starts and exits with success; its output is not wanted.
fn succeeds(probe: &mut Command) -> bool {
    probe
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_available_tool_runs_everywhere() {
        assert_eq!(verdict(true, None), Verdict::Run);
        assert_eq!(verdict(true, Some(OsStr::new("1"))), Verdict::Run);
    }

    #[test]
    fn a_missing_tool_fails_in_ci_and_skips_elsewhere() {
        assert_eq!(verdict(false, Some(OsStr::new("true"))), Verdict::Fail);
        assert_eq!(verdict(false, Some(OsStr::new("1"))), Verdict::Fail);
        assert_eq!(verdict(false, None), Verdict::Skip);
        assert_eq!(
            verdict(false, Some(OsStr::new(""))),
            Verdict::Skip,
            "empty is unset"
        );
    }

    #[test]
    fn a_probe_that_cannot_start_or_fails_means_the_tool_is_missing() {
        assert!(!succeeds(&mut Command::new("orbit-test-support-no-such-tool")));
        let mut failing = Command::new(env!("CARGO"));
        failing.arg("--no-such-option");
        assert!(!succeeds(&mut failing));
    }

    #[test]
    fn a_probe_that_succeeds_lets_the_test_run() {
        // Cargo builds and runs this test, so it is there.
        let mut probe = Command::new(env!("CARGO"));
        probe.arg("--version");
        assert!(require_tool("cargo", &mut probe, "rustup"));
    }
}
