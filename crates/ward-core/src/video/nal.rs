//! Which H.264 and HEVC packets hold a non-reference picture: one that no other picture is
//! predicted from, so that not decoding it changes no other frame (the decoder's own
//! `skip_frame=nonref` makes the same choice from the same bits).
//!
//! H.264: every coded slice in the packet has `nal_ref_idc` 0 (7.4.1). HEVC: every slice is
//! of a sub-layer non-reference type (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the
//! reserved even types below 16) in the base layer, in a stream of one temporal sub-layer,
//! where "not a reference for its sub-layer" means not a reference at all. Only the NAL
//! unit headers are read: the packet's bytes are the demuxer's, untrusted, and anything
//! unexpected (a length running past the end, parameter sets, slices of the extensions, no
//! slice at all) answers "reference", which only costs a decode.

/// The codecs whose packets can be judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Codec {
    H264,
    /// HEVC with a single temporal sub-layer.
    Hevc,
}

/// What one NAL unit says of its packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// A slice of a non-reference picture.
    NonReference,
    /// A unit that changes nothing when left out (SEI, access unit delimiter, filler).
    Neutral,
    /// Anything else: a reference slice, parameter sets, the end of a sequence, units of
    /// the extensions, a damaged header.
    Keep,
}

fn judge(codec: Codec, unit: &[u8]) -> Unit {
    match codec {
        Codec::H264 => {
            let Some(&header) = unit.first() else {
                return Unit::Keep;
            };
            match (header >> 5 & 3, header & 0x1f) {
                // Coded slices (1-4); IDR slices (5) are always references.
                (0, 1..=4) => Unit::NonReference,
                // SEI, access unit delimiter, filler data.
                (_, 6 | 9 | 12) => Unit::Neutral,
                _ => Unit::Keep,
            }
        }
        Codec::Hevc => {
            let [first, second, ..] = *unit else {
                return Unit::Keep;
            };
            let kind = first >> 1 & 0x3f;
            let layer = (first & 1) << 5 | second >> 3;
            match (kind, layer) {
                (0..=14, 0) if kind % 2 == 0 => Unit::NonReference,
                // Access unit delimiter, filler data, SEI (prefix and suffix).
                (35 | 38 | 39 | 40, _) => Unit::Neutral,
                _ => Unit::Keep,
            }
        }
    }
}

/// Whether the packet `data` holds only a non-reference picture (and units that change
/// nothing). `length_size` is the size of each NAL unit's length prefix (MP4 and Matroska:
/// 1, 2 or 4 bytes), or 0 when NAL units are separated by start codes (Annex B: MPEG-TS,
/// raw streams).
pub(super) fn is_non_reference(codec: Codec, data: &[u8], length_size: usize) -> bool {
    let mut slices = 0;
    let mut check = |unit: &[u8]| -> bool {
        match judge(codec, unit) {
            Unit::NonReference => {
                slices += 1;
                true
            }
            Unit::Neutral => true,
            Unit::Keep => false,
        }
    };
    if length_size == 0 {
        let mut units = AnnexB { data, at: 0 };
        for unit in &mut units {
            if !check(unit) {
                return false;
            }
        }
    } else {
        if !(1..=4).contains(&length_size) {
            return false;
        }
        let mut at = 0;
        while at < data.len() {
            let Some(prefix) = data.get(at..at + length_size) else {
                return false;
            };
            let length = prefix
                .iter()
                .fold(0usize, |n, &b| (n << 8) | usize::from(b));
            at += length_size;
            let Some(unit) = data.get(at..at.saturating_add(length)) else {
                return false;
            };
            if !check(unit) {
                return false;
            }
            at += length;
        }
    }
    slices > 0
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

    #[test]
    fn h264_packets_are_judged_by_their_units() {
        let b_nonref: &[u8] = &[header(0, 1), 0x9a, 0x10];
        let p_ref: &[u8] = &[header(2, 1), 0x9a, 0x22];
        let idr: &[u8] = &[header(3, 5), 0x88, 0x84];
        let sei: &[u8] = &[header(0, 6), 0x05, 0x80];
        let aud: &[u8] = &[header(0, 9), 0xf0];
        let prefix: &[u8] = &[header(0, 14), 0x80];
        let sps: &[u8] = &[header(3, 7), 0x64, 0x00];
        let pps: &[u8] = &[header(3, 8), 0xee];
        let end_of_sequence: &[u8] = &[header(0, 10)];
        let cases: &[(&[&[u8]], bool)] = &[
            (&[b_nonref], true),
            (&[aud, sei, b_nonref], true),
            (&[b_nonref, b_nonref], true),
            (&[p_ref], false),
            (&[idr], false),
            (&[b_nonref, p_ref], false),
            (&[sei], false),
            (&[], false),
            (&[prefix, b_nonref], false),
            // Parameter sets sent with a picture are needed by the pictures after it.
            (&[sps, pps, b_nonref], false),
            (&[b_nonref, end_of_sequence], false),
        ];
        check(Codec::H264, cases);
    }

    fn check(codec: Codec, cases: &[(&[&[u8]], bool)]) {
        for (units, expected) in cases {
            for size in [1, 2, 4] {
                let data = length_prefixed(units, size);
                assert_eq!(
                    is_non_reference(codec, &data, size),
                    *expected,
                    "{codec:?} {units:?} ({size})"
                );
            }
            let data = annex_b(units);
            assert_eq!(
                is_non_reference(codec, &data, 0),
                *expected,
                "{codec:?} {units:?}"
            );
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
        let idr = unit(hevc(19, 0, 0));
        let cra = unit(hevc(21, 0, 0));
        let enhancement = unit(hevc(0, 1, 0));
        let sei = unit(hevc(39, 0, 0));
        let aud = unit(hevc(35, 0, 0));
        let pps = unit(hevc(34, 0, 0));
        let cases: &[(&[&[u8]], bool)] = &[
            (&[&trail_n], true),
            (&[&rasl_n], true),
            (&[&aud, &sei, &trail_n, &trail_n], true),
            (&[&trail_r], false),
            (&[&idr], false),
            (&[&cra], false),
            (&[&trail_n, &trail_r], false),
            (&[&enhancement], false),
            (&[&pps, &trail_n], false),
            (&[&sei], false),
            (&[&[0x00][..]], false),
        ];
        check(Codec::Hevc, cases);
    }

    #[test]
    fn damaged_packets_count_as_reference() {
        let b_nonref: &[u8] = &[header(0, 1), 0x9a, 0x10];
        let mut cut = length_prefixed(&[b_nonref], 4);
        cut.pop();
        for codec in [Codec::H264, Codec::Hevc] {
            assert!(!is_non_reference(codec, &cut, 4));
            assert!(!is_non_reference(codec, &[0, 0, 0], 4));
            assert!(!is_non_reference(codec, &[0, 0, 0, 9, header(0, 1)], 4));
            assert!(!is_non_reference(
                codec,
                &length_prefixed(&[b_nonref], 4),
                3
            ));
            assert!(!is_non_reference(codec, &[0, 0, 0, 0], 4));
            assert!(!is_non_reference(codec, b"no start code here", 0));
            assert!(!is_non_reference(codec, &[], 0));
        }
    }
}
