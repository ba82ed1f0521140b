// What the analyst-side browser walks share: Debian's Chromium started headless, a list of
// failed checks, and `inspect`, which saves a full-page screenshot and runs axe-core's WCAG
// 2.x A and AA rules (evaluated through the DevTools protocol, so the page's own
// Content-Security-Policy stays on) and fails on any CSP violation the page has raised.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// Checks that print as they go and are counted at the end.
export function checks() {
  const problems = [];
  return {
    problems,
    check(condition, message) {
      if (!condition) problems.push(message);
      console.log(`${condition ? "ok" : "FAILED"}: ${message}`);
    },
  };
}

/// Chromium, and one page in a 1280x860 window whose script errors and CSP violations are
/// recorded; `inspect(label)` saves `NN-label.png` under `artefacts` and checks the page.
export async function openPage(artefacts, { problems, check }) {
  mkdirSync(artefacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const violations = [];
  page.on("console", (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  let shots = 0;
  /// Saves what the window shows as the next `NN-label.png`; returns the file.
  async function screenshot(label, options = {}) {
    shots += 1;
    const file = join(artefacts, `${String(shots).padStart(2, "0")}-${label}.png`);
    await page.screenshot({ path: file, ...options });
    return file;
  }
  async function inspect(label) {
    const file = await screenshot(label, { fullPage: true });
    await page.evaluate(axeSource);
    const result = await page.evaluate(
      (tags) => globalThis.axe.run(document, { runOnly: { type: "tag", values: tags } }),
      WCAG,
    );
    const found = result.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
    check(found.length === 0, `${label}: no WCAG A/AA violation${found.length ? ": " + found.join("; ") : ""}`);
    check(violations.length === 0, `${label}: no CSP violation${violations.length ? ": " + violations.join("; ") : ""}`);
    console.log(`screenshot: ${file}`);
  }
  return { browser, page, inspect, screenshot, shots: () => shots };
}
