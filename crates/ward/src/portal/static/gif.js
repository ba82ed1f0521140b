// GIF decoded in the browser the way Ward decodes it, for self-reports hashed on the
// reporter's device: the first frame drawn on the logical screen over the transparent index
// (or 0), every index looked up in the frame's palette or the global one (black past its
// end; grey levels without any palette), which keeps the colour of transparent pixels that
// the browser's own decoder clears. `WardGif.decode(bytes)` gives `{format: "gif", width, height,
// channels: 1 | 3, samples}`, or null for what it cannot read (the caller then lets the
// browser decode it).
"use strict";

(function (root) {
  /// The most pixels decoded (as Ward's limit for pictures).
  const MAX_PIXELS = 200e6;

  const u16 = (b, p) => b[p] | (b[p + 1] << 8);

  /// The data sub-blocks starting at `at`, joined; and where they end.
  function subBlocks(bytes, at) {
    const parts = [];
    let total = 0;
    while (at < bytes.length) {
      const size = bytes[at];
      at += 1;
      if (size === 0) break;
      parts.push(bytes.subarray(at, at + size));
      total += size;
      at += size;
    }
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return [joined, at];
  }

  /// LZW-decodes `count` indices (a frame's) from `data` with `minimum` bits per literal.
  function lzw(data, minimum, count) {
    const out = new Uint8Array(count);
    const clear = 1 << minimum;
    const end = clear + 1;
    const prefix = new Int32Array(4096);
    const suffix = new Uint8Array(4096);
    const first = new Uint8Array(4096);
    const stack = new Uint8Array(4097);
    for (let i = 0; i < clear; i++) {
      prefix[i] = -1;
      suffix[i] = i;
      first[i] = i;
    }
    let size = minimum + 1;
    let next = end + 1;
    let previous = -1;
    let bits = 0;
    let buffer = 0;
    let written = 0;
    for (let at = 0; at < data.length && written < count;) {
      while (bits < size && at < data.length) {
        buffer |= data[at++] << bits;
        bits += 8;
      }
      if (bits < size) break;
      const code = buffer & ((1 << size) - 1);
      buffer >>>= size;
      bits -= size;
      if (code === clear) {
        size = minimum + 1;
        next = end + 1;
        previous = -1;
        continue;
      }
      if (code === end) break;
      let current = code;
      let top = 0;
      if (previous === -1) {
        if (code >= clear) return null;
        out[written++] = code;
        previous = code;
        continue;
      }
      if (code > next || (code === next && next >= 4096)) return null;
      if (code === next) {
        stack[top++] = first[previous];
        current = previous;
      }
      while (current >= clear) {
        stack[top++] = suffix[current];
        current = prefix[current];
      }
      stack[top++] = current;
      if (next < 4096) {
        prefix[next] = previous;
        suffix[next] = current;
        first[next] = first[previous];
        next += 1;
        if (next === 1 << size && size < 12) size += 1;
      }
      while (top > 0 && written < count) out[written++] = stack[--top];
      previous = code;
    }
    return out;
  }

  /// Rows of an interlaced frame in the order they are stored.
  function interlacedRows(height) {
    const rows = [];
    for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]]) {
      for (let y = start; y < height; y += step) rows.push(y);
    }
    return rows;
  }

  function decode(bytes) {
    const magic = String.fromCharCode(...bytes.subarray(0, 6));
    if (magic !== "GIF87a" && magic !== "GIF89a") return null;
    const width = u16(bytes, 6);
    const height = u16(bytes, 8);
    if (width === 0 || height === 0 || width * height > MAX_PIXELS) return null;
    const flags = bytes[10];
    let at = 13;
    let global = null;
    if (flags & 0x80) {
      const size = 3 * (1 << ((flags & 7) + 1));
      global = bytes.subarray(at, at + size);
      at += size;
    }
    let transparent = null;
    while (at < bytes.length) {
      const block = bytes[at];
      if (block === 0x21) {
        const label = bytes[at + 1];
        if (label === 0xf9 && bytes[at + 2] === 4 && bytes[at + 3] & 1) transparent = bytes[at + 6];
        [, at] = subBlocks(bytes, at + 2);
      } else if (block === 0x2c) {
        const left = u16(bytes, at + 1);
        const top = u16(bytes, at + 3);
        const frameWidth = u16(bytes, at + 5);
        const frameHeight = u16(bytes, at + 7);
        const frameFlags = bytes[at + 9];
        at += 10;
        let palette = global;
        if (frameFlags & 0x80) {
          const size = 3 * (1 << ((frameFlags & 7) + 1));
          palette = bytes.subarray(at, at + size);
          at += size;
        }
        const minimum = bytes[at];
        if (minimum < 1 || minimum > 11) return null;
        const [data] = subBlocks(bytes, at + 1);
        const frame = lzw(data, minimum, frameWidth * frameHeight);
        if (!frame) return null;
        const indices = new Uint8Array(width * height).fill(transparent ?? 0);
        const order = frameFlags & 0x40 ? interlacedRows(frameHeight) : null;
        for (let r = 0; r < frameHeight; r++) {
          const y = top + (order ? order[r] : r);
          if (y >= height || left >= width) continue;
          const visible = Math.min(frameWidth, width - left);
          indices.set(frame.subarray(r * frameWidth, r * frameWidth + visible), y * width + left);
        }
        if (!palette) return { format: "gif", width, height, channels: 1, samples: indices };
        const samples = new Uint8Array(width * height * 3);
        for (let p = 0; p < indices.length; p++) {
          const c = 3 * indices[p];
          if (c + 3 <= palette.length) {
            samples[3 * p] = palette[c];
            samples[3 * p + 1] = palette[c + 1];
            samples[3 * p + 2] = palette[c + 2];
          }
        }
        return { format: "gif", width, height, channels: 3, samples };
      } else {
        return null; // the trailer before any frame, or not a block
      }
    }
    return null;
  }

  root.WardGif = { decode };
})(typeof globalThis !== "undefined" ? globalThis : this);
