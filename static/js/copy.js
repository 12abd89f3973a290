// Copy buttons: <button data-copy="id"> copies the text of the element with that id to the clipboard.
// The buttons start hidden and show only where the Clipboard API exists (HTTPS or localhost).
"use strict";

(() => {
  if (!navigator.clipboard || !navigator.clipboard.writeText) return;
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) continue;
    const status = button.parentElement.querySelector(".copy-status");
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        if (status) status.textContent = "Copied.";
      } catch (error) {
        if (status) status.textContent = "Could not copy: select the text and copy it.";
      }
    });
  }
})();
