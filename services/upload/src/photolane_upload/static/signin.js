// The sign-in link carries its token in the fragment (#...), which the browser never sends to a
// server, so no log holds it. Post it, once, and take it out of the address bar and history.
// A second link opened in the same tab changes only the fragment: it is posted too.
"use strict";

(function () {
  const form = document.getElementById("signin-open-form");
  if (!form) return;
  const open = () => {
    const token = window.location.hash.slice(1);
    if (!token) return;
    document.getElementById("signin-link").value = token;
    history.replaceState(null, "", window.location.pathname);
    form.hidden = true;
    document.getElementById("signin-opening").hidden = false;
    form.submit();
  };
  window.addEventListener("hashchange", open);
  open();
})();
