// The upload form, live: send it with XMLHttpRequest (the only way to see the upload's own progress;
// the CSRF token is one of the form's fields), then follow the photo through /api/photos/<id> until
// it is processed or failed. Without script the form still posts and the server redirects to the
// photo's page. Text is always set with textContent.
// When the photo is processed, window.PhotolaneFaces.render(container, photo) draws its faces, if
// static/faces.js has defined it (it is loaded before this script).
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const $ = (id) => document.getElementById(id);
  const show = (el, text) => { el.textContent = text; el.hidden = !text; };
  let polling = null;

  // -- the upload, with a real progress bar --------------------------------------------------------
  function setProgress(loaded, total) {
    const bar = $("upload-bar");
    const percent = total ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
    bar.max = 100;
    bar.value = percent;
    $("upload-percent").textContent = `${percent}%`;
    if (percent >= 100) bar.dataset.maxSeen = "true";
  }

  function send(body) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.withCredentials = true;
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) setProgress(e.loaded, e.total);
      });
      xhr.upload.addEventListener("load", () => {
        setProgress(1, 1);
        $("upload-label").textContent = "Sent; waiting for photolane…";
      });
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

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const bar = $("upload-bar");
    show($("upload-error"), "");
    button.disabled = true;
    delete bar.dataset.maxSeen;
    setProgress(0, 1);
    $("upload-label").textContent = "Uploading…";
    $("upload-progress").hidden = false;
    try {
      const answer = await send(new FormData(form));
      if (!answer.ok) {
        show($("upload-error"), answer.body.error || `The upload was refused (HTTP ${answer.status}).`);
        return;
      }
      form.querySelector("input[type=file]").value = "";
      follow(answer.body);
    } catch (err) {
      show($("upload-error"), "The upload did not reach photolane; check the connection and try again.");
    } finally {
      button.disabled = false;
      $("upload-progress").hidden = true;
    }
  });

  // -- following the photo until it is done ------------------------------------------------------
  function follow(photo) {
    if (polling) clearTimeout(polling);
    $("progress").hidden = false;
    $("progress-empty").hidden = true;
    if ($("progress").getBoundingClientRect().top > window.innerHeight - 80) {
      const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      $("progress").scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" }); // a phone: below the form
    }
    $("photo-page").href = photo.page;
    $("images").replaceChildren();
    $("faces-view").replaceChildren();
    show($("photo-error"), "");
    show($("faces"), "");
    show($("people"), "");
    render(photo);
    const poll = async () => {
      try {
        const answer = await fetch(photo.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        if (answer.ok) {
          const current = await answer.json();
          render(current);
          if (current.status === "processed" || current.status === "failed") return;
        }
      } catch (err) { /* a lost poll: the next one tries again */ }
      polling = setTimeout(poll, 1000);
    };
    polling = setTimeout(poll, 500);
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

  function render(photo) {
    const status = $("status");
    status.textContent = photo.status;
    status.dataset.status = photo.status;
    $("working").hidden = !(photo.status === "queued" || photo.status === "processing");
    if (photo.status === "failed") show($("photo-error"), photo.error || "The photo could not be processed.");
    if (photo.status !== "processed") return;
    const count = photo.faces.length;
    show($("faces"), `${count} face${count === 1 ? "" : "s"} found.`);
    const names = [...new Set(photo.faces.filter((f) => f.person).map((f) => f.person.name))];
    show($("people"), names.length ? `In this photo: ${names.join(", ")}` : "");
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
})();
