// Dates in the reader's own time zone and format. The server writes
// <time datetime="2024-05-01T12:03:04+00:00">2024-05-01 12:03 UTC</time>; this replaces the text with
// the browser's local form (e.g. "1 May 2024, 14:03") and puts the full date in the title;
// data-style="time": the time alone ("14:03"), for a time within the hour.
"use strict";

(function () {
  if (!window.Intl || !Intl.DateTimeFormat) return;
  let short, clock, full;
  try {
    short = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
    full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  } catch (err) {
    return; // an old browser without dateStyle: the UTC text stays
  }

  function localize(root) {
    // a day's heading (data-day) is gallery.js's: a date alone, read as UTC midnight here, would be wrong
    for (const el of (root || document).querySelectorAll("time[datetime]:not([data-day])")) {
      if (el.dataset.localized) continue;
      const when = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(when.getTime())) continue;
      el.textContent = (el.dataset.style === "time" ? clock : short).format(when);
      el.title = full.format(when);
      el.dataset.localized = "true";
    }
  }

  window.PhotolaneDates = { localize };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => localize());
  else localize();
})();
