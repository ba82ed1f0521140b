// Hashing a person's own files in their browser, for self-reports: the MD5 of every file
// (read in slices), and for a picture its PDQ hash and quality (`WardPdq`) from its pixels
// as Ward decodes them: a PNG read by `WardPng` and a GIF by `WardGif` (a canvas loses
// transparent pixels' colours and scales 16-bit grey), any other picture by the browser, a JPEG's EXIF orientation not
// applied (the field's hashes never apply it, and Chromium applies it whatever it is asked,
// so the tag is set to "as stored" in a copy of the bytes first), colours not converted.
// Nothing leaves the page: no request is made, and only the hashes are returned.
"use strict";

(function (root) {
  /// Bytes read from a file at a time.
  const SLICE = 4 << 20;

  /// A copy of a JPEG's bytes whose EXIF orientation tags say "as stored" (1); other bytes,
  /// and a JPEG without the tag, are returned as they are.
  function withoutOrientation(bytes) {
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes;
    let copy = null;
    let at = 2;
    while (at + 4 <= bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1];
      if (marker === 0xda || marker === 0xd9) break; // image data: no more metadata
      const length = (bytes[at + 2] << 8) | bytes[at + 3];
      const start = at + 4;
      const end = at + 2 + length;
      if (length < 2 || end > bytes.length) break;
      const isExif = marker === 0xe1 && end - start > 14 && bytes[start] === 0x45 && bytes[start + 1] === 0x78
        && bytes[start + 2] === 0x69 && bytes[start + 3] === 0x66 && bytes[start + 4] === 0 && bytes[start + 5] === 0;
      if (isExif) {
        copy = copy || bytes.slice();
        clearOrientation(copy, start + 6, end);
      }
      at = end;
    }
    return copy || bytes;
  }

  /// Sets every orientation tag (0x0112) of the TIFF structure at `tiff..end` to 1.
  function clearOrientation(bytes, tiff, end) {
    const little = bytes[tiff] === 0x49 && bytes[tiff + 1] === 0x49;
    const u16 = (p) => (little ? bytes[p] | (bytes[p + 1] << 8) : (bytes[p] << 8) | bytes[p + 1]);
    const u32 = (p) => (little
      ? (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0
      : ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>> 0);
    let ifd = tiff + u32(tiff + 4);
    for (let directories = 0; directories < 4 && ifd + 2 <= end && ifd > tiff; directories++) {
      const entries = u16(ifd);
      for (let i = 0; i < entries; i++) {
        const entry = ifd + 2 + 12 * i;
        if (entry + 12 > end) return;
        if (u16(entry) === 0x0112) {
          // SHORT value 1, in the entry itself.
          bytes[entry + 8] = little ? 1 : 0;
          bytes[entry + 9] = little ? 0 : 1;
        }
      }
      const next = ifd + 2 + 12 * entries;
      if (next + 4 > end) return;
      const offset = u32(next);
      if (offset === 0) return;
      ifd = tiff + offset;
    }
  }

  /// The MD5 of a File or Blob, read in slices.
  async function md5Of(blob) {
    const md5 = new root.WardMd5();
    for (let at = 0; at < blob.size; at += SLICE) {
      md5.update(new Uint8Array(await blob.slice(at, at + SLICE).arrayBuffer()));
    }
    return md5.hex();
  }

  /// The PDQ hash and quality of a picture's bytes, or `null` when the browser cannot
  /// decode them as a picture.
  async function pdqOf(bytes) {
    let own = null;
    try {
      own = (root.WardPng && (await root.WardPng.decode(bytes)))
        || (root.WardGif && root.WardGif.decode(bytes));
    } catch (_) {
      own = null; // the browser's decoder may still read it
    }
    if (own) {
      const pdq = root.WardPdq.pdqFromPixels(own.width, own.height, own.channels, own.samples);
      return { ...pdq, decoder: own.format };
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(new Blob([withoutOrientation(bytes)]), {
        colorSpaceConversion: "none",
        premultiplyAlpha: "none",
      });
    } catch (_) {
      return null;
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
    bitmap.close();
    return { ...root.WardPdq.pdqFromRgba(canvas.width, canvas.height, pixels), decoder: "browser" };
  }

  /// The hashes of a file the person chose: `{md5}` for any file, with `pdq`, `quality` and
  /// the decoder that read it (`png`, `gif` or `browser`) for a picture.
  async function hashFile(file) {
    const md5 = await md5Of(file);
    const picture = file.size <= 256 << 20 && !/^video\//.test(file.type)
      ? await pdqOf(new Uint8Array(await file.arrayBuffer()))
      : null;
    return picture
      ? { md5, pdq: picture.hash, quality: picture.quality, decoder: picture.decoder }
      : { md5 };
  }

  root.WardSelfHash = { hashFile, withoutOrientation };
})(typeof globalThis !== "undefined" ? globalThis : this);
