// The upload form, live: send it with fetch (the CSRF token is one of its fields), then follow the
// photo through /api/photos/<id> until it is processed or failed. Without script the form still
// posts and the server redirects to the photo's page. Text is always set with textContent.
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (!form || !window.fetch) return;
  const $ = (id) => document.getElementById(id);
  const show = (el, text) => { el.textContent = text; el.hidden = !text; };
  let polling = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    show($("upload-error"), "");
    button.disabled = true;
    try {
      const answer = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" },
      });
      const body = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        show($("upload-error"), body.error || `The upload was refused (HTTP ${answer.status}).`);
        return;
      }
      form.querySelector("input[type=file]").value = "";
      follow(body);
    } catch (err) {
      show($("upload-error"), "The upload did not reach photolane; check the connection and try again.");
    } finally {
      button.disabled = false;
    }
  });

  function follow(photo) {
    if (polling) clearTimeout(polling);
    $("progress").hidden = false;
    $("photo-page").href = photo.page;
    $("images").replaceChildren();
    show($("photo-error"), "");
    show($("faces"), "");
    show($("people"), "");
    render(photo);
    const poll = async () => {
      try {
        const answer = await fetch(photo.url, { headers: { "Accept": "application/json" } });
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

  function render(photo) {
    $("status").textContent = photo.status;
    if (photo.status === "failed") show($("photo-error"), photo.error || "The photo could not be processed.");
    if (photo.status !== "processed") return;
    const count = photo.faces.length;
    show($("faces"), `${count} face${count === 1 ? "" : "s"} found.`);
    const names = [...new Set(photo.faces.filter((f) => f.person).map((f) => f.person.name))];
    show($("people"), names.length ? `In this photo: ${names.join(", ")}` : "");
    const images = $("images");
    images.replaceChildren();
    for (const [caption, url] of [["thumbnail", photo.thumbnail_url], ["flipped", photo.flipped_url]]) {
      if (!url) continue;
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.src = url;
      img.alt = caption;
      const label = document.createElement("figcaption");
      label.textContent = caption;
      figure.append(img, label);
      images.append(figure);
    }
  }
})();
