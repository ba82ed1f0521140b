// What the portal's browser walks share (portal.mjs, selfreport.mjs): Debian's headless
// Chromium, pages in contexts that fail on script errors, CSP reports and any request that
// leaves the portal (the quick exit's neutral site is answered here), JavaScript turned off
// as a browser turns it off, and `record`, which saves a screenshot and runs axe-core's
// WCAG 2 A/AA and best-practice rules on what the page shows.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/// Where the quick exit leads.
export const QUICK_EXIT = "https://www.bbc.com/weather";
// WCAG 2.x A and AA, and axe's best practices (landmarks, heading order and the rest).
const RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

/// The walk's tools for the portal at `base`, its screenshots under `artefacts`.
export function portalBrowser(base, artefacts) {
  mkdirSync(artefacts, { recursive: true });
  const tally = { pages: 0, screenshots: 0, checks: 0 };

  function check(condition, what) {
    tally.checks += 1;
    if (!condition) {
      throw new Error(`check failed: ${what}`);
    }
  }

  async function launch() {
    return chromium.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  }

  /// A page in a new context, failing on script errors, CSP reports and foreign requests.
  async function open(browser, { javaScript, locale, viewport = { width: 412, height: 915 } }) {
    const context = await browser.newContext({
      locale,
      viewport,
      deviceScaleFactor: 1,
    });
    context.setDefaultTimeout(15000);
    const problems = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base)) {
        return route.continue();
      }
      if (url.startsWith(QUICK_EXIT)) {
        return route.fulfill({ contentType: "text/html", body: "<!DOCTYPE html><title>Weather</title><p>Weather" });
      }
      problems.push(`a request left the portal: ${url}`);
      return route.abort();
    });
    const page = await context.newPage();
    // JavaScript off as a browser turns it off: the page's scripts never run (the DevTools
    // protocol's switch, which playwright's `javaScriptEnabled: false` also uses, but which
    // can be lifted for axe-core alone).
    page.scripts = javaScript ? null : await context.newCDPSession(page);
    await page.scripts?.send("Emulation.setScriptExecutionDisabled", { value: true });
    page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
    page.on("console", (message) => {
      // A page answered 4xx on purpose (a form with problems, a 404 page) is logged as the
      // document failing to load: not a problem; a sub-resource failing is.
      const document = message.location().url === page.url() && /status of 4\d\d/.test(message.text());
      if ((message.type() === "error" && !document) || /Content Security Policy|Refused to/.test(message.text())) {
        problems.push(`console ${message.type()}: ${message.text()}`);
      }
    });
    return { context, page, problems };
  }

  /// Saves a screenshot and runs axe-core's WCAG 2 A/AA and best-practice rules on what the
  /// page shows now.
  async function record(page, name) {
    tally.pages += 1;
    const file = join(artefacts, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    tally.screenshots += 1;
    // axe-core is evaluated through the DevTools protocol, which the page's CSP does not
    // govern. With JavaScript off, scripts are allowed again just for it: the page's own
    // script, skipped when the page loaded, stays unrun, so the page is still as it was.
    await page.scripts?.send("Emulation.setScriptExecutionDisabled", { value: false });
    await page.evaluate(axeSource);
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
      RULES,
    );
    await page.scripts?.send("Emulation.setScriptExecutionDisabled", { value: true });
    const violations = result.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
    check(violations.length === 0, `${name}: axe found ${violations.join("; ")}`);
    console.log(`page ok: ${name} (${page.url().replace(base, "")})`);
  }

  async function htmlAttributes(page) {
    return page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]);
  }

  /// Where `selector`'s box is, in the window's coordinates.
  async function box(page, selector) {
    return page.locator(selector).first().evaluate((element) => {
      const r = element.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height };
    });
  }

  /// Whether the page fits its window's width (no sideways scrolling).
  async function fits(page) {
    const [scrollWidth, clientWidth] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    return { ok: scrollWidth <= clientWidth, scrollWidth, clientWidth };
  }

  return { open, record, check, htmlAttributes, box, fits, tally, launch };
}
