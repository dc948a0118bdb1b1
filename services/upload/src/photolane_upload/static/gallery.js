// The gallery's days in the reader's own time zone. The server heads the cards by UTC day (what a page
// without script shows); this puts a heading before the first card of each local day instead, named in
// the reader's format ("Friday, 1 May 2026"). The cards come newest first, so a day's cards are
// consecutive. Also: the person filter shows its choice as soon as it is made.
"use strict";

(function () {
  const grid = document.getElementById("photos");
  let dayName;
  try {
    dayName = new Intl.DateTimeFormat(undefined, { dateStyle: "full" });
  } catch (err) {
    dayName = null; // an old browser: the UTC days stay
  }

  function localDay(when) {
    const two = (n) => String(n).padStart(2, "0");
    return `${when.getFullYear()}-${two(when.getMonth() + 1)}-${two(when.getDate())}`;
  }

  function regroup() {
    const cards = [...grid.querySelectorAll(":scope > .photo-card")];
    const moments = cards.map((card) => {
      const time = card.querySelector("time[datetime]");
      const when = time ? new Date(time.getAttribute("datetime")) : null;
      return when && !Number.isNaN(when.getTime()) ? when : null;
    });
    if (moments.some((when) => when === null)) return; // a time it cannot read: the server's days stay
    for (const heading of grid.querySelectorAll(":scope > .day")) heading.remove();
    let last = null;
    cards.forEach((card, i) => {
      const day = localDay(moments[i]);
      if (day === last) return;
      last = day;
      const heading = document.createElement("h2");
      heading.className = "day";
      const time = document.createElement("time");
      time.dateTime = day;
      time.dataset.day = "";
      time.textContent = dayName.format(moments[i]);
      heading.append(time);
      grid.insertBefore(heading, card);
    });
  }

  if (grid && dayName) regroup();
  const filter = document.getElementById("person-filter");
  if (filter) filter.addEventListener("change", () => filter.form.submit());
})();
