// Self-reports in a real browser: Debian's headless Chromium on a `ward serve` started by
// crates/ward/tests/cli/self_report.rs, which checks what this prints against `ward hash`
// and a second instance.
//
//   SELF_MODE=open SELF_FILES=FILES.json node selfreport.mjs BASE ARTEFACTS
//     FILES.json: {"timed": PATH, "first": [PATH...], "more": [PATH...]}. Times the page
//     hashing one picture (`timed`, a 12 MP JPEG), opens a case with the files of `first`,
//     adds those of `more` to it on the case page, and tries a wrong code. Every request
//     the pages make is watched: each goes to the portal, and the only bodies are the forms,
//     whose fields are the CSRF token, the case's number, code and action, and lines of
//     hex hashes: no file's bytes, no file's name.
//   SELF_MODE=withdraw SELF_CASE=S-... SELF_CODE=... node selfreport.mjs BASE ARTEFACTS
//     With JavaScript off: the pages offer no file chooser and say why, and the case is
//     withdrawn. Then the pages in Arabic (right to left) and at 375 px, and the links to
//     them from the country's report form.
//
// Prints `result: {json}` last. axe-core runs on every page (`record`).

import { readFileSync } from "node:fs";
import { QUICK_EXIT, portalBrowser } from "./portal-browser.mjs";

const [base, artefacts] = process.argv.slice(2);
const mode = process.env.SELF_MODE;
if (!["open", "withdraw"].includes(mode) || !base || !artefacts) {
  console.error("usage: SELF_MODE=open|withdraw ... node selfreport.mjs BASE ARTEFACTS");
  process.exit(2);
}
const { open, record, check, htmlAttributes, fits, tally, launch } = portalBrowser(base, artefacts);

const HASH_LINE = /^md5:[0-9a-f]{32}( pdq:[0-9a-f]{64})?$/;
const FIELDS = new Set(["csrf", "hashes", "case", "code", "action"]);
/// The files the portal serves to these pages, besides the pages themselves.
const SERVED = /^\/(static\/(portal\.css|portal\.js|selfreport\.js)|favicon\.ico)(\?|$)/;

/// Watches every request of `page`; `forms()` gives the bodies posted, as field maps.
function watchRequests(page, names) {
  const bodies = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.href.startsWith(QUICK_EXIT)) return;
    check(url.origin === new URL(base).origin, `a request to the portal only: ${url.href}`);
    const body = request.postDataBuffer();
    if (request.method() === "GET") {
      check(body === null, `a GET without a body: ${url.pathname}`);
      check(request.isNavigationRequest() || SERVED.test(url.pathname + url.search),
        `only the page and its own files are fetched: ${url.pathname}`);
      return;
    }
    check(request.method() === "POST" && request.isNavigationRequest(), `only forms post: ${request.method()} ${url.pathname}`);
    check(/^application\/x-www-form-urlencoded/.test(request.headers()["content-type"] ?? ""),
      `a form's body, never multipart: ${request.headers()["content-type"]}`);
    const text = body ? body.toString("utf8") : "";
    const fields = new URLSearchParams(text);
    for (const [name, value] of fields) {
      check(FIELDS.has(name), `a form field of the pages' own: ${name}`);
      if (name === "hashes" && value !== "") {
        for (const line of value.split(/\r?\n/)) check(HASH_LINE.test(line), `a line of hashes only: ${line.slice(0, 80)}`);
      }
      for (const file of names) check(!value.includes(file), `no file name is sent (${file})`);
    }
    bodies.push(Object.fromEntries(fields));
  });
  return () => bodies;
}

/// Chooses `paths` in the page's file chooser and waits until they are hashed; returns the
/// status line and the milliseconds it took.
async function choose(page, paths) {
  const started = Date.now();
  await page.locator("#self-files").setInputFiles(paths);
  await page.waitForFunction(() => !document.getElementById("self-send").disabled
    || /\d/.test(document.getElementById("self-status").textContent) && !/…|\.\.\./.test(document.getElementById("self-status").textContent),
  null, { timeout: 120_000 });
  const elapsed = Date.now() - started;
  const status = (await page.locator("#self-status").innerText()).trim();
  return { status, elapsed };
}

/// Nothing of a file is shown: no picture, video, canvas or object, no blob or data URL.
async function showsNoFile(page, label) {
  const shown = await page.evaluate(() => ({
    media: document.querySelectorAll("img, video, audio, canvas, object, embed, iframe, picture").length,
    urls: Array.from(document.querySelectorAll("[src], [href]"))
      .map((el) => el.getAttribute("src") || el.getAttribute("href"))
      .filter((url) => /^(blob|data):/.test(url)).length,
  }));
  check(shown.media === 0 && shown.urls === 0, `${label}: no preview of any file (${JSON.stringify(shown)})`);
}

async function openCase(browser, files) {
  const names = [files.timed, ...files.first, ...files.more].map((p) => p.split("/").pop());
  const { context, page, problems } = await open(browser, { javaScript: true, locale: "en-GB" });
  const forms = watchRequests(page, names);

  // The country's form links the self-report page.
  await page.goto(`${base}/report/gb`);
  await Promise.all([page.waitForURL(/\/report\/gb\/self/), page.locator("#self-link").click()]);
  const [lang, dir] = await htmlAttributes(page);
  check(lang === "en" && dir === "ltr", `the page speaks English: ${lang} ${dir}`);
  check(await page.locator("#self-form").isVisible(), "with JavaScript the form shows");
  check(!(await page.locator("#self-noscript").isVisible()), "with JavaScript no 'needs JavaScript' message");
  check((await page.locator("#self-files").getAttribute("name")) === null, "the chooser has no name: it is never sent");
  check((await page.locator("#self-form").getAttribute("enctype")) === null, "the form is not multipart");
  check(await page.locator("#self-send").isDisabled(), "nothing to send before files are hashed");
  check((await page.locator("#quick-exit").count()) === 1, "the quick exit is on the page");
  await record(page, "self-01-form-en");

  // A 12 MP JPEG, timed from the choice to its hashes being ready.
  const timed = await choose(page, [files.timed]);
  check(/Files ready: \D?1\D?\./.test(timed.status), `one picture hashed: ${timed.status}`);
  const timedLines = (await page.locator("#self-hashes").inputValue()).split("\n");
  check(timedLines.length === 1 && HASH_LINE.test(timedLines[0]), `its hashes: ${timedLines}`);
  console.log(`a 12 MP JPEG hashed in the page in ${timed.elapsed} ms`);

  // The files of the case: pictures of every format (TIFFs are not read by browsers) and
  // videos.
  const first = await choose(page, files.first);
  await showsNoFile(page, "hashed");
  const opened = (await page.locator("#self-hashes").inputValue()).split("\n");
  check(first.status.includes("Nothing has been sent yet"), `the status says nothing was sent: ${first.status}`);
  await record(page, "self-02-hashed");
  check(forms().length === 0, "nothing was posted while hashing");
  await Promise.all([page.waitForLoadState("load"), page.waitForURL(/\/self/), page.locator("#self-send").click()]);
  await page.waitForSelector("#self-number");
  const number = (await page.locator("#self-number").innerText()).trim();
  const code = (await page.locator("#self-code").innerText()).trim();
  check(/^S-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(number), `a case number: ${number}`);
  check(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(code), `a code: ${code}`);
  const received = (await page.locator("#self-received").innerText()).trim();
  check(received.includes(String(opened.length)), `the page says how many files: ${received}`);
  await showsNoFile(page, "opened");
  await record(page, "self-03-opened");
  check(forms().length === 1 && forms()[0].hashes.split(/\r?\n/).length === opened.length,
    "one form posted, with the hashes only");

  // More files on the case page, reached from the link.
  await Promise.all([page.waitForURL(/\/self\/case/), page.locator("#self-add-link").click()]);
  await page.locator("#self-case").fill(number.toLowerCase());
  await page.locator("#self-code-input").fill(code.toLowerCase().replace("-", ""));
  const more = await choose(page, files.more);
  const added = (await page.locator("#self-hashes").inputValue()).split("\n");
  await record(page, "self-04-case-ready");
  await Promise.all([page.waitForLoadState("load"), page.locator("#self-send").click()]);
  await page.waitForSelector("#self-done");
  const done = (await page.locator("#self-done").innerText()).trim();
  check(done.includes(String(added.length)) && done.includes(String(opened.length + added.length)),
    `the case grew: ${done}`);
  await record(page, "self-05-added");
  console.log(`added: ${more.status} -> ${done}`);

  // A wrong code: refused, and nothing changes.
  await page.locator("#self-case").fill(number);
  await page.locator("#self-code-input").fill(code === "AAAA-AAAA" ? "BBBB-BBBB" : "AAAA-AAAA");
  await Promise.all([page.waitForLoadState("load"), page.locator("#self-withdraw").click()]);
  await page.waitForSelector("#self-problem");
  check((await page.locator("#self-problem").innerText()).includes("could not find a case"), "a wrong code finds no case");
  check((await page.title()).startsWith("Error:"), `the title says so: ${await page.title()}`);
  await record(page, "self-06-wrong-code");

  check(forms().length === 3, `three forms posted in all (${forms().length})`);
  check(problems.length === 0, `the visit: ${problems.join("; ")}`);
  await context.close();
  return { number, code, opened, added, timed_ms: timed.elapsed, timed: timedLines[0] };
}

async function withdrawCase(browser, number, code) {
  // JavaScript off: no chooser, a message saying why; the withdrawal needs no script.
  const off = await open(browser, { javaScript: false, locale: "en-GB" });
  let page = off.page;
  await page.goto(`${base}/report/gb/self`);
  check(await page.locator("#self-noscript").isVisible(), "without JavaScript the page says hashing needs it");
  check(!(await page.locator("#self-form").isVisible()), "without JavaScript no form shows");
  check(!(await page.locator('input[type="file"]').isVisible()), "without JavaScript no file chooser shows");
  await record(page, "self-07-no-javascript");
  await page.goto(`${base}/report/gb/self/case`);
  check(!(await page.locator("#self-add").isVisible()), "without JavaScript the case page offers no chooser");
  check(await page.locator("#self-noscript").isVisible(), "and says why");
  await page.locator("#self-case").fill(number);
  await page.locator("#self-code-input").fill(code);
  await Promise.all([page.waitForLoadState("load"), page.locator("#self-withdraw").click()]);
  await page.waitForSelector("#self-done");
  const done = (await page.locator("#self-done").innerText()).trim();
  check(done.includes("withdrawn"), `withdrawn: ${done}`);
  await record(page, "self-08-withdrawn");
  // Twice: the case is withdrawn already.
  await Promise.all([page.waitForLoadState("load"), page.locator("#self-withdraw").click()]);
  await page.waitForSelector("#self-problem");
  check((await page.locator("#self-problem").innerText()).includes("has been withdrawn"), "a withdrawn case says so");
  check(off.problems.length === 0, `without JavaScript: ${off.problems.join("; ")}`);
  await off.context.close();

  // Arabic, right to left, on a phone; and English at 375 px.
  const seen = [
    ["/report/ma/self?lang=ar", "self-09-ar", "ar", "rtl"],
    ["/report/ma/self/case?lang=ar", "self-10-case-ar", "ar", "rtl"],
    ["/report/ma?lang=ar", "self-11-form-ar", "ar", "rtl"],
    ["/report/gb/self", "self-12-en-375", "en", "ltr"],
    ["/report/gb/self/case", "self-13-case-en-375", "en", "ltr"],
    ["/report?lang=fr", "self-14-international-fr", "fr", "ltr"],
  ];
  const phone = await open(browser, { javaScript: true, locale: "en-GB", viewport: { width: 375, height: 812 } });
  page = phone.page;
  for (const [path, name, language, direction] of seen) {
    const response = await page.goto(base + path);
    check(response.status() === 200, `${name}: answered ${response.status()}`);
    const [lang, dir] = await htmlAttributes(page);
    check(lang === language && dir === direction, `${name}: <html lang=${lang} dir=${dir}>`);
    const fit = await fits(page);
    check(fit.ok, `${name}: fits 375 px (${fit.scrollWidth} in ${fit.clientWidth})`);
    await record(page, name);
  }
  // The country form and the international page link the self-report pages.
  await page.goto(`${base}/report/ma?lang=ar`);
  check((await page.locator("#self-link").getAttribute("href")) === "/report/ma/self?lang=ar", "the Moroccan form links its self-report page");
  await page.goto(`${base}/report?lang=fr`);
  check((await page.locator('#self-reports a[href="/report/ma/self?lang=fr"]').count()) === 1,
    "the international page links each country's self-report page");
  // The quick exit works on the self-report page: Esc twice.
  await page.goto(`${base}/report/gb/self`);
  await page.keyboard.press("Escape");
  await page.keyboard.press("Escape");
  await page.waitForURL(QUICK_EXIT);
  check(phone.problems.length === 0, `the phone: ${phone.problems.join("; ")}`);
  await phone.context.close();
  return { withdrawn: done };
}

const browser = await launch();
let result;
try {
  if (mode === "open") {
    result = await openCase(browser, JSON.parse(readFileSync(process.env.SELF_FILES, "utf8")));
  } else {
    result = await withdrawCase(browser, process.env.SELF_CASE, process.env.SELF_CODE);
  }
} catch (error) {
  console.error(`browser: ${error.stack}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(`browser: ${tally.pages} pages checked with axe-core, ${tally.checks} checks, ${tally.screenshots} screenshots in ${artefacts}`);
console.log(`result: ${JSON.stringify(result)}`);
