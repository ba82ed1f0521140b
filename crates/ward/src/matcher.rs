//! Matching against hash lists: here are list files, give me an index of their entries; here
//! are a file's signals (or a hash), give me the entries they match.
//!
//! Every entry of every list gets an id, its position in the lists read one after another;
//! PDQ entries go into one [`PdqIndex`], vPDQ entries into one [`VideoIndex`] and digests
//! into one exact set per type, all keyed by that id. Nothing else is held for each entry:
//! a list is the range of ids it was given, a hit carries the signal it matched as stored,
//! and a list's labels and ids are kept only for the entries that have them (most lists
//! give neither), so a million PDQ entries take the index's memory and no more. Lists are
//! read as streams; a vPDQ entry's frames are held by the video index alone.
//!
//! When every query is a hash known before the lists are read ([`Queries::Known`]: hashes
//! given as arguments and in query files), the PDQ entries are not indexed at all: the
//! queries are ([`PdqQuerySet`]), each PDQ entry is matched against them as it is read, and
//! only the matches are kept. The answers are the same; the work is a fraction, since no
//! index of a million entries is built for ten thousand queries, and what is read from
//! anywhere in memory is the queries' small tables rather than the list's.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use std::collections::HashMap;
use ward_core::digest::{Md5, Sha1, Sha256};

use ward_core::index::digests::{Md5Set, Sha1Set, Sha256Set};
use ward_core::index::{PdqIndex, PdqMatch, PdqQuerySet};
use ward_core::lists::{Hex64, ListError, ListReader, Signal};
use ward_core::pdq::{PdqHash, Quality};
use ward_core::video::{CompareOptions, VideoHit, VideoIndex, Vpdq};

use crate::hashing::{Media, Signals, describe_io};

/// With fewer queries than one for this many PDQ entries, `Matcher::load` builds the PDQ
/// index without families.
pub const FEW_QUERIES: u64 = 20;

/// The most entries reserved ahead of reading a list (beyond, arrays grow as they fill).
const MAX_RESERVED: usize = 1 << 28;

/// PDQ entries matched against known queries at a time ([`PdqQuerySet::search`]).
const STREAM_RUN: usize = 8192;

/// What [`Matcher::load`] is told of the queries to come.
#[derive(Clone, Copy, Debug)]
pub enum Queries<'a> {
    /// Nothing: they may be many (media files, folders, standard input). The PDQ index
    /// looks for near-duplicate families ([`PdqIndex::build`]).
    Unknown,
    /// About how many hashes will be asked: with fewer than one for every
    /// [`FEW_QUERIES`] PDQ entries, the PDQ index is built without looking for families
    /// ([`PdqIndex::build_unclustered`]), a fraction of the build for a little more per
    /// query.
    Count(u64),
    /// Every hash that will be asked, and the distance: at most
    /// [`PdqQuerySet::MAX_QUERIES`] PDQ readings within [`PdqQuerySet::MAX_RADIUS`], else
    /// as [`Queries::Count`]. Their PDQ readings are matched against each PDQ entry as the
    /// lists are read, and only these hashes may be asked afterwards, at this distance.
    Known { hashes: &'a [Signal], distance: u32 },
}

/// The hash lists of one command, indexed for matching.
#[derive(Debug)]
pub struct Matcher {
    lists: Vec<LoadedList>,
    /// The label and id of each entry a list gives either for, by entry id.
    names: Vec<(u64, Names)>,
    pdq: PdqSearch,
    videos: VideoIndex,
    md5: Md5Set,
    sha1: Sha1Set,
    sha256: Sha256Set,
}

/// A list file and what came of reading it.
#[derive(Debug)]
pub struct LoadedList {
    /// The path as given, for messages and output.
    pub name: String,
    /// The id of its first entry; the rest follow in order.
    first: u64,
    pub entries: u64,
    pub malformed: u64,
}

/// What a list says of an entry besides its signal.
#[derive(Debug)]
struct Names {
    label: Option<Box<str>>,
    id: Option<Box<str>>,
}

/// One entry of a list, as [`Matcher::entry`] finds it.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    list: &'a LoadedList,
    names: Option<&'a Names>,
}

impl<'a> Entry<'a> {
    /// The list it is from, as the command named it.
    pub fn list_name(&self) -> &'a str {
        &self.list.name
    }

    /// The list's label for it.
    pub fn label(&self) -> Option<&'a str> {
        self.names.and_then(|n| n.label.as_deref())
    }

    /// The list's id for it.
    pub fn id(&self) -> Option<&'a str> {
        self.names.and_then(|n| n.id.as_deref())
    }
}

/// A query signal and a list entry it matches.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The signal that matched, as the query gave it (a file's PDQ hash or one of its
    /// digests, or a hash in text read as PDQ or as SHA-256).
    pub query: Signal,
    /// The entry, for [`Matcher::entry`].
    pub entry: u64,
    /// The entry's signal, as its list gives it (for a digest, the query's own).
    pub stored: Signal,
    /// Hamming distance for PDQ, 0 for the exact digests.
    pub distance: u32,
}

/// The matches of one file.
#[derive(Debug, Default)]
pub struct FileHits {
    /// Nearest first; entries in list order at equal distance.
    pub hits: Vec<Hit>,
    /// For a video, the vPDQ entries it matches (ids are entry ids), largest query share
    /// first.
    pub videos: Vec<VideoHit>,
    /// The file's PDQ hash was below the minimum quality (for a video: every frame was) and
    /// was not matched.
    pub low_quality: bool,
}

impl FileHits {
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty() && self.videos.is_empty()
    }
}

/// How PDQ queries are answered.
#[derive(Debug)]
enum PdqSearch {
    Index(Box<PdqIndex>),
    /// Each known query's PDQ reading and its matches within `distance`, found as the
    /// lists were read.
    Answered {
        distance: u32,
        answers: HashMap<PdqHash, Vec<PdqMatch>>,
    },
}

impl PdqSearch {
    /// The entries within `distance` of each of `queries`.
    fn search_many(&self, queries: &[PdqHash], distance: u32) -> Vec<Vec<PdqMatch>> {
        match self {
            PdqSearch::Index(index) => index.search_radius_many(queries, distance),
            PdqSearch::Answered { .. } => queries
                .iter()
                .map(|query| {
                    let mut found = Vec::new();
                    self.search(query, distance, &mut found);
                    found
                })
                .collect(),
        }
    }

    /// Appends the entries within `distance` of `query`.
    fn search(&self, query: &PdqHash, distance: u32, found: &mut Vec<PdqMatch>) {
        match self {
            PdqSearch::Index(index) => index.search_radius(query, distance, found),
            PdqSearch::Answered {
                distance: known,
                answers,
            } => {
                // Only the queries the matcher was told of are asked (the command reads
                // them all before the lists).
                assert_eq!(distance, *known, "queries are asked at the distance told");
                found.extend(
                    answers
                        .get(query)
                        .expect("only the queries told to Matcher::load are asked"),
                );
            }
        }
    }
}

/// The PDQ reading of a hash given as text: a PDQ hash, or a SHA-256's 64 digits read as one
/// (nothing in the text says which; see [`Matcher::match_text`]).
fn pdq_reading(query: &Signal) -> Option<PdqHash> {
    match query {
        Signal::Pdq(hash) => Some(*hash),
        Signal::Sha256(digest) => Some(PdqHash::from_bytes(*digest.as_bytes())),
        Signal::Md5(_) | Signal::Sha1(_) | Signal::Vpdq(_) => None,
    }
}

/// Known queries' PDQ readings, and the lists' PDQ entries gathered for matching against
/// them a run at a time.
struct Streamed {
    set: PdqQuerySet,
    hashes: Vec<PdqHash>,
    ids: Vec<u64>,
    found: Vec<(u32, PdqMatch)>,
}

impl Streamed {
    /// For `queries` (their PDQ readings) at `distance`, or `None` when they are too many
    /// or the distance too far for a [`PdqQuerySet`].
    fn new(queries: &[Signal], distance: u32) -> Option<Streamed> {
        let mut hashes: Vec<PdqHash> = queries.iter().filter_map(pdq_reading).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Some(Streamed {
            set: PdqQuerySet::new(hashes, distance)?,
            hashes: Vec::with_capacity(STREAM_RUN),
            ids: Vec::with_capacity(STREAM_RUN),
            found: Vec::new(),
        })
    }

    fn push(&mut self, hash: PdqHash, id: u64) {
        self.hashes.push(hash);
        self.ids.push(id);
        if self.hashes.len() == STREAM_RUN {
            self.match_run();
        }
    }

    fn match_run(&mut self) {
        self.set.search(&self.hashes, &self.ids, &mut self.found);
        self.hashes.clear();
        self.ids.clear();
    }

    /// Every query's matches, found when the last run is matched.
    fn finish(mut self) -> PdqSearch {
        self.match_run();
        let queries = self.set.queries();
        let mut answers: HashMap<PdqHash, Vec<PdqMatch>> =
            queries.iter().map(|&query| (query, Vec::new())).collect();
        for (q, found) in self.found {
            answers
                .get_mut(&queries[q as usize])
                .expect("every query has its answers")
                .push(found);
        }
        PdqSearch::Answered {
            distance: self.set.radius(),
            answers,
        }
    }
}

impl Matcher {
    /// Reads every list in `paths` (64-digit hashes with no declared type being what `hex64`
    /// says) and indexes their entries, vPDQ entries without their frames below
    /// `min_quality` (matching must use the same). Each malformed line is passed to
    /// `malformed` with its list, whose counts include it, and skipped; a list that cannot
    /// be opened or read is an error.
    ///
    /// What the command knows of its `queries` decides how PDQ entries are matched
    /// ([`Queries`]); the answers are the same.
    pub fn load(
        paths: &[PathBuf],
        hex64: Hex64,
        min_quality: Quality,
        queries: Queries<'_>,
        mut malformed: impl FnMut(&LoadedList, &ListError),
    ) -> Result<Matcher> {
        let mut lists = Vec::with_capacity(paths.len());
        let mut loaded = Loaded::default();
        if let Queries::Known { hashes, distance } = queries {
            loaded.streamed = Streamed::new(hashes, distance);
        }
        for path in paths {
            let mut list = LoadedList {
                name: path.to_string_lossy().into_owned(),
                first: loaded.next_id,
                entries: 0,
                malformed: 0,
            };
            read_list(path, hex64, &mut list, &mut loaded, &mut malformed)
                .with_context(|| format!("cannot read list {}", list.name))?;
            lists.push(list);
        }
        let count = match queries {
            Queries::Unknown => None,
            Queries::Count(count) => Some(count),
            Queries::Known { hashes, .. } => Some(hashes.len() as u64),
        };
        Ok(Matcher {
            lists,
            names: loaded.names,
            pdq: match (loaded.streamed, count) {
                (Some(streamed), _) => streamed.finish(),
                // Few queries of many entries: finding families would cost more than it saves.
                (None, Some(count))
                    if count.saturating_mul(FEW_QUERIES) < loaded.pdq_ids.len() as u64 =>
                {
                    PdqSearch::Index(Box::new(PdqIndex::build_unclustered(
                        loaded.pdq_hashes,
                        loaded.pdq_ids,
                    )))
                }
                (None, _) => PdqSearch::Index(Box::new(PdqIndex::build(
                    loaded.pdq_hashes.into_iter().zip(loaded.pdq_ids),
                ))),
            },
            videos: VideoIndex::build(loaded.videos, min_quality),
            md5: Md5Set::build(loaded.md5),
            sha1: Sha1Set::build(loaded.sha1),
            sha256: Sha256Set::build(loaded.sha256),
        })
    }

    /// The lists, in the order given.
    pub fn lists(&self) -> &[LoadedList] {
        &self.lists
    }

    /// Whether any list has vPDQ entries (else videos need not be decoded to be matched).
    pub fn has_videos(&self) -> bool {
        !self.videos.is_empty()
    }

    /// The entry a hit names.
    pub fn entry(&self, id: u64) -> Entry<'_> {
        // The last list whose ids start at or before it (a list may be empty).
        let list = self.lists.partition_point(|list| list.first <= id);
        let names = self
            .names
            .binary_search_by_key(&id, |&(entry, _)| entry)
            .ok()
            .map(|at| &self.names[at].1);
        Entry {
            list: &self.lists[list.checked_sub(1).expect("ids are given by the lists")],
            names,
        }
    }

    /// Matches a hash given as text (a command-line query or a line of a queries file),
    /// nearest first. Text of 64 hex digits may be a PDQ hash or a SHA-256, and nothing in
    /// it says which, so it is looked up as both: PDQ entries within `distance`, SHA-256
    /// entries exactly.
    pub fn match_text(&self, query: &Signal, distance: u32) -> Vec<Hit> {
        self.match_texts(std::slice::from_ref(query), distance)
            .pop()
            .unwrap_or_default()
    }

    /// [`Matcher::match_text`] for many queries at once: `answers[q]` is query `q`'s. The
    /// PDQ readings are searched together ([`PdqIndex::search_radius_many`]): over more
    /// than a few million PDQ entries, about 2.5 times as quick as one by one.
    pub fn match_texts(&self, queries: &[Signal], distance: u32) -> Vec<Vec<Hit>> {
        let pdq: Vec<(usize, PdqHash)> = queries
            .iter()
            .enumerate()
            .filter_map(|(q, query)| Some((q, pdq_reading(query)?)))
            .collect();
        let hashes: Vec<PdqHash> = pdq.iter().map(|&(_, hash)| hash).collect();
        let found = self.pdq.search_many(&hashes, distance);
        let mut answers = vec![Vec::new(); queries.len()];
        for (&(q, hash), found) in pdq.iter().zip(found) {
            answers[q].extend(found.iter().map(|found| Hit {
                query: Signal::Pdq(hash),
                entry: found.id,
                stored: Signal::Pdq(found.hash),
                distance: found.distance,
            }));
        }
        for (query, hits) in queries.iter().zip(&mut answers) {
            // The digest reading: 64 digits read as PDQ are a SHA-256 too.
            let digest = match query {
                Signal::Pdq(hash) => Signal::Sha256(Sha256::from_bytes(hash.to_bytes())),
                Signal::Vpdq(_) => continue,
                other => other.clone(),
            };
            self.match_signal(&digest, distance, hits);
            sort(hits);
        }
        answers
    }

    /// Matches the signals of a file: its MD5, SHA-1 and SHA-256 exactly; an image's PDQ
    /// hash within `thresholds.distance` when its quality is at least
    /// `thresholds.min_quality`; a video's vPDQ against the vPDQ entries with all of
    /// `thresholds` (frames within the distance, frames below the quality left out, the
    /// shares).
    pub fn match_file(&self, signals: &Signals, thresholds: &CompareOptions) -> FileHits {
        let mut found = FileHits::default();
        let distance = thresholds.distance;
        match &signals.media {
            Media::Image(image) => {
                found.low_quality = image.quality < thresholds.min_quality;
                if !found.low_quality {
                    self.match_signal(&Signal::Pdq(image.pdq), distance, &mut found.hits);
                }
            }
            Media::Video(Some(video)) => {
                found.low_quality = video
                    .vpdq
                    .distinct_hashes(thresholds.min_quality)
                    .is_empty();
                if self.has_videos() {
                    found.videos =
                        self.videos
                            .search_trimmed(&video.vpdq, video.trimmed.as_ref(), thresholds);
                }
            }
            Media::Video(None) => {}
        }
        let digests = &signals.digests;
        for digest in [
            Signal::Md5(digests.md5),
            Signal::Sha1(digests.sha1),
            Signal::Sha256(digests.sha256),
        ] {
            self.match_signal(&digest, distance, &mut found.hits);
        }
        sort(&mut found.hits);
        found
    }

    /// Appends the entries `query` matches: PDQ within `distance`, digests when equal. A
    /// vPDQ signal is matched only as a file's ([`Matcher::match_file`]).
    fn match_signal(&self, query: &Signal, distance: u32, hits: &mut Vec<Hit>) {
        let mut ids = Vec::new();
        match query {
            Signal::Pdq(hash) => {
                let mut found = Vec::new();
                self.pdq.search(hash, distance, &mut found);
                hits.extend(found.iter().map(|found| Hit {
                    query: query.clone(),
                    entry: found.id,
                    stored: Signal::Pdq(found.hash),
                    distance: found.distance,
                }));
                return;
            }
            Signal::Md5(digest) => self.md5.lookup(digest, &mut ids),
            Signal::Sha1(digest) => self.sha1.lookup(digest, &mut ids),
            Signal::Sha256(digest) => self.sha256.lookup(digest, &mut ids),
            Signal::Vpdq(_) => return,
        }
        hits.extend(ids.into_iter().map(|entry| Hit {
            query: query.clone(),
            entry,
            stored: query.clone(),
            distance: 0,
        }));
    }
}

/// Nearest first, then in list order (ids are given in list order, then line order).
fn sort(hits: &mut [Hit]) {
    hits.sort_by_key(|hit| (hit.distance, hit.entry));
}

/// The entries of the lists read so far: their signals by type with their ids (PDQ entries
/// matched as they come instead, when the queries are known), and the names of those that
/// have any.
#[derive(Default)]
struct Loaded {
    streamed: Option<Streamed>,
    /// The id the next entry gets.
    next_id: u64,
    names: Vec<(u64, Names)>,
    pdq_hashes: Vec<PdqHash>,
    pdq_ids: Vec<u64>,
    videos: Vec<(u64, Vpdq)>,
    md5: Vec<(Md5, u64)>,
    sha1: Vec<(Sha1, u64)>,
    sha256: Vec<(Sha256, u64)>,
}

fn read_list(
    path: &Path,
    hex64: Hex64,
    list: &mut LoadedList,
    loaded: &mut Loaded,
    malformed: &mut impl FnMut(&LoadedList, &ListError),
) -> Result<()> {
    let file = File::open(path).map_err(|e| anyhow!(describe_io(&e)))?;
    // Room for as many PDQ entries as the file can hold (a line of one is 65 bytes), so
    // that millions of hashes are not copied as the arrays grow: memory reserved and not
    // written costs nothing.
    if let (Ok(meta), None) = (file.metadata(), &loaded.streamed) {
        let bytes = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        loaded.pdq_hashes.reserve((bytes / 65).min(MAX_RESERVED));
        loaded.pdq_ids.reserve((bytes / 65).min(MAX_RESERVED));
    }
    for item in ListReader::new(BufReader::with_capacity(1 << 16, file), hex64) {
        match item {
            Ok(entry) => {
                list.entries += 1;
                let id = loaded.next_id;
                loaded.next_id += 1;
                match entry.signal {
                    Signal::Vpdq(vpdq) => loaded.videos.push((id, vpdq)),
                    Signal::Pdq(hash) => match &mut loaded.streamed {
                        Some(streamed) => streamed.push(hash, id),
                        None => {
                            loaded.pdq_hashes.push(hash);
                            loaded.pdq_ids.push(id);
                        }
                    },
                    Signal::Md5(digest) => loaded.md5.push((digest, id)),
                    Signal::Sha1(digest) => loaded.sha1.push((digest, id)),
                    Signal::Sha256(digest) => loaded.sha256.push((digest, id)),
                }
                if entry.label.is_some() || entry.id.is_some() {
                    loaded.names.push((
                        id,
                        Names {
                            label: entry.label.map(String::into_boxed_str),
                            id: entry.id.map(String::into_boxed_str),
                        },
                    ));
                }
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
    use ward_core::video::FrameHash;

    use super::*;
    use crate::hashing::{ImageSignals, VideoSignals};

    const PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    /// `PDQ` with its last `n` bits flipped.
    fn near(n: u32) -> PdqHash {
        let hash: PdqHash = PDQ.parse().unwrap();
        let mut words = hash.words();
        words[0] ^= (1u64 << n) - 1;
        PdqHash::from_words(words)
    }

    /// Writes each list as `list0`, `list1`, ... in `dir`.
    fn write_lists(dir: &Path, lists: &[&str]) -> Vec<PathBuf> {
        lists
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.join(format!("list{i}"));
                fs::write(&path, text).unwrap();
                path
            })
            .collect()
    }

    fn load(lists: &[&str]) -> Matcher {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_lists(dir.path(), lists);
        let mut errors = Vec::new();
        let matcher = Matcher::load(
            &paths,
            Hex64::Pdq,
            Quality::MATCHABLE,
            Queries::Unknown,
            |list, error| {
                errors.push(format!(
                    "{} {} {error}",
                    list.name.rsplit('/').next().unwrap(),
                    list.malformed
                ));
            },
        )
        .unwrap();
        assert_eq!(errors, Vec::<String>::new());
        matcher
    }

    /// Each hit as `list:signal_type:distance:label`.
    fn describe(matcher: &Matcher, hits: &[Hit]) -> Vec<String> {
        hits.iter()
            .map(|hit| {
                let entry = matcher.entry(hit.entry);
                assert_eq!(hit.query.signal_type(), hit.stored.signal_type());
                // The stored signal is the entry's: as far from the query as the hit says.
                match (&hit.query, &hit.stored) {
                    (Signal::Pdq(query), Signal::Pdq(stored)) => {
                        assert_eq!(query.distance(stored), hit.distance)
                    }
                    (query, stored) => assert_eq!((query, hit.distance), (stored, 0)),
                }
                format!(
                    "{}:{}:{}:{}",
                    entry.list_name().rsplit('/').next().unwrap(),
                    hit.stored.signal_type(),
                    hit.distance,
                    entry.label().unwrap_or("-")
                )
            })
            .collect()
    }

    fn check_text(lists: &[&str], query: &Signal, distance: u32, expected: &[&str]) {
        let matcher = load(lists);
        assert_eq!(
            describe(&matcher, &matcher.match_text(query, distance)),
            expected
        );
    }

    #[test]
    fn few_queries_build_without_families_and_answer_the_same() {
        // Near-duplicates of one hash at every distance, and more: loaded for few queries
        // (no families) and for many, the same hits.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list");
        let text: String = (0..64).map(|d| format!("{}\n", near(d))).collect();
        fs::write(&path, &text).unwrap();
        let paths = [path];
        let load = |queries| {
            Matcher::load(&paths, Hex64::Pdq, Quality::MATCHABLE, queries, |_, e| {
                panic!("{e}")
            })
            .unwrap()
        };
        let (few, many) = (load(Queries::Count(1)), load(Queries::Unknown));
        let pdq = Signal::Pdq(PDQ.parse().unwrap());
        for distance in [0, 10, 31, 63] {
            let hits = describe(&few, &few.match_text(&pdq, distance));
            assert_eq!(hits.len(), distance as usize + 1, "{distance}");
            assert_eq!(hits, describe(&many, &many.match_text(&pdq, distance)));
        }
    }

    /// Queries told before the lists are read are matched as the entries are read, over
    /// more than one run of them, with no PDQ index: the same hits as the index gives at
    /// every distance, for PDQ and SHA-256 readings, digests, repeated queries and entries
    /// in two lists; beyond one bit a chunk the index answers.
    #[test]
    fn known_queries_answer_as_the_index_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = || {
            let mut word = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            PdqHash::from_words([word(), word(), word(), word()])
        };
        let unrelated: String = (0..STREAM_RUN + 100)
            .map(|_| format!("{}\n", random()))
            .collect();
        let md5 = "0123456789abcdef0123456789abcdef";
        let first: String = (0..40).map(|d| format!("{}\n", near(d))).collect();
        let lists = [
            format!("{first}{unrelated}{md5}\n{}\n", near(7)),
            format!(
                "signal_type,signal,label\npdq,{},three\npdq,{PDQ},same\nsha256,{},digest\n",
                near(3),
                near(9)
            ),
        ];
        let paths = write_lists(dir.path(), &lists.each_ref().map(String::as_str));
        let pdq: PdqHash = PDQ.parse().unwrap();
        let queries = [
            Signal::Pdq(pdq),
            Signal::Pdq(near(20)),
            Signal::Pdq(pdq),
            Signal::Md5(md5.parse().unwrap()),
            Signal::Sha256(Sha256::from_bytes(near(9).to_bytes())),
            Signal::Pdq(random()),
        ];
        let load = |queries| {
            Matcher::load(&paths, Hex64::Pdq, Quality::MATCHABLE, queries, |_, e| {
                panic!("{e}")
            })
            .unwrap()
        };
        let index = load(Queries::Unknown);
        for distance in [0, 5, 16, 31, 40] {
            let known = load(Queries::Known {
                hashes: &queries,
                distance,
            });
            assert_eq!(
                matches!(known.pdq, PdqSearch::Answered { .. }),
                distance <= PdqQuerySet::MAX_RADIUS,
                "{distance}"
            );
            let hits = known.match_texts(&queries, distance);
            assert_eq!(hits, index.match_texts(&queries, distance), "{distance}");
            let counts: Vec<usize> = hits.iter().map(Vec::len).collect();
            let pdq_hits = (distance.min(39) + 2 + u32::from(distance >= 3)) as usize;
            assert_eq!(
                counts[0],
                pdq_hits + usize::from(distance >= 7),
                "{distance}"
            );
            assert_eq!(counts[2], counts[0], "{distance}");
            assert_eq!(counts[3], 1, "{distance}");
        }
    }

    /// Entries are found in their own list, with their own names, whatever lists come
    /// before (an empty one, one with names, one without), and the hit carries the
    /// entry's hash as its list gives it.
    #[test]
    fn hits_name_their_list_and_entry() {
        let (a, b) = (near(1), near(2));
        let matcher = load(&[
            &format!("{a}\n{b}\n"),
            "",
            &format!("signal_type,signal,label,id\npdq,{b},second,7\npdq,{a},,\n"),
            "",
            &format!("{b}\n"),
        ]);
        let query = Signal::Pdq(PDQ.parse().unwrap());
        let mut found: Vec<String> = matcher
            .match_text(&query, 2)
            .iter()
            .map(|hit| {
                let entry = matcher.entry(hit.entry);
                format!(
                    "{} {} {} {} {}",
                    entry.list_name().rsplit('/').next().unwrap(),
                    entry.label().unwrap_or("-"),
                    entry.id().unwrap_or("-"),
                    hit.stored,
                    hit.distance
                )
            })
            .collect();
        found.sort();
        // (`b` ends in 1, `a` in 3: sorted by list, then hash.)
        assert_eq!(
            found,
            [
                format!("list0 - - {b} 2"),
                format!("list0 - - {a} 1"),
                format!("list2 - - {a} 1"),
                format!("list2 second 7 {b} 2"),
                format!("list4 - - {b} 2"),
            ]
        );
    }

    #[test]
    fn text_queries() {
        let pdq = Signal::Pdq(PDQ.parse().unwrap());
        let far = format!("{}\n", near(40));
        let close = format!("signal,label\n{},close\n{},closer\n", near(5), near(2));
        check_text(&[], &pdq, 31, &[]);
        check_text(&[&far], &pdq, 31, &[]);
        check_text(&[&far], &pdq, 40, &["list0:pdq:40:-"]);
        check_text(
            &[&far, &close],
            &pdq,
            31,
            &["list1:pdq:2:closer", "list1:pdq:5:close"],
        );
        check_text(
            &[&close, &close],
            &pdq,
            3,
            &["list0:pdq:2:closer", "list1:pdq:2:closer"],
        );
        check_text(&[&close], &pdq, 0, &[]);
        // 64 hex digits are looked up as PDQ and as SHA-256 alike.
        let sha256 = format!("signal_type,signal\nsha256,{PDQ}\n");
        check_text(&[&sha256, &far], &pdq, 31, &["list0:sha256:0:-"]);
        let as_sha256 = Signal::Sha256(PDQ.parse().unwrap());
        check_text(
            &[&sha256, &close],
            &as_sha256,
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
            &Signal::Md5(md5.parse().unwrap()),
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
            digests,
            media: Media::Image(ImageSignals {
                pdq: PDQ.parse().unwrap(),
                quality: Quality::new(quality).unwrap(),
                dihedral: None,
            }),
        };
        let within = |distance, min_quality| CompareOptions {
            distance,
            min_quality: Quality::new(min_quality).unwrap(),
            ..CompareOptions::default()
        };
        let good = matcher.match_file(&signals(50), &within(31, 50));
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
        let poor = matcher.match_file(&signals(49), &within(31, 50));
        assert_eq!(
            describe(&matcher, &poor.hits),
            ["list0:sha1:0:-", "list1:md5:0:m", "list1:sha256:0:s"]
        );
        assert!(poor.low_quality);
        let all = matcher.match_file(&signals(0), &within(2, 0));
        assert_eq!(all.hits.len(), 3, "distance 2 leaves the PDQ entry out");
        assert_eq!(matcher.lists()[1].entries, 2);
    }

    /// `PDQ` with the last `n` bits of its word `word` flipped: `h(w, n)` and `h(w, m)` are
    /// `|n - m|` bits apart, hashes of different words `n + m`.
    fn h(word: usize, n: u32) -> PdqHash {
        let hash: PdqHash = PDQ.parse().unwrap();
        let mut words = hash.words();
        words[word] ^= (1u64 << n) - 1;
        PdqHash::from_words(words)
    }

    /// `PDQ` with the bits of `pattern` flipped in words `a` and `b`.
    fn far(a: usize, b: usize, pattern: u64) -> PdqHash {
        let hash: PdqHash = PDQ.parse().unwrap();
        let mut words = hash.words();
        words[a] ^= pattern;
        words[b] ^= pattern;
        PdqHash::from_words(words)
    }

    /// A video of these frames, a second apart.
    fn video(hashes: &[PdqHash], quality: u8) -> Vpdq {
        Vpdq::new(
            hashes
                .iter()
                .enumerate()
                .map(|(i, &hash)| FrameHash {
                    frame: i as u64 * 25,
                    quality: Quality::new(quality).unwrap(),
                    hash,
                    timestamp: i as f64,
                })
                .collect(),
        )
    }

    fn video_signals(vpdq: Vpdq) -> Signals {
        Signals {
            digests: FileDigests::of(b"a video"),
            media: Media::Video(Some(VideoSignals {
                vpdq,
                seconds_per_hash: 1.0,
                trimmed: None,
            })),
        }
    }

    #[test]
    fn videos_match_vpdq_entries_by_shares_and_digests_exactly() {
        // Four frames, every two more than 31 bits apart.
        let whole = video(&[h(0, 1), h(1, 40), h(2, 40), h(3, 40)], 100);
        let md5 = FileDigests::of(b"a video").md5;
        let list = format!(
            "signal_type,signal,label\nvpdq,\"{}\",whole\nmd5,{md5},file\npdq,{},frame\n",
            whole.to_json().replace('"', "\"\""),
            h(0, 1)
        );
        let matcher = load(&[&list]);
        assert!(matcher.has_videos());
        let options = CompareOptions::default();
        // A re-encoding: every frame a bit away from the entry's.
        let copy = video(&[h(0, 2), h(1, 41), h(2, 41), h(3, 41)], 90);
        let found = matcher.match_file(&video_signals(copy), &options);
        assert_eq!(describe(&matcher, &found.hits), ["list0:md5:0:file"]);
        let shares: Vec<_> = found
            .videos
            .iter()
            .map(|hit| {
                let entry = matcher.entry(hit.id);
                let shares = (hit.shares.query_share, hit.shares.compared_share);
                (entry.label().unwrap(), shares)
            })
            .collect();
        assert_eq!(shares, [("whole", (100.0, 100.0))]);
        // Half of this one's frames are not in the entry: below the default query share.
        let unrelated = [
            far(1, 2, 0x5555_5555_5555_5555),
            far(0, 3, !0x5555_5555_5555_5555),
        ];
        let mixed = video(&[h(0, 1), h(1, 40), unrelated[0], unrelated[1]], 100);
        let found = matcher.match_file(&video_signals(mixed.clone()), &options);
        assert!(found.videos.is_empty());
        let half = CompareOptions {
            query_share: 50.0,
            ..options
        };
        let found = matcher.match_file(&video_signals(mixed), &half);
        assert_eq!(found.videos.len(), 1);
        let shares = found.videos[0].shares;
        assert_eq!((shares.query_share, shares.compared_share), (50.0, 50.0));
        // Frames below the minimum quality are left out; none left is low quality.
        let poor = video(&[h(0, 1), h(1, 40)], 10);
        let found = matcher.match_file(&video_signals(poor), &options);
        assert!(found.low_quality && found.videos.is_empty());
        // Videos not decoded: digests only.
        let digests_only = Signals {
            digests: FileDigests::of(b"a video"),
            media: Media::Video(None),
        };
        let found = matcher.match_file(&digests_only, &options);
        assert_eq!(describe(&matcher, &found.hits), ["list0:md5:0:file"]);
        assert!(found.videos.is_empty() && !found.low_quality);
    }

    #[test]
    fn malformed_lines_are_counted_per_list() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, format!("{PDQ}\nbad\n\nworse\n")).unwrap();
        fs::write(&b, "signal_type,signal\nmd5,xyz\n").unwrap();
        let mut seen = Vec::new();
        let matcher = Matcher::load(
            &[a, b],
            Hex64::Pdq,
            Quality::MATCHABLE,
            Queries::Unknown,
            |list, error| {
                seen.push((
                    list.name.rsplit('/').next().unwrap().to_owned(),
                    list.malformed,
                    error.line(),
                ));
            },
        )
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
        let missing = Matcher::load(
            &[dir.path().join("missing")],
            Hex64::Pdq,
            Quality::MATCHABLE,
            Queries::Unknown,
            |_, _| {},
        );
        let message = format!("{:#}", missing.unwrap_err());
        assert!(
            message.starts_with("cannot read list ")
                && message.ends_with(": no such file or directory"),
            "{message}"
        );
    }
}
