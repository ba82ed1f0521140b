// Runs the portal's browser PDQ (crates/ward/src/portal/static/pdq.js) outside a browser
// on raw RGBA files, for crates/ward/tests/cli/pdq_js.rs to compare with `ward hash`:
// each argument is WIDTHxHEIGHT:PATH (PATH holding width*height*4 bytes); prints one line
// per argument, `PATH HASH QUALITY`.
"use strict";

const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { pdqFromRgba } = require(join(__dirname, "../crates/ward/src/portal/static/pdq.js"));

for (const argument of process.argv.slice(2)) {
  const [size, path] = argument.split(/:(.*)/s);
  const [width, height] = size.split("x").map(Number);
  const rgba = readFileSync(path);
  if (rgba.length !== width * height * 4) throw new Error(`${path}: not ${width}x${height} RGBA`);
  const { hash, quality } = pdqFromRgba(width, height, rgba);
  console.log(`${path} ${hash} ${quality}`);
}
