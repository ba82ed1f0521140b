// The self-report pages' form: the person chooses pictures and videos, this script hashes
// them on the device (`WardSelfHash`) and puts only the hashes in the form's hidden field;
// the files are never read by anything else, never shown, never sent. A picture's PDQ hash
// is sent when its quality is at least 50 (below, a flat or blank picture would match
// unrelated ones); its MD5 always. Without JavaScript the form stays hidden and the page
// says why.
"use strict";

(function () {
  // The new case's form (hidden without JavaScript), or the case page's, whose part that
  // adds files is hidden without it.
  const form = document.querySelector("form[data-ready]");
  if (!form) return;
  const input = document.getElementById("self-files");
  const field = document.getElementById("self-hashes");
  const status = document.getElementById("self-status");
  const send = document.getElementById("self-send");

  /// PDQ hashes of lower quality are not sent.
  const MIN_QUALITY = 50;
  /// The most files sent at once (the server's bound).
  const MAX_FILES = Number(form.getAttribute("data-max")) || 50;
  const VIDEO = /\.(mp4|m4v|mov|webm|mkv|avi|3gp|3g2|wmv|flv|mpe?g|ts|ogv)$/i;

  const say = (name, count) => (form.getAttribute("data-" + name) || "").replace("{count}", String(count));

  (document.getElementById("self-add") || form).hidden = false;
  send.disabled = true;

  let working = 0;
  input.addEventListener("change", async () => {
    const files = Array.from(input.files || []);
    const run = ++working;
    field.value = "";
    send.disabled = true;
    if (files.length === 0) {
      status.textContent = "";
      return;
    }
    status.textContent = say("working", 0);
    const lines = [];
    let unreadable = 0;
    for (const file of files) {
      let hashes = null;
      try {
        hashes = await window.WardSelfHash.hashFile(file);
      } catch (_) {
        hashes = null;
      }
      if (run !== working) return; // the person chose other files meanwhile
      const video = /^video\//.test(file.type) || VIDEO.test(file.name);
      if (!hashes || (!hashes.pdq && !video)) {
        unreadable += 1;
        continue;
      }
      let line = "md5:" + hashes.md5;
      if (hashes.pdq && hashes.quality >= MIN_QUALITY) line += " pdq:" + hashes.pdq;
      lines.push(line);
    }
    // The input is emptied: nothing of the files stays in the form.
    input.value = "";
    const shown = [];
    if (lines.length > MAX_FILES) {
      shown.push(form.getAttribute("data-too-many") || "");
    } else if (lines.length > 0) {
      shown.push(say("ready", lines.length));
      field.value = lines.join("\n");
      send.disabled = false;
    }
    if (unreadable > 0) shown.push(say("unreadable", unreadable));
    status.textContent = shown.join(" ");
  });
})();
