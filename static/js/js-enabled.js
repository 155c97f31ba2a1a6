// Marks the page as scripted (<html class="no-js"> becomes "js") before it is painted, so the hints about
// dragging the card and the arrow keys show only where those work. A file of its own: the CSP allows no
// inline script.
document.documentElement.classList.replace("no-js", "js");
