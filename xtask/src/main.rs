//! Ward's developer tasks, run as `cargo xtask <task>` (the alias is in `.cargo/config.toml`).
//!
//! `cargo xtask test` is the README's test command: on a fresh machine it installs what the
//! tests need and is missing (Debian packages with `apt-get` when it may, the browser tests'
//! npm packages), starts the local PostgreSQL cluster if it is installed but down, then runs
//! every test of the workspace, then the Python package's (`crates/ward-py/test.sh`: the
//! wheel built and installed in a fresh venv, its pytest suite). Where it cannot install
//! something (no root, no `apt-get`) it says exactly what to install and stops. Those who
//! have everything can still run `cargo test --workspace` themselves; this only adds the
//! set-up in front.
//!
//! Only the standard library is used, so that this builds in seconds before anything else is
//! installed.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

const USAGE: &str = "\
cargo xtask: Ward's developer tasks

USAGE:
    cargo xtask test [ARGS...]   set up what the tests need, then cargo test --workspace [ARGS...]
                                 and, without ARGS, the Python package's tests (crates/ward-py/test.sh)
    cargo xtask setup [--check]  only the set-up (--check: say what is missing, install nothing)
";

fn main() -> ExitCode {
    let mut args = env::args_os().skip(1);
    let task = args.next().and_then(|a| a.into_string().ok());
    let rest: Vec<OsString> = args.collect();
    let outcome = match task.as_deref() {
        Some("test") => setup(Mode::Install).and_then(|()| test(&rest)),
        Some("setup") if rest.is_empty() => setup(Mode::Install),
        Some("setup") if rest == ["--check"] => setup(Mode::Check),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(Stop::Usage),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Usage) => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Err(Stop::Missing(message)) => {
            eprintln!("xtask: {message}");
            ExitCode::from(3)
        }
        Err(Stop::Failed(code)) => ExitCode::from(code),
    }
}

/// Why a task stopped.
#[derive(Debug)]
enum Stop {
    /// The command line names no task this knows.
    Usage,
    /// Something the tests need is missing and could not be installed; the message says
    /// what to do.
    Missing(String),
    /// A command this ran failed with this exit status.
    Failed(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Install what is missing where possible.
    Install,
    /// Only report it.
    Check,
}

/// Something the tests need from the system, and the Debian packages that provide it.
#[derive(Debug)]
struct Requirement {
    what: &'static str,
    present: fn() -> bool,
    packages: &'static [&'static str],
}

/// Everything the workspace's tests need from the system besides Rust itself.
const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        what: "pkg-config (finds FFmpeg's libraries for ward-core's build)",
        present: || program_exists("pkg-config"),
        packages: &["pkg-config"],
    },
    Requirement {
        what: "FFmpeg's libraries with their headers (video decoding)",
        present: || {
            quiet(
                "pkg-config",
                &[
                    "--exists",
                    "libavformat",
                    "libavcodec",
                    "libavutil",
                    "libswscale",
                ],
            )
        },
        packages: &[
            "libavcodec-dev",
            "libavformat-dev",
            "libavutil-dev",
            "libswscale-dev",
        ],
    },
    Requirement {
        what: "the ffmpeg and ffprobe programs (keyframe grids, the tests' generated videos)",
        present: || program_exists("ffmpeg") && program_exists("ffprobe"),
        packages: &["ffmpeg"],
    },
    Requirement {
        what: "Chromium with Arabic fonts (the portal's and analyst pages' browser tests)",
        present: || Path::new("/usr/bin/chromium").exists(),
        packages: &["chromium", "fonts-noto-core"],
    },
    Requirement {
        what: "Node.js and npm (they drive Chromium in the browser tests)",
        present: || program_exists("node") && program_exists("npm"),
        packages: &["nodejs", "npm"],
    },
    Requirement {
        what: "python3 with venv (the Python package's tests run in a fresh venv)",
        present: || quiet("python3", &["-c", "import venv, ensurepip"]),
        packages: &["python3", "python3-venv"],
    },
    Requirement {
        what: "a C++ compiler and FFmpeg's remaining libraries with their headers (the Python \
               tests build Meta's vpdq, which they compare with, from source)",
        present: || {
            program_exists("g++")
                && quiet(
                    "pkg-config",
                    &["--exists", "libavfilter", "libavdevice", "libswresample"],
                )
        },
        packages: &[
            "g++",
            "libavfilter-dev",
            "libavdevice-dev",
            "libswresample-dev",
        ],
    },
    Requirement {
        what: "psql (the tests make and drop PostgreSQL databases)",
        present: || program_exists("psql"),
        packages: &["postgresql-client"],
    },
];

/// The PostgreSQL server the storage tests run on.
const POSTGRES: &str = "127.0.0.1:5432";

fn setup(mode: Mode) -> Result<(), Stop> {
    let root = workspace_root();
    system_packages(mode)?;
    browser_packages(&root, mode)?;
    postgres(mode)?;
    Ok(())
}

/// Installs the Debian packages behind every missing requirement, in one `apt-get` call.
fn system_packages(mode: Mode) -> Result<(), Stop> {
    let missing: Vec<&Requirement> = REQUIREMENTS.iter().filter(|r| !(r.present)()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .flat_map(|r| r.packages.iter().copied())
        .collect();
    let list = missing
        .iter()
        .map(|r| format!("  - {}", r.what))
        .collect::<Vec<_>>();
    eprintln!(
        "xtask: the tests need, and this machine lacks:\n{}",
        list.join("\n")
    );
    let command = format!("apt-get install -y {}", packages.join(" "));
    if mode == Mode::Check {
        return Err(Stop::Missing(format!("install them with: {command}")));
    }
    if !program_exists("apt-get") {
        return Err(Stop::Missing(format!(
            "this is not a Debian-like system; install the equivalents of the Debian packages {} and run this again",
            packages.join(" ")
        )));
    }
    let sudo = if is_root() {
        false
    } else if quiet("sudo", &["-n", "true"]) {
        true
    } else {
        return Err(Stop::Missing(format!(
            "installing them needs root; run: sudo {command}\nthen run this again"
        )));
    };
    eprintln!("xtask: installing {}", packages.join(" "));
    let apt = |args: &[&str]| -> Result<(), Stop> {
        let mut command = if sudo {
            let mut command = Command::new("sudo");
            command.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            command
        } else {
            Command::new("apt-get")
        };
        run(command.args(args).env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(&packages);
    apt(&install)?;
    match REQUIREMENTS.iter().find(|r| !(r.present)()) {
        None => Ok(()),
        Some(still) => Err(Stop::Missing(format!(
            "apt-get installed {} but {} is still missing",
            packages.join(" "),
            still.what
        ))),
    }
}

/// Runs `npm ci` in `browser-tests/` unless its `node_modules` is there and as new as the
/// lock file.
fn browser_packages(root: &Path, mode: Mode) -> Result<(), Stop> {
    let dir = root.join("browser-tests");
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"));
    if matches!((installed, locked), (Some(i), Some(l)) if i >= l) {
        return Ok(());
    }
    if mode == Mode::Check {
        return Err(Stop::Missing(format!(
            "the browser tests' packages are not installed: run npm ci in {}",
            dir.display()
        )));
    }
    eprintln!(
        "xtask: npm ci in {} (playwright-core, axe-core)",
        dir.display()
    );
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir))
}

/// Makes sure PostgreSQL answers at [`POSTGRES`]: starts the installed cluster if it is
/// down and waits for it (at most a minute).
fn postgres(mode: Mode) -> Result<(), Stop> {
    if postgres_answers() {
        return Ok(());
    }
    let howto = "the storage tests need PostgreSQL at 127.0.0.1:5432 accepting user postgres \
                 without a password (trust) with a database named test";
    let clusters: Vec<String> = fs::read_dir("/etc/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    let Some(version) = clusters
        .iter()
        .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
    else {
        return Err(Stop::Missing(format!(
            "{howto}; none is installed (Debian: apt-get install postgresql, then set \
             trust for 127.0.0.1 in pg_hba.conf and createdb test)"
        )));
    };
    if mode == Mode::Check {
        return Err(Stop::Missing(format!(
            "{howto}; start it with: pg_ctlcluster --skip-systemctl-redirect {version} main start"
        )));
    }
    eprintln!("xtask: starting PostgreSQL {version}");
    // It may already be starting; whether this succeeds is judged by the wait below.
    let _ = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main", "start"])
        .status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if postgres_answers() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(500));
    }
    Err(Stop::Missing(format!(
        "{howto}; it did not start within a minute"
    )))
}

fn postgres_answers() -> bool {
    let address: SocketAddr = POSTGRES.parse().expect("a socket address");
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
}

/// Every test of the workspace, then (when no arguments narrow the run) the Python
/// package's. Without fail-fast, a failing test binary does not keep the others from
/// running, and failing Rust tests do not keep the Python ones from running.
fn test(args: &[OsString]) -> Result<(), Stop> {
    let root = workspace_root();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("xtask: cargo test --workspace --no-fail-fast");
    let rust = run(Command::new(cargo)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .current_dir(&root));
    if !args.is_empty() {
        return rust;
    }
    eprintln!("xtask: crates/ward-py/test.sh");
    let python = run(Command::new("bash")
        .arg(root.join("crates/ward-py/test.sh"))
        .current_dir(&root));
    rust.and(python)
}

fn workspace_root() -> PathBuf {
    let manifest = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| manifest.clone(), Path::to_path_buf)
}

fn run(command: &mut Command) -> Result<(), Stop> {
    let shown = format!("{command:?}");
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Stop::Failed(
            status.code().map_or(1, |c| c.clamp(1, 255) as u8),
        )),
        Err(error) => Err(Stop::Missing(format!("cannot run {shown}: {error}"))),
    }
}

/// Runs a command with no output and says whether it succeeded.
fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn program_exists(name: &str) -> bool {
    env::var_os("PATH").is_some_and(|path| {
        env::split_paths(&path).any(|dir| fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file()))
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_names_its_packages() {
        for requirement in REQUIREMENTS {
            assert!(!requirement.packages.is_empty(), "{}", requirement.what);
            assert!(!requirement.what.is_empty());
        }
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
        assert!(
            workspace_root()
                .join("browser-tests/package-lock.json")
                .exists()
        );
    }

    #[test]
    fn programs_are_found_on_the_path_and_absent_ones_are_not() {
        assert!(program_exists("sh"));
        assert!(!program_exists("ward-no-such-program"));
    }
}
