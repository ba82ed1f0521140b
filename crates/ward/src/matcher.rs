//! Matching against hash lists: here are list files, give me an index of their entries; here
//! are a file's signals (or a hash), give me the entries they match.
//!
//! Every entry of every list gets an id, its position in one array of entry metadata (list,
//! signal, label, id); PDQ entries go into one [`PdqIndex`] and digests into one exact set per
//! type, all keyed by that id. Lists are read as streams, so only their entries are held.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use ward_core::digest::{Md5, Sha1, Sha256};
use ward_core::index::PdqIndex;
use ward_core::index::digests::{Md5Set, Sha1Set, Sha256Set};
use ward_core::lists::{Hex64, ListError, ListReader, Signal};
use ward_core::pdq::{PdqHash, Quality};

use crate::hashing::{Signals, describe_io};

/// The hash lists of one command, indexed for matching.
#[derive(Debug)]
pub struct Matcher {
    lists: Vec<LoadedList>,
    entries: Vec<Entry>,
    pdq: PdqIndex,
    md5: Md5Set,
    sha1: Sha1Set,
    sha256: Sha256Set,
}

/// A list file and what came of reading it.
#[derive(Debug)]
pub struct LoadedList {
    /// The path as given, for messages and output.
    pub name: String,
    pub entries: u64,
    pub malformed: u64,
}

/// One entry of a list.
#[derive(Debug)]
pub struct Entry {
    /// Which of the matcher's lists it is from.
    list: u32,
    pub signal: Signal,
    pub label: Option<Box<str>>,
    pub id: Option<Box<str>>,
}

/// A query signal and a list entry it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The signal that matched, as the query gave it (a file's PDQ hash or one of its
    /// digests, or a hash in text read as PDQ or as SHA-256).
    pub query: Signal,
    /// The entry, for [`Matcher::entry`].
    pub entry: u64,
    /// Hamming distance for PDQ, 0 for the exact digests.
    pub distance: u32,
}

/// The matches of one file.
#[derive(Debug, Default)]
pub struct FileHits {
    /// Nearest first; entries in list order at equal distance.
    pub hits: Vec<Hit>,
    /// The file's PDQ hash was below the minimum quality and was not matched.
    pub low_quality: bool,
}

impl Matcher {
    /// Reads every list in `paths` (64-digit hashes with no declared type being what `hex64`
    /// says) and indexes their entries. Each malformed line is passed to `malformed` with its
    /// list, whose counts include it, and skipped; a list that cannot be opened or read is
    /// an error.
    pub fn load(
        paths: &[PathBuf],
        hex64: Hex64,
        mut malformed: impl FnMut(&LoadedList, &ListError),
    ) -> Result<Matcher> {
        let mut lists = Vec::with_capacity(paths.len());
        let mut loaded = Loaded::default();
        for (index, path) in paths.iter().enumerate() {
            let mut list = LoadedList {
                name: path.to_string_lossy().into_owned(),
                entries: 0,
                malformed: 0,
            };
            let index = u32::try_from(index).context("too many lists")?;
            read_list(path, hex64, index, &mut list, &mut loaded, &mut malformed)
                .with_context(|| format!("cannot read list {}", list.name))?;
            lists.push(list);
        }
        Ok(Matcher {
            lists,
            entries: loaded.entries,
            pdq: PdqIndex::build(loaded.pdq),
            md5: Md5Set::build(loaded.md5),
            sha1: Sha1Set::build(loaded.sha1),
            sha256: Sha256Set::build(loaded.sha256),
        })
    }

    /// The lists, in the order given.
    pub fn lists(&self) -> &[LoadedList] {
        &self.lists
    }

    /// The entry a hit names.
    pub fn entry(&self, id: u64) -> &Entry {
        &self.entries[usize::try_from(id).expect("ids are positions")]
    }

    /// The name of the list an entry is from.
    pub fn list_name(&self, entry: &Entry) -> &str {
        &self.lists[entry.list as usize].name
    }

    /// Matches a hash given as text (a command-line query or a line of a queries file),
    /// nearest first. Text of 64 hex digits may be a PDQ hash or a SHA-256, and nothing in
    /// it says which, so it is looked up as both: PDQ entries within `distance`, SHA-256
    /// entries exactly.
    pub fn match_text(&self, query: Signal, distance: u32) -> Vec<Hit> {
        let mut hits = Vec::new();
        match query {
            Signal::Pdq(hash) => {
                self.match_signal(query, distance, &mut hits);
                let as_sha256 = Signal::Sha256(Sha256::from_bytes(hash.to_bytes()));
                self.match_signal(as_sha256, distance, &mut hits);
            }
            Signal::Sha256(digest) => {
                let as_pdq = Signal::Pdq(PdqHash::from_bytes(*digest.as_bytes()));
                self.match_signal(as_pdq, distance, &mut hits);
                self.match_signal(query, distance, &mut hits);
            }
            Signal::Md5(_) | Signal::Sha1(_) => self.match_signal(query, distance, &mut hits),
        }
        sort(&mut hits);
        hits
    }

    /// Matches the signals of a file: its PDQ hash within `distance` when its quality is at
    /// least `min_quality`, and its MD5, SHA-1 and SHA-256 exactly.
    pub fn match_file(&self, signals: &Signals, distance: u32, min_quality: Quality) -> FileHits {
        let mut hits = Vec::new();
        let low_quality = signals.quality < min_quality;
        if !low_quality {
            self.match_signal(Signal::Pdq(signals.pdq), distance, &mut hits);
        }
        let digests = &signals.digests;
        self.match_signal(Signal::Md5(digests.md5), distance, &mut hits);
        self.match_signal(Signal::Sha1(digests.sha1), distance, &mut hits);
        self.match_signal(Signal::Sha256(digests.sha256), distance, &mut hits);
        sort(&mut hits);
        FileHits { hits, low_quality }
    }

    /// Appends the entries `query` matches: PDQ within `distance`, digests when equal.
    fn match_signal(&self, query: Signal, distance: u32, hits: &mut Vec<Hit>) {
        let mut ids = Vec::new();
        match &query {
            Signal::Pdq(hash) => {
                let mut found = Vec::new();
                self.pdq.search_radius(hash, distance, &mut found);
                hits.extend(found.iter().map(|found| Hit {
                    query,
                    entry: found.id,
                    distance: found.distance,
                }));
                return;
            }
            Signal::Md5(digest) => self.md5.lookup(digest, &mut ids),
            Signal::Sha1(digest) => self.sha1.lookup(digest, &mut ids),
            Signal::Sha256(digest) => self.sha256.lookup(digest, &mut ids),
        }
        hits.extend(ids.into_iter().map(|entry| Hit {
            query,
            entry,
            distance: 0,
        }));
    }
}

/// Nearest first, then in list order (ids are given in list order, then line order).
fn sort(hits: &mut [Hit]) {
    hits.sort_by_key(|hit| (hit.distance, hit.entry));
}

/// The entries of the lists read so far, and their signals by type with their ids.
#[derive(Default)]
struct Loaded {
    entries: Vec<Entry>,
    pdq: Vec<(PdqHash, u64)>,
    md5: Vec<(Md5, u64)>,
    sha1: Vec<(Sha1, u64)>,
    sha256: Vec<(Sha256, u64)>,
}

fn read_list(
    path: &Path,
    hex64: Hex64,
    index: u32,
    list: &mut LoadedList,
    loaded: &mut Loaded,
    malformed: &mut impl FnMut(&LoadedList, &ListError),
) -> Result<()> {
    let file = File::open(path).map_err(|e| anyhow!(describe_io(&e)))?;
    for item in ListReader::new(BufReader::with_capacity(1 << 16, file), hex64) {
        match item {
            Ok(entry) => {
                list.entries += 1;
                let id = loaded.entries.len() as u64;
                match entry.signal {
                    Signal::Pdq(hash) => loaded.pdq.push((hash, id)),
                    Signal::Md5(digest) => loaded.md5.push((digest, id)),
                    Signal::Sha1(digest) => loaded.sha1.push((digest, id)),
                    Signal::Sha256(digest) => loaded.sha256.push((digest, id)),
                }
                loaded.entries.push(Entry {
                    list: index,
                    signal: entry.signal,
                    label: entry.label.map(String::into_boxed_str),
                    id: entry.id.map(String::into_boxed_str),
                });
            }
            Err(error @ ListError::Malformed { .. }) => {
                list.malformed += 1;
                malformed(list, &error);
            }
            Err(error) => return Err(anyhow!(error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ward_core::digest::FileDigests;

    use super::*;

    const PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    /// `PDQ` with its last `n` bits flipped.
    fn near(n: u32) -> PdqHash {
        let hash: PdqHash = PDQ.parse().unwrap();
        let mut words = hash.words();
        words[0] ^= (1u64 << n) - 1;
        PdqHash::from_words(words)
    }

    fn load(lists: &[&str]) -> Matcher {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = lists
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("list{i}"));
                fs::write(&path, text).unwrap();
                path
            })
            .collect();
        let mut errors = Vec::new();
        let matcher = Matcher::load(&paths, Hex64::Pdq, |list, error| {
            errors.push(format!(
                "{} {} {error}",
                list.name.rsplit('/').next().unwrap(),
                list.malformed
            ));
        })
        .unwrap();
        assert_eq!(errors, Vec::<String>::new());
        matcher
    }

    /// Each hit as `list:signal_type:distance:label`.
    fn describe(matcher: &Matcher, hits: &[Hit]) -> Vec<String> {
        hits.iter()
            .map(|hit| {
                let entry = matcher.entry(hit.entry);
                assert_eq!(hit.query.signal_type(), entry.signal.signal_type());
                format!(
                    "{}:{}:{}:{}",
                    matcher.list_name(entry).rsplit('/').next().unwrap(),
                    entry.signal.signal_type(),
                    hit.distance,
                    entry.label.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    fn check_text(lists: &[&str], query: Signal, distance: u32, expected: &[&str]) {
        let matcher = load(lists);
        assert_eq!(
            describe(&matcher, &matcher.match_text(query, distance)),
            expected
        );
    }

    #[test]
    fn text_queries() {
        let pdq = Signal::Pdq(PDQ.parse().unwrap());
        let far = format!("{}\n", near(40));
        let close = format!("signal,label\n{},close\n{},closer\n", near(5), near(2));
        check_text(&[], pdq, 31, &[]);
        check_text(&[&far], pdq, 31, &[]);
        check_text(&[&far], pdq, 40, &["list0:pdq:40:-"]);
        check_text(
            &[&far, &close],
            pdq,
            31,
            &["list1:pdq:2:closer", "list1:pdq:5:close"],
        );
        check_text(
            &[&close, &close],
            pdq,
            3,
            &["list0:pdq:2:closer", "list1:pdq:2:closer"],
        );
        check_text(&[&close], pdq, 0, &[]);
        // 64 hex digits are looked up as PDQ and as SHA-256 alike.
        let sha256 = format!("signal_type,signal\nsha256,{PDQ}\n");
        check_text(&[&sha256, &far], pdq, 31, &["list0:sha256:0:-"]);
        let as_sha256 = Signal::Sha256(PDQ.parse().unwrap());
        check_text(
            &[&sha256, &close],
            as_sha256,
            31,
            &[
                "list0:sha256:0:-",
                "list1:pdq:2:closer",
                "list1:pdq:5:close",
            ],
        );
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        let digests = format!("# md5\n{md5}\n");
        check_text(
            &[&digests],
            Signal::Md5(md5.parse().unwrap()),
            0,
            &["list0:md5:0:-"],
        );
    }

    #[test]
    fn files_match_by_pdq_above_the_quality_floor_and_by_digests() {
        let digests = FileDigests::of(b"some file");
        let lists = [
            format!("{}\n{}\n", near(3), digests.sha1),
            format!(
                "signal_type,signal,label\nmd5,{},m\nsha256,{},s\n",
                digests.md5, digests.sha256
            ),
        ];
        let matcher = load(&[&lists[0], &lists[1]]);
        let signals = |quality| Signals {
            pdq: PDQ.parse().unwrap(),
            quality: Quality::new(quality).unwrap(),
            dihedral: None,
            digests,
        };
        let floor = Quality::MATCHABLE;
        let good = matcher.match_file(&signals(50), 31, floor);
        assert_eq!(
            describe(&matcher, &good.hits),
            [
                "list0:sha1:0:-",
                "list1:md5:0:m",
                "list1:sha256:0:s",
                "list0:pdq:3:-"
            ]
        );
        assert!(!good.low_quality);
        let poor = matcher.match_file(&signals(49), 31, floor);
        assert_eq!(
            describe(&matcher, &poor.hits),
            ["list0:sha1:0:-", "list1:md5:0:m", "list1:sha256:0:s"]
        );
        assert!(poor.low_quality);
        let all = matcher.match_file(&signals(0), 2, Quality::new(0).unwrap());
        assert_eq!(all.hits.len(), 3, "distance 2 leaves the PDQ entry out");
        assert_eq!(matcher.lists()[1].entries, 2);
    }

    #[test]
    fn malformed_lines_are_counted_per_list() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, format!("{PDQ}\nbad\n\nworse\n")).unwrap();
        fs::write(&b, "signal_type,signal\nmd5,xyz\n").unwrap();
        let mut seen = Vec::new();
        let matcher = Matcher::load(&[a, b], Hex64::Pdq, |list, error| {
            seen.push((
                list.name.rsplit('/').next().unwrap().to_owned(),
                list.malformed,
                error.line(),
            ));
        })
        .unwrap();
        assert_eq!(
            seen,
            [("a".into(), 1, 2), ("a".into(), 2, 4), ("b".into(), 1, 2)]
        );
        let counts: Vec<(u64, u64)> = matcher
            .lists()
            .iter()
            .map(|l| (l.entries, l.malformed))
            .collect();
        assert_eq!(counts, [(1, 2), (0, 1)]);
        let missing = Matcher::load(&[dir.path().join("missing")], Hex64::Pdq, |_, _| {});
        let message = format!("{:#}", missing.unwrap_err());
        assert!(
            message.starts_with("cannot read list ")
                && message.ends_with(": no such file or directory"),
            "{message}"
        );
    }
}
