// What the analyst-side browser walks share: Debian's Chromium started headless, a list of
// failed checks, and `inspect`, which saves a full-page screenshot, runs axe-core's WCAG
// 2.x A and AA rules and its best practices (evaluated through the DevTools protocol, so the
// page's own Content-Security-Policy stays on; a page with JavaScript off through a twin with
// only the page's own script blocked), fails on any CSP violation the page has
// raised, and checks what every analyst page owes: its security headers, a skip link first
// in the tab order, distinct accessible names for its charts (read from Chromium's
// accessibility tree), and no sideways scrolling on a 375x812 phone screen.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

/// The headers every analyst page sends, as the portal's do.
const HEADERS = {
  "content-security-policy": /^default-src 'none'/,
  "cross-origin-opener-policy": /^same-origin$/,
  "cross-origin-resource-policy": /^same-origin$/,
  "permissions-policy": /^camera=\(\), microphone=\(\), geolocation=\(\)$/,
  "x-frame-options": /^DENY$/,
  "cache-control": /^no-store$/,
};

/// The phone screen every page must fit without sideways scrolling.
export const PHONE = { width: 375, height: 812 };

/// Signs in to the console at `base` as `name` (in the page's own context, so the session
/// is that context's), and waits for the overview.
export async function consoleSignIn(page, base, name, password) {
  await page.goto(`${base}/admin/login`);
  await page.fill("#name", name);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/admin`), page.click("button[type=submit]")]);
}

/// Signs out of the console through the header's button.
export async function consoleSignOut(page) {
  await Promise.all([page.waitForURL("**/admin/login"), page.click(".signout button")]);
}

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

/// The accessible names of the page's charts (`svg[role=img]`), as Chromium's accessibility
/// tree gives them to screen readers.
export async function chartNames(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const charts = new Set(await page.$$eval("svg[role=img]", (svgs) =>
      svgs.map((svg) => svg.querySelector("title") ? svg.querySelector("title").textContent : "")));
    return nodes
      .filter((node) => !node.ignored && node.role && node.role.value === "image" && node.name)
      .map((node) => node.name.value)
      .filter((name) => Array.from(charts).some((title) => title && name.startsWith(title)));
  } finally {
    await cdp.detach();
  }
}

/// Chromium, and one page in a 1280x860 window whose script errors and CSP violations are
/// recorded; `inspect(label)` saves `NN-label.png` under `artefacts` and checks the page
/// (`inspect(label, other)` checks another page, of another context, the same way).
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
  /// The last page each tab navigated to, whose headers `inspect` checks.
  const documents = new Map();
  /// Records a tab's script errors, CSP violations and documents (every tab checked).
  function watch(target) {
    target.on("console", (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(message.text());
    });
    target.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
    target.on("response", (response) => {
      if (response.request().isNavigationRequest() && response.frame() === target.mainFrame()) {
        documents.set(target, response);
      }
    });
  }
  watch(page);
  let shots = 0;
  /// Saves what the window shows as the next `NN-label.png`; returns the file.
  async function screenshot(label, options = {}, target = page) {
    shots += 1;
    const file = join(artefacts, `${String(shots).padStart(2, "0")}-${label}.png`);
    await target.screenshot({ path: file, ...options });
    return file;
  }
  /// A twin of a page whose context has JavaScript off: the same address and cookies in a
  /// context with it on (axe-core needs it) but the page's own script blocked, so that the
  /// page renders as it does without JavaScript.
  async function twinOf(target) {
    const context = await browser.newContext({
      viewport: target.viewportSize(),
      storageState: await target.context().storageState(),
    });
    await context.route(/\/(analyst|admin)\/static\/[a-z]+\.js$/, (route) => route.abort());
    const twin = await context.newPage();
    watch(twin);
    await twin.goto(target.url());
    return twin;
  }

  /// Checks a page; `scriptOff` says its context has JavaScript off (it is checked through
  /// its twin, see `twinOf`). Every axe-core violation fails.
  async function inspect(label, target = page, { scriptOff = false } = {}) {
    const file = await screenshot(label, { fullPage: true }, target);
    const shown = target;
    target = scriptOff ? await twinOf(shown) : shown;
    try {
      await checkPage(label, target);
    } finally {
      if (scriptOff) await target.context().close();
    }
    console.log(`screenshot: ${file}`);
  }

  async function checkPage(label, target) {
    await target.evaluate(axeSource);
    const result = await target.evaluate(
      (tags) => globalThis.axe.run(document, { runOnly: { type: "tag", values: tags } }),
      RULES,
    );
    const found = result.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
    check(found.length === 0, `${label}: no WCAG A/AA or best-practice violation${found.length ? ": " + found.join("; ") : ""}`);
    check(violations.length === 0, `${label}: no CSP violation${violations.length ? ": " + violations.join("; ") : ""}`);

    // The headers of the page as it was served.
    const served = documents.get(target);
    const headers = served ? await served.allHeaders() : {};
    const wrong = Object.entries(HEADERS).filter(([name, value]) => !value.test(headers[name] ?? ""))
      .map(([name]) => `${name}: ${headers[name]}`);
    check(wrong.length === 0, `${label}: the security headers${wrong.length ? ": " + wrong.join("; ") : ""}`);

    // A skip link is the first thing in the tab order, and leads to the content.
    const first = await target.evaluate(() => {
      const tabbable = Array.from(document.querySelectorAll(
        "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]"))
        .filter((el) => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length > 0);
      const link = tabbable[0];
      return link ? { cls: link.className, text: link.textContent.trim(), href: link.getAttribute("href") } : null;
    });
    check(first && first.cls === "skip" && first.text === "Skip to content" && first.href === "#main",
      `${label}: the skip link comes first in the tab order (${JSON.stringify(first)})`);

    // Every chart has a name of its own.
    const names = await chartNames(target);
    const charts = (await target.$$("svg[role=img]")).length;
    check(names.length === charts && new Set(names).size === names.length,
      `${label}: ${charts} chart(s), each with its own accessible name${charts ? ": " + names.map((n) => n.slice(0, 40)).join(" | ") : ""}`);

    // A phone's screen: nothing scrolls sideways.
    const viewport = target.viewportSize();
    await target.setViewportSize(PHONE);
    const widths = await target.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    check(widths[0] <= widths[1], `${label}: fits ${PHONE.width} px (${widths[0]} <= ${widths[1]})`);
    console.log(`screenshot: ${await screenshot(`${label}-375`, { fullPage: true }, target)}`);
    await target.setViewportSize(viewport);
  }

  /// Reloads the page and tabs from its top: the skip link shows first, and Enter moves the
  /// focus to the main content; returns the screenshot of the focused link.
  async function skipLink(label, target = page) {
    // A fresh load: nothing has the focus, so Tab starts from the top.
    await target.reload();
    await target.keyboard.press("Tab");
    const focused = await target.evaluate(() => {
      const el = document.activeElement;
      const r = el.getBoundingClientRect();
      return { cls: el.className, visible: r.width > 1 && r.height > 1 && r.top >= 0 };
    });
    check(focused.cls === "skip" && focused.visible,
      `${label}: Tab first reaches the skip link, shown while focused (${JSON.stringify(focused)})`);
    const file = await screenshot(`${label}-skip-link`, {}, target);
    await target.keyboard.press("Enter");
    const now = await target.evaluate(() => document.activeElement.id);
    check(now === "main", `${label}: the skip link moves the focus to the main content (${now})`);
    return file;
  }
  return { browser, page, inspect, screenshot, skipLink, watch, shots: () => shots };
}
