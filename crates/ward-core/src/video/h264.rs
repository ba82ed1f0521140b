//! Which H.264 packets hold a non-reference picture: one that no other picture is predicted
//! from, so that not decoding it changes no other frame (the decoder's own
//! `skip_frame=nonref` makes the same choice from the same bits).
//!
//! A picture is non-reference when every coded slice in its packet has `nal_ref_idc` 0
//! (H.264 7.4.1). Only the one-byte NAL unit header is read: the packet's bytes are the
//! demuxer's, untrusted, and anything unexpected (a length running past the end, slices of
//! the extensions, no slice at all) answers "reference", which only costs a decode.

/// Whether the packet `data` holds only non-reference slices. `length_size` is the size of
/// each NAL unit's length prefix (MP4 and Matroska: 1, 2 or 4 bytes), or 0 when NAL units
/// are separated by start codes (Annex B: MPEG-TS, raw streams).
pub(super) fn is_non_reference(data: &[u8], length_size: usize) -> bool {
    let mut slices = 0;
    let mut check = |header: u8| -> bool {
        let (ref_idc, kind) = ((header >> 5) & 3, header & 0x1f);
        match kind {
            // Coded slices (1-4) and IDR slices (5).
            1..=5 if ref_idc == 0 && kind != 5 => {
                slices += 1;
                true
            }
            1..=5 => false,
            // Prefix NAL units and slice extensions (SVC, MVC, 3D): not judged here.
            14 | 20 | 21 => false,
            _ => true,
        }
    };
    if length_size == 0 {
        let mut units = AnnexB { data, at: 0 };
        for unit in &mut units {
            if !unit.first().is_some_and(|&h| check(h)) {
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
            if !unit.first().is_some_and(|&h| check(h)) {
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
    fn packets_are_judged_by_their_slices() {
        let b_nonref: &[u8] = &[header(0, 1), 0x9a, 0x10];
        let p_ref: &[u8] = &[header(2, 1), 0x9a, 0x22];
        let idr: &[u8] = &[header(3, 5), 0x88, 0x84];
        let sei: &[u8] = &[header(0, 6), 0x05, 0x80];
        let aud: &[u8] = &[header(0, 9), 0xf0];
        let prefix: &[u8] = &[header(0, 14), 0x80];
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
        ];
        for (units, expected) in cases {
            for size in [1, 2, 4] {
                let data = length_prefixed(units, size);
                assert_eq!(
                    is_non_reference(&data, size),
                    *expected,
                    "{units:?} ({size})"
                );
            }
            assert_eq!(is_non_reference(&annex_b(units), 0), *expected, "{units:?}");
        }
    }

    #[test]
    fn damaged_packets_count_as_reference() {
        let b_nonref: &[u8] = &[header(0, 1), 0x9a, 0x10];
        let mut cut = length_prefixed(&[b_nonref], 4);
        cut.pop();
        assert!(!is_non_reference(&cut, 4));
        assert!(!is_non_reference(&[0, 0, 0], 4));
        assert!(!is_non_reference(&[0, 0, 0, 9, header(0, 1)], 4));
        assert!(!is_non_reference(&length_prefixed(&[b_nonref], 4), 3));
        assert!(!is_non_reference(&[0, 0, 0, 0], 4));
        assert!(!is_non_reference(b"no start code here", 0));
        assert!(!is_non_reference(&[], 0));
    }
}
