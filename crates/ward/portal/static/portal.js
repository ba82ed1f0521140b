// Ward's reporting portal: small improvements when JavaScript runs. Every page works
// without it. No data leaves the page.
(function () {
  "use strict";

  var exit = document.getElementById("quick-exit");
  if (exit) {
    // Leave without adding this page to the tab's history, so Back does not return here.
    var leave = function () {
      window.location.replace(exit.href);
    };
    exit.addEventListener("click", function (event) {
      event.preventDefault();
      leave();
    });
    // Escape pressed twice within a second and a half also leaves.
    var lastEscape = 0;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") {
        return;
      }
      var now = Date.now();
      if (now - lastEscape < 1500) {
        leave();
      }
      lastEscape = now;
    });
    var hint = document.getElementById("quick-exit-hint");
    if (hint) {
      hint.hidden = false;
    }
  }

  // A form that came back with problems: move to its summary, as a screen reader expects.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }

  // One press of a send button sends once.
  var forms = document.querySelectorAll("form");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function (event) {
      if (this.getAttribute("data-sent") === "true") {
        event.preventDefault();
        return;
      }
      this.setAttribute("data-sent", "true");
    });
  }
  // A page shown again from the browser's back-forward cache may be sent again.
  window.addEventListener("pageshow", function () {
    for (var j = 0; j < forms.length; j++) {
      forms[j].removeAttribute("data-sent");
    }
  });
})();
