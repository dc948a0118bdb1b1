// The faces of a photo: boxes drawn on it, the list of who they are, and the link between the two.
// - window.PhotolaneFaces.render(container, photo) builds the view from /api/photos/<id>'s answer
//   (the upload page calls it when the photo is processed);
// - on the photo page (rendered by the server, so it works without script) it adds the hover/focus
//   link between a box and its list item, opens the naming form when an admin clicks a box, and after
//   a naming polls the photo until its faces change, then reloads;
// - on the admin pages, ?reload=N reloads the page a few times while the processor does a change.
// No inline script or handler (the CSP forbids them); text is always set with textContent.
"use strict";

(function () {
  const HIGHLIGHT = "is-highlighted";
  const POLL_MS = 1000;
  const POLL_FOR_MS = 30000;

  function plural(n, one, many) { return n === 1 ? one : many; }

  // "2 people named, 1 unknown", "1 person named", "Nobody named, 2 unknown", "No faces found."
  function summary(faces) {
    const named = faces.filter((f) => f.person).length;
    const unknown = faces.length - named;
    if (!faces.length) return "No faces found.";
    const people = `${named} ${plural(named, "person", "people")} named`;
    if (named && unknown) return `${people}, ${unknown} unknown`;
    if (named) return people;
    return `Nobody named, ${unknown} unknown`;
  }

  // The same fingerprint as the server's (admin.py _faces_mark): FNV-1a of the faces' person ids
  // ("-" unknown, "?<id>" unknown with a suggestion).
  function mark(faces) {
    const text = faces.map((f) => (f.person ? f.person.id : f.suggestion ? `?${f.suggestion.id}` : "-")).join(",");
    const bytes = new TextEncoder().encode(text);
    let value = 0x811c9dc5;
    for (const byte of bytes) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
    return value.toString(16).padStart(8, "0");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function who(face) {
    if (face.person) return face.person.name;
    return face.suggestion ? `${face.suggestion.name}?` : "unknown";
  }

  function percent(value, total) { return `${((value / total) * 100).toFixed(3)}%`; }

  // -- the view, built from the API's answer (the upload page) ------------------------------------
  function render(container, photo) {
    if (!container || !photo || photo.status !== "processed") return;
    const faces = photo.faces || [];
    const view = el("section", "faces-view");
    view.dataset.facesView = "";
    const heading = el("h3", "face-summary", summary(faces));
    heading.id = "face-summary";
    view.append(heading);
    const layout = el("div", "faces-layout");
    const figure = el("figure", "face-figure");
    const stage = el("div", "face-stage");
    const img = el("img");
    img.src = photo.original_url;
    const names = [...new Set(faces.filter((f) => f.person).map((f) => f.person.name))];
    img.alt = names.length ? `The photo: ${names.join(", ")}` : "The photo";
    stage.append(img);
    if (photo.width && photo.height) {
      img.width = photo.width;
      img.height = photo.height;
      stage.style.setProperty("--ratio", `${photo.width} / ${photo.height}`);
      figure.style.setProperty("--wide", (photo.width / photo.height).toFixed(4));
      for (const face of faces) {
        const [top, right, bottom, left] = face.box;
        const edges = (left / photo.width > 0.6 ? " edge-right" : "") + (bottom / photo.height > 0.88 ? " edge-bottom" : "");
        const box = el("span", `face-box${face.person ? "" : " unknown"}${edges}`);
        box.tabIndex = 0;
        box.setAttribute("role", "img");
        box.setAttribute("aria-label", `Face ${face.index + 1}: ${who(face)}`);
        box.dataset.index = String(face.index);
        box.dataset.personId = face.person ? face.person.id : "";
        box.style.left = percent(left, photo.width);
        box.style.top = percent(top, photo.height);
        box.style.width = percent(right - left, photo.width);
        box.style.height = percent(bottom - top, photo.height);
        const label = el("span", "face-label", who(face));
        label.setAttribute("aria-hidden", "true");
        box.append(label);
        stage.append(box);
      }
    }
    figure.append(stage);
    const full = el("a", "full-size", "Full size");
    full.href = photo.original_url;
    full.target = "_blank";
    full.rel = "noopener";
    figure.append(full);
    layout.append(figure);
    if (faces.length) {
      const list = el("ol", "face-list");
      list.setAttribute("aria-label", "Faces in this photo");
      for (const face of faces) {
        const item = el("li", `face-item${face.person ? "" : " unknown"}`);
        item.dataset.index = String(face.index);
        item.dataset.personId = face.person ? face.person.id : "";
        const row = el("div", "face-row");
        if (face.crop_url) {
          const crop = el("img", "face-crop");
          crop.src = face.crop_url;
          crop.alt = `Face ${face.index + 1}: ${who(face)}`;
          crop.width = 56;
          crop.height = 56;
          row.append(crop);
        } else {
          const none = el("span", "face-crop none", String(face.index + 1));
          none.setAttribute("role", "img");
          none.setAttribute("aria-label", `Face ${face.index + 1}: ${who(face)}`);
          row.append(none);
        }
        const name = el("span", "face-name");
        if (face.person) name.textContent = face.person.name;
        else name.append(el("span", "muted", "Unknown"));
        row.append(name);
        item.append(row);
        if (face.suggestion && !face.person) {  // the photo page offers the answers (its server's forms)
          const asked = el("div", "suggestion");
          const question = el("p", "suggestion-question", "Is this ");
          question.append(el("strong", "", face.suggestion.name), "?");
          asked.append(question);
          item.append(asked);
        }
        list.append(item);
      }
      layout.append(list);
    }
    view.append(layout);
    container.replaceChildren(view);
    link(view);
  }

  // -- a box and its list item light up together -------------------------------------------------
  function link(view) {
    if (view.dataset.linked) return;
    view.dataset.linked = "yes";
    const partners = (index) => view.querySelectorAll(`.face-box[data-index="${index}"], .face-item[data-index="${index}"]`);
    const light = (index, on) => partners(index).forEach((node) => node.classList.toggle(HIGHLIGHT, on));
    const indexOf = (target) => {
      const node = target instanceof Element ? target.closest(".face-box, .face-item") : null;
      return node && view.contains(node) ? node.dataset.index : null;
    };
    let hovered = null;
    view.addEventListener("mouseover", (event) => {
      const index = indexOf(event.target);
      if (index === hovered) return;
      if (hovered !== null) light(hovered, false);
      hovered = index;
      if (index !== null) light(index, true);
    });
    view.addEventListener("mouseleave", () => {
      if (hovered !== null) light(hovered, false);
      hovered = null;
      const focused = indexOf(document.activeElement);
      if (focused !== null) light(focused, true);
    });
    view.addEventListener("focusin", (event) => {
      const index = indexOf(event.target);
      if (index !== null) light(index, true);
    });
    view.addEventListener("focusout", (event) => {
      const index = indexOf(event.target);
      const next = indexOf(event.relatedTarget);
      if (index !== null && index !== next && index !== hovered) light(index, false);
    });
    // An admin's box is a button: it opens that face's naming form in the list.
    view.addEventListener("click", (event) => {
      const box = event.target instanceof Element ? event.target.closest("button.face-box") : null;
      if (!box) return;
      openNaming(view, box.dataset.index);
    });
  }

  function openNaming(view, index) {
    const details = view.querySelector(`#face-naming-${index}`);
    if (!details) return;
    view.querySelectorAll("details.face-naming[open]").forEach((d) => { if (d !== details) d.open = false; });
    details.open = true;
    details.scrollIntoView({ block: "nearest", behavior: "smooth" });
    const first = details.querySelector("input[type=text], select");
    if (first) first.focus({ preventScroll: true });
  }

  // -- after a naming: poll the photo until its faces change, then reload -----------------------
  function follow(view) {
    const before = view.dataset.changing;
    const url = view.dataset.photoUrl;
    if (!before || !url) return;
    const started = Date.now();
    const clean = () => {
      const here = new URL(window.location.href);
      here.searchParams.delete("changed");
      return here.toString();
    };
    const poll = async () => {
      try {
        const answer = await fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        if (answer.ok) {
          const photo = await answer.json();
          if (mark(photo.faces || []) !== before) {
            window.location.replace(clean());
            return;
          }
        }
      } catch (err) { /* a lost poll: the next one tries again */ }
      if (Date.now() - started < POLL_FOR_MS) {
        window.setTimeout(poll, POLL_MS);
      } else {
        const notice = document.getElementById("face-changing");
        if (notice) {
          notice.replaceChildren();
          notice.textContent = "The naming is taking longer than usual; reload the page in a while to see it.";
        }
      }
    };
    window.setTimeout(poll, POLL_MS / 2);
  }

  // -- admin pages: ?reload=N reloads every 2 s, N times, while the processor works -------------
  function countdown() {
    const notice = document.getElementById("reloading");
    if (!notice) return;
    const here = new URL(window.location.href);
    const left = parseInt(here.searchParams.get("reload") || "0", 10);
    if (!(left > 0)) return;
    window.setTimeout(() => {
      if (left > 1) here.searchParams.set("reload", String(left - 1));
      else here.searchParams.delete("reload");
      window.location.replace(here.toString());
    }, 2000);
  }

  function start() {
    document.querySelectorAll("[data-faces-view]").forEach((view) => {
      link(view);
      follow(view);
    });
    countdown();
  }

  window.PhotolaneFaces = { render, summary, mark };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
