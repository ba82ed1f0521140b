//! What an H.264 or HEVC packet holds, read from its NAL unit headers alone: a
//! non-reference picture (one that no other picture is predicted from, so that not decoding
//! it changes no other frame: the decoder's own `skip_frame=nonref` makes the same choice
//! from the same bits), a reference picture, or an IDR picture (after which, in decoding
//! order, no picture is predicted from one before it: the decoder forgets every reference
//! there).
//!
//! H.264 (7.4.1): a coded slice with `nal_ref_idc` 0 belongs to a non-reference picture,
//! type 5 is an IDR slice. HEVC: the sub-layer non-reference types (TRAIL_N, TSA_N, STSA_N,
//! RADL_N, RASL_N and the reserved even types below 16) in the base layer, in a stream of
//! one temporal sub-layer, where "not a reference for its sub-layer" means not a reference
//! at all; IDR_W_RADL and IDR_N_LP are IDR pictures. The packet's bytes are the demuxer's,
//! untrusted: anything unexpected (a length running past the end, slices that disagree,
//! slices of the extensions, no slice at all) leaves the picture unknown, and anything
//! besides slices that might matter to later pictures (parameter sets, the end of a
//! sequence) is noted; either only costs a decode.

/// The codecs whose packets can be judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Codec {
    H264,
    /// HEVC with a single temporal sub-layer.
    Hevc,
}

/// The kind of picture a packet's slices make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Picture {
    /// No other picture is predicted from it.
    NonReference,
    /// Pictures after it may be predicted from it.
    Reference,
    /// An IDR picture: no picture after it in decoding order is predicted from one before.
    Idr,
}

/// What a packet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Access {
    /// The picture its slices make; `None` when there is no slice, the slices disagree, or
    /// a header is damaged or of a kind Ward does not judge.
    pub picture: Option<Picture>,
    /// Whether it holds units besides slices and those that change nothing (parameter sets,
    /// the end of a sequence): then pictures after it may need it even when no picture is
    /// predicted from its own.
    pub others: bool,
}

impl Access {
    /// Whether nothing but the packet's own picture is lost when it is not decoded, and
    /// nothing at all when that is a non-reference picture.
    pub(super) fn only_a_picture(&self) -> bool {
        self.picture.is_some() && !self.others
    }
}

/// What one NAL unit says of its packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Slice(Picture),
    /// A unit that changes nothing when left out (SEI, access unit delimiter, filler).
    Neutral,
    /// Anything that may matter to later pictures (parameter sets, the end of a sequence).
    Other,
    /// A header Ward cannot judge (damaged, units of the extensions, reserved types).
    Unknown,
}

fn judge(codec: Codec, unit: &[u8]) -> Unit {
    match codec {
        Codec::H264 => {
            let Some(&header) = unit.first() else {
                return Unit::Unknown;
            };
            match (header >> 5 & 3, header & 0x1f) {
                // Coded slices (1) and slice data partitions (2-4).
                (0, 1..=4) => Unit::Slice(Picture::NonReference),
                (_, 1..=4) => Unit::Slice(Picture::Reference),
                // IDR slices are always references (`nal_ref_idc` 0 is not allowed).
                (1..=3, 5) => Unit::Slice(Picture::Idr),
                // SEI, access unit delimiter, filler data.
                (_, 6 | 9 | 12) => Unit::Neutral,
                // Parameter sets, end of sequence and of stream.
                (_, 7 | 8 | 10 | 11 | 13 | 15) => Unit::Other,
                _ => Unit::Unknown,
            }
        }
        Codec::Hevc => {
            let [first, second, ..] = *unit else {
                return Unit::Unknown;
            };
            let kind = first >> 1 & 0x3f;
            let layer = (first & 1) << 5 | second >> 3;
            match (kind, layer) {
                (0..=14, 0) if kind % 2 == 0 => Unit::Slice(Picture::NonReference),
                // TRAIL_R, TSA_R, STSA_R, RADL_R, RASL_R; CRA (a random access point whose
                // leading pictures may refer to pictures before it).
                (1 | 3 | 5 | 7 | 9 | 21, 0) => Unit::Slice(Picture::Reference),
                (19 | 20, 0) => Unit::Slice(Picture::Idr),
                // Access unit delimiter, filler data, SEI (prefix and suffix).
                (35 | 38 | 39 | 40, _) => Unit::Neutral,
                // Parameter sets, end of sequence and of bitstream.
                (32..=34 | 36 | 37, _) => Unit::Other,
                _ => Unit::Unknown,
            }
        }
    }
}

/// What the packet `data` holds. `length_size` is the size of each NAL unit's length
/// prefix (MP4 and Matroska: 1, 2 or 4 bytes), or 0 when NAL units are separated by start
/// codes (Annex B: MPEG-TS, raw streams).
pub(super) fn access(codec: Codec, data: &[u8], length_size: usize) -> Access {
    const DAMAGED: Access = Access {
        picture: None,
        others: true,
    };
    let mut picture = None;
    let mut others = false;
    let mut known = true;
    let mut add = |unit: &[u8]| match judge(codec, unit) {
        Unit::Slice(kind) => match picture {
            None => picture = Some(kind),
            Some(seen) if seen == kind => {}
            Some(_) => known = false,
        },
        Unit::Neutral => {}
        Unit::Other => others = true,
        Unit::Unknown => {
            known = false;
            others = true;
        }
    };
    if length_size == 0 {
        for unit in (AnnexB { data, at: 0 }) {
            add(unit);
        }
    } else {
        if !(1..=4).contains(&length_size) {
            return DAMAGED;
        }
        let mut at = 0;
        while at < data.len() {
            let Some(prefix) = data.get(at..at + length_size) else {
                return DAMAGED;
            };
            let length = prefix
                .iter()
                .fold(0usize, |n, &b| (n << 8) | usize::from(b));
            at += length_size;
            let Some(unit) = data.get(at..at.saturating_add(length)) else {
                return DAMAGED;
            };
            add(unit);
            at += length;
        }
    }
    Access {
        picture: picture.filter(|_| known),
        others,
    }
}

/// The NAL units of an Annex B byte stream (each after a `00 00 01` start code).
struct AnnexB<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Iterator for AnnexB<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = find_start_code(self.data, self.at)? + 3;
        let end = find_start_code(self.data, start).unwrap_or(self.data.len());
        self.at = end;
        // A four-byte start code's leading zero belongs to neither unit; trailing zeros
        // are not part of the unit either.
        let mut unit = &self.data[start..end];
        while let [rest @ .., 0] = unit {
            unit = rest;
        }
        Some(unit)
    }
}

fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)?
        .windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NAL unit header byte: nal_ref_idc and nal_unit_type.
    fn header(ref_idc: u8, kind: u8) -> u8 {
        (ref_idc << 5) | kind
    }

    fn length_prefixed(units: &[&[u8]], size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in units {
            out.extend_from_slice(&(unit.len() as u32).to_be_bytes()[4 - size..]);
            out.extend_from_slice(unit);
        }
        out
    }

    fn annex_b(units: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            out.extend_from_slice(if i == 0 { &[0, 0, 0, 1] } else { &[0, 0, 1] });
            out.extend_from_slice(unit);
        }
        out
    }

    use Picture::{Idr, NonReference, Reference};

    /// What a packet is expected to hold: its picture and whether it has other units.
    fn holds(picture: Option<Picture>, others: bool) -> Access {
        Access { picture, others }
    }

    const UNKNOWN: Access = Access {
        picture: None,
        others: true,
    };

    #[test]
    fn h264_packets_are_judged_by_their_units() {
        let b_nonref: &[u8] = &[header(0, 1), 0x9a, 0x10];
        let p_ref: &[u8] = &[header(2, 1), 0x9a, 0x22];
        let partition: &[u8] = &[header(2, 2), 0x9a];
        let idr: &[u8] = &[header(3, 5), 0x88, 0x84];
        let idr_without_ref_idc: &[u8] = &[header(0, 5), 0x88, 0x84];
        let sei: &[u8] = &[header(0, 6), 0x05, 0x80];
        let aud: &[u8] = &[header(0, 9), 0xf0];
        let prefix: &[u8] = &[header(0, 14), 0x80];
        let sps: &[u8] = &[header(3, 7), 0x64, 0x00];
        let pps: &[u8] = &[header(3, 8), 0xee];
        let end_of_sequence: &[u8] = &[header(0, 10)];
        let cases: &[(&[&[u8]], Access)] = &[
            (&[b_nonref], holds(Some(NonReference), false)),
            (&[aud, sei, b_nonref], holds(Some(NonReference), false)),
            (&[b_nonref, b_nonref], holds(Some(NonReference), false)),
            (&[p_ref], holds(Some(Reference), false)),
            (&[p_ref, partition], holds(Some(Reference), false)),
            (&[sei, idr], holds(Some(Idr), false)),
            // Slices that disagree make no picture Ward can judge.
            (&[b_nonref, p_ref], holds(None, false)),
            (&[idr, p_ref], holds(None, false)),
            (&[idr_without_ref_idc], UNKNOWN),
            (&[sei], holds(None, false)),
            (&[], holds(None, false)),
            (&[prefix, b_nonref], UNKNOWN),
            // Parameter sets sent with a picture are needed by the pictures after it.
            (&[sps, pps, b_nonref], holds(Some(NonReference), true)),
            (&[sps, pps, idr], holds(Some(Idr), true)),
            (
                &[b_nonref, end_of_sequence],
                holds(Some(NonReference), true),
            ),
        ];
        check(Codec::H264, cases);
    }

    fn check(codec: Codec, cases: &[(&[&[u8]], Access)]) {
        for (units, expected) in cases {
            for size in [1, 2, 4] {
                let data = length_prefixed(units, size);
                assert_eq!(
                    access(codec, &data, size),
                    *expected,
                    "{codec:?} {units:?} ({size})"
                );
            }
            let data = annex_b(units);
            assert_eq!(access(codec, &data, 0), *expected, "{codec:?} {units:?}");
        }
    }

    /// An HEVC NAL unit header: nal_unit_type, nuh_layer_id and TemporalId.
    fn hevc(kind: u8, layer: u8, temporal: u8) -> [u8; 2] {
        [kind << 1 | layer >> 5, (layer & 0x1f) << 3 | (temporal + 1)]
    }

    #[test]
    fn hevc_packets_are_judged_by_their_units() {
        let unit = |header: [u8; 2]| -> Vec<u8> { [&header[..], &[0xaf, 0x10]].concat() };
        let trail_n = unit(hevc(0, 0, 0));
        let rasl_n = unit(hevc(8, 0, 0));
        let trail_r = unit(hevc(1, 0, 0));
        let idr_w_radl = unit(hevc(19, 0, 0));
        let idr_n_lp = unit(hevc(20, 0, 0));
        let cra = unit(hevc(21, 0, 0));
        let bla = unit(hevc(16, 0, 0));
        let reserved = unit(hevc(11, 0, 0));
        let enhancement = unit(hevc(0, 1, 0));
        let sei = unit(hevc(39, 0, 0));
        let aud = unit(hevc(35, 0, 0));
        let pps = unit(hevc(34, 0, 0));
        let cases: &[(&[&[u8]], Access)] = &[
            (&[&trail_n], holds(Some(NonReference), false)),
            (&[&rasl_n], holds(Some(NonReference), false)),
            (
                &[&aud, &sei, &trail_n, &trail_n],
                holds(Some(NonReference), false),
            ),
            (&[&trail_r], holds(Some(Reference), false)),
            (&[&cra], holds(Some(Reference), false)),
            (&[&idr_w_radl], holds(Some(Idr), false)),
            (&[&idr_n_lp, &idr_n_lp], holds(Some(Idr), false)),
            (&[&trail_n, &trail_r], holds(None, false)),
            (&[&bla], UNKNOWN),
            (&[&reserved], UNKNOWN),
            (&[&enhancement], UNKNOWN),
            (&[&pps, &trail_n], holds(Some(NonReference), true)),
            (&[&pps, &idr_w_radl], holds(Some(Idr), true)),
            (&[&sei], holds(None, false)),
            (&[&[0x00][..]], UNKNOWN),
        ];
        check(Codec::Hevc, cases);
    }

    #[test]
    fn damaged_packets_hold_no_picture() {
        let b_nonref: &[u8] = &[header(0, 1), 0x9a, 0x10];
        let mut cut = length_prefixed(&[b_nonref], 4);
        cut.pop();
        for codec in [Codec::H264, Codec::Hevc] {
            let check = |data: &[u8], length_size: usize| {
                let judged = access(codec, data, length_size);
                assert_eq!(judged.picture, None, "{codec:?} {data:?}");
                assert!(!judged.only_a_picture(), "{codec:?} {data:?}");
            };
            check(&cut, 4);
            check(&[0, 0, 0], 4);
            check(&[0, 0, 0, 9, header(0, 1)], 4);
            check(&length_prefixed(&[b_nonref], 4), 3);
            check(&length_prefixed(&[b_nonref], 4), 5);
            check(&[0, 0, 0, 0], 4);
            check(b"no start code here", 0);
            check(&[], 0);
        }
    }
}
