//! Huffman-coded JPEG data: the bit reader and the baseline and progressive block decoders,
//! following libjpeg's `jdhuff.c` and `jdphuff.c` including their handling of odd streams.

use crate::error::{Error, Result};

/// Zigzag position to natural (row-major) position, with libjpeg's 16 extra entries so that a
/// corrupt run past the end of a block lands on the last coefficient instead of outside it.
pub(super) const NATURAL_ORDER: [usize; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63, //
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
];

/// Bits looked up at once by the fast path of [`HuffmanTable::decode`].
pub(super) const LOOKUP_BITS: u32 = 9;

/// A decoding table built from a DHT segment.
#[derive(Clone, Debug)]
pub(super) struct HuffmanTable {
    /// For each `LOOKUP_BITS`-bit prefix: (code length, symbol), or length 0 if longer.
    lookup: Vec<(u8, u8)>,
    /// Largest code of each length (1..=16), -1 if none; index 17 is a sentinel.
    max_code: [i32; 18],
    /// Offset from a code of each length to its symbol's index.
    value_offset: [i32; 17],
    symbols: Vec<u8>,
    /// For AC decoding: for each `LOOKUP_BITS`-bit prefix that holds a whole code *and* its
    /// magnitude bits, the run, the coefficient and the bits used; `bits == 0` otherwise.
    fast_ac: Vec<FastAc>,
}

/// A run/level pair decoded in one lookup.
#[derive(Clone, Copy, Debug, Default)]
struct FastAc {
    bits: u8,
    run: u8,
    value: i16,
}

impl HuffmanTable {
    /// Builds a table from the 16 code-length counts and the symbols, rejecting tables that
    /// cannot be a prefix code (as libjpeg's `jpeg_make_d_derived_tbl` does).
    pub(super) fn new(counts: &[u8; 16], symbols: &[u8], is_dc: bool) -> Result<HuffmanTable> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total != symbols.len() || total > 256 {
            return Err(bad_table());
        }
        if is_dc && symbols.iter().any(|&s| s > 15) {
            return Err(bad_table());
        }
        let mut lookup = vec![(0u8, 0u8); 1 << LOOKUP_BITS];
        let mut max_code = [-1i32; 18];
        let mut value_offset = [0i32; 17];
        let mut code: i32 = 0;
        let mut index = 0usize;
        for length in 1..=16usize {
            let count = usize::from(counts[length - 1]);
            value_offset[length] = index as i32 - code;
            for _ in 0..count {
                // Codes of this length must fit in `length` bits and none may be all ones
                // (libjpeg's JERR_BAD_HUFF_TABLE).
                if code + 1 >= (1 << length) {
                    return Err(bad_table());
                }
                if length as u32 <= LOOKUP_BITS {
                    let shift = LOOKUP_BITS - length as u32;
                    let first = (code as usize) << shift;
                    for entry in &mut lookup[first..first + (1 << shift)] {
                        *entry = (length as u8, symbols[index]);
                    }
                }
                code += 1;
                index += 1;
            }
            if count > 0 {
                max_code[length] = code - 1;
            }
            code <<= 1;
        }
        max_code[17] = i32::MAX;
        let mut fast_ac = vec![FastAc::default(); 1 << LOOKUP_BITS];
        for (prefix, entry) in fast_ac.iter_mut().enumerate() {
            let (length, symbol) = lookup[prefix];
            let (run, size) = (symbol >> 4, u32::from(symbol & 15));
            let total = u32::from(length) + size;
            if length == 0 || size == 0 || total > LOOKUP_BITS {
                continue;
            }
            let magnitude = (prefix as u32 >> (LOOKUP_BITS - total)) & ((1 << size) - 1);
            let value = extend(magnitude as i32, size) as i16;
            *entry = FastAc {
                bits: total as u8,
                run,
                value,
            };
        }
        Ok(HuffmanTable {
            lookup,
            max_code,
            value_offset,
            symbols: symbols.to_vec(),
            fast_ac,
        })
    }
}

fn bad_table() -> Error {
    Error::Corrupt {
        format: "jpeg",
        message: "bad Huffman table".into(),
    }
}

/// Reads entropy-coded bits, unstuffing `FF 00` and stopping at markers.
///
/// Past a marker it supplies zero bits, as libjpeg does (so a damaged segment decodes to
/// flat blocks). Past the end of the file it supplies zero bits too but remembers it: a scan
/// that needed them belongs to a truncated file.
#[derive(Debug)]
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to read.
    position: usize,
    buffer: u64,
    /// Valid bits in `buffer`, counted from its top.
    count: u32,
    /// A marker (or the end of the data) was reached; only zero bits follow.
    stopped: bool,
    /// Zero bits added after the end of the file.
    padding: u32,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8], position: usize) -> BitReader<'a> {
        BitReader {
            data,
            position,
            buffer: 0,
            count: 0,
            stopped: false,
            padding: 0,
        }
    }

    /// The position of the next marker (or of the end of data) once the scan is done.
    pub(super) fn position(&self) -> usize {
        self.position
    }

    /// Whether any bit past the end of the file has been consumed.
    pub(super) fn overran(&self) -> bool {
        self.padding > 0 && self.count < self.padding
    }

    #[inline(always)]
    fn fill(&mut self) {
        // Fast path: the next eight bytes hold no 0xFF, so whole bytes can be taken at once.
        if !self.stopped
            && let Some(next) = self.data.get(self.position..self.position + 8)
        {
            let word = u64::from_be_bytes(next.try_into().expect("8 bytes"));
            let inverted = !word;
            let has_ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let take = (64 - self.count) / 8;
                let bits = take * 8;
                let chunk = if bits == 64 {
                    word
                } else {
                    word >> (64 - bits)
                };
                self.buffer |= if bits == 64 {
                    chunk
                } else {
                    chunk << (64 - self.count - bits)
                };
                self.count += bits;
                self.position += take as usize;
                return;
            }
        }
        while self.count <= 56 {
            if self.stopped {
                if self.position >= self.data.len() {
                    self.padding = self.padding.saturating_add(8);
                }
                self.count += 8;
                continue;
            }
            let Some(&byte) = self.data.get(self.position) else {
                self.stopped = true;
                continue;
            };
            if byte == 0xFF {
                // FF FF ... is padding; FF 00 is a stuffed FF; FF xx is a marker.
                let mut next = self.position + 1;
                while self.data.get(next) == Some(&0xFF) {
                    next += 1;
                }
                match self.data.get(next) {
                    Some(0x00) => {
                        self.position = next + 1;
                        self.buffer |= 0xFFu64 << (56 - self.count);
                        self.count += 8;
                    }
                    Some(_) => {
                        // Leave the reader on the marker for the segment parser.
                        self.position = next - 1;
                        self.stopped = true;
                    }
                    None => {
                        self.position = self.data.len();
                        self.stopped = true;
                    }
                }
                continue;
            }
            self.position += 1;
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline(always)]
    pub(super) fn peek(&mut self, bits: u32) -> u32 {
        if self.count < bits {
            self.fill();
        }
        (self.buffer >> (64 - bits)) as u32
    }

    #[inline(always)]
    pub(super) fn consume(&mut self, bits: u32) {
        self.buffer <<= bits;
        self.count -= bits;
    }

    /// Reads `bits` (0..=16) bits as an unsigned number.
    #[inline(always)]
    pub(super) fn bits(&mut self, bits: u32) -> u32 {
        if bits == 0 {
            return 0;
        }
        let value = self.peek(bits);
        self.consume(bits);
        value
    }

    #[inline(always)]
    pub(super) fn bit(&mut self) -> bool {
        self.bits(1) == 1
    }

    /// Reads `bits` bits and sign-extends them as JPEG codes magnitudes (`HUFF_EXTEND`).
    #[inline(always)]
    pub(super) fn receive_extend(&mut self, bits: u32) -> i32 {
        if bits == 0 {
            return 0;
        }
        let value = self.bits(bits) as i32;
        if value < (1 << (bits - 1)) {
            value + ((-1) << bits) + 1
        } else {
            value
        }
    }

    /// Decodes one Huffman symbol. An invalid code yields 0, as in libjpeg.
    #[inline(always)]
    pub(super) fn decode(&mut self, table: &HuffmanTable) -> u8 {
        let prefix = self.peek(LOOKUP_BITS);
        let (length, symbol) = table.lookup[prefix as usize];
        if length > 0 {
            self.consume(u32::from(length));
            return symbol;
        }
        // Codes longer than the lookup: compare against the largest code of each length.
        let window = self.peek(16) as i32;
        for length in LOOKUP_BITS as usize + 1..=16 {
            let code = window >> (16 - length);
            if code <= table.max_code[length] {
                self.consume(length as u32);
                let index = (code + table.value_offset[length]) as usize;
                return table.symbols.get(index).copied().unwrap_or(0);
            }
        }
        // No code matches: libjpeg warns and returns symbol 0 after reading 17 bits.
        self.consume(16);
        self.bits(1);
        0
    }

    /// Skips to the restart marker that ends an interval and consumes it. Returns false
    /// when the next marker is not a restart marker (it is left for the segment parser).
    pub(super) fn restart(&mut self) -> bool {
        self.buffer = 0;
        self.count = 0;
        self.stopped = false;
        self.padding = 0;
        // Find the next marker.
        while self.position + 1 < self.data.len() {
            if self.data[self.position] == 0xFF {
                let marker = self.data[self.position + 1];
                if (0xD0..=0xD7).contains(&marker) {
                    self.position += 2;
                    return true;
                }
                if marker != 0x00 && marker != 0xFF {
                    return false;
                }
            }
            self.position += 1;
        }
        false
    }
}

/// libjpeg's `HUFF_EXTEND`: a `bits`-bit magnitude code as a signed value.
#[inline(always)]
fn extend(value: i32, bits: u32) -> i32 {
    if value < (1 << (bits - 1)) {
        value + ((-1) << bits) + 1
    } else {
        value
    }
}

/// Decodes one block of a sequential (baseline or extended) scan into `block` (zeroed, in
/// natural order, not dequantised). Returns whether any AC coefficient was coded.
#[inline(always)]
pub(super) fn decode_block(
    reader: &mut BitReader<'_>,
    dc: &HuffmanTable,
    ac: &HuffmanTable,
    predictor: &mut i32,
    block: &mut [i16; 64],
) -> bool {
    let size = u32::from(reader.decode(dc));
    *predictor = predictor.wrapping_add(reader.receive_extend(size));
    block[0] = *predictor as i16;
    let mut k = 1usize;
    let mut any = false;
    while k < 64 {
        // Most coefficients: code and magnitude in one lookup.
        let fast = ac.fast_ac[reader.peek(LOOKUP_BITS) as usize];
        if fast.bits > 0 {
            reader.consume(u32::from(fast.bits));
            k += usize::from(fast.run);
            block[NATURAL_ORDER[k.min(79)]] = fast.value;
            any = true;
            k += 1;
            continue;
        }
        let rs = reader.decode(ac);
        let run = usize::from(rs >> 4);
        let size = u32::from(rs & 15);
        if size != 0 {
            k += run;
            block[NATURAL_ORDER[k.min(79)]] = reader.receive_extend(size) as i16;
            any = true;
        } else if run != 15 {
            break;
        } else {
            k += 15;
        }
        k += 1;
    }
    any
}

/// State carried across the blocks of a progressive scan.
#[derive(Debug, Default)]
pub(super) struct ProgressiveState {
    pub(super) end_of_band_run: u32,
}

/// The spectral band and bit position of a progressive scan.
#[derive(Clone, Copy, Debug)]
pub(super) struct Band {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) high: u8,
    pub(super) low: u8,
}

/// First DC scan: the DC difference, shifted by the successive-approximation position.
#[inline(always)]
pub(super) fn decode_dc_first(
    reader: &mut BitReader<'_>,
    dc: &HuffmanTable,
    predictor: &mut i32,
    low: u8,
    block: &mut [i16],
) {
    let size = u32::from(reader.decode(dc));
    *predictor = predictor.wrapping_add(reader.receive_extend(size));
    block[0] = (*predictor).wrapping_shl(u32::from(low)) as i16;
}

/// DC refinement: one more bit of the DC coefficient.
#[inline(always)]
pub(super) fn decode_dc_refine(reader: &mut BitReader<'_>, low: u8, block: &mut [i16]) {
    if reader.bit() {
        block[0] |= 1i16.wrapping_shl(u32::from(low));
    }
}

/// First AC scan of a band.
#[inline(always)]
pub(super) fn decode_ac_first(
    reader: &mut BitReader<'_>,
    ac: &HuffmanTable,
    band: Band,
    state: &mut ProgressiveState,
    block: &mut [i16],
) {
    if state.end_of_band_run > 0 {
        state.end_of_band_run -= 1;
        return;
    }
    let mut k = band.start;
    while k <= band.end {
        let rs = reader.decode(ac);
        let run = u32::from(rs >> 4);
        let size = u32::from(rs & 15);
        if size != 0 {
            k += run as usize;
            let value = reader.receive_extend(size);
            block[NATURAL_ORDER[k.min(79)]] = value.wrapping_shl(u32::from(band.low)) as i16;
        } else if run == 15 {
            k += 15;
        } else {
            let mut eob = 1u32 << run;
            if run > 0 {
                eob += reader.bits(run);
            }
            state.end_of_band_run = eob - 1;
            break;
        }
        k += 1;
    }
}

/// AC refinement of a band: correction bits for known coefficients, new ones of +-1.
#[inline(always)]
pub(super) fn decode_ac_refine(
    reader: &mut BitReader<'_>,
    ac: &HuffmanTable,
    band: Band,
    state: &mut ProgressiveState,
    block: &mut [i16],
) {
    let positive = 1i16.wrapping_shl(u32::from(band.low));
    let negative = (-1i16).wrapping_shl(u32::from(band.low));
    let mut k = band.start;

    let refine = |reader: &mut BitReader<'_>, coefficient: &mut i16| {
        if reader.bit() && (*coefficient & positive) == 0 {
            *coefficient = if *coefficient >= 0 {
                coefficient.wrapping_add(positive)
            } else {
                coefficient.wrapping_add(negative)
            };
        }
    };

    if state.end_of_band_run == 0 {
        while k <= band.end {
            let rs = reader.decode(ac);
            let mut run = i32::from(rs >> 4);
            let size = rs & 15;
            let mut value = 0i16;
            if size != 0 {
                // Only magnitude 1 is valid here; libjpeg warns and goes on for others.
                value = if reader.bit() { positive } else { negative };
            } else if run != 15 {
                let mut eob = 1u32 << run;
                if run > 0 {
                    eob += reader.bits(run as u32);
                }
                state.end_of_band_run = eob;
                break;
            }
            // Skip `run` zero coefficients, refining the non-zero ones passed on the way.
            while k <= band.end {
                let coefficient = &mut block[NATURAL_ORDER[k]];
                if *coefficient != 0 {
                    refine(reader, coefficient);
                } else {
                    run -= 1;
                    if run < 0 {
                        break;
                    }
                }
                k += 1;
            }
            if value != 0 {
                block[NATURAL_ORDER[k.min(79)]] = value;
            }
            k += 1;
        }
    }
    if state.end_of_band_run > 0 {
        while k <= band.end {
            let coefficient = &mut block[NATURAL_ORDER[k]];
            if *coefficient != 0 {
                refine(reader, coefficient);
            }
            k += 1;
        }
        state.end_of_band_run -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table with codes 0 -> 'a' (1 bit), 10 -> 'b', 110 -> 'c' (as in any JPEG DHT).
    fn small_table() -> HuffmanTable {
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[1] = 1;
        counts[2] = 1;
        HuffmanTable::new(&counts, &[1, 2, 3], true).unwrap()
    }

    #[test]
    fn decodes_codes_and_unstuffs() {
        // Bits: 0 10 110 then 11 from a stuffed FF byte: 0101 1011 | 1111 1111 (FF 00)
        let data = [0b0101_1011, 0xFF, 0x00, 0xFF, 0xD9];
        let table = small_table();
        let mut reader = BitReader::new(&data, 0);
        assert_eq!(reader.decode(&table), 1);
        assert_eq!(reader.decode(&table), 2);
        assert_eq!(reader.decode(&table), 3);
        assert_eq!(reader.bits(2), 0b11);
        assert_eq!(reader.bits(8), 0xFF);
        // At the marker only zero bits follow, and the reader rests on the marker.
        assert_eq!(reader.bits(16), 0);
        assert!(!reader.overran());
        assert_eq!(&data[reader.position()..], &[0xFF, 0xD9]);
    }

    #[test]
    fn reading_past_the_end_is_detected() {
        let data = [0xAB];
        let mut reader = BitReader::new(&data, 0);
        assert_eq!(reader.bits(8), 0xAB);
        assert!(!reader.overran());
        assert_eq!(reader.bits(4), 0);
        assert!(reader.overran());
    }

    #[test]
    fn receive_extend_follows_jpeg() {
        let check = |bits: u32, raw: u32, expected: i32| {
            let data = [(raw << (8 - bits)) as u8, 0, 0];
            let mut reader = BitReader::new(&data, 0);
            assert_eq!(reader.receive_extend(bits), expected, "{bits} {raw:b}");
        };
        check(1, 0, -1);
        check(1, 1, 1);
        check(2, 0b00, -3);
        check(2, 0b01, -2);
        check(2, 0b10, 2);
        check(3, 0b011, -4);
        check(3, 0b111, 7);
    }

    #[test]
    fn rejects_impossible_tables() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes cannot exist
        assert!(HuffmanTable::new(&counts, &[0, 1, 2], false).is_err());
        counts[0] = 1;
        assert!(HuffmanTable::new(&counts, &[0, 1], false).is_err());
        assert!(HuffmanTable::new(&counts, &[16], true).is_err());
    }
}
