//! The two-pass Jarosz box filter and 64x64 decimation of Meta's PDQ, bit for bit, streamed.
//!
//! The reference filters the whole float image four times (along rows, along columns, twice)
//! and then samples 64x64 points. Every output is a running float32 sum divided by the
//! number of samples in the window, and the order of the adds and subtracts decides the last
//! bits, so this module keeps that order exactly while changing everything else:
//!
//! - Passes along rows run on blocks of [`LANES`] rows at once, interleaved so that each
//!   step of the running sums is one vector operation over the block (rows go in and out of
//!   the interleaved layout by 8x8 transposes, `interleave.rs`).
//! - Passes along columns run over whole rows at once (the lanes are the columns).
//! - Nothing is stored at full size: rows stream from the luma source through the four
//!   passes, and each column pass keeps only the last `window + 1` rows it needs for its
//!   subtractions. The third pass keeps only the 64 columns that will be sampled, and the
//!   fourth only the 64 rows.
//!
//! The literal transcription in the tests is the oracle that this is checked against.

use super::interleave::{deinterleave, interleave};
use super::luma::LumaRows;

/// Rows filtered together by a pass along rows.
pub(super) const LANES: usize = 8;

/// The window the reference uses to reduce `dimension` samples towards 64.
pub(crate) fn window_size(dimension: usize) -> usize {
    // computeJaroszFilterWindowSize(old, 64) = (old + 2*64 - 1) / (2*64)
    dimension.div_ceil(128)
}

/// The indices that decimation to 64 samples picks from `dimension` samples.
pub(crate) fn sample_indices(dimension: usize) -> [usize; 64] {
    std::array::from_fn(|i| (((i as f64 + 0.5) * dimension as f64) / 64.0) as usize)
}

/// The phase lengths of one 1-D box pass, as the reference splits it.
#[derive(Clone, Copy, Debug)]
struct Phases {
    /// Samples added before the first output.
    warmup: usize,
    /// Outputs while the window grows.
    growing: usize,
    /// Outputs with a full window (an add and a subtract each).
    full: usize,
    /// Outputs while the window shrinks at the end.
    shrinking: usize,
}

impl Phases {
    fn new(length: usize, window: usize) -> Phases {
        debug_assert!(window >= 1 && window <= length);
        let half = (window + 2) / 2;
        Phases {
            warmup: half - 1,
            growing: window - half + 1,
            full: length - window,
            shrinking: half - 1,
        }
    }
}

/// Where a pass along rows puts its outputs: `put(index, sums, count)` is called for each
/// output index in order, with the running sums of the block's lanes.
trait RowSink {
    fn put(&mut self, index: usize, sums: &[f32; LANES], count: usize);
}

#[inline(always)]
fn divide(sums: &[f32; LANES], count: usize, out: &mut [f32; LANES]) {
    let count = count as f32;
    for (o, s) in out.iter_mut().zip(sums) {
        *o = *s / count;
    }
}

/// Every output, for the next pass.
struct AllOutputs<'a>(&'a mut [[f32; LANES]]);

impl RowSink for AllOutputs<'_> {
    #[inline(always)]
    fn put(&mut self, index: usize, sums: &[f32; LANES], count: usize) {
        divide(sums, count, &mut self.0[index]);
    }
}

/// Only the outputs that decimation samples (the last pass along rows needs no others, so
/// the others are never divided).
struct SampledOutputs<'a> {
    samples: &'a [usize; 64],
    next: usize,
    out: &'a mut [[f32; LANES]; 64],
}

impl RowSink for SampledOutputs<'_> {
    #[inline(always)]
    fn put(&mut self, index: usize, sums: &[f32; LANES], count: usize) {
        while self.next < 64 && self.samples[self.next] == index {
            divide(sums, count, &mut self.out[self.next]);
            self.next += 1;
        }
    }
}

/// Runs the 1-D box filter along the steps of `LANES` interleaved independent signals,
/// `input[step][lane]`, handing each output step to `sink`.
#[inline(always)]
fn box_interleaved(input: &[[f32; LANES]], window: usize, sink: &mut impl RowSink) {
    let phases = Phases::new(input.len(), window);
    let mut sum = [0f32; LANES];
    let mut count = 0usize;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);

    for _ in 0..phases.warmup {
        add(&mut sum, &input[right]);
        count += 1;
        right += 1;
    }
    for _ in 0..phases.growing {
        add(&mut sum, &input[right]);
        count += 1;
        sink.put(out, &sum, count);
        right += 1;
        out += 1;
    }
    for _ in 0..phases.full {
        add(&mut sum, &input[right]);
        subtract(&mut sum, &input[left]);
        sink.put(out, &sum, count);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..phases.shrinking {
        subtract(&mut sum, &input[left]);
        count -= 1;
        sink.put(out, &sum, count);
        left += 1;
        out += 1;
    }
}

/// A 1-D box pass along columns, fed one row at a time, producing output rows in order.
///
/// It keeps the last `window + 1` input rows for the subtractions.
#[derive(Debug)]
struct ColumnPass {
    width: usize,
    phases: Phases,
    sum: Vec<f32>,
    count: usize,
    /// Input rows seen so far.
    pushed: usize,
    /// Next input row to subtract.
    left: usize,
    /// Output rows produced so far.
    produced: usize,
    /// Shrinking steps left once every row is in.
    shrinking: usize,
    ring: Vec<f32>,
    ring_rows: usize,
    /// The last output row.
    output: Vec<f32>,
}

impl ColumnPass {
    fn new(width: usize, length: usize, window: usize) -> ColumnPass {
        let phases = Phases::new(length, window);
        ColumnPass {
            width,
            phases,
            sum: vec![0.0; width],
            count: 0,
            pushed: 0,
            left: 0,
            produced: 0,
            shrinking: phases.shrinking,
            ring: vec![0.0; width * (window + 1)],
            ring_rows: window + 1,
            output: vec![0.0; width],
        }
    }

    /// Feeds the next input row; returns whether that completed an output row (in `output`).
    #[inline(always)]
    fn push(&mut self, row: &[f32]) -> bool {
        let row = &row[..self.width];
        let index = self.pushed;
        let slot = index % self.ring_rows;
        self.ring[slot * self.width..(slot + 1) * self.width].copy_from_slice(row);
        self.pushed += 1;

        let p = self.phases;
        add(&mut self.sum, row);
        if index < p.warmup {
            self.count += 1;
            return false;
        }
        if index < p.warmup + p.growing {
            self.count += 1;
        } else {
            self.subtract_left();
        }
        self.produce();
        true
    }

    /// Once every row is in: produces the next output of the shrinking window, if any.
    #[inline(always)]
    fn shrink(&mut self) -> bool {
        if self.shrinking == 0 {
            return false;
        }
        self.shrinking -= 1;
        self.subtract_left();
        self.count -= 1;
        self.produce();
        true
    }

    #[inline(always)]
    fn subtract_left(&mut self) {
        let slot = self.left % self.ring_rows;
        subtract(
            &mut self.sum,
            &self.ring[slot * self.width..(slot + 1) * self.width],
        );
        self.left += 1;
    }

    #[inline(always)]
    fn produce(&mut self) {
        let count = self.count as f32;
        for (o, s) in self.output.iter_mut().zip(&self.sum) {
            *o = *s / count;
        }
        self.produced += 1;
    }
}

#[inline(always)]
fn add(sum: &mut [f32], row: &[f32]) {
    for (s, v) in sum.iter_mut().zip(row) {
        *s += *v;
    }
}

#[inline(always)]
fn subtract(sum: &mut [f32], row: &[f32]) {
    for (s, v) in sum.iter_mut().zip(row) {
        *s -= *v;
    }
}

/// Collects rows for a pass along rows, [`LANES`] at a time, and interleaves them.
#[derive(Debug)]
struct RowBlock {
    cols: usize,
    /// Up to [`LANES`] rows, `cols` floats each.
    rows: Vec<f32>,
    filled: usize,
    /// `block[col][lane]`, once [`RowBlock::interleave`] has run.
    block: Vec<[f32; LANES]>,
}

impl RowBlock {
    fn new(cols: usize) -> RowBlock {
        RowBlock {
            cols,
            rows: vec![0.0; LANES * cols],
            filled: 0,
            block: vec![[0.0; LANES]; cols],
        }
    }

    /// The next row to fill.
    #[inline(always)]
    fn next_row(&mut self) -> &mut [f32] {
        let start = self.filled * self.cols;
        &mut self.rows[start..start + self.cols]
    }

    /// Counts the row just filled; returns whether the block is full.
    #[inline(always)]
    fn filled_one(&mut self) -> bool {
        self.filled += 1;
        self.filled == LANES
    }

    /// Moves the rows into `block`.
    #[inline(always)]
    fn interleave(&mut self) {
        interleave(&self.rows, self.cols, &mut self.block);
    }
}

crate::cpu::vectorised! {
    /// Blurs and decimates the luma to the 64x64 buffer the reference takes its quality and
    /// DCT from. `rows` and `cols` must both be at least 1.
    pub(crate) fn downsample(luma: &LumaRows<'_>) -> [[f32; 64]; 64] = downsample_inner;
}

/// The last two passes and the decimation: rows of pass 2 go in, the 64x64 buffer comes out.
struct Tail {
    window_x: usize,
    sample_cols: [usize; 64],
    sample_rows: [usize; 64],
    pass3: RowBlock,
    sampled: [[f32; LANES]; 64],
    compact: [f32; 64],
    pass4: ColumnPass,
    next_row: usize,
    result: [[f32; 64]; 64],
}

impl Tail {
    /// Takes one output row of pass 2.
    #[inline(always)]
    fn push(&mut self, row: &[f32]) {
        self.pass3.next_row().copy_from_slice(row);
        if self.pass3.filled_one() {
            self.filter_block();
        }
    }

    /// Runs pass 3 over the collected rows (computing only the sampled columns) and feeds
    /// them to pass 4.
    #[inline(always)]
    fn filter_block(&mut self) {
        self.pass3.interleave();
        let mut sink = SampledOutputs {
            samples: &self.sample_cols,
            next: 0,
            out: &mut self.sampled,
        };
        box_interleaved(&self.pass3.block, self.window_x, &mut sink);
        for lane in 0..self.pass3.filled {
            for (c, cell) in self.compact.iter_mut().zip(&self.sampled) {
                *c = cell[lane];
            }
            if self.pass4.push(&self.compact) {
                self.keep();
            }
        }
        self.pass3.filled = 0;
    }

    /// Keeps pass 4's latest output row if decimation samples it.
    #[inline(always)]
    fn keep(&mut self) {
        let index = self.pass4.produced - 1;
        while self.next_row < 64 && self.sample_rows[self.next_row] == index {
            self.result[self.next_row].copy_from_slice(&self.pass4.output);
            self.next_row += 1;
        }
    }

    #[inline(always)]
    fn finish(mut self) -> [[f32; 64]; 64] {
        if self.pass3.filled > 0 {
            self.filter_block();
        }
        while self.pass4.shrink() {
            self.keep();
        }
        debug_assert_eq!(self.next_row, 64);
        self.result
    }
}

#[inline(always)]
fn downsample_inner(luma: &LumaRows<'_>) -> [[f32; 64]; 64] {
    let (rows, cols) = (luma.rows(), luma.cols());
    let window_x = window_size(cols);
    let window_y = window_size(rows);
    let mut tail = Tail {
        window_x,
        sample_cols: sample_indices(cols),
        sample_rows: sample_indices(rows),
        pass3: RowBlock::new(cols),
        sampled: [[0.0; LANES]; 64],
        compact: [0.0; 64],
        pass4: ColumnPass::new(64, rows, window_y),
        next_row: 0,
        result: [[0.0; 64]; 64],
    };
    // Pass 1 along rows, straight from the luma source; pass 2 along columns.
    let mut pass1 = RowBlock::new(cols);
    let mut filtered = vec![[0f32; LANES]; cols];
    let mut pass2 = ColumnPass::new(cols, rows, window_y);
    let mut unpacked = vec![0f32; LANES * cols];
    for row in 0..rows {
        luma.fill(row, pass1.next_row());
        if !pass1.filled_one() && row + 1 < rows {
            continue;
        }
        pass1.interleave();
        box_interleaved(&pass1.block, window_x, &mut AllOutputs(&mut filtered));
        deinterleave(&filtered, cols, &mut unpacked);
        for lane in 0..pass1.filled {
            if pass2.push(&unpacked[lane * cols..(lane + 1) * cols]) {
                tail.push(&pass2.output);
            }
        }
        pass1.filled = 0;
    }
    while pass2.shrink() {
        tail.push(&pass2.output);
    }
    tail.finish()
}

#[cfg(test)]
pub(crate) mod reference {
    //! A literal transcription of the reference filter, for checking the streamed one.

    use super::{sample_indices, window_size};

    fn box_1d(input: &[f32], output: &mut [f32], length: usize, stride: usize, window: usize) {
        let half = (window + 2) / 2;
        let (p1, p2, p3, p4) = (half - 1, window - half + 1, length - window, half - 1);
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let mut sum = 0f32;
        let mut count = 0usize;
        for _ in 0..p1 {
            sum += input[ri];
            count += 1;
            ri += stride;
        }
        for _ in 0..p2 {
            sum += input[ri];
            count += 1;
            output[oi] = sum / count as f32;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p3 {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / count as f32;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p4 {
            sum -= input[li];
            count -= 1;
            output[oi] = sum / count as f32;
            li += stride;
            oi += stride;
        }
    }

    /// Filters `image` (rows x cols, row-major) in place and decimates it to 64x64.
    pub(crate) fn downsample(image: &mut [f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
        let mut other = vec![0f32; image.len()];
        let (wx, wy) = (window_size(cols), window_size(rows));
        for _ in 0..2 {
            for r in 0..rows {
                box_1d(&image[r * cols..], &mut other[r * cols..], cols, 1, wx);
            }
            for c in 0..cols {
                box_1d(&other[c..], &mut image[c..], rows, cols, wy);
            }
        }
        let (sr, sc) = (sample_indices(rows), sample_indices(cols));
        std::array::from_fn(|i| std::array::from_fn(|j| image[sr[i] * cols + sc[j]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Picture, Pixels};
    use crate::pdq::luma::LumaFormula;
    use proptest::prelude::*;

    fn check_against_reference(rows: usize, cols: usize, pixels: Vec<u8>) {
        let picture = Picture::new(cols as u32, rows as u32, Pixels::Rgb(pixels)).unwrap();
        let luma = LumaRows::full(&picture, LumaFormula::Float64);
        let mut image = vec![0f32; rows * cols];
        for r in 0..rows {
            luma.fill(r, &mut image[r * cols..(r + 1) * cols]);
        }
        let expected = reference::downsample(&mut image, rows, cols);
        // Both copies: the one for this CPU's widest vectors and the baseline one.
        let actual = downsample(&luma);
        assert_eq!(actual, downsample_inner(&luma));
        for i in 0..64 {
            for j in 0..64 {
                assert_eq!(
                    actual[i][j].to_bits(),
                    expected[i][j].to_bits(),
                    "{rows}x{cols} at ({i},{j}): {} vs {}",
                    actual[i][j],
                    expected[i][j]
                );
            }
        }
    }

    #[test]
    fn window_sizes_match_reference() {
        for (dim, w) in [
            (1, 1),
            (5, 1),
            (128, 1),
            (129, 2),
            (256, 2),
            (1004, 8),
            (1600, 13),
            (4000, 32),
        ] {
            assert_eq!(window_size(dim), w, "{dim}");
        }
    }

    #[test]
    fn sample_indices_match_reference() {
        assert_eq!(
            sample_indices(64),
            std::array::from_fn::<usize, 64, _>(|i| i)
        );
        let s = sample_indices(1004);
        assert_eq!((s[0], s[1], s[63]), (7, 23, 996));
    }

    #[test]
    fn streamed_equals_reference_on_edge_sizes() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for (rows, cols) in [
            (5, 5),
            (7, 9),
            (64, 64),
            (65, 63),
            (8, 200),
            (129, 130),
            (300, 17),
            (257, 1031),
        ] {
            let pixels = (0..rows * cols * 3)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed >> 24) as u8
                })
                .collect();
            check_against_reference(rows, cols, pixels);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn streamed_equals_reference(rows in 5usize..400, cols in 5usize..400, seed: u64) {
            let mut state = seed | 1;
            let pixels = (0..rows * cols * 3)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Smooth regions as well as noise, so sums of equal values are covered.
                    if (i / 97) % 3 == 0 { (i / 300) as u8 } else { (state >> 32) as u8 }
                })
                .collect();
            check_against_reference(rows, cols, pixels);
        }
    }
}
