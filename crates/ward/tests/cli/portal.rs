//! The reporting portal in a real browser: a `ward serve` on a loopback port, and
//! `browser-tests/portal.mjs` driving Debian's headless Chromium through it (reports filed
//! with JavaScript off and on, in English and Arabic, looked up by reference; then every kind
//! of page at 375x812 and 1280 wide: no sideways scrolling, the country and its support
//! services named, titles without repeats, the quick exit in the window and tapped after
//! scrolling to the address box; axe-core's WCAG 2 A/AA and best-practice rules on every
//! page, a screenshot of each kept under the target directory).
//!
//! Needs `chromium` (Debian) and `npm ci` in `browser-tests/`; `.ci/run` installs both. A
//! machine without them fails here, saying so, rather than passing without a browser.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The browser run's bound: it takes about half a minute here.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// A `ward serve` on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let data = tempfile::tempdir().unwrap();
        let (child, address) =
            crate::start_serve([std::ffi::OsStr::new("--data-dir"), data.path().as_os_str()]);
        Server {
            child,
            base: format!("http://{address}"),
            _data: data,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn reports_are_filed_and_looked_up_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "the browser tests need Debian's chromium: apt-get install chromium"
    );
    let scripts = crate::browser::scripts();
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artefacts/portal");
    let _ = std::fs::remove_dir_all(&artefacts);
    std::fs::create_dir_all(&artefacts).unwrap();
    let log_path = artefacts.join("browser.log");
    let log = std::fs::File::create(&log_path).unwrap();

    let server = Server::start();
    let mut node = Command::new("node")
        .arg(scripts.join("portal.mjs"))
        .arg(&server.base)
        .arg(&artefacts)
        .current_dir(&scripts)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("the browser tests need node (Debian's nodejs)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = node.kill();
            let _ = node.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(server);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    // Chromium's own chatter (its process id first) is left in the log file only.
    for line in output.lines().filter(|line| !line.starts_with("[pid=")) {
        eprintln!("{line}");
    }
    eprintln!("screenshots and the browser's log: {}", artefacts.display());
    let status = status.unwrap_or_else(|| panic!("the browser run took over {BROWSER_TIMEOUT:?}"));
    assert!(status.success(), "the browser run failed: {status}");
    let screenshots = std::fs::read_dir(&artefacts)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    // Five pages for each of English and Arabic with JavaScript off and on, and two more;
    // fifteen pages at each of two sizes; and the seven forms scrolled on the phone.
    assert_eq!(
        screenshots,
        22 + 30 + 7,
        "screenshots in {}",
        artefacts.display()
    );
    assert!(
        output.contains("browser: 52 pages checked with axe-core (WCAG 2 A/AA and best practices"),
        "{output}"
    );
    for form in [
        "international",
        "form-gb",
        "form-us",
        "form-us-es",
        "form-ma-ar",
        "form-ma-fr",
        "form-eg-ar",
    ] {
        for size in ["375x812", "1280x860"] {
            assert!(
                output.contains(&format!(
                    "exit in reach: {form} at {size}, after scrolling "
                )),
                "{form} at {size}"
            );
        }
    }
    for visit in [
        "en, JavaScript off",
        "en, JavaScript on",
        "ar, JavaScript off",
        "ar, JavaScript on",
    ] {
        assert!(
            output.contains(&format!("report filed and looked up: {visit}, R-")),
            "{visit}"
        );
    }
}
