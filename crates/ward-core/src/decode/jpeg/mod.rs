//! JPEG: Ward's own decoder, pixel-identical to libjpeg-turbo with its default settings
//! (what Pillow, and so HMA and python-threatexchange, decode with).
//!
//! Other Rust decoders use other inverse DCTs and upsampling filters; their pixels differ by
//! a few levels, which moves PDQ hashes of low-texture images by several bits. Reproducing
//! libjpeg's integer arithmetic makes Ward's hashes of JPEGs the reference's, bit for bit.
//!
//! Supported: baseline and extended sequential Huffman, progressive Huffman, restart
//! intervals, 1/3/4 components (grey, YCbCr, RGB, CMYK, YCCK) with any integral sampling
//! factors. Not supported (a typed error): arithmetic coding, lossless, hierarchical and
//! 12-bit JPEGs, which no camera or platform produces.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod color;
mod entropy;
mod idct;

use color::{ColorSpace, Plane};
use entropy::{BitReader, HuffmanTable, NATURAL_ORDER};

use super::{DecodeOptions, Orientation, Picture, Pixels, check_size};
use crate::error::{Error, Result};

pub(super) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<(Picture, Option<Orientation>)> {
    let mut decoder = Decoder::new(bytes, options);
    decoder.run()?;
    let mut frame = decoder
        .frame
        .take()
        .ok_or_else(|| corrupt("no image in file"))?;
    let space = decoder.color_space(&frame)?;
    let planes = finish_planes(&decoder.quant, &mut frame);
    let pixels = color::convert(&planes, frame.width, frame.height, space)?;
    let orientation = if options.exif_orient {
        decoder.orientation
    } else {
        None
    };
    Ok((
        Picture::new(frame.width as u32, frame.height as u32, pixels)?,
        orientation,
    ))
}

/// The dimensions and the memory decoding takes, from the headers up to the first scan (no
/// entropy-coded data is read): every component's blocks (as coefficients and then samples
/// when the image has several scans, as samples otherwise), the picture, and the rows
/// colour conversion works in.
pub(super) fn plan(bytes: &[u8], options: &DecodeOptions) -> Result<(u32, u32, u64)> {
    let mut decoder = Decoder::new(bytes, options);
    decoder.plan_only = true;
    decoder.run()?;
    let frame = decoder
        .frame
        .as_ref()
        .ok_or_else(|| corrupt("no image in file"))?;
    let first_scan = decoder
        .first_scan
        .ok_or(Error::Truncated { format: "jpeg" })?;
    let buffered = frame.progressive || first_scan != frame.components.len();
    let blocks: u64 = frame
        .components
        .iter()
        .map(|c| (c.blocks_across * c.blocks_down) as u64)
        .sum();
    let per_block = if buffered { 64 * 2 + 64 } else { 64 };
    let channels = if frame.components.len() == 1 { 1 } else { 3 };
    let (width, height) = (frame.width as u64, frame.height as u64);
    let picture = width * height * channels;
    let rows = frame.components.len() as u64 * (width * 4 + 64) * 8;
    Ok((
        width as u32,
        height as u32,
        blocks * per_block + picture + rows + (256 << 10),
    ))
}

fn corrupt(message: &str) -> Error {
    Error::Corrupt {
        format: "jpeg",
        message: message.to_string(),
    }
}

fn unsupported(message: &str) -> Error {
    Error::Unsupported {
        format: "jpeg",
        message: message.to_string(),
    }
}

#[derive(Debug)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_table: usize,
    /// Blocks per row and column, padded to whole MCUs.
    blocks_across: usize,
    blocks_down: usize,
    /// Blocks holding image data (what a non-interleaved scan covers).
    real_blocks_across: usize,
    real_blocks_down: usize,
    /// Coefficients of every block (natural order), kept for multi-scan images.
    coefficients: Vec<i16>,
    /// Samples, for a single-scan image decoded straight to pixels.
    samples: Vec<u8>,
    dc_predictor: i32,
    /// Whether some scan has carried this component.
    scanned: bool,
}

#[derive(Debug)]
struct Frame {
    progressive: bool,
    width: usize,
    height: usize,
    h_max: usize,
    v_max: usize,
    mcus_across: usize,
    mcus_down: usize,
    components: Vec<Component>,
    /// Whether coefficients are kept (several scans) or blocks go straight to samples.
    buffered: bool,
}

struct Decoder<'a> {
    data: &'a [u8],
    position: usize,
    options: &'a DecodeOptions,
    quant: [Option<[u16; 64]>; 4],
    dc_tables: [Option<HuffmanTable>; 4],
    ac_tables: [Option<HuffmanTable>; 4],
    restart_interval: usize,
    saw_jfif: bool,
    adobe_transform: Option<u8>,
    orientation: Option<Orientation>,
    frame: Option<Frame>,
    scans: usize,
    /// Stop at the first scan, whose component count is kept in `first_scan` ([`plan`]).
    plan_only: bool,
    first_scan: Option<usize>,
}

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8], options: &'a DecodeOptions) -> Decoder<'a> {
        Decoder {
            data,
            position: 2,
            options,
            quant: [None; 4],
            dc_tables: [None, None, None, None],
            ac_tables: [None, None, None, None],
            restart_interval: 0,
            saw_jfif: false,
            adobe_transform: None,
            orientation: None,
            frame: None,
            scans: 0,
            plan_only: false,
            first_scan: None,
        }
    }

    /// Reads segments until the end of the image.
    fn run(&mut self) -> Result<()> {
        loop {
            let Some(marker) = self.next_marker() else {
                // The data ended without an EOI. A sequential image whose every component
                // has been decoded is complete (libjpeg has all its rows); anything else is
                // truncated, as Pillow reports it.
                return match &self.frame {
                    Some(frame)
                        if !frame.progressive && frame.components.iter().all(|c| c.scanned) =>
                    {
                        Ok(())
                    }
                    _ => Err(Error::Truncated { format: "jpeg" }),
                };
            };
            match marker {
                0xD8 => return Err(corrupt("unexpected start of image")),
                0xD9 => {
                    return if self.scans == 0 {
                        Err(corrupt("no image data"))
                    } else {
                        Ok(())
                    };
                }
                0xD0..=0xD7 | 0x01 => {} // stray restart or TEM: no length
                0xC0..=0xC2 => {
                    let segment = self.segment()?;
                    self.start_frame(segment, marker == 0xC2)?;
                }
                0xC3 | 0xC5..=0xC7 | 0xCB | 0xCD..=0xCF => {
                    return Err(unsupported("lossless or hierarchical JPEG"));
                }
                0xC9 | 0xCA => return Err(unsupported("arithmetic-coded JPEG")),
                0xC4 => {
                    let segment = self.segment()?;
                    self.define_huffman(segment)?;
                }
                0xCC => {
                    self.segment()?; // arithmetic conditioning: only matters with SOF9+
                }
                0xDB => {
                    let segment = self.segment()?;
                    self.define_quant(segment)?;
                }
                0xDD => {
                    let segment = self.segment()?;
                    if segment.len() < 2 {
                        return Err(corrupt("short DRI segment"));
                    }
                    self.restart_interval =
                        usize::from(u16::from_be_bytes([segment[0], segment[1]]));
                }
                0xDA => {
                    let segment = self.segment()?;
                    if self.plan_only {
                        self.first_scan = segment.first().map(|&count| usize::from(count));
                        return Ok(());
                    }
                    self.scan(segment)?;
                    self.scans += 1;
                }
                0xE0 => {
                    let segment = self.segment()?;
                    if segment.starts_with(b"JFIF\0") {
                        self.saw_jfif = true;
                    }
                }
                0xE1 => {
                    let segment = self.segment()?;
                    if let Some(exif) = segment.strip_prefix(b"Exif\0\0")
                        && self.orientation.is_none()
                    {
                        self.orientation = image::metadata::Orientation::from_exif_chunk(exif)
                            .map(Orientation::from);
                    }
                }
                0xEE => {
                    let segment = self.segment()?;
                    if segment.len() >= 12 && segment.starts_with(b"Adobe") {
                        self.adobe_transform = Some(segment[11]);
                    }
                }
                0xDC => return Err(unsupported("DNL marker (height defined after the scan)")),
                _ => {
                    self.segment()?; // APPn, COM and others
                }
            }
        }
    }

    /// Finds the next marker, skipping garbage before it as libjpeg does (with a warning).
    fn next_marker(&mut self) -> Option<u8> {
        loop {
            let at = self.data[self.position.min(self.data.len())..]
                .iter()
                .position(|&b| b == 0xFF)?;
            self.position += at;
            // Skip fill bytes.
            while self.data.get(self.position + 1) == Some(&0xFF) {
                self.position += 1;
            }
            let marker = *self.data.get(self.position + 1)?;
            self.position += 2;
            if marker != 0x00 {
                return Some(marker);
            }
        }
    }

    /// The body of a segment with a length field; moves past it.
    fn segment(&mut self) -> Result<&'a [u8]> {
        let data = self.data;
        let header = data
            .get(self.position..self.position + 2)
            .ok_or(Error::Truncated { format: "jpeg" })?;
        let length = usize::from(u16::from_be_bytes([header[0], header[1]]));
        if length < 2 {
            return Err(corrupt("bad segment length"));
        }
        let body = data
            .get(self.position + 2..self.position + length)
            .ok_or(Error::Truncated { format: "jpeg" })?;
        self.position += length;
        Ok(body)
    }

    fn define_quant(&mut self, mut segment: &[u8]) -> Result<()> {
        while let Some(&spec) = segment.first() {
            let (precision, id) = (spec >> 4, usize::from(spec & 15));
            if id > 3 || precision > 1 {
                return Err(corrupt("bad quantisation table"));
            }
            let size = if precision == 0 { 64 } else { 128 };
            let values = segment
                .get(1..1 + size)
                .ok_or_else(|| corrupt("short DQT segment"))?;
            let mut table = [0u16; 64];
            for k in 0..64 {
                let value = if precision == 0 {
                    u16::from(values[k])
                } else {
                    u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                };
                table[NATURAL_ORDER[k]] = value;
            }
            self.quant[id] = Some(table);
            segment = &segment[1 + size..];
        }
        Ok(())
    }

    fn define_huffman(&mut self, mut segment: &[u8]) -> Result<()> {
        while segment.len() >= 17 {
            let (class, id) = (segment[0] >> 4, usize::from(segment[0] & 15));
            if class > 1 || id > 3 {
                return Err(corrupt("bad Huffman table id"));
            }
            let counts: [u8; 16] = segment[1..17].try_into().expect("16 bytes");
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = segment
                .get(17..17 + total)
                .ok_or_else(|| corrupt("short DHT segment"))?;
            let table = HuffmanTable::new(&counts, symbols, class == 0)?;
            if class == 0 {
                self.dc_tables[id] = Some(table);
            } else {
                self.ac_tables[id] = Some(table);
            }
            segment = &segment[17 + total..];
        }
        Ok(())
    }

    fn start_frame(&mut self, segment: &[u8], progressive: bool) -> Result<()> {
        if self.frame.is_some() {
            return Err(unsupported("more than one frame"));
        }
        if segment.len() < 6 {
            return Err(corrupt("short frame header"));
        }
        if segment[0] != 8 {
            return Err(unsupported(&format!("{}-bit samples", segment[0])));
        }
        let height = usize::from(u16::from_be_bytes([segment[1], segment[2]]));
        let width = usize::from(u16::from_be_bytes([segment[3], segment[4]]));
        check_size(width as u64, height as u64, self.options)?;
        let count = usize::from(segment[5]);
        if !matches!(count, 1 | 3 | 4) {
            return Err(unsupported(&format!("{count} components")));
        }
        let specs = segment
            .get(6..6 + 3 * count)
            .ok_or_else(|| corrupt("short frame header"))?;
        let mut components = Vec::with_capacity(count);
        for spec in specs.chunks_exact(3) {
            let (h, v) = (usize::from(spec[1] >> 4), usize::from(spec[1] & 15));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || spec[2] > 3 {
                return Err(corrupt("bad component sampling factors"));
            }
            components.push(Component {
                id: spec[0],
                h,
                v,
                quant_table: usize::from(spec[2]),
                blocks_across: 0,
                blocks_down: 0,
                real_blocks_across: 0,
                real_blocks_down: 0,
                coefficients: Vec::new(),
                samples: Vec::new(),
                dc_predictor: 0,
                scanned: false,
            });
        }
        let h_max = components.iter().map(|c| c.h).max().expect("components");
        let v_max = components.iter().map(|c| c.v).max().expect("components");
        // A single-component image has one-block MCUs whatever its factors say.
        let (mcu_w, mcu_h) = if count == 1 {
            (8, 8)
        } else {
            (8 * h_max, 8 * v_max)
        };
        let mcus_across = width.div_ceil(mcu_w);
        let mcus_down = height.div_ceil(mcu_h);
        for c in &mut components {
            let (h, v) = if count == 1 { (1, 1) } else { (c.h, c.v) };
            c.blocks_across = mcus_across * h;
            c.blocks_down = mcus_down * v;
            c.real_blocks_across = (width * c.h).div_ceil(h_max).div_ceil(8);
            c.real_blocks_down = (height * c.v).div_ceil(v_max).div_ceil(8);
        }
        self.frame = Some(Frame {
            progressive,
            width,
            height,
            h_max,
            v_max,
            mcus_across,
            mcus_down,
            components,
            buffered: false,
        });
        Ok(())
    }

    fn scan(&mut self, segment: &[u8]) -> Result<()> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let count = usize::from(
            *segment
                .first()
                .ok_or_else(|| corrupt("short scan header"))?,
        );
        let specs = segment
            .get(1..1 + 2 * count)
            .ok_or_else(|| corrupt("short scan header"))?;
        let tail = segment
            .get(1 + 2 * count..4 + 2 * count)
            .ok_or_else(|| corrupt("short scan header"))?;
        let band = entropy::Band {
            start: usize::from(tail[0]),
            end: usize::from(tail[1]),
            high: tail[2] >> 4,
            low: tail[2] & 15,
        };
        if count == 0 || count > 4 {
            return Err(corrupt("bad scan component count"));
        }
        let mut members = Vec::with_capacity(count);
        for spec in specs.chunks_exact(2) {
            let index = frame
                .components
                .iter()
                .position(|c| c.id == spec[0])
                .ok_or_else(|| corrupt("scan names an unknown component"))?;
            members.push((index, usize::from(spec[1] >> 4), usize::from(spec[1] & 15)));
        }
        if frame.progressive {
            let dc_scan = band.start == 0;
            if band.end > 63
                || band.start > band.end
                || (dc_scan && band.end != 0)
                || (!dc_scan && count != 1)
                || band.low > 13
            {
                return Err(corrupt("bad progressive scan parameters"));
            }
        }

        // The first scan decides whether blocks are kept as coefficients: only a sequential
        // image decoded in one interleaved scan of all components can go straight to pixels.
        if self.scans == 0 {
            frame.buffered = frame.progressive || count != frame.components.len();
            for c in &mut frame.components {
                let blocks = c.blocks_across * c.blocks_down;
                if frame.buffered {
                    c.coefficients = vec![0i16; blocks * 64];
                } else {
                    c.samples = vec![0u8; blocks * 64];
                }
            }
        } else if !frame.buffered {
            return Err(unsupported(
                "several scans after an interleaved sequential scan",
            ));
        }

        for &(index, dc, ac) in &members {
            let needs_dc = !frame.progressive || (band.start == 0 && band.high == 0);
            let needs_ac = !frame.progressive || band.start > 0;
            if dc > 3
                || ac > 3
                || (needs_dc && self.dc_tables[dc].is_none())
                || (needs_ac && self.ac_tables[ac].is_none())
            {
                return Err(corrupt("scan uses an undefined Huffman table"));
            }
            let quant = frame.components[index].quant_table;
            if self.quant[quant].is_none() {
                return Err(corrupt("component uses an undefined quantisation table"));
            }
            frame.components[index].dc_predictor = 0;
            frame.components[index].scanned = true;
        }

        let mut reader = BitReader::new(self.data, self.position);
        let outcome = decode_scan(
            frame,
            &members,
            band,
            &self.dc_tables,
            &self.ac_tables,
            &self.quant,
            self.restart_interval,
            &mut reader,
        );
        self.position = reader.position();
        outcome?;
        if reader.overran() {
            return Err(Error::Truncated { format: "jpeg" });
        }
        Ok(())
    }

    /// libjpeg's guess of the colour space (`default_decompress_parms`).
    fn color_space(&self, frame: &Frame) -> Result<ColorSpace> {
        Ok(match frame.components.len() {
            1 => ColorSpace::Grey,
            3 => {
                if self.saw_jfif {
                    ColorSpace::YCbCr
                } else if let Some(transform) = self.adobe_transform {
                    if transform == 0 {
                        ColorSpace::Rgb
                    } else {
                        ColorSpace::YCbCr
                    }
                } else {
                    let ids: Vec<u8> = frame.components.iter().map(|c| c.id).collect();
                    if ids == b"RGB" {
                        ColorSpace::Rgb
                    } else {
                        ColorSpace::YCbCr
                    }
                }
            }
            4 => match self.adobe_transform {
                Some(0) | None => ColorSpace::Cmyk,
                Some(_) => ColorSpace::Ycck,
            },
            n => return Err(unsupported(&format!("{n} components"))),
        })
    }
}

/// Inverse-transforms kept coefficients and hands back each component's samples.
fn finish_planes(quant: &[Option<[u16; 64]>; 4], frame: &mut Frame) -> Vec<Plane> {
    let single = frame.components.len() == 1;
    let (buffered, width, height) = (frame.buffered, frame.width, frame.height);
    let (h_max, v_max) = (frame.h_max, frame.v_max);
    frame
        .components
        .iter_mut()
        .map(|c| {
            let stride = c.blocks_across * 8;
            let samples = if buffered {
                let mut samples = vec![0u8; c.blocks_across * c.blocks_down * 64];
                if let Some(quant) = &quant[c.quant_table] {
                    for by in 0..c.blocks_down {
                        for bx in 0..c.blocks_across {
                            let block = block_of(&c.coefficients, c.blocks_across, bx, by);
                            let out = &mut samples[by * 8 * stride + bx * 8..];
                            if block[1..].iter().all(|&v| v == 0) {
                                idct::idct_dc_only(block[0], quant[0], out, stride);
                            } else {
                                idct::idct_block(block, quant, out, stride);
                            }
                        }
                    }
                }
                samples
            } else {
                std::mem::take(&mut c.samples)
            };
            let (h, v) = if single { (1, 1) } else { (c.h, c.v) };
            Plane {
                samples,
                stride,
                width: (width * c.h).div_ceil(h_max),
                height: (height * c.v).div_ceil(v_max),
                h,
                v,
            }
        })
        .collect()
}

fn block_of(coefficients: &[i16], blocks_across: usize, bx: usize, by: usize) -> &[i16; 64] {
    let at = (by * blocks_across + bx) * 64;
    coefficients[at..at + 64]
        .try_into()
        .expect("64 coefficients")
}

/// Decodes the entropy-coded data of one scan.
#[allow(clippy::too_many_arguments)]
fn decode_scan(
    frame: &mut Frame,
    members: &[(usize, usize, usize)],
    band: entropy::Band,
    dc_tables: &[Option<HuffmanTable>; 4],
    ac_tables: &[Option<HuffmanTable>; 4],
    quant: &[Option<[u16; 64]>; 4],
    restart_interval: usize,
    reader: &mut BitReader<'_>,
) -> Result<()> {
    let single = frame.components.len() == 1;
    // An interleaved scan walks MCUs; a one-component scan walks that component's blocks.
    let (units_across, units_down) = if members.len() == 1 {
        let c = &frame.components[members[0].0];
        (c.real_blocks_across, c.real_blocks_down)
    } else {
        (frame.mcus_across, frame.mcus_down)
    };
    let mut state = entropy::ProgressiveState::default();
    let mut block = [0i16; 64];
    let mut units_left = restart_interval;

    for unit_y in 0..units_down {
        for unit_x in 0..units_across {
            if restart_interval > 0 {
                if units_left == 0 {
                    reader.restart();
                    units_left = restart_interval;
                    state.end_of_band_run = 0;
                    for &(index, _, _) in members {
                        frame.components[index].dc_predictor = 0;
                    }
                }
                units_left -= 1;
            }
            for &(index, dc_id, ac_id) in members {
                let component = &mut frame.components[index];
                // Blocks of this component in this unit.
                let (h, v) = if members.len() == 1 || single {
                    (1, 1)
                } else {
                    (component.h, component.v)
                };
                for dy in 0..v {
                    for dx in 0..h {
                        let bx = unit_x * h + dx;
                        let by = unit_y * v + dy;
                        if frame.buffered {
                            let at = (by * component.blocks_across + bx) * 64;
                            let coefficients = &mut component.coefficients[at..at + 64];
                            decode_into(
                                frame.progressive,
                                reader,
                                dc_tables[dc_id].as_ref(),
                                ac_tables[ac_id].as_ref(),
                                band,
                                &mut state,
                                &mut component.dc_predictor,
                                coefficients,
                            );
                        } else {
                            block.fill(0);
                            let any_ac = entropy::decode_block(
                                reader,
                                dc_tables[dc_id].as_ref().expect("checked"),
                                ac_tables[ac_id].as_ref().expect("checked"),
                                &mut component.dc_predictor,
                                &mut block,
                            );
                            let stride = component.blocks_across * 8;
                            let at = by * 8 * stride + bx * 8;
                            let table = quant[component.quant_table].as_ref().expect("checked");
                            let out = &mut component.samples[at..];
                            if any_ac {
                                idct::idct_block(&block, table, out, stride);
                            } else {
                                idct::idct_dc_only(block[0], table[0], out, stride);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn decode_into(
    progressive: bool,
    reader: &mut BitReader<'_>,
    dc: Option<&HuffmanTable>,
    ac: Option<&HuffmanTable>,
    band: entropy::Band,
    state: &mut entropy::ProgressiveState,
    predictor: &mut i32,
    coefficients: &mut [i16],
) {
    if !progressive {
        let mut block = [0i16; 64];
        entropy::decode_block(
            reader,
            dc.expect("checked"),
            ac.expect("checked"),
            predictor,
            &mut block,
        );
        coefficients.copy_from_slice(&block);
    } else if band.start == 0 {
        if band.high == 0 {
            entropy::decode_dc_first(
                reader,
                dc.expect("checked"),
                predictor,
                band.low,
                coefficients,
            );
        } else {
            entropy::decode_dc_refine(reader, band.low, coefficients);
        }
    } else if band.high == 0 {
        entropy::decode_ac_first(reader, ac.expect("checked"), band, state, coefficients);
    } else {
        entropy::decode_ac_refine(reader, ac.expect("checked"), band, state, coefficients);
    }
}
