//! What the CLI tests that walk the analyst's pages in real Chromium share: the browser
//! tests' packages, where screenshots go, and running a walk script with node.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::testdata;

/// The `browser-tests/` folder, once its packages are installed.
pub fn scripts() -> PathBuf {
    let scripts = testdata().join("../browser-tests");
    assert!(
        scripts.join("node_modules/playwright-core").is_dir()
            && scripts.join("node_modules/axe-core").is_dir(),
        "run `npm ci` in {} first (playwright-core, axe-core; Chromium is Debian's)",
        scripts.display()
    );
    scripts
}

/// Where a walk's screenshots go: `WARD_BROWSER_ARTEFACTS/NAME`, or `browser-NAME` in the
/// target folder's scratch space.
pub fn artefacts(name: &str) -> PathBuf {
    std::env::var_os("WARD_BROWSER_ARTEFACTS")
        .map(|p| PathBuf::from(p).join(name))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{name}"))
        })
}

/// Runs `browser-tests/SCRIPT BASE ARTEFACTS` with `env`, shows what it printed, and
/// asserts that it passed; returns its standard output.
pub fn walk(
    script: &str,
    base: &str,
    artefacts: &Path,
    env: &[(&str, &dyn AsRef<OsStr>)],
) -> String {
    let mut command = Command::new("node");
    command
        .arg(scripts().join(script))
        .arg(base)
        .arg(artefacts)
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .expect("cannot run node (install Debian's nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "the browser walk failed:\n{stdout}\n{stderr}"
    );
    stdout
}
