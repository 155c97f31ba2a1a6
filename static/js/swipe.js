// Swipe gestures for the card deck: drag or flick with a mouse or a finger (pointer events), the arrow keys,
// and `z` for undo. Each gesture ends by clicking the real form button, so htmx (or, without htmx, the
// browser) submits exactly what a click would.
(function () {
  "use strict";
  const DISTANCE = 110; // px past which a release counts as a swipe
  const FLICK = 0.6; // px/ms: a fast flick counts even when short
  let drag = null;

  function card() { return document.getElementById("card"); }

  function decide(liked) {
    const el = card();
    const button = document.getElementById(liked ? "btn-like" : "btn-dislike");
    if (!el || !button || el.dataset.decided) return;
    el.dataset.decided = "1";
    el.classList.add(liked ? "fly-right" : "fly-left");
    // Let the fly-out play before the next card replaces this one.
    window.setTimeout(function () { button.click(); }, 160);
  }

  function setOffset(el, dx, dy) {
    el.style.transform = "translate(" + dx + "px," + dy + "px) rotate(" + dx / 18 + "deg)";
    el.style.setProperty("--like", Math.max(0, Math.min(1, dx / DISTANCE)));
    el.style.setProperty("--nope", Math.max(0, Math.min(1, -dx / DISTANCE)));
  }

  document.addEventListener("pointerdown", function (event) {
    const el = event.target.closest && event.target.closest("#card");
    if (!el || el.dataset.decided || event.button > 0) return;
    if (event.target.closest("a")) return; // the credit links to the photo's source page: let it be clicked
    el.setPointerCapture(event.pointerId);
    el.classList.add("dragging");
    drag = { el: el, id: event.pointerId, x: event.clientX, y: event.clientY, t: event.timeStamp, dx: 0, dy: 0 };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.id) return;
    drag.dx = event.clientX - drag.x;
    drag.dy = event.clientY - drag.y;
    setOffset(drag.el, drag.dx, drag.dy);
  });

  function release(event) {
    if (!drag || event.pointerId !== drag.id) return;
    const d = drag;
    drag = null;
    d.el.classList.remove("dragging");
    const speed = Math.abs(d.dx) / Math.max(1, event.timeStamp - d.t);
    if (Math.abs(d.dx) > DISTANCE || (Math.abs(d.dx) > 30 && speed > FLICK)) {
      decide(d.dx > 0);
    } else {
      setOffset(d.el, 0, 0);
    }
  }
  document.addEventListener("pointerup", release);
  document.addEventListener("pointercancel", release);

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (event.key === "ArrowRight") { event.preventDefault(); decide(true); }
    else if (event.key === "ArrowLeft") { event.preventDefault(); decide(false); }
    else if (event.key === "z" || event.key === "Z") {
      const undo = document.getElementById("btn-undo");
      if (undo && !undo.disabled) { event.preventDefault(); undo.click(); }
    }
  });
})();
