// manyi — the little JavaScript the pages use. Everything works without it; it only smooths
// things: a form is sent once (the server's idempotency key makes a second send harmless
// anyway), and a policy file chosen on disk is read into the text box.
(function () {
  "use strict";

  // Forms marked `data-once`: disable the submit buttons while the page is leaving.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) return;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Coming back with the browser's Back button: the form may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.dataset.sent = "";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // <input type=file data-into=ID>: put the chosen file's text into the textarea #ID.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.dataset || !input.dataset.into || !input.files || !input.files[0]) return;
    var target = document.getElementById(input.dataset.into);
    if (!target) return;
    input.files[0].text().then(function (text) { target.value = text; });
  });

  // After a refusal or a form error, bring the message into view and focus it for screen
  // readers and keyboard users.
  document.addEventListener("DOMContentLoaded", function () {
    var message = document.getElementById("refusal") || document.getElementById("form-errors");
    if (message) {
      message.setAttribute("tabindex", "-1");
      message.focus();
    }
  });
})();
