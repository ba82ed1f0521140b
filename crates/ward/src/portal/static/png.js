// PNG decoded in the browser the way Ward decodes it, for self-reports hashed on the
// reporter's device: where a canvas cannot give the pixels Ward hashes (16-bit grey, which
// Ward clips to 8 bits as Pillow does; transparent pixels, whose colours a canvas loses),
// this reads the file itself: chunks, zlib through the browser's DecompressionStream, the
// five filters, Adam7 interlacing, every colour type and bit depth. Samples come out 8-bit:
// grey as grey (16-bit grey clipped at 255), colour as RGB (palette looked up; 16-bit
// samples keep their high byte), alpha dropped without compositing.
// `await WardPng.decode(bytes)` gives `{format: "png", width, height, channels: 1 | 3,
// samples}`, or null
// for what is not a PNG it can read (the caller then lets the browser decode it).
"use strict";

(function (root) {
  const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
  /// Samples per pixel of each colour type.
  const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  /// Adam7's passes: x and y of the first pixel, and the steps.
  const ADAM7 = [
    [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
  ];
  /// The most pixels decoded (as Ward's limit for pictures).
  const MAX_PIXELS = 200e6;

  const u32 = (b, p) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;

  async function inflate(data) {
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function paeth(a, b, c) {
    const p = a + b - c;
    const pa = Math.abs(p - a);
    const pb = Math.abs(p - b);
    const pc = Math.abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
  }

  /// Undoes the filters of `rows` rows of `stride` bytes starting at `at` in place;
  /// returns where the next pass starts.
  function unfilter(data, at, rows, stride, bpp) {
    let previous = -1;
    for (let r = 0; r < rows; r++) {
      const filter = data[at];
      const start = at + 1;
      if (start + stride > data.length) throw new Error("truncated image data");
      for (let i = 0; i < stride; i++) {
        const x = start + i;
        const left = i >= bpp ? data[x - bpp] : 0;
        const up = previous >= 0 ? data[previous + i] : 0;
        const upLeft = previous >= 0 && i >= bpp ? data[previous + i - bpp] : 0;
        let add;
        switch (filter) {
          case 0: add = 0; break;
          case 1: add = left; break;
          case 2: add = up; break;
          case 3: add = (left + up) >> 1; break;
          case 4: add = paeth(left, up, upLeft); break;
          default: throw new Error(`unknown filter ${filter}`);
        }
        data[x] = (data[x] + add) & 0xff;
      }
      previous = start;
      at = start + stride;
    }
    return at;
  }

  /// The sample `index` (in samples along the row) of a row of `depth`-bit samples.
  function sample(data, rowStart, index, depth) {
    switch (depth) {
      case 8: return data[rowStart + index];
      case 16: return (data[rowStart + 2 * index] << 8) | data[rowStart + 2 * index + 1];
      default: {
        const bit = index * depth;
        const byte = data[rowStart + (bit >> 3)];
        return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
      }
    }
  }

  async function decode(bytes) {
    if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) return null;
    let header = null;
    let palette = null;
    const parts = [];
    for (let at = 8; at + 8 <= bytes.length;) {
      const length = u32(bytes, at);
      const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      const body = bytes.subarray(at + 8, at + 8 + length);
      if (body.length !== length) return null;
      if (type === "IHDR") {
        header = {
          width: u32(body, 0), height: u32(body, 4), depth: body[8], type: body[9], interlace: body[12],
        };
      } else if (type === "PLTE") {
        palette = body;
      } else if (type === "IDAT") {
        parts.push(body);
      } else if (type === "IEND") {
        break;
      }
      at += 12 + length;
    }
    if (!header || !parts.length || !(header.type in CHANNELS)) return null;
    const { width, height, depth, type, interlace } = header;
    if (width === 0 || height === 0 || width * height > MAX_PIXELS) return null;
    if (type === 3 && !palette) return null;
    const data = await inflate(await new Blob(parts).arrayBuffer());
    const channels = CHANNELS[type];
    const bpp = Math.max(1, (channels * depth) >> 3);
    const grey = type === 0 || type === 4;
    const outChannels = grey ? 1 : 3;
    const samples = new Uint8Array(width * height * outChannels);
    const passes = interlace ? ADAM7 : [[0, 0, 1, 1]];
    let at = 0;
    for (const [x0, y0, dx, dy] of passes) {
      const columns = Math.ceil((width - x0) / dx);
      const rows = Math.ceil((height - y0) / dy);
      if (columns <= 0 || rows <= 0) continue;
      const stride = Math.ceil((columns * channels * depth) / 8);
      const start = at;
      at = unfilter(data, at, rows, stride, bpp);
      for (let r = 0; r < rows; r++) {
        const rowStart = start + r * (stride + 1) + 1;
        const y = y0 + r * dy;
        for (let c = 0; c < columns; c++) {
          const out = (y * width + x0 + c * dx) * outChannels;
          const first = c * channels;
          if (type === 3) {
            const index = sample(data, rowStart, first, depth);
            samples[out] = palette[3 * index] ?? 0;
            samples[out + 1] = palette[3 * index + 1] ?? 0;
            samples[out + 2] = palette[3 * index + 2] ?? 0;
          } else if (grey) {
            const v = sample(data, rowStart, first, depth);
            if (depth === 16) samples[out] = type === 0 ? Math.min(v, 255) : v >> 8;
            else samples[out] = depth === 8 ? v : Math.round((v * 255) / ((1 << depth) - 1));
          } else {
            for (let k = 0; k < 3; k++) {
              const v = sample(data, rowStart, first + k, depth);
              samples[out + k] = depth === 16 ? v >> 8 : v;
            }
          }
        }
      }
    }
    return { format: "png", width, height, channels: outChannels, samples };
  }

  root.WardPng = { decode };
})(typeof globalThis !== "undefined" ? globalThis : this);
