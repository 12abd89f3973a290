// Every <time class="local-time" datetime="ISO"> is rewritten in the browser's time zone,
// its zone named in the text ("30 Nov 2026, 07:58 CET") and in full in the tooltip.
"use strict";

(() => {
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const element of document.querySelectorAll("time.local-time[datetime]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    element.textContent = format.format(moment);
    element.title = `Your time zone: ${zone}`;
    element.dataset.localised = "true";
  }
})();
