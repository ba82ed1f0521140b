// The analyst's pages in a real headless Chromium: sign in, the queue (j/k, Enter), an
// image blurred until revealed and blurred again, the exposure heartbeat, an assessment
// added to a bank by keys, a video's keyframe grid and muted player, "nothing to act on"
// with a note, signing out. Every page is checked with axe-core (WCAG 2.x A and AA) and
// must raise no Content-Security-Policy violation; a screenshot of each is saved.
//
// Usage: node browser-tests/analyst.mjs BASE_URL ARTEFACT_DIR
// with WARD_ANALYST_NAME and WARD_ANALYST_PASSWORD naming an analyst whose organisation has
// a standard bank, and a queue holding a generated picture then the test video.

import { checks, openPage } from "./chromium.mjs";

const [base, artefacts] = process.argv.slice(2);
const name = process.env.WARD_ANALYST_NAME;
const password = process.env.WARD_ANALYST_PASSWORD;
if (!base || !artefacts || !name || !password) {
  console.error("usage: WARD_ANALYST_NAME=… WARD_ANALYST_PASSWORD=… node analyst.mjs BASE_URL ARTEFACT_DIR");
  process.exit(2);
}
const { problems, check } = checks();

const { browser, page, inspect, screenshot, shots } = await openPage(artefacts, { problems, check });
try {

  const previewFilter = () =>
    page.$eval("#shield img", (img) => getComputedStyle(img).filter);

  // Sign in.
  await page.goto(`${base}/analyst/login`);
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
  await inspect("queue");

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
  await inspect("item-blurred");

  await page.keyboard.press("v");
  filter = await previewFilter();
  check(filter === "none", `v reveals it (${filter})`);
  await screenshot("item-revealed");
  // The heartbeat counts the seconds revealed.
  await page.waitForFunction(() => Number(document.getElementById("exposure-today").dataset.seconds) > 0,
    null, { timeout: 15_000 });
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

  // Series: the picture added to CONFIRMED forms one (the keeper runs every second); its
  // page lists its member. An analyst sees no forms to change it.
  let seriesRows = 0;
  for (let tries = 0; tries < 20 && seriesRows === 0; tries += 1) {
    await page.goto(`${base}/analyst/series`);
    seriesRows = (await page.$$("#series tbody tr")).length;
    if (seriesRows === 0) await page.waitForTimeout(500);
  }
  check(seriesRows === 1, `the added picture forms a series (${seriesRows} rows)`);
  await inspect("series");
  if (seriesRows > 0) {
    await Promise.all([page.waitForURL("**/analyst/series/*"), page.click("#series tbody tr a")]);
    check((await page.$$("#members tbody tr")).length === 1, "the series page lists its member");
    check((await page.$$("form[action$='/merge'], form[action$='/split']")).length === 0,
      "an analyst gets no forms to merge or split");
    await inspect("series-item");
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
