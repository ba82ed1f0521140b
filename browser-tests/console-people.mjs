// The console's organisations, people and keys in a real headless Chromium: an admin makes
// an organisation and its administrator's account; the holder of the one-time link opens it
// in a browser of their own, chooses a password and signs in; as that organisation's
// administrator they make an analyst's account and a key (its secret shown once, gone from
// the page after), revoke the key and disable the analyst; with JavaScript off an admin
// makes another organisation and enables the analyst again; an auditor sees no link to the
// people page and is refused it. Every page is checked by `inspect` (axe-core, CSP, security
// headers, skip link, 375 px) and saved as screenshots; each result is then read back
// through the API (/v1/orgs, /v1/users, /v1/keys) with an admin's key.
//
// Usage: node browser-tests/console-people.mjs BASE_URL ARTEFACT_DIR
// with WARD_ADMIN_NAME, WARD_AUDITOR_NAME (accounts of the operator's organisation),
// WARD_PASSWORD (theirs) and WARD_API_KEY (an admin's key).

import { checks, consoleSignIn, consoleSignOut, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const adminName = process.env.WARD_ADMIN_NAME;
const auditorName = process.env.WARD_AUDITOR_NAME;
const password = process.env.WARD_PASSWORD;
const apiKey = process.env.WARD_API_KEY;
if (!base || !artefacts || !adminName || !auditorName || !password || !apiKey) {
  console.error("usage: WARD_ADMIN_NAME=… WARD_AUDITOR_NAME=… WARD_PASSWORD=… WARD_API_KEY=… node console-people.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();
const ORG = "Hotline North";
const ORG_OFF = "Hotline South";
const CHOSEN = "a password of my own choosing";

/// What the API says, as JSON.
async function api(path) {
  const answer = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  check(answer.ok, `GET ${path} answers (${answer.status})`);
  return answer.json();
}

/// Submits the form holding `selector`'s button and waits for the page it leads to.
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

const { browser, page, inspect, watch, shots } = await openPage(artefacts, { problems, check });
let keyPrefix = "";
try {
  // An admin makes an organisation.
  await consoleSignIn(page, base, adminName, password);
  await page.goto(`${base}/admin/orgs`);
  await inspect("orgs");
  await page.fill("#org-name", ORG);
  await submit(page, "#new-org button[type=submit]");
  check((await page.textContent("#done")).includes("organisation is made"), "the organisation is made");
  const orgLink = page.locator("#orgs a", { hasText: ORG });
  check(await orgLink.count() === 1, `${ORG} is listed`);
  await inspect("org-made");

  // Its administrator's account, from its people page.
  await Promise.all([page.waitForNavigation(), orgLink.click()]);
  check((await page.textContent("h1")).includes(ORG), "the people page of the organisation");
  await inspect("people-admin");
  await page.fill("#user-name", "nora");
  check(await page.$eval("#user-org", (s) => s.selectedOptions[0].textContent) === ORG,
    "the organisation shown is chosen for the account");
  await page.selectOption("#user-role", "org_admin");
  await submit(page, "#new-user button[type=submit]");
  const link = (await page.textContent("#secret")).trim();
  check(link.startsWith(`${base}/admin/welcome/`), `the answer shows the password link (${link.slice(0, 40)}…)`);
  await inspect("account-made");
  await page.goto(`${base}/admin/people`);
  check(!(await page.content()).includes(link.split("/").pop()), "the link is not shown again");
  await consoleSignOut(page);

  // The link's holder, in a browser of their own, chooses a password and signs in.
  const holder = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const nora = await holder.newPage();
  nora.setDefaultTimeout(20_000);
  watch(nora);
  await nora.goto(link);
  check((await nora.textContent("#account")) === "nora", "the link's page names its own account");
  await inspect("welcome", nora);
  await nora.fill("#password", CHOSEN);
  await nora.fill("#repeat", CHOSEN);
  await Promise.all([nora.waitForURL("**/admin/login?done=password"), nora.click("#welcome button[type=submit]")]);
  check((await nora.textContent("#login-notice")).includes("password is set"), "sent to sign in, with a message");
  await inspect("signin-after-welcome", nora);
  await nora.goto(link);
  check((await nora.textContent("h1")).includes("cannot be used"), "the link works once");
  await inspect("welcome-used", nora);
  await consoleSignIn(nora, base, "nora", CHOSEN);

  // As the organisation's administrator: an analyst's account and a key.
  await nora.goto(`${base}/admin/people`);
  const roles = await nora.$$eval("#user-role option", (os) => os.map((o) => o.value));
  check(!roles.includes("admin") && roles.includes("analyst"), `no admin role offered (${roles.join(", ")})`);
  check(await nora.locator("#user-org").count() === 0, "no choice of organisation");
  await inspect("people-org-admin", nora);
  await nora.fill("#user-name", "lee");
  await nora.selectOption("#user-role", "analyst");
  await submit(nora, "#new-user button[type=submit]");
  check((await nora.textContent("#secret")).includes("/admin/welcome/"), "the analyst's link is shown");
  await nora.goto(`${base}/admin/people`);
  await nora.fill("#key-label", "uploader");
  await nora.selectOption("#key-role", "platform");
  await submit(nora, "#new-key button[type=submit]");
  const secret = (await nora.textContent("#secret")).trim();
  keyPrefix = secret.slice(0, 13);
  check(/^ward_[A-Za-z0-9]{40}$/.test(secret), "the key's secret is shown once");
  await inspect("key-made", nora);
  await nora.goto(`${base}/admin/people`);
  const listed = await nora.content();
  check(!listed.includes(secret) && listed.includes(keyPrefix), "back on the page: only the prefix, never the secret");

  // Revoke the key (confirmed), disable the analyst (confirmed).
  const confirmations = [];
  nora.on("dialog", (dialog) => { confirmations.push(dialog.message()); dialog.accept(); });
  await submit(nora, `button:has-text("Revoke ${keyPrefix}")`);
  check((await nora.textContent("#done")).includes("revoked"), "the key is revoked");
  await submit(nora, 'button:has-text("Disable lee")');
  check((await nora.textContent("#done")).includes("disabled"), "the analyst is disabled");
  check(confirmations.length === 2, `each was confirmed first (${confirmations.length})`);
  await inspect("people-after", nora);
  await holder.close();

  // JavaScript off: another organisation, and the analyst enabled again (no confirmation).
  const off = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
  const plain = await off.newPage();
  plain.setDefaultTimeout(20_000);
  watch(plain);
  await consoleSignIn(plain, base, adminName, password);
  await plain.goto(`${base}/admin/orgs`);
  await plain.fill("#org-name", ORG_OFF);
  await submit(plain, "#new-org button[type=submit]");
  check((await plain.textContent("#done")).includes("organisation is made"), "without JavaScript: the organisation is made");
  await inspect("orgs-no-script", plain, { scriptOff: true });
  await plain.goto(`${base}/admin/people`);
  await submit(plain, 'button:has-text("Enable lee")');
  check((await plain.textContent("#done")).includes("enabled"), "without JavaScript: the analyst is enabled again");
  await inspect("people-no-script", plain, { scriptOff: true });
  await off.close();

  // An auditor: no link to the people page, and 403 there.
  await consoleSignIn(page, base, auditorName, password);
  const links = await page.$$eval("nav a", (as) => as.map((a) => a.getAttribute("href")));
  check(!links.includes("/admin/people") && !links.includes("/admin/orgs"), `an auditor sees no link to people or organisations (${links.join(" ")})`);
  const refused = await page.goto(`${base}/admin/people`);
  check(refused.status() === 403, `an auditor is refused the people page (${refused.status()})`);
  await inspect("auditor-refused");
  const orgs = await page.goto(`${base}/admin/orgs`);
  check(orgs.status() === 403, `an auditor is refused the organisations (${orgs.status()})`);
} finally {
  await browser.close();
}

// Each result, read back through the API.
const { orgs } = await api("/v1/orgs");
const north = orgs.find((o) => o.name === ORG);
check(north && north.users === 2 && north.keys === 0, `the API lists ${ORG} with 2 accounts and no live key (${JSON.stringify(north)})`);
check(orgs.some((o) => o.name === ORG_OFF), `the API lists ${ORG_OFF}`);
const { users } = await api(`/v1/users?org=${north ? north.id : 0}`);
const nora = users.find((u) => u.name === "nora");
const lee = users.find((u) => u.name === "lee");
check(nora && nora.role === "org_admin" && nora.password_set, "nora is an org_admin with her own password");
check(lee && lee.role === "analyst" && !lee.password_set && lee.disabled_at === null,
  "lee is an analyst, waiting for a password, enabled again");
const { keys } = await api(`/v1/keys?org=${north ? north.id : 0}`);
const uploader = keys.find((k) => k.label === "uploader");
check(uploader && uploader.prefix === keyPrefix && uploader.role === "platform" && uploader.revoked_at,
  "the uploader key is the one made, and revoked");
const audit = await fetch(`${base}/v1/audit?limit=10000`, { headers: { authorization: `Bearer ${apiKey}` } });
const actions = (await audit.json()).events.map((e) => e.action);
for (const action of ["org.create", "user.create", "user.password_link", "user.password", "key.create", "key.revoke", "user.disable", "user.enable"]) {
  check(actions.includes(action), `the audit log has ${action}`);
}

if (problems.length) {
  console.error(`${problems.length} check(s) failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`every result checked through the API; ${shots()} screenshots in ${artefacts}`);
