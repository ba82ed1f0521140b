// PDQ in the browser, for self-reports hashed on the reporter's own device: Meta's PDQ as
// Ward computes it (ward-core's `pdq`, full-resolution pipeline), from the RGBA pixels a
// canvas gives, with the reference's float32 arithmetic reproduced step by step
// (`Math.fround` after every operation the reference does in float32): luma in float64
// rounded to float32, the two-pass Jarosz box filter with one running float32 sum per
// line, decimation to 64x64, the quality, the 16x16 DCT without its DC row and column
// (products rounded before each add), and the lower median as the threshold. Pure: no
// network, no DOM; `pdqFromRgba(width, height, rgba)` (a canvas's pixels) and
// `pdqFromPixels(width, height, channels, samples)` (1: grey, used as it is; 3: RGB; 4:
// RGBA, alpha ignored) return `{hash, quality}`.
"use strict";

(function (root) {
  const f = Math.fround;

  /// The reference's window for reducing `n` samples towards 64.
  const windowSize = (n) => Math.floor((n + 127) / 128);

  /// One 1-D box pass over `length` samples `stride` apart, as the reference runs it.
  function box1d(input, output, start, length, stride, window) {
    const half = Math.floor((window + 2) / 2);
    const p1 = half - 1;
    const p2 = window - half + 1;
    const p3 = length - window;
    const p4 = half - 1;
    let li = start;
    let ri = start;
    let oi = start;
    let sum = 0;
    let count = 0;
    for (let k = 0; k < p1; k++) {
      sum = f(sum + input[ri]);
      count++;
      ri += stride;
    }
    for (let k = 0; k < p2; k++) {
      sum = f(sum + input[ri]);
      count++;
      output[oi] = f(sum / count);
      ri += stride;
      oi += stride;
    }
    for (let k = 0; k < p3; k++) {
      sum = f(sum + input[ri]);
      sum = f(sum - input[li]);
      output[oi] = f(sum / count);
      li += stride;
      ri += stride;
      oi += stride;
    }
    for (let k = 0; k < p4; k++) {
      sum = f(sum - input[li]);
      count--;
      output[oi] = f(sum / count);
      li += stride;
      oi += stride;
    }
  }

  /// The indices decimation to 64 samples picks from `n`.
  function sampleIndices(n) {
    const out = new Array(64);
    for (let i = 0; i < 64; i++) out[i] = Math.floor(((i + 0.5) * n) / 64);
    return out;
  }

  /// The DCT matrix: 16 rows (frequencies 1..16) of 64, computed in double, kept as float32.
  const DCT = (() => {
    const d = new Float32Array(16 * 64);
    const scale = Math.sqrt(2 / 64);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 64; j++) {
        d[i * 64 + j] = scale * Math.cos((Math.PI / 128) * (i + 1) * (2 * j + 1));
      }
    }
    return d;
  })();

  /// The PDQ hash (64 lowercase hex digits) and quality (0 to 100) of an image given as
  /// RGBA bytes (a canvas's `ImageData.data`), alpha ignored.
  function pdqFromRgba(width, height, rgba) {
    return pdqFromPixels(width, height, 4, rgba);
  }

  /// The same of 8-bit samples with `channels` per pixel: 1 (grey, used as it is, as the
  /// reference uses a grey picture), 3 (RGB) or 4 (RGBA, alpha ignored).
  function pdqFromPixels(width, height, channels, samples) {
    if (width < 5 || height < 5) return { hash: "0".repeat(64), quality: 0 };
    const size = width * height;
    const image = new Float32Array(size);
    if (channels === 1) {
      for (let p = 0; p < size; p++) image[p] = samples[p];
    } else {
      for (let p = 0, q = 0; p < size; p++, q += channels) {
        // numpy's order, in float64, then rounded to float32.
        image[p] = samples[q] * 0.299 + samples[q + 1] * 0.587 + samples[q + 2] * 0.114;
      }
    }
    const other = new Float32Array(size);
    const wx = windowSize(width);
    const wy = windowSize(height);
    for (let pass = 0; pass < 2; pass++) {
      for (let r = 0; r < height; r++) box1d(image, other, r * width, width, 1, wx);
      for (let c = 0; c < width; c++) box1d(other, image, c, height, width, wy);
    }
    const rows = sampleIndices(height);
    const cols = sampleIndices(width);
    const a = new Float32Array(64 * 64);
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < 64; j++) a[i * 64 + j] = image[rows[i] * width + cols[j]];
    }

    // Quality: the gradients between neighbours, scaled to 0..100 and truncated.
    let gradients = 0;
    const step = (u, v) => Math.abs(Math.trunc(f(f(f(u - v) * 100) / 255)));
    for (let i = 0; i < 63; i++) {
      for (let j = 0; j < 64; j++) gradients += step(a[i * 64 + j], a[(i + 1) * 64 + j]);
    }
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < 63; j++) gradients += step(a[i * 64 + j], a[i * 64 + j + 1]);
    }
    const quality = Math.min(100, Math.floor(gradients / 90));

    // DCT: T = D A (16x64), B = T D^T (16x16), float32 sums of rounded products.
    const t = new Float32Array(16 * 64);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 64; j++) {
        let sum = 0;
        for (let k = 0; k < 64; k++) sum = f(sum + f(DCT[i * 64 + k] * a[k * 64 + j]));
        t[i * 64 + j] = sum;
      }
    }
    const b = new Float32Array(256);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        let sum = 0;
        for (let k = 0; k < 64; k++) sum = f(sum + f(t[i * 64 + k] * DCT[j * 64 + k]));
        b[i * 16 + j] = sum;
      }
    }

    // The lower median (the 128th smallest), and the bits above it.
    const sorted = Float32Array.from(b).sort();
    const median = sorted[127];
    const words = new Array(16).fill(0);
    for (let k = 0; k < 256; k++) {
      if (b[k] > median) words[k >> 4] |= 1 << (k & 15);
    }
    let hash = "";
    for (let w = 15; w >= 0; w--) hash += words[w].toString(16).padStart(4, "0");
    return { hash, quality };
  }

  root.WardPdq = { pdqFromRgba, pdqFromPixels };
  if (typeof module !== "undefined") module.exports = root.WardPdq;
})(typeof globalThis !== "undefined" ? globalThis : this);
