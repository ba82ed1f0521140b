// The analyst's pages in a real headless Chromium: sign in, the queue (j/k, Enter), an
// image blurred until revealed and blurred again, the exposure heartbeat, the same image
// revealed with JavaScript off (a reveal that ends by itself and is counted, no keys
// offered), an assessment added to a bank by keys, a video's keyframe grid and muted
// player, "nothing to act on" with a note, the figures, the series (j/k, numbered from 1),
// signing out. Every page is checked with axe-core (WCAG 2.x A and AA and best practices),
// must raise no Content-Security-Policy violation, send the security headers, start with a
// skip link, give its charts distinct names and fit a 375 px wide screen; a screenshot of
// each is saved (and of each at 375 px).
//
// Usage: node browser-tests/analyst.mjs BASE_URL ARTEFACT_DIR
// with WARD_ANALYST_NAME and WARD_ANALYST_PASSWORD naming an analyst whose organisation has
// a standard bank, and a queue holding a generated picture then the test video;
// WARD_SEEDED_SERIES says how many series the bank holds before the walk (default 0).

import { PHONE, checks, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const name = process.env.WARD_ANALYST_NAME;
const password = process.env.WARD_ANALYST_PASSWORD;
if (!base || !artefacts || !name || !password) {
  console.error("usage: WARD_ANALYST_NAME=… WARD_ANALYST_PASSWORD=… node analyst.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const seeded = Number(process.env.WARD_SEEDED_SERIES ?? "0");
const { problems, check } = checks();

const { browser, page, inspect, screenshot, skipLink, watch, shots } =
  await openPage(artefacts, { problems, check });
try {

  const previewFilter = () =>
    page.$eval("#shield img", (img) => getComputedStyle(img).filter);

  // Sign in: the page names the product and shows no administrator's command.
  await page.goto(`${base}/analyst/login`);
  check((await page.textContent("h1")).includes("Ward"), "the sign-in page names Ward");
  const loginText = await page.textContent("main");
  check(!/ward admin|user create/.test(loginText), "the sign-in page shows no administrator's command");
  await inspect("login");
  await page.fill("#name", name);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL("**/analyst/queue"), page.click("button[type=submit]")]);
  check(new URL(page.url()).pathname === "/analyst/queue", "signing in opens the queue");

  // The queue: two novel items, with their age, reports, match state, series (none) and
  // media type, the newest report first.
  const rows = await page.$$eval("#queue tbody tr", (trs) =>
    trs.map((tr) => Array.from(tr.cells).map((td) => td.textContent.trim())),
  );
  check(rows.length === 2, `the queue has two items (${JSON.stringify(rows)})`);
  check(rows.every((row) => row[3] === "novel" && row[4] === "—"), "every queued item is novel, in no series");
  check(rows[0] && rows[0][5] === "image/png" && rows[1] && rows[1][5] === "video/mp4",
    "the picture (the newest report) comes first, then the video");
  check(rows.every((row) => /^\d+ (s|min|h|d)$/.test(row[1]) && /^\d+$/.test(row[2])),
    "each row shows an age and a report count");
  check(await page.textContent("#exposure-today") === "0 s", "no exposure yet today");
  check(await page.isVisible(".keys"), "with the script, the queue lists its keys");
  await inspect("queue");

  // Without JavaScript: the picture's reveal is a link of this session that lasts 20
  // seconds, is counted as exposure, and whose page blurs the picture again by itself; no
  // keys are offered, since none would work.
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: PHONE });
  const still = await plain.newPage();
  still.setDefaultTimeout(20_000);
  watch(still);
  try {
    await still.goto(`${base}/analyst/login`);
    await still.fill("#name", name);
    await still.fill("#password", password);
    await Promise.all([still.waitForURL("**/analyst/queue"), still.click("button[type=submit]")]);
    check(!(await still.isVisible(".keys")), "without the script, the queue lists no keys");
    await Promise.all([still.waitForURL("**/analyst/url/*"), still.click("#queue a.open >> nth=0")]);
    const itemPath = new URL(still.url()).pathname;
    const stillFilter = () => still.$eval("#shield img", (img) => getComputedStyle(img).filter);
    const seconds = async () => Number(await still.getAttribute("#exposure-today", "data-seconds"));
    check((await stillFilter()).includes("blur"), "without the script, the picture is blurred at first");
    check(!(await still.isVisible(".keys")) && !(await still.isVisible("label[for=reveal]")),
      "without the script, no key line and no checkbox reveal");
    check(await still.isVisible("#reveal-button"), "without the script, a button reveals it for 20 seconds");
    const before = await seconds();
    await inspect("item-no-script", still, { scriptOff: true });
    await Promise.all([still.waitForURL("**/reveal?until=*"), still.click("#reveal-button")]);
    const revealUrl = still.url();
    const revealedAt = Date.now();
    check(await stillFilter() === "none", `the reveal shows the picture (${await stillFilter()})`);
    check(await still.isVisible("#revealed"), "the page says for how long");
    const after = await seconds();
    check(after >= before + 20, `the reveal is counted as exposure (${before} s, then ${after} s)`);
    check(!(await still.isVisible(".keys")), "the revealed page lists no keys");
    check(!(await still.$("#assessment")), "the revealed page has no form whose typing its change would lose");
    check(!(await still.isVisible("#reblurred")), "the way back is not shown during the reveal");
    await inspect("item-no-script-revealed", still, { scriptOff: true });
    // The page blurs the picture again by itself (its style sheet; no timed reload), and
    // then shows the way back to the item.
    while (!(await stillFilter()).includes("blur") && Date.now() - revealedAt < 25_000) {
      await still.waitForTimeout(250);
    }
    const took = (Date.now() - revealedAt) / 1000;
    check(took >= 15 && took <= 24, `blurred again by itself after ${took.toFixed(1)} s`);
    check(still.url() === revealUrl, "blurred again in place, without a reload");
    check(await still.isVisible("#reblurred") && !(await still.isVisible("#revealed")),
      "once blurred, the way back to the item shows in place of the reveal's notice");
    await screenshot("item-no-script-blurred-again", {}, still);
    await Promise.all([
      still.waitForURL((url) => url.pathname === itemPath && url.search === ""),
      still.click("#reblurred a"),
    ]);
    check((await stillFilter()).includes("blur"), "the item's page shows the picture blurred");
    check(await seconds() === after, "blurring again counts nothing more");
    // The link does not reveal again once its time is up.
    await still.goto(revealUrl);
    check(new URL(still.url()).pathname === itemPath && !(await still.$(".shield-open")),
      `the used link no longer reveals (${still.url()})`);
    check((await stillFilter()).includes("blur"), "after its time, the link shows the picture blurred");
    check(await seconds() === after, "the used link counts nothing");
  } finally {
    await plain.close();
  }

  // j and k move between rows; Enter opens the focused one.
  await page.keyboard.press("j");
  const second = await page.evaluate(() => document.activeElement.textContent.trim());
  await page.keyboard.press("k");
  const first = await page.evaluate(() => document.activeElement.textContent.trim());
  check(second !== first && first.startsWith("#"), `j and k move between rows (${first}, ${second})`);
  await Promise.all([page.waitForURL("**/analyst/url/*"), page.keyboard.press("Enter")]);
  const pictureUrl = page.url();

  // The picture: blurred and grey until revealed.
  await page.waitForFunction(() => document.querySelector("#shield img").complete);
  const natural = await page.$eval("#shield img", (img) => img.naturalWidth);
  check(natural > 0, "the decrypted picture loads");
  let filter = await previewFilter();
  check(filter.includes("blur") && filter.includes("grayscale"), `blurred and grey at first (${filter})`);
  check(await page.isVisible(".keys") && await page.isVisible("label[for=reveal]")
    && !(await page.isVisible("#reveal-button")),
    "with the script: the key line and the checkbox reveal, not the reveal link");
  await inspect("item-blurred");
  await skipLink("item");
  await page.waitForFunction(() => document.querySelector("#shield img").complete);

  const counted = Number(await page.getAttribute("#exposure-today", "data-seconds"));
  await page.keyboard.press("v");
  filter = await previewFilter();
  check(filter === "none", `v reveals it (${filter})`);
  await screenshot("item-revealed");
  // The heartbeat counts the seconds revealed.
  await page.waitForFunction((before) => Number(document.getElementById("exposure-today").dataset.seconds) > before,
    counted, { timeout: 15_000 });
  check(true, `exposure counted: ${await page.textContent("#exposure-today")}`);
  // The pointer leaving the preview blurs it again.
  const box = await page.$eval("#shield", (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  await page.mouse.move(box.x, box.y);
  await page.mouse.move(5, 5);
  filter = await previewFilter();
  check(filter.includes("blur"), `leaving the preview blurs it again (${filter})`);
  check(!(await page.isChecked("#reveal")), "the reveal is off again");
  // A click reveals it too.
  await page.mouse.click(box.x, box.y);
  check(await page.isChecked("#reveal"), "a click reveals it");
  await page.mouse.move(5, 5);

  // The assessment by keys: 2 pubescent, 8 lascivious exhibition; the labels follow.
  await page.keyboard.press("2");
  await page.keyboard.press("8");
  const uk = await page.textContent("#label-uk");
  const industry = await page.textContent("#label-industry");
  check(uk === "C" && industry === "B2", `derived labels UK ${uk}, industry ${industry}`);
  await page.selectOption("#bank", { label: "CONFIRMED" });
  await page.focus("body");
  await inspect("assessment");
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await Promise.all([page.waitForURL("**/analyst/url/*?previous=*"), page.keyboard.press("a")]);
  check(page.url() !== pictureUrl, "recording the assessment opens the next item");
  check(await page.isVisible("#recorded"), "the next page says the decision was recorded");

  // The video: a keyframe grid, blurred, before any playback; the player is muted.
  await page.waitForFunction(() => document.querySelector("#shield img.keyframes").complete);
  const grid = await page.$eval("#shield img.keyframes", (img) => [img.naturalWidth, img.naturalHeight]);
  check(grid[0] === 480 && grid[1] === 270, `a 3x3 keyframe grid (${grid})`);
  filter = await page.$eval("#shield img.keyframes", (img) => getComputedStyle(img).filter);
  check(filter.includes("blur") && filter.includes("grayscale"), "the keyframes are blurred and grey");
  const video = await page.$eval("#shield video", (v) => ({ muted: v.muted, paused: v.paused, preload: v.preload }));
  check(video.muted && video.paused && video.preload === "none", `the player is muted and idle (${JSON.stringify(video)})`);
  check(!(await page.isVisible("#shield video")), "the player stays closed until asked for");
  await inspect("video");

  // Nothing to act on, with a note: n focuses it.
  await page.keyboard.press("n");
  check(await page.evaluate(() => document.activeElement.id) === "note", "n goes to the note");
  await page.keyboard.type("test video: nothing to act on");
  await Promise.all([page.waitForURL("**/analyst/queue"), page.click("#dismiss")]);
  check(await page.isVisible("#queue-empty"), "the queue is empty after both decisions");
  await inspect("queue-empty");

  // The figures: charts beside their tables, today's two URLs decided.
  await page.click("nav a[href='/analyst/statistics']");
  await page.waitForURL("**/analyst/statistics");
  check((await page.$$("section.figure svg[role=img]")).length === 3, "three charts, each an image with a title");
  const states = await page.$$eval("#urls-table tbody tr", (rows) =>
    Object.fromEntries(rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].textContent)])));
  check(states["not actionable"] === 1 && (states.assessed ?? 0) + (states.noticed ?? 0) === 1,
    `the figures count today's decisions (${JSON.stringify(states)})`);
  check(await page.isVisible("a[href^='/analyst/statistics.csv']"), "a CSV download beside the tables");
  await inspect("figures");
  await skipLink("figures");

  // Series: the picture added to CONFIRMED forms one (the keeper runs every second); its
  // page lists its member. An analyst sees no forms to change it.
  let seriesRows = 0;
  for (let tries = 0; tries < 20 && seriesRows <= seeded; tries += 1) {
    await page.goto(`${base}/analyst/series`);
    seriesRows = (await page.$$("#series tbody tr")).length;
    if (seriesRows <= seeded) await page.waitForTimeout(500);
  }
  check(seriesRows === seeded + 1, `the added picture forms a series (${seriesRows} rows, ${seeded} before)`);
  const numbers = await page.$$eval("#series a.open", (links) => links.map((a) => a.textContent.trim()));
  check(numbers.length > 0 && numbers.every((n, i) => n === `#${i + 1}`),
    `series are numbered from 1 (${numbers.join(", ")})`);
  check(await page.isVisible(".keys"), "with the script, the series list lists its keys");
  await inspect("series");
  if (seriesRows > 1) {
    // j and k move between series, as in the queue.
    const at = () => page.evaluate(() => document.activeElement.textContent.trim());
    await page.keyboard.press("j");
    const next = await at();
    await page.keyboard.press("k");
    const back = await at();
    check(next === "#2" && back === "#1", `j and k move between series (${next}, ${back})`);
  }
  if (seriesRows > 0) {
    const last = `#series tbody tr:last-child a.open`;
    const shown = await page.textContent(last);
    await Promise.all([page.waitForURL("**/analyst/series/*"), page.click(last)]);
    check((await page.$$("#members tbody tr")).length === 1, "the series page lists its member");
    check((await page.textContent("h1")).startsWith(`Series ${shown}`),
      `the series page is headed with the number its link showed (${shown})`);
    check((await page.$$("form[action$='/merge'], form[action$='/split']")).length === 0,
      "an analyst gets no forms to merge or split");
    await inspect("series-item");
    await skipLink("series-item");
  }

  // Signing out ends the session.
  await Promise.all([page.waitForURL("**/analyst/login"), page.click(".signout button")]);
  await page.goto(`${base}/analyst/queue`);
  check(new URL(page.url()).pathname === "/analyst/login", "after signing out the queue asks to sign in");
  await inspect("signed-out");
} catch (error) {
  problems.push(`the walk stopped: ${error.stack || error}`);
} finally {
  await browser.close();
}

console.log(`${shots()} screenshots in ${artefacts}`);
if (problems.length > 0) {
  console.error(`${problems.length} problem(s):\n${problems.join("\n")}`);
  process.exit(1);
}
console.log("analyst walk: all checks passed");
