// Layout help for every page: a table in a sideways-scrolling ``.scroll`` box says so with a
// hint above it, shown only while its content is wider than the box (on a phone), so the
// actions at the far right of a row are found. Nothing to call: it finds the boxes itself,
// also those a script adds later.
"use strict";
(() => {
  const HINT_CLASS = "scroll-hint";
  const hints = new Map();

  function update(box) {
    const hint = hints.get(box);
    if (hint) hint.hidden = box.scrollWidth <= box.clientWidth + 1;
  }

  // The box's own size changes with the window; its content's when rows are added.
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      update(entry.target.classList.contains("scroll") ? entry.target
        : entry.target.parentElement);
    }
  });

  // A page may word its own hint for a box (a class containing "scroll-hint" next to it).
  const OWN_HINT = '[class*="scroll-hint"]';
  const hasOwnHint = (box) => [box.previousElementSibling, box.nextElementSibling]
    .some((sibling) => sibling && sibling.matches(OWN_HINT));

  function attach(box) {
    if (hints.has(box) || hasOwnHint(box)) return;
    const hint = document.createElement("p");
    hint.className = HINT_CLASS;
    hint.textContent = window.FG.t("layout_scroll_hint");
    hint.setAttribute("aria-hidden", "true");
    hint.hidden = true;
    box.before(hint);
    hints.set(box, hint);
    resized.observe(box);
    for (const child of box.children) resized.observe(child);
  }

  function attachAll(root) {
    if (root.classList && root.classList.contains("scroll")) attach(root);
    if (root.querySelectorAll) root.querySelectorAll(".scroll").forEach(attach);
  }

  attachAll(document);
  new MutationObserver((changes) => {
    for (const change of changes) change.addedNodes.forEach(attachAll);
  }).observe(document.body, { childList: true, subtree: true });
})();
