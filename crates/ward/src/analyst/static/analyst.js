// Ward's analyst pages, improved by script (everything works without it): j/k and single
// keys, reveal by click or key, blurred again when the pointer leaves, the window loses
// focus or after a while, and a heartbeat that counts the seconds revealed as exposure.
// It marks the page `scripted`, which shows the keys and the checkbox reveal in place of
// the reveal link that works without it.
"use strict";

(function () {
  document.documentElement.classList.add("scripted");

  const REVEAL_SECONDS = 20;
  const HEARTBEAT_SECONDS = 5;

  const header = document.querySelector("header.bar");
  const csrf = header ? header.dataset.csrf : "";

  function typing(event) {
    const target = event.target;
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) &&
        !(target.tagName === "INPUT" && ["radio", "checkbox"].includes(target.type)));
  }

  function plainKey(event) {
    return !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event);
  }

  // The queue and the series list: j and k move between rows, Enter opens the row's link
  // (natively).
  const queue = document.querySelector("table[data-rows]");
  if (queue) {
    const links = Array.from(queue.querySelectorAll("a.open"));
    document.addEventListener("keydown", (event) => {
      if (!plainKey(event) || links.length === 0) return;
      const at = links.indexOf(document.activeElement);
      if (event.key === "j" || event.key === "k") {
        const step = event.key === "j" ? 1 : -1;
        const next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + step));
        links[next].focus();
        event.preventDefault();
      }
    });
    if (links.length > 0) links[0].focus();
  }

  // Exposure: seconds revealed, sent while something is revealed and when it is hidden.
  const exposure = document.getElementById("exposure-today");
  let revealedSince = null;
  let unsent = 0;

  function send(seconds) {
    if (seconds < 1 || !csrf) return;
    const body = new URLSearchParams({ csrf: csrf, seconds: String(seconds) });
    fetch("/analyst/exposure", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: true,
    }).then((response) => response.ok ? response.json() : null)
      .then((answer) => {
        if (answer && exposure) {
          exposure.textContent = answer.text;
          exposure.dataset.seconds = String(answer.seconds);
        }
      })
      .catch(() => { unsent += seconds; });
  }

  function flush() {
    if (revealedSince === null) return;
    const now = Date.now();
    unsent += (now - revealedSince) / 1000;
    revealedSince = now;
    const whole = Math.floor(unsent);
    if (whole >= 1) {
      unsent -= whole;
      send(Math.min(whole, 60));
    }
  }

  // The preview: the checkbox is the truth; script toggles it and blurs it again.
  const toggle = document.getElementById("reveal");
  const shield = document.getElementById("shield");
  let blurTimer = null;
  let heartbeat = null;

  function setRevealed(revealed) {
    if (!toggle) return;
    toggle.checked = revealed;
    changed();
  }

  function changed() {
    if (toggle.checked) {
      if (revealedSince === null) revealedSince = Date.now();
      clearTimeout(blurTimer);
      blurTimer = setTimeout(() => setRevealed(false), REVEAL_SECONDS * 1000);
      if (heartbeat === null) heartbeat = setInterval(flush, HEARTBEAT_SECONDS * 1000);
    } else {
      flush();
      revealedSince = null;
      clearTimeout(blurTimer);
      clearInterval(heartbeat);
      heartbeat = null;
      document.querySelectorAll(".shield video").forEach((video) => video.pause());
    }
  }

  if (toggle && shield) {
    toggle.addEventListener("change", changed);
    shield.addEventListener("click", (event) => {
      if (event.target.closest("summary, video")) return;
      setRevealed(!toggle.checked);
    });
    shield.addEventListener("mouseleave", () => setRevealed(false));
    window.addEventListener("blur", () => setRevealed(false));
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) setRevealed(false);
    });
    window.addEventListener("pagehide", () => setRevealed(false));
    // Any player stays muted.
    document.querySelectorAll(".shield video").forEach((video) => {
      video.muted = true;
      video.addEventListener("volumechange", () => { video.muted = true; });
    });
  }

  // The item page's single keys.
  const assessment = document.getElementById("assessment");
  const keyed = assessment ? Array.from(assessment.querySelectorAll("input[data-key]")) : [];
  const uk = document.getElementById("label-uk");
  const industry = document.getElementById("label-industry");

  function derive() {
    if (!assessment || !uk || !industry) return;
    const age = assessment.querySelector("input[name=age_group]:checked");
    const activity = assessment.querySelector("input[name=activity]:checked");
    uk.textContent = activity ? activity.dataset.uk : "—";
    const label = activity && age ? activity.dataset["industry" + age.value[0].toUpperCase() +
      age.value.slice(1)] : "";
    industry.textContent = label || "—";
  }

  if (assessment) {
    assessment.addEventListener("change", derive);
    derive();
  }

  document.addEventListener("keydown", (event) => {
    if (!plainKey(event) || queue) return;
    const key = event.key;
    if (key === "v" && toggle) {
      setRevealed(!toggle.checked);
    } else if (key === "u") {
      window.location.assign("/analyst/queue");
    } else if (assessment && key === "b") {
      document.getElementById("bank").focus();
    } else if (assessment && key === "n") {
      document.getElementById("note").focus();
    } else if (assessment && key === "a") {
      assessment.requestSubmit();
    } else {
      const radio = keyed.find((input) => input.dataset.key === key);
      if (!radio) return;
      radio.checked = true;
      radio.focus();
      derive();
    }
    event.preventDefault();
  });
})();
