// The console's bank pages in a real headless Chromium: a curator creates a bank, changes
// its distance and sharing, imports a small CSV with one bad line (and reads the error
// report), searches the bank by hash, opens an item and disables it, and exports the bank;
// an admin, with JavaScript off, enables the item again and changes the bank's dispute
// limit; an auditor sees the banks with no control to create or change one, and is refused
// (403) when it posts anyway. Each result is read back through the API with a key. Every
// page is checked by `inspect` (axe-core, CSP, security headers, skip link, 375 px) and
// saved as screenshots.
//
// Usage: node browser-tests/console-banks.mjs BASE_URL ARTEFACT_DIR
// with WARD_PASSWORD the password of the accounts WARD_CURATOR, WARD_ADMIN and
// WARD_AUDITOR, WARD_KEY an admin's API key, WARD_PLATFORM_ORG the id of the organisation
// the bank is shared with, WARD_PDQ a PDQ hash for the list.

import { checks, consoleSignIn, consoleSignOut, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const env = (name) => process.env[name];
const [password, curator, admin, auditor, key, platformOrg, pdq] = [
  "WARD_PASSWORD", "WARD_CURATOR", "WARD_ADMIN", "WARD_AUDITOR", "WARD_KEY", "WARD_PLATFORM_ORG", "WARD_PDQ",
].map(env);
if (!base || !artefacts || !password || !curator || !admin || !auditor || !key || !platformOrg || !pdq) {
  console.error("usage: WARD_PASSWORD=… WARD_CURATOR=… WARD_ADMIN=… WARD_AUDITOR=… WARD_KEY=… WARD_PLATFORM_ORG=… WARD_PDQ=… node console-banks.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();
const md5 = "d41d8cd98f00b204e9800998ecf8427e";
/// The PDQ with its last two bits flipped: within 2 of the listed one.
const near = pdq.slice(0, -1) + ((parseInt(pdq.slice(-1), 16) ^ 3).toString(16));

/// A `/v1` answer read with the admin's key.
async function api(path) {
  const answer = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  check(answer.ok, `GET ${path} is answered (${answer.status})`);
  return answer.json();
}

const { browser, page, inspect, watch, shots } = await openPage(artefacts, { problems, check });
let bankId;
let itemId;
try {
  // The curator, with JavaScript on.
  await consoleSignIn(page, base, curator, password);
  await page.goto(`${base}/admin/banks`);
  check(await page.isVisible("#create-bank"), "a curator sees the form that creates a bank");
  await inspect("banks-curator");
  await page.fill("#c-name", "WALK_BANK");
  await page.fill("#c-distance", "25");
  await page.fill("#c-description", "made in the browser walk");
  await Promise.all([page.waitForURL(/\/admin\/banks\/\d+\?done=created$/), page.click("#create-bank button[type=submit]")]);
  bankId = Number(new URL(page.url()).pathname.split("/").pop());
  check((await page.textContent("#done")).includes("created"), `bank ${bankId} is created`);
  await inspect("bank-created");

  // Its distance and sharing changed.
  await page.fill("#e-distance", "16");
  await page.selectOption("#e-sharing", "organisations");
  await page.check(`#e-share-${platformOrg}`);
  await Promise.all([page.waitForURL(/done=saved$/), page.click("#edit-bank button[type=submit]")]);
  check((await page.textContent("#bank-distance")).trim() === "16", "the page shows the new distance");
  check((await page.textContent("#bank-sharing")).trim() === "organisations", "the page shows the new sharing");

  // A CSV with one bad line: the report lists it, the other two are stored.
  await page.selectOption("#i-format", "csv");
  await page.setInputFiles("#i-file", {
    name: "walk.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(`signal_type,signal\npdq,${pdq}\npdq,this-is-not-a-hash\nmd5,${md5}\n`),
  });
  await Promise.all([page.waitForURL(/\/import$/), page.click("#import button[type=submit]")]);
  const summary = await page.textContent("#import-summary");
  check(summary.includes("2 record(s)") && summary.includes("2 added") && summary.includes("1 malformed"),
    `the import's summary counts the records (${summary.trim()})`);
  const errors = await page.$$eval("#import-errors tbody tr", (rows) =>
    rows.map((row) => Array.from(row.cells).map((cell) => cell.textContent.trim())));
  check(errors.length === 1 && errors[0][1] === "3", `the report names the bad line (${JSON.stringify(errors)})`);
  await inspect("import-report");
  await Promise.all([page.waitForURL(`${base}/admin/banks/${bankId}`), page.click("#back-to-bank")]);

  // Search by hash: the near PDQ within 2 finds the listed one, at distance 2.
  await page.selectOption("#s-type", "pdq");
  await page.fill("#s-signal", near);
  await page.fill("#s-distance", "2");
  await Promise.all([page.waitForURL(/signal=/), page.click("#hash-search button[type=submit]")]);
  const found = await page.$$eval("#content tbody tr", (rows) =>
    rows.map((row) => Array.from(row.cells).map((cell) => cell.textContent.trim())));
  check(found.length === 1 && found[0][1].includes(pdq) && found[0][7] === "2",
    `the hash search finds the item at distance 2 (${JSON.stringify(found)})`);
  await inspect("hash-search");

  // The item opened and disabled.
  await Promise.all([page.waitForURL(/\/admin\/content\/\d+$/), page.click("#content tbody a")]);
  itemId = Number(new URL(page.url()).pathname.split("/").pop());
  check((await page.textContent("#provenance")).includes("console:import:walk.csv"), "the item's provenance names the file");
  await inspect("content-curator");
  await Promise.all([page.waitForURL(/done=disabled$/), page.click("#toggle button")]);
  check((await page.textContent("#item-state")).includes("Disabled"), "the item is shown disabled");
  await inspect("content-disabled");

  // The export, as a download.
  await page.goto(`${base}/admin/banks/${bankId}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#exports a >> nth=0")]);
  const saved = await download.path();
  const { readFileSync } = await import("node:fs");
  const exported = readFileSync(saved, "utf8");
  check(download.suggestedFilename() === `bank-${bankId}.csv`, `the export is named for the bank (${download.suggestedFilename()})`);
  check(exported.includes(pdq) && exported.includes(md5), "the export holds the imported signals");
  await consoleSignOut(page);

  // Checked through the API.
  const bank = await api(`/v1/banks/${bankId}`);
  check(bank.distance === 16 && bank.sharing === "organisations" && bank.shared_with.includes(Number(platformOrg)),
    `the API reads the bank's new distance and sharing (${bank.distance}, ${bank.sharing}, ${JSON.stringify(bank.shared_with)})`);
  check(bank.description === "made in the browser walk", "the API reads its description");
  let item = await api(`/v1/content/${itemId}`);
  check(item.enabled === false, "the API reads the item disabled");
  const listed = await api(`/v1/banks/${bankId}/content`);
  check(listed.content.length === 2, `the API lists the two imported items (${listed.content.length})`);

  // The admin, with JavaScript off: the item enabled again, the dispute limit set.
  const quiet = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
  const off = await quiet.newPage();
  watch(off);
  await consoleSignIn(off, base, admin, password);
  await off.goto(`${base}/admin/content/${itemId}`);
  check(await off.isVisible("#audit"), "an admin reads the item's audit trail");
  const trail = await off.textContent("#audit");
  check(trail.includes("content.disable"), "the audit trail lists the curator's change (content.disable)");
  await inspect("content-admin-noscript", off, { scriptOff: true });
  await Promise.all([off.waitForURL(/done=enabled$/), off.click("#toggle button")]);
  check((await off.textContent("#item-state")).includes("Enabled"), "without JavaScript, the item is enabled again");
  await off.goto(`${base}/admin/banks/${bankId}`);
  await off.fill("#e-dispute", "2");
  await Promise.all([off.waitForURL(/done=saved$/), off.click("#edit-bank button[type=submit]")]);
  await inspect("bank-admin-noscript", off, { scriptOff: true });
  await quiet.close();
  item = await api(`/v1/content/${itemId}`);
  check(item.enabled === true, "the API reads the item enabled again");
  const after = await api(`/v1/banks/${bankId}`);
  check(after.dispute_limit === 2 && after.distance === 16, `the API reads the admin's dispute limit (${after.dispute_limit})`);

  // The auditor: the banks, no control, and 403 when posting anyway.
  await consoleSignIn(page, base, auditor, password);
  await page.goto(`${base}/admin/banks`);
  check(!(await page.isVisible("#create-bank")), "an auditor sees no form to create a bank");
  check((await page.textContent("#banks")).includes("WALK_BANK"), "an auditor sees the bank in the list");
  await inspect("banks-auditor");
  await page.goto(`${base}/admin/banks/${bankId}`);
  for (const control of ["#edit-bank", "#delete-bank", "#import", "#exports"]) {
    check(!(await page.isVisible(control)), `an auditor sees no ${control}`);
  }
  await inspect("bank-auditor");
  const csrf = await page.getAttribute(".signout input[name=csrf]", "value");
  const posted = await page.request.post(`${base}/admin/banks/${bankId}`, {
    form: { csrf, name: "AUDITED", distance: "1" },
    maxRedirects: 0,
  });
  check(posted.status() === 403, `an auditor posting the settings anyway is refused (${posted.status()})`);
  check((await api(`/v1/banks/${bankId}`)).name === "WALK_BANK", "the bank keeps its name");
  await consoleSignOut(page);
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`${problems.length} check(s) failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`all checks passed; ${shots()} screenshots in ${artefacts}`);
