//! The `ward` binary's integration tests: the real binary run on golden and hostile files.

mod analyst;
mod bad_input;
mod bounds;
mod browser;
mod console;
mod console_banks;
mod console_exchanges;
mod console_people;
mod durable;
mod exchange;
mod exchanges;
mod forwarding;
mod hash;
mod matching;
mod pdq_js;
mod png_writer;
mod portal;
mod referral;
mod scan;
mod self_report;
mod selfhash;
mod serve;
mod snapshot;
mod transparency;
mod usage;
mod video;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running `ward serve` (from [`start_serve`]), killed when dropped.
#[derive(Debug)]
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ward serve` on a free loopback port with `args`, and waits (60 s at most) until it
/// says where it listens; returns the process and its `address:port`. Its other lines on
/// standard error are passed on, so that a failing test shows them.
pub fn start_serve<S: AsRef<OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start ward serve");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            match line.strip_prefix("ward: serving on http://") {
                Some(rest) if sender.is_some() => {
                    let address = rest.split_whitespace().next().unwrap_or_default();
                    let _ = sender.take().unwrap().send(address.to_owned());
                }
                _ => eprintln!("ward serve: {line}"),
            }
        }
    });
    let address = receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("ward serve did not start within 60 s");
    (child, address)
}

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// A file named as `goldens.csv` names it (relative to the repository's root).
pub fn repo_file(path: &str) -> PathBuf {
    testdata().join("..").join(path)
}

/// What a run of `ward` printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `jsonl` records.
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

/// Runs `ward` with `args` and no standard input.
pub fn ward<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    ward_with_stdin(args, None)
}

/// `ward COMMAND --data-dir DIR ARGS...`: a subcommand on the store in `dir` (the store
/// options belong to the subcommand).
pub fn ward_in(dir: &Path, args: &[&str]) -> Run {
    let (command, rest) = args.split_first().expect("a subcommand");
    let mut all = vec![
        command.to_string(),
        "--data-dir".into(),
        dir.display().to_string(),
    ];
    all.extend(rest.iter().map(|a| a.to_string()));
    ward(all)
}

/// Runs `ward` with `args`, feeding it `stdin` (none at all when `None`). Fails the test if
/// the binary panicked, whatever the outcome.
pub fn ward_with_stdin<S: AsRef<OsStr>>(
    args: impl IntoIterator<Item = S>,
    stdin: Option<&[u8]>,
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward"));
    command.args(args);
    finish(command, stdin)
}

/// Runs `ward` with `args` and the environment variables `env` added.
pub fn ward_with_env<S: AsRef<OsStr>>(
    args: impl IntoIterator<Item = S>,
    env: &[(&str, &OsStr)],
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward"));
    command.args(args).envs(env.iter().copied());
    finish(command, None)
}

/// Runs `command` (a `ward`) to its end, as [`ward_with_stdin`] describes.
fn finish(mut command: Command, stdin: Option<&[u8]>) -> Run {
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start ward");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(bytes).expect("cannot feed ward's stdin");
    }
    let output = child.wait_with_output().expect("cannot wait for ward");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "ward panicked: {}",
        run.stderr
    );
    assert!(run.code.is_some(), "ward was killed by a signal: {run:?}");
    run
}

/// `ward admin --data-dir DIR ARGS...`, with `stdin` when given.
pub fn ward_admin(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut all = vec!["admin", "--data-dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    ward_with_stdin(all, stdin)
}

/// One row of `testdata/pdq/goldens.csv`: what Meta's reference gives for an image.
#[derive(Clone, Debug)]
pub struct Golden {
    pub pdq: String,
    pub quality: u64,
    pub dihedral: Vec<String>,
}

/// The goldens by path (relative to the repository's root, as the file writes them).
pub fn goldens() -> HashMap<String, Golden> {
    let path = testdata().join("pdq/goldens.csv");
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|row| {
            let row = row.expect("goldens.csv is valid CSV");
            let golden = Golden {
                pdq: row[1].to_owned(),
                quality: row[2].parse().expect("quality is a number"),
                dihedral: row[3].split(' ').map(str::to_owned).collect(),
            };
            (row[0].to_owned(), golden)
        })
        .collect()
}

/// The golden of one image.
pub fn golden(path: &str) -> Golden {
    goldens()
        .remove(path)
        .unwrap_or_else(|| panic!("{path} is not in goldens.csv"))
}

/// The text `ward` prints for a path it was given.
pub fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
