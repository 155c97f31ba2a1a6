// Forms that ask before they submit: <form data-confirm="Sure?">. (An inline onsubmit handler would do the
// same, but the Content-Security-Policy allows no inline script.)
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
