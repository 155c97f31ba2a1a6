// Forms that ask before they submit: <form data-confirm="Sure?">. (An inline onsubmit handler would do the
// same, but the Content-Security-Policy allows no inline script.) A yes adds confirmed=yes, so the server
// acts at once; without JavaScript the form arrives without it and the server asks on a page of its own.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.dataset && form.dataset.confirm;
    if (!question) return;
    if (!window.confirm(question)) { event.preventDefault(); return; }
    let field = form.querySelector('input[name="confirmed"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "confirmed";
      form.appendChild(field);
    }
    field.value = "yes";
  });
})();
