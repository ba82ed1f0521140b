// Ward's reporting portal in a real browser: Debian's headless Chromium driven by
// playwright-core. Files a report with JavaScript off and on, in English (/report/gb) and in
// Arabic (/report/eg, chosen from the browser's language), checks the form's error summary,
// the reference on the "what happens next" page and its lookup, the language switch and the
// quick exit; then walks every kind of page (the front page, forms of several countries, one
// right to left, status, filed, not found) on a 375x812 phone and a 1280-wide window: no
// sideways scrolling, the country named, no title part said twice, the support services
// named, and the quick exit in the window and tappable once the reader has scrolled to the
// address box. Runs axe-core's WCAG 2 A/AA and best-practice rules on every page and saves a
// screenshot of each.
//
// Usage: node portal.mjs BASE_URL ARTEFACT_DIR
// It starts nothing: crates/ward/tests/cli/portal.rs starts `ward serve` and runs it.
// Nothing leaves the machine: any request to another origin fails the run (the quick exit's
// neutral site is answered here).

import { join } from "node:path";
import { QUICK_EXIT, portalBrowser } from "./portal-browser.mjs";

const [base, artefacts] = process.argv.slice(2);
if (!base || !artefacts) {
  console.error("usage: node portal.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { open, record, check, htmlAttributes, box, tally, launch } = portalBrowser(base, artefacts);
const EXIT = QUICK_EXIT;

/// One reporter's visit: the form, its errors, a filed report, its status and a lookup.
async function fileAReport(browser, { language, javaScript }) {
  const arabic = language === "ar";
  const path = arabic ? "/report/eg" : "/report/gb";
  const name = (step) => `${language}-js-${javaScript ? "on" : "off"}-${step}`;
  const { context, page, problems } = await open(browser, {
    javaScript,
    locale: arabic ? "ar-EG" : "en-GB",
  });

  // The form, in the language the browser asks for.
  await page.goto(base + path);
  const [lang, dir] = await htmlAttributes(page);
  check(lang === language && dir === (arabic ? "rtl" : "ltr"), `${name("form")}: <html lang=${lang} dir=${dir}>`);
  check((await page.locator('input[type="file"]').count()) === 0, "the form takes no file");
  check((await page.locator("form").first().getAttribute("enctype")) === null, "the form is not multipart");
  // (Shown on wide windows only: see `layouts`.)
  const hint = page.locator("#quick-exit-hint");
  check(((await hint.getAttribute("hidden")) === null) === javaScript, "the Esc hint is offered only with JavaScript");
  await record(page, name("01-form"));

  // Sent empty: an error summary linking to each field.
  await page.locator("#send").click();
  await page.waitForLoadState();
  check((await page.locator(".error-summary").count()) === 1, `${name("errors")}: an error summary`);
  check((await page.locator('.error-summary a[href="#urls"]').count()) === 1, "the summary links to the URLs");
  check((await page.locator('.error-summary a[href="#kind-images"]').count()) === 1, "the summary links to the content kind");
  check((await page.title()).startsWith(arabic ? "خطأ:" : "Error:"), `the title says there is an error: ${await page.title()}`);
  if (javaScript) {
    const focused = await page.evaluate(() => document.activeElement.className);
    check(focused === "error-summary", `the error summary takes the focus (${focused})`);
  }
  await record(page, name("02-errors"));
  await page.locator('.error-summary a[href="#urls"]').click();
  check(page.url().endsWith("#urls"), "the summary's link goes to its field");

  // A good report: two URLs (one without its scheme, one with a fragment), images, an e-mail.
  await page.locator("#urls").fill("https://example.com/gallery/123#photo\nexample.net/page?id=9");
  await page.locator('label[for="kind-images"]').click();
  await page.locator("#description").fill(arabic ? "وجدته عبر رابط في منتدى" : "Found through a link on a forum");
  await page.locator("#email").fill("reporter@example.org");
  await Promise.all([page.waitForURL(/\/filed\//), page.locator("#send").click()]);
  const filedUrl = page.url();
  check(filedUrl.startsWith(`${base}${path}/filed/R-`) && filedUrl.endsWith(`?lang=${language}`), `redirected to ${filedUrl}`);
  const reference = (await page.locator("#reference").innerText()).trim();
  check(/^R-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(reference), `a reference: ${reference}`);
  check(filedUrl.includes(reference), "the page's address names the reference");
  check((await htmlAttributes(page))[1] === (arabic ? "rtl" : "ltr"), "the filed page keeps the direction");
  await record(page, name("03-filed"));

  // Its status, from the link on that page.
  await Promise.all([page.waitForURL(/\/status\?/), page.locator("#status-of-this").click()]);
  const rows = await page.locator("td.url").allInnerTexts();
  check(
    rows.join("\n") === "https://example.com/gallery/123\nhttp://example.net/page?id=9",
    `the status lists the normalised URLs: ${JSON.stringify(rows)}`,
  );
  check((await page.locator("td.url a").count()) === 0, "reported URLs are never links");
  check((await page.locator("#result-reference").innerText()).trim() === reference, "the status names the reference");
  await record(page, name("04-status"));

  // Looked up again by hand, typed loosely.
  await page.goto(`${base}${path}/status?lang=${language}`);
  await page.locator("#reference").fill(reference.toLowerCase().replaceAll("-", " "));
  await Promise.all([page.waitForURL(/reference=/), page.locator("#check").click()]);
  check((await page.locator("#result-reference").innerText()).trim() === reference, "the lookup finds the report");
  await record(page, name("05-lookup"));

  // The language switch.
  const other = arabic ? "en" : null;
  if (other) {
    await Promise.all([page.waitForURL(/lang=en/), page.locator('nav a[hreflang="en"]').click()]);
    const [lang2, dir2] = await htmlAttributes(page);
    check(lang2 === "en" && dir2 === "ltr", `switched to English: ${lang2} ${dir2}`);
    check((await page.locator("#result-reference").innerText()).trim() === reference, "the switch keeps the lookup");
    await page.locator('nav a[hreflang="ar"]').click();
    await page.waitForURL(/lang=ar/);
  }

  // The quick exit: a plain link; with JavaScript, Esc twice too, replacing this page in
  // the tab's history.
  if (javaScript) {
    const left = page.url();
    await page.keyboard.press("Escape");
    await page.keyboard.press("Escape");
    await page.waitForURL(EXIT);
    await page.goBack();
    check(page.url() !== left, `Back does not return to the page left: ${page.url()}`);
  } else {
    await Promise.all([page.waitForURL(EXIT), page.locator("#quick-exit").click()]);
  }
  check(problems.length === 0, `${name("visit")}: ${problems.join("; ")}`);
  await context.close();
  console.log(`report filed and looked up: ${language}, JavaScript ${javaScript ? "on" : "off"}, ${reference}`);
  return { reference, filed: filedUrl.replace(base, "") };
}

/// The pages a visit above does not reach: the international page and a 404.
async function otherPages(browser) {
  const { context, page, problems } = await open(browser, { javaScript: true, locale: "fr-FR" });
  await page.goto(`${base}/report`);
  check((await htmlAttributes(page))[0] === "fr", "the international page answers in the browser's language");
  check((await page.locator("nav a[hreflang]").count()) === 5, "the international page offers every language");
  await record(page, "international-fr");
  const response = await page.goto(`${base}/report/zz?lang=pt`);
  check(response.status() === 404, "an unknown country is a 404 page");
  await record(page, "not-found-pt");
  check(problems.length === 0, `other pages: ${problems.join("; ")}`);
  await context.close();
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/// Every kind of page, at a phone's size and a desktop's: `en` and `ar` are a report filed
/// in each language by the visits above.
async function layouts(browser, { en, ar }) {
  const pagesToSee = [
    { path: "/", name: "front" },
    { path: "/report", name: "international", form: true },
    { path: "/report/gb", name: "form-gb", form: true, country: "United Kingdom" },
    { path: "/report/us", name: "form-us", form: true, country: "United States" },
    { path: "/report/us?lang=es", name: "form-us-es", form: true, country: "Estados Unidos" },
    { path: "/report/ma", name: "form-ma-ar", form: true, country: "المغرب", rtl: true },
    { path: "/report/ma?lang=fr", name: "form-ma-fr", form: true, country: "Maroc" },
    { path: "/report/eg?lang=ar", name: "form-eg-ar", form: true, country: "مصر", rtl: true },
    { path: "/report/gb/status", name: "status-gb", country: "United Kingdom" },
    { path: `/report/gb/status?reference=${en.reference}&lang=en`, name: "status-result-gb", country: "United Kingdom" },
    { path: `/report/eg/status?reference=${ar.reference}&lang=ar`, name: "status-result-eg-ar", country: "مصر", rtl: true },
    { path: en.filed, name: "filed-gb", country: "United Kingdom", support: "Samaritans" },
    { path: ar.filed, name: "filed-eg-ar", country: "مصر", rtl: true, support: "16000" },
    { path: "/report/zz", name: "not-found", status: 404 },
    { path: "/report/zz?lang=ar", name: "not-found-ar", status: 404, rtl: true },
  ];
  for (const viewport of [{ width: 375, height: 812 }, { width: 1280, height: 860 }]) {
    const size = `${viewport.width}x${viewport.height}`;
    const { context, page, problems } = await open(browser, { javaScript: true, locale: "en-GB", viewport });
    for (const seen of pagesToSee) {
      const label = `${seen.name} at ${size}`;
      const response = await page.goto(base + seen.path);
      check(response.status() === (seen.status ?? 200), `${label}: answered ${response.status()}`);
      check((await htmlAttributes(page))[1] === (seen.rtl ? "rtl" : "ltr"), `${label}: direction`);
      const [scrollWidth, clientWidth] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        document.documentElement.clientWidth,
      ]);
      check(scrollWidth <= clientWidth, `${label}: no sideways scrolling (${scrollWidth} px wide in ${clientWidth})`);
      const title = await page.title();
      const parts = title.split(" – ");
      check(new Set(parts).size === parts.length, `${label}: no part of the title twice: ${title}`);
      if (seen.country) {
        const named = (await page.locator("#place-name").innerText()).trim();
        check(named === seen.country, `${label}: the country is named (${named})`);
        check(parts.includes(seen.country), `${label}: the title names the country: ${title}`);
      }
      if (seen.support) {
        const support = await page.locator("#support-service").innerText();
        check(support.includes(seen.support), `${label}: a support service is named: ${support}`);
      }
      if (seen.path !== "/") {
        // The exit: a real control of at least 44x44 CSS pixels at the header's inline end
        // (right, or left right to left), however long the site's name.
        const exit = await box(page, "#quick-exit");
        const main = await box(page, "main");
        check(exit.width >= 44 && exit.height >= 44, `${label}: the exit is ${exit.width}x${exit.height}`);
        const end = seen.rtl ? Math.abs(exit.left - main.left) : Math.abs(exit.right - main.right);
        check(end <= 1, `${label}: the exit sits at the inline end (${end} px from it)`);
        check(
          (await page.locator("#quick-exit-hint").isVisible()) === viewport.width >= 640,
          `${label}: the Esc hint shows on wide windows only`,
        );
      }
      await record(page, `layout-${viewport.width}-${seen.name}`);
      if (!seen.form) {
        continue;
      }
      // Scrolled to the address box, as a reader who has read the page: the exit is in the
      // window, covers neither the box nor its label and hint, and a tap there leaves.
      await page.locator('label[for="urls"]').evaluate((label) => label.scrollIntoView({ block: "start", behavior: "instant" }));
      const scrolled = await page.evaluate(() => window.scrollY);
      check(scrolled > 0, `${label}: the address box is below the first screen`);
      const exit = await box(page, "#quick-exit");
      check(
        exit.top >= 0 && exit.left >= 0 && exit.bottom <= viewport.height && exit.right <= viewport.width,
        `${label}: scrolled by ${scrolled} px to the address box, the exit is in the window (${JSON.stringify(exit)})`,
      );
      for (const field of ['label[for="urls"]', "#urls-hint", "#urls"]) {
        const other = await box(page, field);
        check(!overlaps(exit, other), `${label}: the exit does not cover ${field}`);
        check(other.top >= exit.bottom, `${label}: ${field} shows below the exit`);
      }
      const x = (exit.left + exit.right) / 2;
      const y = (exit.top + exit.bottom) / 2;
      const onTop = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest("#quick-exit") !== null, [x, y]);
      check(onTop, `${label}: nothing lies over the exit`);
      if (viewport.width === 375) {
        await page.screenshot({ path: join(artefacts, `scrolled-375-${seen.name}.png`) });
        tally.screenshots += 1;
      }
      // A tap where it shows (no scrolling first, as playwright's own click would do).
      await Promise.all([page.waitForURL(EXIT), page.mouse.click(x, y)]);
      console.log(`exit in reach: ${label}, after scrolling ${scrolled} px`);
    }
    check(problems.length === 0, `layouts at ${size}: ${problems.join("; ")}`);
    await context.close();
  }
}

const browser = await launch();
try {
  const filed = {};
  for (const language of ["en", "ar"]) {
    for (const javaScript of [false, true]) {
      filed[language] = await fileAReport(browser, { language, javaScript });
    }
  }
  await otherPages(browser);
  await layouts(browser, filed);
} catch (error) {
  console.error(`browser: ${error.stack}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(`browser: ${tally.pages} pages checked with axe-core (WCAG 2 A/AA and best practices, no violations), ${tally.checks} checks, ${tally.screenshots} screenshots in ${artefacts}`);
