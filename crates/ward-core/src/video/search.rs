//! Video search: here is a video, tell me which of many stored videos it matches, and how
//! much of each it shares, without comparing it with each one.
//!
//! The distinct frame hashes of every stored video (above the minimum quality) go into one
//! [`PdqIndex`]; a query looks each of its distinct frames up once. The shares then follow
//! from which query frames found which stored frames, per stored video: the same numbers
//! the pairwise comparison (`vpdq::compare`) gives, for every stored video at once.

use std::collections::HashMap;

use super::vpdq::{CompareOptions, VideoMatch, Vpdq};
use crate::index::PdqIndex;
use crate::pdq::Quality;

/// A stored video that a query matches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoHit {
    /// The caller's id of the stored video.
    pub id: u64,
    pub shares: VideoMatch,
    /// The shares are those of the query's frames hashed inside their bars (see
    /// [`super::HashedVideo::trimmed`]), which matched better than the frames as they are.
    pub trimmed: bool,
}

/// Many videos' frames, indexed for matching a query video against all of them.
#[derive(Debug)]
pub struct VideoIndex {
    frames: PdqIndex,
    /// For each indexed frame (the index's id), the video it belongs to.
    frame_video: Vec<u32>,
    /// For each video: its caller id and its number of distinct frames.
    videos: Vec<(u64, u32)>,
    min_quality: Quality,
}

impl VideoIndex {
    /// Indexes `videos` (caller id, vPDQ), keeping frames of at least `min_quality` (the
    /// comparison's; queries must use the same).
    pub fn build(
        videos: impl IntoIterator<Item = (u64, Vpdq)>,
        min_quality: Quality,
    ) -> VideoIndex {
        let mut entries = Vec::new();
        let mut frame_video = Vec::new();
        let mut stored = Vec::new();
        for (number, (id, vpdq)) in videos.into_iter().enumerate() {
            let distinct = vpdq.distinct_hashes(min_quality);
            stored.push((id, distinct.len() as u32));
            for hash in distinct {
                entries.push((hash, frame_video.len() as u64));
                frame_video.push(number as u32);
            }
        }
        VideoIndex {
            frames: PdqIndex::build(entries),
            frame_video,
            videos: stored,
            min_quality,
        }
    }

    /// The number of videos.
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// Every stored video whose shares with `query` reach the thresholds of `options`,
    /// largest query share first. `options.min_quality` is the index's.
    pub fn search(&self, query: &Vpdq, options: &CompareOptions) -> Vec<VideoHit> {
        self.search_frames(query, options, false)
    }

    /// Like [`VideoIndex::search`], also with the query's frames hashed inside their bars
    /// when it has them ([`super::HashedVideo::trimmed`]): each stored video is reported once, with
    /// the better of the two query shares (the frames as they are on a tie).
    pub fn search_trimmed(
        &self,
        query: &Vpdq,
        trimmed: Option<&Vpdq>,
        options: &CompareOptions,
    ) -> Vec<VideoHit> {
        let mut hits = self.search_frames(query, options, false);
        let Some(trimmed) = trimmed else {
            return hits;
        };
        for hit in self.search_frames(trimmed, options, true) {
            match hits.iter_mut().find(|h| h.id == hit.id) {
                Some(h) if h.shares.query_share >= hit.shares.query_share => {}
                Some(h) => *h = hit,
                None => hits.push(hit),
            }
        }
        sort(&mut hits);
        hits
    }

    fn search_frames(
        &self,
        query: &Vpdq,
        options: &CompareOptions,
        trimmed: bool,
    ) -> Vec<VideoHit> {
        let queries = query.distinct_hashes(self.min_quality);
        if queries.is_empty() {
            return Vec::new();
        }
        // Per stored video: query frames that found it, and its frames that were found.
        let mut found: HashMap<u32, (u32, Vec<u32>)> = HashMap::new();
        let mut matches = Vec::new();
        for hash in &queries {
            matches.clear();
            self.frames
                .search_radius(hash, options.distance, &mut matches);
            let mut touched: Vec<u32> = Vec::new();
            for m in &matches {
                let video = self.frame_video[m.id as usize];
                let entry = found.entry(video).or_default();
                entry.1.push(m.id as u32);
                if !touched.contains(&video) {
                    touched.push(video);
                    entry.0 += 1;
                }
            }
        }
        let mut hits: Vec<VideoHit> = found
            .into_iter()
            .map(|(video, (query_frames, mut frames))| {
                frames.sort_unstable();
                frames.dedup();
                let (id, distinct) = self.videos[video as usize];
                let shares = VideoMatch {
                    query_share: f64::from(query_frames) * 100.0 / queries.len() as f64,
                    compared_share: if distinct == 0 {
                        0.0
                    } else {
                        frames.len() as f64 * 100.0 / f64::from(distinct)
                    },
                };
                VideoHit {
                    id,
                    shares,
                    trimmed,
                }
            })
            .filter(|hit| hit.shares.is_match(options))
            .collect();
        sort(&mut hits);
        hits
    }
}

/// Largest query share first, then by id.
fn sort(hits: &mut [VideoHit]) {
    hits.sort_by(|a, b| {
        b.shares
            .query_share
            .total_cmp(&a.shares.query_share)
            .then(a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdq::PdqHash;
    use crate::testing::Rng;
    use crate::video::vpdq::{FrameHash, compare};

    fn video(rng: &mut Rng, hashes: Vec<PdqHash>) -> Vpdq {
        Vpdq::new(
            hashes
                .into_iter()
                .enumerate()
                .map(|(i, hash)| FrameHash {
                    frame: i as u64,
                    quality: Quality::new(40 + (rng.next() % 61) as u8).unwrap(),
                    hash,
                    timestamp: i as f64,
                })
                .collect(),
        )
    }

    /// A query whose trimmed frames match better reports those shares, once per stored video.
    #[test]
    fn searches_with_the_frames_inside_the_bars_too() {
        let mut rng = Rng(99);
        let original: Vec<PdqHash> = (0..10).map(|_| rng.hash()).collect();
        let other: Vec<PdqHash> = (0..10).map(|_| rng.hash()).collect();
        let stored = vec![
            (7, video(&mut rng, original.clone())),
            (8, video(&mut rng, other.clone())),
        ];
        let index = VideoIndex::build(stored, Quality::new(0).unwrap());
        let options = CompareOptions {
            min_quality: Quality::new(0).unwrap(),
            ..CompareOptions::default()
        };
        // As it is, the query has bars: it shares 2 frames with the original, all of `other`.
        let mut as_is: Vec<PdqHash> = (0..8).map(|_| rng.hash()).collect();
        as_is.extend_from_slice(&original[..2]);
        let query = video(&mut rng, [as_is, other.clone()].concat());
        let hits = index.search_trimmed(
            &query,
            None,
            &CompareOptions {
                query_share: 0.0,
                ..options
            },
        );
        assert_eq!(
            hits.iter().map(|h| (h.id, h.trimmed)).collect::<Vec<_>>(),
            [(8, false), (7, false)]
        );
        let trimmed = video(&mut rng, [original.clone(), other].concat());
        let hits = index.search_trimmed(
            &query,
            Some(&trimmed),
            &CompareOptions {
                query_share: 0.0,
                ..options
            },
        );
        assert_eq!(hits.len(), 2);
        assert!(
            hits.iter().all(|h| h.shares.query_share == 50.0),
            "{hits:?}"
        );
        assert_eq!(
            hits.iter().map(|h| (h.id, h.trimmed)).collect::<Vec<_>>(),
            [(7, true), (8, false)]
        );
    }

    /// The index gives every stored video the shares that pairwise comparison gives.
    #[test]
    fn agrees_with_pairwise_comparison() {
        let mut rng = Rng(0x1234_5678);
        let base: Vec<PdqHash> = (0..40).map(|_| rng.hash()).collect();
        let mut videos = Vec::new();
        for v in 0..30u64 {
            let hashes: Vec<PdqHash> = match v % 3 {
                // Variants of the base video: some frames perturbed, some dropped.
                0 => base
                    .iter()
                    .skip((v % 7) as usize)
                    .map(|h| {
                        let bits = (rng.next() % 40) as u32;
                        rng.near_at_most(h, bits)
                    })
                    .collect(),
                // Clips of it.
                1 => base[(v as usize % 20)..(v as usize % 20) + 8].to_vec(),
                // Unrelated videos.
                _ => (0..25).map(|_| rng.hash()).collect(),
            };
            videos.push((1000 + v, video(&mut rng, hashes)));
        }
        let index = VideoIndex::build(videos.clone(), Quality::MATCHABLE);
        assert_eq!(index.len(), 30);
        for query in [
            video(&mut rng, base.clone()),
            video(&mut rng, base[5..13].to_vec()),
            videos[4].1.clone(),
        ] {
            for options in [
                CompareOptions::default(),
                CompareOptions {
                    query_share: 0.0,
                    compared_share: 0.0,
                    ..CompareOptions::default()
                },
            ] {
                let hits = index.search(&query, &options);
                let expected: Vec<(u64, VideoMatch)> = videos
                    .iter()
                    .map(|(id, v)| (*id, compare(&query, v, &options)))
                    .filter(|(_, m)| {
                        m.is_match(&options) && (m.query_share > 0.0 || m.compared_share > 0.0)
                    })
                    .collect();
                let mut got: Vec<(u64, VideoMatch)> =
                    hits.iter().map(|h| (h.id, h.shares)).collect();
                got.sort_by_key(|(id, _)| *id);
                assert_eq!(got.len(), expected.len());
                for ((gi, gm), (ei, em)) in got.iter().zip(&expected) {
                    assert_eq!(gi, ei);
                    assert!(
                        (gm.query_share - em.query_share).abs() < 1e-9,
                        "{gm:?} {em:?}"
                    );
                    assert!(
                        (gm.compared_share - em.compared_share).abs() < 1e-9,
                        "{gm:?} {em:?}"
                    );
                }
            }
        }
    }
}
