// The transparency pages in a real headless Chromium: an admin signs in, opens the month
// table of the whole deployment, and the figures it shows are compared, figure by figure,
// with the page's CSV export (and the JSON export); then one organisation's figures, whose
// charts name it, and the yearly report. Every page is checked as `inspect` checks the
// analyst's pages (axe-core's WCAG 2.x A and AA rules and best practices, no
// Content-Security-Policy violation, the security headers, a skip link first, charts with
// distinct accessible names, no sideways scrolling at 375x812) and saved as screenshots.
//
// Usage: node browser-tests/transparency.mjs BASE_URL ARTEFACT_DIR
// with WARD_ANALYST_NAME and WARD_ANALYST_PASSWORD naming an admin, and WARD_MATCH_KEY a
// platform's API key whose matches the figures should count (an exact PDQ, a near one, and
// an unknown MD5 are asked before the page is opened; WARD_PDQ names the stored PDQ).

import { chartNames, checks, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const name = process.env.WARD_ANALYST_NAME;
const password = process.env.WARD_ANALYST_PASSWORD;
const matchKey = process.env.WARD_MATCH_KEY;
const pdq = process.env.WARD_PDQ;
if (!base || !artefacts || !name || !password || !matchKey || !pdq) {
  console.error("usage: WARD_ANALYST_NAME=… WARD_ANALYST_PASSWORD=… WARD_MATCH_KEY=… WARD_PDQ=… node transparency.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();

/// CSV rows (quoted fields with doubled quotes), without the header.
function parseCsv(text) {
  const rows = [];
  for (const line of text.split("\n").slice(1)) {
    if (line === "") continue;
    const fields = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < line.length; i += 1) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { field += '"'; i += 1; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { fields.push(field); field = ""; }
      else field += c;
    }
    fields.push(field);
    rows.push(fields);
  }
  return rows;
}

// Matches a platform asks for: known (the stored PDQ), near (one bit off), novel.
const flipped = pdq.slice(0, -1) + ((parseInt(pdq.slice(-1), 16) ^ 1).toString(16));
for (const [type, signal] of [["pdq", pdq], ["pdq", flipped], ["md5", "0123456789abcdef0123456789abcdef"]]) {
  const answer = await fetch(`${base}/v1/match?signal_type=${type}&signal=${signal}`, {
    headers: { authorization: `Bearer ${matchKey}` },
  });
  check(answer.ok, `a ${type} match query is answered (${answer.status})`);
}

const { browser, page, inspect, skipLink, shots } = await openPage(artefacts, { problems, check });
try {

  await page.goto(`${base}/analyst/login`);
  await inspect("login");
  await page.fill("#name", name);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL("**/analyst/queue"), page.click("button[type=submit]")]);

  // The month table of the whole deployment.
  await Promise.all([
    page.waitForURL("**/analyst/transparency"),
    page.click("nav a[href='/analyst/transparency']"),
  ]);
  await inspect("transparency");
  await skipLink("transparency");
  const names = await chartNames(page);
  check(names.length === 7 && new Set(names).size === 7,
    `seven charts, each named by its own title and description (${names.join(" | ")})`);
  const shown = await page.$$eval("#transparency-table td[data-figure]", (tds) =>
    tds.map((td) => [td.dataset.month, td.dataset.figure, td.dataset.key, td.textContent.trim()]),
  );
  const charts = await page.$$eval(".chart svg title", (titles) => titles.map((t) => t.textContent));
  check(charts.length === 7 && charts.includes("Reports forwarded across borders"),
    `the page draws its charts, forwards across borders among them (${charts.join("; ")})`);
  check(await page.isVisible("#csv-link") && await page.isVisible("#json-link"), "CSV and JSON links beside the table");

  // The CSV export, as the page links it, figure by figure.
  const csvHref = await page.getAttribute("#csv-link", "href");
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
  check(csv.startsWith("month,figure,key,value\n"), "the CSV has its header");
  const exported = parseCsv(csv);
  const asKey = (row) => row.slice(0, 3).join("|");
  const exportedMap = new Map(exported.map((row) => [asKey(row), row[3]]));
  const shownMap = new Map(shown.map((row) => [asKey(row), row[3]]));
  check(exported.length > 0 && exported.length === shown.length,
    `the page shows as many figures as the CSV has rows (${shown.length}, ${exported.length})`);
  const differences = [];
  for (const [key, value] of exportedMap) {
    // A key the CSV guards against spreadsheet formulas starts with a quote there only.
    const pageKey = key;
    if (shownMap.get(pageKey) !== value) differences.push(`${key}: page ${shownMap.get(pageKey)}, CSV ${value}`);
  }
  for (const key of shownMap.keys()) {
    if (!exportedMap.has(key)) differences.push(`${key}: on the page only`);
  }
  check(differences.length === 0, `every figure on the page equals the CSV's${differences.length ? ": " + differences.join("; ") : ""}`);
  console.log(`figures compared: ${exported.length}`);

  // The figures the test data should give, not zero.
  const month = new Date().toISOString().slice(0, 7);
  const figure = (name, key) => Number(exportedMap.get(`${month}|${name}|${key}`) ?? "NaN");
  check(figure("matches", "CONFIRMED") === 2, `two matches in CONFIRMED this month (${figure("matches", "CONFIRMED")})`);
  check(figure("queries", "known") === 1 && figure("queries", "near") === 1 && figure("queries", "novel") === 1,
    "one known, one near and one novel match query");
  check(figure("contributed", "pdq/api") === 1 && figure("consumed", "md5/east") === 2,
    "hashes contributed through the API and consumed from a partner");
  check(figure("opinions_sent", "dispute") === 1 && figure("opinions_received", "dispute") === 1,
    "a dispute sent (by the platform) and received (by the hotline)");
  check(figure("reports_received", "gb/en") === 1 && figure("reports_received", "international/fr") === 1,
    "reports received by country and language");
  check(figure("exposure_hours", "") === 0.5, `half an hour of exposure (${figure("exposure_hours", "")})`);

  // The JSON export has the same figures.
  const jsonHref = await page.getAttribute("#json-link", "href");
  const json = await page.evaluate(async (href) => (await fetch(href)).json(), jsonHref);
  check(json.figures.length === exported.length
    && json.figures.every((f) => exportedMap.get(`${f.month}|${f.figure}|${f.key}`) === String(f.value)),
    "the JSON export has the CSV's figures");

  // One organisation's figures: the charts name it, as people know it.
  await page.selectOption("#org", { label: "Hotline" });
  await Promise.all([page.waitForURL("**/analyst/transparency?org=*"), page.click(".period button[type=submit]")]);
  const hotline = await chartNames(page);
  check(hotline.length === 7 && hotline.every((n) => n.includes("for Hotline:") && !/organisation \d/.test(n)),
    `the charts name the organisation (${hotline.filter((n) => n.includes("for Hotline:")).length} of ${hotline.length}: ${hotline[0]})`);
  await inspect("transparency-hotline");
  await page.goto(`${base}/analyst/transparency`);

  // The yearly report, in the TRUST outline.
  const year = new Date().getUTCFullYear();
  await Promise.all([
    page.waitForURL(`**/analyst/transparency/${year}?*`),
    page.click(`a[href^='/analyst/transparency/${year}']`),
  ]);
  const headings = await page.$$eval("main h2", (hs) => hs.map((h) => h.textContent.trim()));
  check(JSON.stringify(headings) === JSON.stringify(["Policies and practices", "Processes and systems", "Outcomes"]),
    `the yearly report follows the TRUST outline (${headings.join(", ")})`);
  const banks = await page.$$eval("#banks-table tbody th", (ths) => ths.map((th) => th.textContent.trim()));
  check(banks.includes("CONFIRMED"), `the report lists the banks (${banks.join(", ")})`);
  const outcome = await page.$$eval("#outcomes-table tbody tr", (trs) =>
    trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent.trim())));
  check(outcome.some((row) => row[0].startsWith("Matches") && row[1] === "CONFIRMED" && row[2] === "2"),
    "the year's outcomes count the matches");
  await inspect("transparency-year");
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`${problems.length} check(s) failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`all checks passed; ${shots()} screenshots in ${artefacts}`);
