// MD5 in the browser, for self-reports hashed on the reporter's own device: the digest of
// a file read in slices (a video may be larger than memory allows at once), written from
// RFC 1321. `new WardMd5()`, `.update(bytes)` as often as needed, `.hex()` once.
"use strict";

(function (root) {
  /// The per-step shifts and the sines' constants of RFC 1321.
  const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const K = new Uint32Array(64);
  for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0;

  class WardMd5 {
    constructor() {
      this.state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
      this.block = new Uint8Array(64);
      this.filled = 0;
      this.length = 0; // bytes, as a double: exact far past any file's size
      this.words = new Uint32Array(16);
    }

    /// Adds bytes (a Uint8Array) to the message.
    update(bytes) {
      this.length += bytes.length;
      let at = 0;
      if (this.filled > 0) {
        const take = Math.min(64 - this.filled, bytes.length);
        this.block.set(bytes.subarray(0, take), this.filled);
        this.filled += take;
        at = take;
        if (this.filled < 64) return this;
        this.compress(this.block, 0);
        this.filled = 0;
      }
      for (; at + 64 <= bytes.length; at += 64) this.compress(bytes, at);
      if (at < bytes.length) {
        this.block.set(bytes.subarray(at), 0);
        this.filled = bytes.length - at;
      }
      return this;
    }

    /// The digest, as 32 lowercase hex digits (the object is spent).
    hex() {
      const bits = this.length * 8;
      const tail = new Uint8Array(this.filled < 56 ? 64 - this.filled : 128 - this.filled);
      tail[0] = 0x80;
      const low = bits % 2 ** 32;
      const high = Math.floor(bits / 2 ** 32);
      const end = tail.length - 8;
      for (let i = 0; i < 4; i++) {
        tail[end + i] = (low >>> (8 * i)) & 0xff;
        tail[end + 4 + i] = (high >>> (8 * i)) & 0xff;
      }
      const length = this.length;
      this.update(tail);
      this.length = length;
      let out = "";
      for (const word of this.state) {
        for (let i = 0; i < 4; i++) out += ((word >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
      }
      return out;
    }

    compress(bytes, at) {
      const m = this.words;
      for (let i = 0; i < 16; i++) {
        const p = at + 4 * i;
        m[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
      }
      let [a, b, c, d] = this.state;
      for (let i = 0; i < 64; i++) {
        let f;
        let g;
        if (i < 16) {
          f = (b & c) | (~b & d);
          g = i;
        } else if (i < 32) {
          f = (d & b) | (~d & c);
          g = (5 * i + 1) % 16;
        } else if (i < 48) {
          f = b ^ c ^ d;
          g = (3 * i + 5) % 16;
        } else {
          f = c ^ (b | ~d);
          g = (7 * i) % 16;
        }
        const sum = (a + f + K[i] + m[g]) >>> 0;
        const shift = SHIFTS[(i >> 4) * 4 + (i & 3)];
        a = d;
        d = c;
        c = b;
        b = (b + ((sum << shift) | (sum >>> (32 - shift)))) >>> 0;
      }
      this.state[0] = (this.state[0] + a) >>> 0;
      this.state[1] = (this.state[1] + b) >>> 0;
      this.state[2] = (this.state[2] + c) >>> 0;
      this.state[3] = (this.state[3] + d) >>> 0;
    }
  }

  root.WardMd5 = WardMd5;
  if (typeof module !== "undefined") module.exports = WardMd5;
})(typeof globalThis !== "undefined" ? globalThis : this);
