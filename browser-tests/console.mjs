// The console's overview and match tester in a real headless Chromium: as the deployment's
// admin (nodes, banks with their sizes, the sections an admin opens), a curator (no nodes,
// no administration sections) and an auditor (no match tester: no link, 403 on the page and
// on a posted test), with JavaScript on and off; pasted hashes and a picture tested, each
// answer compared with the API's own for the same query (through a key), and a test posted
// without the CSRF token refused. Every page is checked with axe-core, for CSP violations,
// its security headers, the skip link and a 375 px screen, and screenshotted.
//
// Usage: node browser-tests/console.mjs BASE_URL ARTEFACT_DIR, with WARD_CONSOLE_PASSWORD
// (the password of ada, admin; cora, curator; audrey, auditor, of the operating hotline),
// WARD_API_KEY (a curator's key of the same organisation), WARD_PDQ (a hash its bank
// CONFIRMED holds) and WARD_PICTURE (a benign picture file).

import { readFileSync } from "node:fs";
import { checks, consoleSignIn, consoleSignOut, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const password = process.env.WARD_CONSOLE_PASSWORD;
const key = process.env.WARD_API_KEY;
const pdq = process.env.WARD_PDQ;
const picture = process.env.WARD_PICTURE;
if (!base || !artefacts || !password || !key || !pdq || !picture) {
  console.error("usage: WARD_CONSOLE_PASSWORD=… WARD_API_KEY=… WARD_PDQ=… WARD_PICTURE=… node console.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();
const { browser, page, inspect, watch } = await openPage(artefacts, { problems, check });

/// The API's answer to a request with the key.
async function api(path, init = {}) {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) },
  });
  return { status: response.status, body: await response.json() };
}

/// The links of the navigation, by their text.
const navigation = (target) => target.$$eval(".bar nav a", (links) => links.map((a) => a.textContent.trim()));

/// A hash one bit from `hash` (its last hex digit changed).
function near(hash) {
  const last = parseInt(hash.slice(-1), 16) ^ 1;
  return hash.slice(0, -1) + last.toString(16);
}

/// The tester's result: placement, and the content ids of the matches.
async function result(target) {
  return {
    placement: (await target.textContent("#placement")).trim(),
    content: await target.$$eval("#matches tbody tr td:nth-child(3) a", (links) =>
      links.map((a) => Number(a.textContent.replace("#", "")))),
  };
}

try {
  // The sign-in page, and a wrong password.
  await page.goto(`${base}/admin/login`);
  check((await page.textContent("main")).includes("Ward's console"), "the console's sign-in page says what it is");
  await inspect("login");
  await page.fill("#name", "ada");
  await page.fill("#password", "not the password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  check(await page.isVisible("#login-error"), "a wrong password is refused on the page");

  // The admin: the overview with this node and the bank's sizes.
  await consoleSignIn(page, base, "ada", password);
  const sections = await navigation(page);
  check(["Overview", "Banks", "Match tester", "Organisations", "People and keys", "Exchanges", "Audit log", "Contacts"]
    .every((s) => sections.includes(s)), `the admin opens every section (${sections})`);
  const nodes = await page.$$eval("#nodes tbody tr", (rows) => rows.map((r) => r.textContent));
  check(nodes.length >= 1 && nodes.some((n) => n.includes("(this page's)") && n.includes("current")),
    `the overview lists this node, current (${JSON.stringify(nodes)})`);
  const bankRow = await page.$eval("#banks tbody tr", (row) => Array.from(row.cells).map((c) => c.textContent.trim()));
  check(bankRow[0] === "CONFIRMED" && bankRow[4] === "1", `the bank shows its one PDQ hash (${bankRow})`);
  await inspect("overview-admin");

  // The match tester: a hash one bit away, pasted bare.
  await page.click("text=Match tester");
  await page.fill("#hashes", near(pdq));
  await Promise.all([page.waitForNavigation(), page.click("#tester button[type=submit]")]);
  const tested = await result(page);
  const viaApi = await api(`/v1/match?signal_type=pdq&signal=${near(pdq)}`);
  check(tested.placement === viaApi.body.placement && tested.placement === "near",
    `the tester places the near hash as the API does (${tested.placement} / ${viaApi.body.placement})`);
  check(JSON.stringify(tested.content) === JSON.stringify(viaApi.body.matches.map((m) => m.content_id)),
    `the tester's answer is the API's (${tested.content} / ${viaApi.body.matches.map((m) => m.content_id)})`);
  await inspect("match-tester-near");

  // A picture chosen as a file: its hashes as the API's /v1/hash gives them.
  await page.setInputFiles("#file", picture);
  await page.fill("#hashes", "");
  await Promise.all([page.waitForNavigation(), page.click("#tester button[type=submit]")]);
  const shown = Object.fromEntries(await page.$$eval("#file-hashes tbody tr", (rows) =>
    rows.map((r) => [r.cells[0].textContent.trim(), r.cells[1].textContent.trim()])));
  const form = new FormData();
  form.append("file", new Blob([readFileSync(picture)]), "picture.png");
  const hashed = await api("/v1/hash", { method: "POST", body: form });
  check(hashed.status === 200 && shown.md5 === hashed.body.md5 && shown.pdq === hashed.body.pdq,
    `the picture's hashes are the API's (${shown.md5} ${shown.pdq} / ${hashed.body.md5} ${hashed.body.pdq})`);
  check((await page.textContent("#placement")).trim() === "novel", "nothing knows the picture");
  await inspect("match-tester-file");

  // A test posted without the form's CSRF token is refused.
  const forged = await page.evaluate(async (hash) => {
    const body = new FormData();
    body.append("hashes", hash);
    const answer = await fetch("/admin/match", { method: "POST", body });
    return [answer.status, await answer.text()];
  }, pdq);
  check(forged[0] === 403 && forged[1].includes("Form expired"), `a test without the CSRF token is refused (${forged[0]})`);
  await consoleSignOut(page);

  // A curator: no nodes, no administration sections; the exact hash is known.
  await consoleSignIn(page, base, "cora", password);
  const curatorSections = await navigation(page);
  check(!curatorSections.includes("Organisations") && !curatorSections.includes("People and keys")
    && !curatorSections.includes("Audit log") && curatorSections.includes("Match tester"),
    `a curator opens no administration section (${curatorSections})`);
  check(!(await page.$("#nodes")), "a curator sees no nodes");
  await inspect("overview-curator");
  await consoleSignOut(page);

  // An auditor: no tester, refused if they go there or post to it anyway.
  await consoleSignIn(page, base, "audrey", password);
  const auditorSections = await navigation(page);
  check(!auditorSections.includes("Match tester") && auditorSections.includes("Audit log"),
    `an auditor has no match tester and has the audit log (${auditorSections})`);
  await inspect("overview-auditor");
  const refused = await page.goto(`${base}/admin/match`);
  check(refused.status() === 403, `an auditor gets 403 on the tester (${refused.status()})`);
  check((await page.textContent("main a")).includes("Back to the console"), "the refusal leads back to the console");
  await inspect("refused-auditor");
  await page.goto(`${base}/admin`);
  const posted = await page.evaluate(async (hash) => {
    const csrf = document.querySelector("input[name=csrf]").value;
    const body = new FormData();
    body.append("csrf", csrf);
    body.append("hashes", hash);
    return (await fetch("/admin/match", { method: "POST", body })).status;
  }, pdq);
  check(posted === 403, `an auditor posting a test anyway gets 403 (${posted})`);
  await consoleSignOut(page);

  // JavaScript off: the curator tests the exact hash with the ratio bypassed.
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 860 } });
  const off = await plain.newPage();
  watch(off);
  await off.goto(`${base}/admin/login`);
  await off.fill("#name", "cora");
  await off.fill("#password", password);
  await Promise.all([off.waitForURL(`${base}/admin`), off.click("button[type=submit]")]);
  await off.goto(`${base}/admin/match`);
  check(!(await off.isVisible(".drop .scripted")), "without JavaScript, no drop hint");
  await off.fill("#hashes", `pdq ${pdq}`);
  await off.check("#bypass");
  await Promise.all([off.waitForNavigation(), off.click("#tester button[type=submit]")]);
  const plainResult = await result(off);
  const exact = await api(`/v1/match?signal_type=pdq&signal=${pdq}&bypass_enabled_ratio=true`);
  check(plainResult.placement === "known" && exact.body.placement === "known"
    && JSON.stringify(plainResult.content) === JSON.stringify(exact.body.matches.map((m) => m.content_id)),
    `without JavaScript the exact hash is known, as the API says (${JSON.stringify(plainResult)})`);
  await inspect("match-tester-no-script", off, { scriptOff: true });
  await plain.close();
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`${problems.length} check(s) failed:\n${problems.join("\n")}`);
  process.exit(1);
}
console.log("every check passed");
