// shorty's one script. Every page works without it; it only adds what a
// plain form cannot do: copy buttons. Loaded from this origin only (the
// pages' CSP allows no inline script).
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain http on another host than localhost: the Clipboard API is off,
  // the older command still works.
  return new Promise(function (resolve, reject) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var done = document.execCommand("copy");
    document.body.removeChild(area);
    if (done) { resolve(); } else { reject(new Error("copy refused")); }
  });
}

function setUpCopyButtons() {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var status = document.querySelector('[data-copy-status="' + button.getAttribute("data-copy") + '"]');
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.value !== undefined ? source.value : source.textContent;
      copyText(text).then(function () {
        button.textContent = "Copied";
        if (status) { status.textContent = "Copied to the clipboard."; }
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      }, function () {
        source.select && source.select();
        if (status) { status.textContent = "Press Ctrl+C (or ⌘C) to copy."; }
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", setUpCopyButtons);
