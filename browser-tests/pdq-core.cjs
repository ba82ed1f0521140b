// Runs the portal's browser PDQ and MD5 (crates/ward/src/portal/static/pdq.js, md5.js)
// outside a browser, for crates/ward/tests/cli/pdq_js.rs to compare with `ward hash`: an
// argument WIDTHxHEIGHT:PATH (PATH holding width*height*4 bytes) prints `PATH HASH
// QUALITY`; an argument md5:PATH prints `PATH MD5` of the file, fed in uneven slices.
"use strict";

const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { pdqFromRgba } = require(join(__dirname, "../crates/ward/src/portal/static/pdq.js"));
const WardMd5 = require(join(__dirname, "../crates/ward/src/portal/static/md5.js"));

for (const argument of process.argv.slice(2)) {
  if (argument.startsWith("md5:")) {
    const path = argument.slice(4);
    const bytes = readFileSync(path);
    const md5 = new WardMd5();
    for (let at = 0, step = 1; at < bytes.length; at += step, step = (step * 7 + 3) % 9001) {
      md5.update(bytes.subarray(at, at + step));
    }
    console.log(`${path} ${md5.hex()}`);
    continue;
  }
  const [size, path] = argument.split(/:(.*)/s);
  const [width, height] = size.split("x").map(Number);
  const rgba = readFileSync(path);
  if (rgba.length !== width * height * 4) throw new Error(`${path}: not ${width}x${height} RGBA`);
  const { hash, quality } = pdqFromRgba(width, height, rgba);
  console.log(`${path} ${hash} ${quality}`);
}
