// The self-report hashing (crates/ward/src/portal/static/{md5,pdq,selfhash}.js) in a real
// headless Chromium: each file named on the command line is handed to `WardSelfHash.hashFile`
// as a File, as a person's chosen picture would be, and its hashes printed as one JSON line
// (`{"path", "md5", "pdq", "quality"}`) for crates/ward/tests/cli/selfhash.rs to compare
// with `ward hash`. No page of Ward's is needed: the scripts run in an empty page.
//
// Usage: node browser-tests/selfhash.mjs FILE...

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const files = process.argv.slice(2);
const scripts = join(import.meta.dirname, "../crates/ward/src/portal/static");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.setContent("<!doctype html><title>hashing</title>");
  for (const name of ["md5.js", "pdq.js", "png.js", "gif.js", "selfhash.js"]) {
    await page.addScriptTag({ content: readFileSync(join(scripts, name), "utf8") });
  }
  for (const path of files) {
    const bytes = readFileSync(path).toString("base64");
    const hashes = await page.evaluate(async (encoded) => {
      const raw = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
      return globalThis.WardSelfHash.hashFile(new File([raw], "chosen"));
    }, bytes);
    console.log(JSON.stringify({ path, ...hashes }));
  }
} finally {
  await browser.close();
}
