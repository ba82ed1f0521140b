// The console's script: only what helps and is not needed (every page works without it).
// A button marked `data-confirm` asks before its form is sent; a file input inside `.drop`
// takes a file dropped on its box. The page is marked `scripted` so that what needs the
// script shows.
"use strict";

document.documentElement.classList.add("scripted");

document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

for (const box of document.querySelectorAll(".drop")) {
  const input = box.querySelector("input[type=file]");
  if (!input) continue;
  box.addEventListener("dragover", (event) => {
    event.preventDefault();
    box.classList.add("over");
  });
  box.addEventListener("dragleave", () => box.classList.remove("over"));
  box.addEventListener("drop", (event) => {
    event.preventDefault();
    box.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) input.files = event.dataTransfer.files;
  });
}
