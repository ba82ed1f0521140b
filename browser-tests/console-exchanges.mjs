// The console's exchanges, audit log and contacts in a real headless Chromium: a curator
// creates a `file` exchange whose list a loopback server serves, sees it fetched, asks for a
// fetch at once and disables it; an admin, with JavaScript off, adds hosts' contacts,
// removes one, finds the change in the audit log by who and what and downloads the CSV; an
// auditor reads the audit log with no control for exchanges or contacts, and is refused
// when posting anyway. Each result is checked through the API afterwards with an admin's
// key, and every page as `inspect` checks it (axe-core, CSP, headers, skip link, 375 px).
//
// Usage: node browser-tests/console-exchanges.mjs BASE_URL ARTEFACT_DIR
// with WARD_PASSWORD (everyone's), WARD_ADMIN, WARD_CURATOR, WARD_AUDITOR (names),
// WARD_LIST_URL (the list the exchange fetches, holding WARD_LIST_ITEMS items) and
// WARD_ADMIN_KEY (an admin's API key).

import { readFileSync } from "node:fs";
import { checks, consoleSignIn, consoleSignOut, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const env = process.env;
const password = env.WARD_PASSWORD;
const [admin, curator, auditor] = [env.WARD_ADMIN, env.WARD_CURATOR, env.WARD_AUDITOR];
const listUrl = env.WARD_LIST_URL;
const listItems = env.WARD_LIST_ITEMS;
const key = env.WARD_ADMIN_KEY;
if (!base || !artefacts || !password || !admin || !curator || !auditor || !listUrl || !listItems || !key) {
  console.error("usage: WARD_PASSWORD=… WARD_ADMIN=… WARD_CURATOR=… WARD_AUDITOR=… WARD_LIST_URL=… WARD_LIST_ITEMS=… WARD_ADMIN_KEY=… node console-exchanges.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();

/// A JSON answer of the API, with the admin's key.
async function api(path) {
  const answer = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  check(answer.ok, `GET ${path} is answered (${answer.status})`);
  return answer.json();
}

/// The text of an element, trimmed ("" when absent).
async function text(page, selector) {
  const found = await page.$(selector);
  return found ? (await found.textContent()).trim() : "";
}

const EXCHANGE = "BROWSER_LIST";

const { browser, page, inspect, shots } = await openPage(artefacts, { problems, check });
try {
  // A curator, with JavaScript on: the exchange made, fetched, fetched again at once, off.
  await consoleSignIn(page, base, curator, password);
  await page.goto(`${base}/admin/exchanges`);
  check(await page.$("#choose-type") !== null, "a curator may create exchanges");
  check(await page.$("nav a[href='/admin/contacts']") === null, "a curator has no link to contacts");
  check(await page.$("nav a[href='/admin/audit']") === null, "a curator has no link to the audit log");
  await inspect("exchanges-curator");
  await page.selectOption("#new-api", "file");
  await Promise.all([page.waitForURL("**/admin/exchanges?new=file*"), page.click("#choose-type button")]);
  await page.fill("#bank", EXCHANGE);
  await page.fill("[id='cfg-url']", listUrl);
  await page.selectOption("[id='cfg-format']", "csv");
  await inspect("exchange-new-file");
  await Promise.all([page.waitForURL("**/admin/exchanges/*?done=created"), page.click("#create button[type=submit]")]);
  check((await text(page, "#done")).startsWith("The exchange was created"), "the exchange is created");
  const bankId = new URL(page.url()).pathname.split("/").pop();
  // The node's fetcher takes it within a few seconds; the items are in before the fetch
  // is recorded as done.
  let items = "";
  let state = "";
  for (let tries = 0; tries < 40 && (items !== listItems || !state.startsWith("fetched")); tries += 1) {
    await page.waitForTimeout(500);
    await page.goto(`${base}/admin/exchanges/${bankId}`);
    items = await text(page, "#items");
    state = await text(page, "#state");
  }
  check(items === listItems, `the exchange holds the list's ${listItems} items (${items})`);
  check(state.startsWith("fetched"), `the last fetch succeeded (${state})`);
  check((await text(page, "#credentials-state")).startsWith("No credentials"), "the page says no credentials are set");
  await inspect("exchange-curator");
  await Promise.all([page.waitForURL("**?done=fetch"), page.click("#fetch-now")]);
  check((await text(page, "#done")).startsWith("A fetch was asked for"), "a fetch at once is asked for");
  await inspect("exchange-fetch-asked");
  await Promise.all([page.waitForURL("**?done=disabled"), page.click("#disable")]);
  check((await text(page, "#state")).startsWith("disabled"), "fetching is off");
  check(await page.$("#enable") !== null, "it can be turned on again");
  await page.goto(`${base}/admin/exchanges`);
  const row = await page.$$eval("#exchanges tbody tr", (rows) =>
    rows.map((r) => Array.from(r.cells).map((c) => c.textContent.trim())));
  check(row.some((cells) => cells[0] === EXCHANGE && cells[3].startsWith("disabled") && cells[6] === listItems),
    `the list shows it disabled with its items (${JSON.stringify(row)})`);
  await inspect("exchanges-list");
  await consoleSignOut(page);

  // Through the API: its status and settings, and the fetch asked for in the audit log.
  const status = await api(`/c/exchange/${EXCHANGE}/status`);
  check(status.fetched_items === Number(listItems) && status.last_fetch_succeeded === true,
    `the API's status agrees (${JSON.stringify(status)})`);
  const settings = await api(`/c/exchange/${EXCHANGE}`);
  check(settings.enabled === false && settings.api === "file" && settings.url === listUrl,
    `the API's settings agree (${JSON.stringify(settings)})`);
  const asked = await api(`/v1/audit?action=exchange.fetch`);
  check(asked.events.length === 1, `one fetch at once in the audit log (${asked.events.length})`);

  // An admin, with JavaScript off: contacts added and removed, the audit log searched.
  const off = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false, acceptDownloads: true });
  const plain = await off.newPage();
  await consoleSignIn(plain, base, admin, password);
  await plain.goto(`${base}/admin/contacts`);
  await inspect("contacts-empty", plain, { scriptOff: true });
  for (const [pattern, email, webhook] of [
    ["example.org", "abuse@example.org", "https://hooks.example.org/ward"],
    ["old.example.net", "abuse@example.net", ""],
  ]) {
    await plain.fill("#pattern", pattern);
    await plain.fill("#email", email);
    await plain.fill("#webhook", webhook);
    await Promise.all([plain.waitForURL("**/admin/contacts?done=set"), plain.click("#set-contact button[type=submit]")]);
  }
  check((await text(plain, "#done")) === "The contact was saved.", "the contacts are saved");
  await inspect("contacts", plain, { scriptOff: true });
  // Without JavaScript the removal is not confirmed first: it is done at once.
  await Promise.all([
    plain.waitForURL("**/admin/contacts?done=removed"),
    plain.click("form[action='/admin/contacts/old.example.net/remove'] button"),
  ]);
  const patterns = await plain.$$eval("#contacts tbody tr td:first-child", (tds) => tds.map((td) => td.textContent.trim()));
  check(JSON.stringify(patterns) === JSON.stringify(["example.org"]), `one contact is left (${patterns})`);
  const contacts = await api("/v1/contacts");
  check(contacts.contacts.length === 1 && contacts.contacts[0].pattern === "example.org"
    && contacts.contacts[0].email === "abuse@example.org"
    && contacts.contacts[0].webhook === "https://hooks.example.org/ward",
  `the API's contacts agree (${JSON.stringify(contacts.contacts)})`);

  // Who made it: the admin's account, as the audit log names it.
  const users = await api("/v1/users");
  const me = users.users.find((u) => u.name === admin);
  const who = `user:${me.id}`;
  await plain.goto(`${base}/admin/audit`);
  await plain.fill("#actor", who);
  await plain.fill("#action", "contact.");
  await Promise.all([plain.waitForURL("**/admin/audit?*"), plain.click("#search button[type=submit]")]);
  const events = await plain.$$eval("#events tbody tr", (rows) =>
    rows.map((r) => Array.from(r.cells).map((c) => c.textContent.trim())));
  check(JSON.stringify(events.map((e) => [e[2], e[3], e[4]])) === JSON.stringify([
    [who, "contact.remove", "contact:old.example.net"],
    [who, "contact.set", "contact:old.example.net"],
    [who, "contact.set", "contact:example.org"],
  ]), `the audit log finds the admin's changes, newest first (${JSON.stringify(events)})`);
  await inspect("audit-admin", plain, { scriptOff: true });
  const [download] = await Promise.all([plain.waitForEvent("download"), plain.click("#csv")]);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\r\n");
  check(csv[0] === "id,at,actor,action,target,detail" && csv.length === 4
    && csv.slice(1).every((line) => line.includes(`,${who},contact.`)),
  `the CSV holds the same events (${csv.length - 1})`);
  const logged = await api(`/v1/audit?actor=${who}&action=contact.&order=newest`);
  check(logged.events.length === 3 && logged.events[0].action === "contact.remove",
    `the API's audit log agrees (${logged.events.map((e) => e.action)})`);
  await consoleSignOut(plain);
  await off.close();

  // An auditor: the audit log, and nothing to change.
  await consoleSignIn(page, base, auditor, password);
  await page.goto(`${base}/admin/audit`);
  check(await page.$("nav a[href='/admin/exchanges']") === null, "an auditor has no link to exchanges");
  check(await page.$("nav a[href='/admin/contacts']") === null, "an auditor has no link to contacts");
  const forms = await page.$$eval("main form", (fs) => fs.map((f) => `${f.method} ${f.getAttribute("action")}`));
  check(JSON.stringify(forms) === JSON.stringify(["get /admin/audit"]), `the auditor's only form is the search (${forms})`);
  const rows = await page.$$eval("#events tbody tr", (rs) => rs.length);
  check(rows > 3, `the auditor reads the log (${rows} events)`);
  await inspect("audit-auditor");
  const csrf = await page.$eval("form.signout input[name=csrf]", (i) => i.value);
  const shut = await page.goto(`${base}/admin/exchanges/${bankId}`);
  check(shut.status() === 403, `an auditor does not open an exchange's page (${shut.status()})`);
  for (const path of [`/admin/exchanges/${bankId}/fetch`, `/admin/exchanges/${bankId}/delete`, "/admin/contacts"]) {
    const posted = await page.request.post(`${base}${path}`, {
      form: { csrf, pattern: "evil.example", email: "a@evil.example" },
      maxRedirects: 0,
    });
    check(posted.status() === 403, `an auditor posting to ${path} is refused (${posted.status()})`);
  }
  await page.goto(`${base}/admin/audit`);
  await consoleSignOut(page);
  const still = await api(`/c/exchange/${EXCHANGE}/status`);
  check(still.fetched_items === Number(listItems), "the exchange is still there");
  const unchanged = await api("/v1/contacts");
  check(unchanged.contacts.length === 1, "no contact was added by the auditor");
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`${problems.length} check(s) failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`all checks passed; ${shots()} screenshots in ${artefacts}`);
