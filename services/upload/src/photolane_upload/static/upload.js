// The upload form, live. Without script it posts one file and the server redirects to the photo's
// page. With it:
// - the file field takes many photos at once (multiple; on a phone it opens the photo picker), and
//   photos dragged onto the drop zone are taken the same way;
// - on Upload, the email and phone are checked first (POST <form data-check>, the upload's own checks):
//   a bad one is shown at its field and no file is sent;
// - each photo is sent as one request to the form's own route, with XMLHttpRequest (the only way to
//   see an upload's progress; the CSRF token is one of the form's fields), PARALLEL at a time, and
//   followed through /api/photos/<id> until it is processed or failed;
// - with an email, a single photo's upload adds it to the session cookie (the browser's gallery) itself,
//   and the token is read again from the page after it, since a session started by an upload holds no
//   token yet (sessions._start). Several go PARALLEL at a time too, each with batch=1: such an upload
//   leaves the cookie alone (overlapping answers would each write back a cookie missing the others'
//   photos) and answers a receipt. The receipts are claimed (POST <form data-claim>, claims.py) one
//   claim at a time, those that come in meanwhile in the next, so only one answer that sets the cookie
//   is ever on its way (status polls never set it). Before the first photo the page claims nothing: the
//   session follows the email then, and that answer carries the form token, which stays good while
//   the photos go up.
// One photo shows as it always has (#upload-bar, then #progress: the status, the images, the faces,
// drawn by window.PhotolaneFaces.render from static/faces.js when it is there); several show as a
// list (#batch): a row each with its own bar and status, #upload-bar the total. A 429 or 503 stops the
// photos not sent yet. Text is always set with textContent.
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const $ = (id) => document.getElementById(id);
  const show = (el, text) => { el.textContent = text; el.hidden = !text; };
  const input = form.querySelector("input[type=file]");
  const button = form.querySelector("button[type=submit]");
  const PARALLEL = 3; // uploads at a time (with an email: sent with batch=1, they do not touch the session)
  const CLAIM_MAX = 30; // receipts a claim takes (sessions.MAX_UPLOADS_REMEMBERED)
  const FINAL = ["processed", "failed"];
  // A refusal that is not about one photo: the ones not sent yet would get it too.
  const STOPS = [403, 429, 503];
  const maxMb = Number(form.dataset.maxMb) || 0;
  let polling = null; // the one photo's poll
  let batch = null; // the list of several photos now shown
  let busy = false;

  // The server's sentence, as the form shows it: capitalised, with a full stop.
  const sentence = (text) => {
    const s = String(text || "").trim();
    return s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".") : s;
  };
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const size = (bytes) => bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;

  // -- choosing: several at once, or dropped on the zone ----------------------------------------------
  input.multiple = true;
  input.required = false; // checked below, also for dropped photos
  document.querySelectorAll(".when-many").forEach((el) => { el.hidden = false; });
  $("file-name").textContent = "Photos";
  const zone = $("dropzone");
  zone.classList.add("ready");

  function chosen() { return Array.from(input.files || []); }

  // The field holds these files again (the ones a stopped batch did not get accepted); false if it cannot.
  function choose(files) {
    try {
      const transfer = new DataTransfer();
      files.forEach((file) => transfer.items.add(file));
      input.files = transfer.files;
    } catch (err) {
      input.value = "";
    }
    describeChoice();
    return chosen().length === files.length;
  }

  function describeChoice() {
    const files = chosen();
    if (files.length < 2) { show($("chosen"), ""); return; }
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    show($("chosen"), `${plural(files.length, "photo")} chosen (${size(bytes)}): ${files.map((f) => f.name).join(", ")}`);
  }
  input.addEventListener("change", describeChoice);

  let dragDepth = 0;
  const carriesFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
  // Files dropped anywhere on the page but the zone are ignored, not opened by the browser (leaving the page).
  window.addEventListener("dragover", (event) => { if (carriesFiles(event)) event.preventDefault(); });
  window.addEventListener("drop", (event) => { if (carriesFiles(event)) event.preventDefault(); });
  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event) || busy) return;
    dragDepth += 1;
    zone.classList.add("inviting");
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) zone.classList.remove("inviting", "dragging");
  });
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event) || busy) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    dragDepth = 0;
    zone.classList.remove("inviting", "dragging");
    if (!carriesFiles(event) || busy) return;
    event.preventDefault();
    input.files = event.dataTransfer.files; // the field holds them, as if chosen
    describeChoice();
    show($("upload-error"), "");
  });

  // -- the upload of one file, with its progress ----------------------------------------------------------
  function setProgress(loaded, total) {
    const bar = $("upload-bar");
    const percent = total ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
    bar.max = 100;
    bar.value = percent;
    $("upload-percent").textContent = `${percent}%`;
    if (percent >= 100) bar.dataset.maxSeen = "true";
  }

  // Sends the form's fields with this file; resolves {ok, status, body}; rejects when it never arrived.
  // ``batch``: one of several with an email, answered with a receipt instead of a cookie.
  function send(file, onProgress, onSent, batch) {
    const body = new FormData(form);
    body.set("file", file, file.name);
    if (batch) body.set("batch", "1");
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.withCredentials = true;
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      xhr.upload.addEventListener("load", () => { onProgress(1); onSent(); });
      xhr.addEventListener("load", () => {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText || "{}"); } catch (err) { answer = {}; }
        resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, body: answer });
      });
      xhr.addEventListener("error", () => reject(new Error("network")));
      xhr.addEventListener("abort", () => reject(new Error("aborted")));
      xhr.send(body);
    });
  }

  const NOT_REACHED = "The upload did not reach photolane; check the connection and try again.";

  // After an upload with an email: the form's CSRF token, read again from this page (an upload from a
  // browser without a session starts one that holds no token yet; the page gives it one).
  async function refreshToken() {
    try {
      const answer = await fetch(window.location.pathname + window.location.search,
        { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!answer.ok) return;
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const token = page.querySelector('#upload-form input[name="csrf_token"]');
      if (token && token.value) form.elements.csrf_token.value = token.value;
    } catch (err) { /* the next upload says so if the form has expired */ }
  }

  // -- several with an email: their receipts into the session, one claim at a time ---------------------
  const claims = { waiting: [], running: false, done: Promise.resolve() };

  // Posts the typed email and these receipts; resolves the ids claimed, or rejects with a sentence.
  async function claim(receipts) {
    const body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    body.set("email", fields.email.value.trim());
    if (form.elements.link) body.set("link", form.elements.link.value);
    receipts.forEach((receipt) => body.append("receipt", receipt));
    let answer;
    try {
      answer = await fetch(form.dataset.claim, {
        method: "POST", credentials: "same-origin", body, headers: { "Accept": "application/json" },
      });
    } catch (err) {
      throw new Error(NOT_REACHED);
    }
    const reply = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(reply.error || `The photos could not be added to your gallery (HTTP ${answer.status}).`);
    if (reply.csrf_token) form.elements.csrf_token.value = reply.csrf_token; // a new session's token
    return reply.claimed || [];
  }

  // The row's photo is on its way to the gallery: in the claim in flight's next one, or in one now.
  function claimLater(row, receipt) {
    claims.waiting.push({ row, receipt });
    if (claims.running) return;
    claims.running = true;
    claims.done = claimWaiting();
  }

  async function claimWaiting() {
    try {
      while (claims.waiting.length) {
        const taken = claims.waiting.splice(0, CLAIM_MAX);
        try {
          const claimed = await claim(taken.map((t) => t.receipt));
          taken.filter((t) => !claimed.includes(t.row.photo.id)).forEach((t) => notKept(t.row, ""));
        } catch (err) {
          taken.forEach((t) => notKept(t.row, err.message));
        }
      }
    } finally {
      claims.running = false; // in the same turn as the last look at the queue: no receipt is left behind
    }
  }

  function notKept(row, why) {
    show(row.error, `Sent, but not added to your gallery in this browser${why ? `: ${why}` : "."}`);
  }

  // -- before any file: the email and phone, checked as the upload checks them ---------------------------
  const fields = { email: form.elements.email, phone: form.elements.phone };
  const writesSession = () => Boolean(fields.email.value.trim()); // the form route adds the photo to the session
  Object.values(fields).forEach((field) => field.addEventListener("input", () => field.removeAttribute("aria-invalid")));

  async function contactsAccepted() {
    const email = fields.email.value.trim();
    const phone = fields.phone.value.trim();
    if (!email && !phone) return true; // nothing to check
    let answer;
    let body = {};
    try {
      answer = await fetch(form.dataset.check, {
        method: "POST", credentials: "same-origin", body: JSON.stringify({ email, phone }),
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
      });
      body = await answer.json().catch(() => ({}));
    } catch (err) {
      show($("upload-error"), "photolane could not be reached to check the email and phone; check the connection and try again.");
      return false;
    }
    if (answer.ok) return true;
    const message = body.error || `The email and phone could not be checked (HTTP ${answer.status}).`;
    show($("upload-error"), sentence(message));
    const field = /^phone\b/.test(message) ? fields.phone : /^email\b/.test(message) ? fields.email : null;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
    return false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const files = chosen();
    show($("upload-error"), "");
    if (!files.length) {
      show($("upload-error"), "Choose a photo to upload.");
      input.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    zone.classList.add("busy");
    try {
      if (!(await contactsAccepted())) return;
      if (files.length === 1) await uploadOne(files[0]);
      else await uploadMany(files);
    } finally {
      busy = false;
      button.disabled = false;
      zone.classList.remove("busy");
    }
  });

  function reveal(card) {
    for (const id of ["progress-empty", "progress", "batch"]) $(id).hidden = id !== card.id;
    if (card.getBoundingClientRect().top > window.innerHeight - 80) {
      const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      card.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" }); // a phone: below the form
    }
  }

  // == one photo: the bar, then the photo followed in #progress ==========================================
  async function uploadOne(file) {
    const session = writesSession();
    const bar = $("upload-bar");
    delete bar.dataset.maxSeen;
    setProgress(0, 1);
    $("upload-label").textContent = "Uploading…";
    $("upload-progress").hidden = false;
    try {
      const answer = await send(file, (part) => setProgress(part, 1),
        () => { $("upload-label").textContent = "Sent; waiting for photolane…"; });
      if (!answer.ok) {
        show($("upload-error"), answer.body.error || `The upload was refused (HTTP ${answer.status}).`);
        return;
      }
      input.value = "";
      describeChoice();
      follow(answer.body);
      if (session) await refreshToken(); // so that another upload from this page is taken
    } catch (err) {
      show($("upload-error"), NOT_REACHED);
    } finally {
      $("upload-progress").hidden = true;
    }
  }

  function follow(photo) {
    stopFollowing();
    reveal($("progress"));
    $("photo-page").href = photo.page;
    $("images").replaceChildren();
    $("faces-view").replaceChildren();
    show($("photo-error"), "");
    show($("faces"), "");
    show($("sideways"), "");
    show($("people"), "");
    render(photo);
    const poll = async () => {
      try {
        const answer = await fetch(photo.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        if (answer.ok) {
          const current = await answer.json();
          render(current);
          if (FINAL.includes(current.status)) return;
        }
      } catch (err) { /* a lost poll: the next one tries again */ }
      polling = setTimeout(poll, 1000);
    };
    polling = setTimeout(poll, 500);
  }

  function stopFollowing() {
    if (polling) clearTimeout(polling);
    polling = null;
    if (batch) batch.over = true;
    batch = null;
  }

  function figure(caption, src, href) {
    const fig = document.createElement("figure");
    const link = document.createElement("a");
    link.href = href || src;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = `Open the full ${caption === "thumbnail" ? "photo" : "flipped copy"}`;
    const img = document.createElement("img");
    img.src = src;
    img.alt = caption;
    link.append(img);
    const label = document.createElement("figcaption");
    label.textContent = caption === "thumbnail" ? "Thumbnail · click for the full photo" : "Flipped copy · click for full size";
    fig.append(link, label);
    return fig;
  }

  const names = (photo) => [...new Set(photo.faces.filter((f) => f.person).map((f) => f.person.name))];

  function render(photo) {
    const status = $("status");
    status.textContent = photo.status;
    status.dataset.status = photo.status;
    $("working").hidden = !(photo.status === "queued" || photo.status === "processing");
    if (photo.status === "failed") show($("photo-error"), photo.error || "The photo could not be processed.");
    if (photo.status !== "processed") return;
    const count = photo.faces.length;
    show($("faces"), `${count} face${count === 1 ? "" : "s"} found.`);
    show($("sideways"), photo.sideways ? photo.sideways.hint : ""); // no face upright, some turned: say so
    const named = names(photo);
    show($("people"), named.length ? `In this photo: ${named.join(", ")}` : "");
    const images = $("images");
    images.replaceChildren();
    if (photo.thumbnail_url) images.append(figure("thumbnail", photo.thumbnail_url, photo.original_url));
    if (photo.flipped_url) images.append(figure("flipped", photo.flipped_url, photo.flipped_url));
    if (window.PhotolaneFaces && typeof window.PhotolaneFaces.render === "function") {
      try {
        window.PhotolaneFaces.render($("faces-view"), photo);
      } catch (err) { /* the faces view is extra: the page above still stands */ }
    }
  }

  // == several photos: a row each in #batch, #upload-bar the total =======================================
  // A row's state: waiting (its turn to be sent), uploading, then the photo's status (queued, processing,
  // processed, failed); or refused (the server said no), or skipped (not sent: the batch was stopped).
  const BADGES = { waiting: "waiting", uploading: "uploading", refused: "refused", skipped: "not sent" };

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function makeRow(file, index) {
    const li = element("li", "upload-row");
    li.id = `upload-${index + 1}`;
    const thumb = element("div", "upload-thumb");
    const type = (file.name.split(".").pop() || "").slice(0, 4).toUpperCase();
    thumb.append(element("span", "upload-type", file.name.includes(".") ? type : "IMG"));
    const main = element("div", "upload-main");
    const top = element("div", "upload-top");
    const name = element("span", "upload-name", file.name);
    name.title = file.name;
    top.append(name, element("span", "upload-size", size(file.size)));
    const barLine = element("div", "upload-bar-line");
    const bar = element("progress", "progress file-bar");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const percent = element("span", "upload-percent", "0%");
    barLine.append(bar, percent);
    barLine.hidden = true;
    const line = element("p", "status-line upload-status");
    const spinner = element("span", "spinner");
    spinner.setAttribute("role", "img");
    spinner.setAttribute("aria-label", "working");
    spinner.hidden = true;
    const badge = element("span", "status badge");
    const note = element("span", "upload-note");
    const open = element("a", "upload-open", "Open its page");
    open.hidden = true;
    line.append(spinner, badge, note, open);
    const error = element("p", "error upload-error");
    error.hidden = true;
    main.append(top, barLine, line, error);
    li.append(thumb, main);
    const row = { file, li, thumb, name, bar, barLine, percent, spinner, badge, note, open, error, sent: 0, photo: null };
    setState(row, "waiting");
    return row;
  }

  function setState(row, state, detail) {
    row.state = state;
    row.li.dataset.state = state;
    row.badge.textContent = BADGES[state] || state;
    row.badge.dataset.status = state;
    row.spinner.hidden = !["uploading", "queued", "processing"].includes(state);
    row.barLine.hidden = state !== "uploading";
    if (detail !== undefined) show(row.note, detail);
  }

  function fail(row, state, message) {
    setState(row, state, "");
    show(row.error, sentence(message));
  }

  function setRowProgress(row, part) {
    row.sent = row.file.size * part;
    const percent = Math.min(100, Math.round(part * 100));
    row.bar.value = percent;
    row.percent.textContent = `${percent}%`;
  }

  function linkTo(row, page) {
    const link = element("a", "upload-name", row.file.name);
    link.href = page;
    link.title = `Open the page of ${row.file.name}`;
    row.name.replaceWith(link);
    row.name = link;
    row.open.href = page;
    row.open.hidden = false;
  }

  function renderRow(row, photo) {
    row.photo = Object.assign(row.photo || {}, photo);
    if (!FINAL.includes(photo.status)) {
      setState(row, photo.status, photo.status === "queued" ? "waiting for a processor" : "finding the faces…");
      return;
    }
    if (photo.status === "failed") {
      fail(row, "failed", photo.error || "The photo could not be processed.");
      return;
    }
    const count = photo.faces.length;
    const named = names(photo);
    setState(row, "processed", count ? `${plural(count, "face")}${named.length ? ` · ${named.join(", ")}` : ""}`
      : "no faces found");
    if (photo.thumbnail_url && !row.thumb.querySelector("img")) {
      const link = element("a");
      link.href = row.photo.page;
      link.title = `Open the page of ${row.file.name}`;
      const img = element("img");
      img.src = photo.thumbnail_url;
      img.alt = `Thumbnail of ${row.file.name}`;
      link.append(img);
      row.thumb.replaceChildren(link);
      row.li.classList.add("has-thumb");
    }
  }

  function summarize(b) {
    const count = (...states) => b.rows.filter((r) => states.includes(r.state)).length;
    const parts = [
      [count("uploading"), "uploading"], [count("waiting"), "waiting"], [count("queued"), "queued"],
      [count("processing"), "processing"], [count("processed"), "processed"],
      [count("failed", "refused"), "failed"], [count("skipped"), "not sent"],
    ].filter(([n]) => n).map(([n, what]) => `${n} ${what}`);
    $("batch-summary").textContent = `${plural(b.rows.length, "photo")} · ${parts.join(" · ")}`;
    const total = b.rows.filter((r) => r.state !== "skipped").reduce((sum, r) => sum + r.file.size, 0);
    setProgress(b.rows.reduce((sum, r) => sum + (r.state === "skipped" ? 0 : r.sent), 0), total);
    const sent = count("queued", "processing", "processed", "failed", "refused");
    $("upload-label").textContent = `Uploading ${plural(b.rows.length - count("skipped"), "photo")} · ${sent} sent`;
    const done = !b.rows.some((r) => ["waiting", "uploading", "queued", "processing"].includes(r.state));
    $("batch").dataset.done = done ? "true" : "false";
  }

  async function uploadMany(files) {
    stopFollowing();
    const b = { rows: files.map(makeRow), next: 0, stopped: null, over: false, session: writesSession() };
    batch = b;
    $("batch-list").replaceChildren(...b.rows.map((r) => r.li));
    reveal($("batch"));
    const bar = $("upload-bar");
    delete bar.dataset.maxSeen;
    $("upload-progress").hidden = false;
    summarize(b);
    poll(b);
    if (b.session) {
      try {
        await claim([]); // the session follows the email before any photo goes, so its token stays good
      } catch (err) {
        b.stopped = err.message;
      }
    }
    const worker = async () => {
      while (b.next < b.rows.length && !b.stopped && !b.over) await uploadRow(b, b.rows[b.next++]);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, b.rows.length) }, worker));
    await claims.done; // every receipt claimed before Upload can be pressed again
    let kept = false;
    let again = [];
    if (b.stopped) {
      b.rows.filter((r) => r.state === "waiting").forEach((r) => setState(r, "skipped", "stopped before it was sent"));
      again = b.rows.filter((r) => r.state === "skipped" || r.stopped).map((r) => r.file);
      kept = !b.over && choose(again);
      const n = again.length;
      const left = !n ? "" : ` ${n === 1 ? "1 photo was" : `${n} photos were`} not accepted` +
        (kept ? `; ${n === 1 ? "it stays" : "they stay"} chosen, so Upload can send ${n === 1 ? "it" : "them"} again later.` : ".");
      show($("upload-error"), sentence(b.stopped) + left);
    }
    summarize(b);
    $("upload-progress").hidden = true;
    if (!b.over && !kept) {
      input.value = "";
      describeChoice();
    }
  }

  async function uploadRow(b, row) {
    if (maxMb && row.file.size > maxMb * 1e6) { // the server's own limit, known before sending it
      setRowProgress(row, 1);
      fail(row, "refused", `the file is ${(Math.ceil(row.file.size / 1e5) / 10).toFixed(1)} MB; the limit is ${maxMb} MB`);
      summarize(b);
      return;
    }
    setState(row, "uploading", "");
    summarize(b);
    try {
      const answer = await send(row.file, (part) => { setRowProgress(row, part); summarize(b); },
        () => { show(row.note, "sent; waiting for photolane…"); }, b.session);
      if (b.over) return;
      setRowProgress(row, 1);
      if (answer.ok) {
        const { receipt, ...photo } = answer.body;
        linkTo(row, photo.page);
        renderRow(row, photo);
        if (b.session && receipt) claimLater(row, receipt);
        else if (b.session) notKept(row, "");
      } else {
        const message = answer.body.error || `the upload was refused (HTTP ${answer.status})`;
        fail(row, "refused", message);
        if (STOPS.includes(answer.status)) {
          row.stopped = true; // not about this photo: it may go again later
          if (!b.stopped) b.stopped = message;
        }
      }
    } catch (err) {
      setRowProgress(row, 1);
      fail(row, "refused", NOT_REACHED);
    }
    summarize(b);
  }

  // Every photo sent and not done yet, polled together: once a second for a few, less often for many.
  function poll(b) {
    const tick = async () => {
      if (b.over) return;
      const pending = b.rows.filter((r) => r.photo && !FINAL.includes(r.state));
      for (let i = 0; i < pending.length; i += 4) { // four requests at a time
        await Promise.all(pending.slice(i, i + 4).map(async (row) => {
          try {
            const answer = await fetch(row.photo.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
            if (answer.ok && !b.over) renderRow(row, await answer.json());
          } catch (err) { /* a lost poll: the next one tries again */ }
        }));
      }
      if (b.over) return;
      summarize(b);
      const waiting = b.rows.some((r) => ["waiting", "uploading", "queued", "processing"].includes(r.state));
      if (waiting) setTimeout(tick, Math.max(1000, pending.length * 250));
    };
    setTimeout(tick, 500);
  }
})();
