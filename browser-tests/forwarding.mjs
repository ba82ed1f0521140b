// Reports that cross borders in the analysts' pages, in a real headless Chromium.
//
// WARD_PHASE=origin-assess, on the hotline reports were made to: the one item its bank did
// not know (WARD_ASSESS) shows where it is hosted, is not forwarded yet, and is assessed.
//
// WARD_PHASE=partner, on the hotline reports were forwarded to: the queue marks every item
// as forwarded from the origin; an item shows where it is hosted, who forwarded it and the
// origin's assessment; one (WARD_ASSESS) is assessed as abuse, the other (WARD_DECLINE)
// declined with a reason, after which its page says so and offers no decline form; the
// forwards page lists both.
//
// WARD_PHASE=origin, on the hotline that forwarded them: the forwards page lists where each
// went and how it ended; the removed one's page (WARD_REMOVED) shows its hosting country,
// the partner's assessment and the times of notice and removal; the declined one's
// (WARD_DECLINED) the reason; the one no partner covers (WARD_STAYED) was not forwarded;
// the one its analyst assessed (WARD_ANALYST_ASSESSED) went to the partner too.
//
// Every page is checked with axe-core, for CSP violations, security headers, a skip link
// and a 375 px wide screen, and a screenshot of each is saved.
//
// Usage: node browser-tests/forwarding.mjs BASE_URL ARTEFACT_DIR, with WARD_ANALYST_NAME
// and WARD_ANALYST_PASSWORD.

import { checks, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const env = process.env;
const name = env.WARD_ANALYST_NAME;
const password = env.WARD_ANALYST_PASSWORD;
if (!base || !artefacts || !name || !password || !env.WARD_PHASE) {
  console.error("usage: WARD_PHASE=partner|origin WARD_ANALYST_NAME=… WARD_ANALYST_PASSWORD=… node forwarding.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();
const { browser, page, inspect, shots } = await openPage(artefacts, { problems, check });
const text = async (selector) => (await page.textContent(selector)).replace(/\s+/g, " ").trim();

try {
  await page.goto(`${base}/analyst/login`);
  await page.fill("#name", name);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL("**/analyst/queue"), page.click("button[type=submit]")]);

  if (env.WARD_PHASE === "origin-assess") {
    await page.goto(`${base}/analyst/url/${env.WARD_ASSESS}`);
    check((await text("#hosting")).startsWith("BE, AS64500"), "the item shows it is hosted in Belgium");
    check(await text("#forwarding") === "not forwarded", "before it is assessed, it is not forwarded");
    await inspect("origin-item");
    await page.keyboard.press("1");
    await page.keyboard.press("4");
    await Promise.all([page.waitForNavigation(), page.keyboard.press("a")]);
    check(new URL(page.url()).pathname === "/analyst/queue", "the queue is empty after it");
  } else if (env.WARD_PHASE === "partner") {
    const assess = env.WARD_ASSESS;
    const decline = env.WARD_DECLINE;
    // The queue: both items, each marked as forwarded from the origin.
    const marks = await page.$$eval("#queue tbody tr", (trs) =>
      trs.map((tr) => [tr.dataset.id, (tr.querySelector(".forwarded") || {}).textContent || ""]));
    check(marks.length === 3 && marks.every(([, mark]) => mark === "forwarded from hotline-a"),
      `the queue marks the three items as forwarded from hotline-a (${JSON.stringify(marks)})`);
    await inspect("partner-queue");

    // The item to assess: hosted in Belgium, forwarded by hotline-a with its assessment.
    await page.goto(`${base}/analyst/url/${assess}`);
    const hosted = await text("#hosting");
    check(hosted.startsWith("BE, AS64500 (Stand-in Hosting)"), `the item is hosted in Belgium (${hosted})`);
    const forwarding = await text("#forwarding");
    check(forwarding.includes("forwarded by hotline-a: to assess here"), `the item says who forwarded it (${forwarding})`);
    check(forwarding.includes("prepubescent, penetrative (UK A, industry A1)"),
      `the item shows the origin's assessment in each scheme (${forwarding})`);
    check(/their reference \d+; first reported \d{4}-/.test(forwarding) && forwarding.includes("assessed by a bank's hash"),
      `the item gives the origin's reference and times (${forwarding})`);
    check(await page.isVisible(`form.decline`), "a forward received can be declined");
    await inspect("partner-item");
    // Confirmed: the same facts, recorded with the keys.
    await page.keyboard.press("1");
    await page.keyboard.press("4");
    await Promise.all([page.waitForNavigation(), page.keyboard.press("a")]);
    await page.goto(`${base}/analyst/url/${assess}`);
    const decided = await text("#forwarding");
    check(decided.includes("assessed here, host not noticed yet") || decided.includes("host noticed"),
      `once assessed, the forward says so (${decided})`);
    check(!(await page.isVisible("form.decline")) || decided.includes("assessed here"),
      "the assessed forward's page is consistent");

    // The other: declined, with why.
    await page.goto(`${base}/analyst/url/${decline}`);
    await page.fill("form.decline input[name=reason]", "hosted outside Belgium now");
    await Promise.all([page.waitForURL(`**/analyst/url/${decline}`), page.click("form.decline button")]);
    const gone = await text("#forwarding");
    check(gone.includes("declined here: back with hotline-a") && gone.includes("hosted outside Belgium now"),
      `the declined forward says it went back, and why (${gone})`);
    check(!(await page.isVisible("form.decline")), "a declined forward offers no decline form");
    check(await text("#state") === "not_actionable", "the declined item left the queue");
    await inspect("partner-declined");

    await page.goto(`${base}/analyst/forwards`);
    const received = await page.$$eval("#received tbody tr", (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, " ")));
    check(received.length === 3 && received.some((r) => r.includes("declined here")),
      `the forwards page lists the three received (${received.length})`);
    check(await page.isVisible("#sent-empty"), "nothing was forwarded from here");
    await inspect("partner-forwards");
  } else {
    await page.goto(`${base}/analyst/forwards`);
    const sent = await page.$$eval("#sent tbody tr", (trs) =>
      trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent.replace(/\s+/g, " ").trim())));
    const row = (id) => sent.find((cells) => cells[0] === `#${id}`) || [];
    check(row(env.WARD_REMOVED)[4] === "removed (hotline-b)" && row(env.WARD_REMOVED)[3] === "BE",
      `the removed report: hosted in BE, removed by hotline-b (${row(env.WARD_REMOVED).join(" | ")})`);
    check((row(env.WARD_DECLINED)[4] || "").startsWith("declined by hotline-b: back with this hotline")
      && (row(env.WARD_DECLINED)[6] || "").includes("hosted outside Belgium now"),
      `the declined report came back, with why (${row(env.WARD_DECLINED).join(" | ")})`);
    check(sent.filter((cells) => cells[2] === "hotline-c").length === 4, "four reports went to hotline-c");
    check(sent.filter((cells) => cells[2] === "hotline-b").length === 11, "eleven reports went to hotline-b");
    check(row(env.WARD_ANALYST_ASSESSED)[2] === "hotline-b", "the report A's analyst assessed went to hotline-b");
    check(!sent.some((cells) => cells[0] === `#${env.WARD_STAYED}`), "the report no partner covers was not forwarded");
    await inspect("origin-forwards");

    await page.goto(`${base}/analyst/url/${env.WARD_REMOVED}`);
    const removed = await text("#forwarding");
    check(removed.includes("removed (hotline-b)") && removed.includes("forwarded to hotline-b for BE"),
      `the removed report's page says where it went (${removed})`);
    check(/Host noticed \d{4}-.*Removed \d{4}-/.test(removed), `it shows when the host was noticed and the content removed (${removed})`);
    check(removed.includes("prepubescent, penetrative"), "it shows the partner's assessment");
    check((await text("#hosting")).startsWith("BE"), "it shows where it was hosted");
    check(await text("#state") === "removed", "the report is closed as removed");
    await inspect("origin-removed");

    await page.goto(`${base}/analyst/url/${env.WARD_DECLINED}`);
    const declined = await text("#forwarding");
    check(declined.includes("declined by hotline-b: back with this hotline") && declined.includes("hosted outside Belgium now"),
      `the declined report's page says why it came back (${declined})`);
    await inspect("origin-declined");

    await page.goto(`${base}/analyst/url/${env.WARD_STAYED}`);
    check(await text("#forwarding") === "not forwarded", "the German report was not forwarded");
    check((await text("#hosting")).startsWith("DE"), "it is hosted in Germany");
    await inspect("origin-stayed");
  }
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`${problems.length} check(s) failed:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`all checks passed; ${shots()} screenshots in ${artefacts}`);
