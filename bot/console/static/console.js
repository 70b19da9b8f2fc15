// crisisbot console: live regions and in-place forms. Plain JavaScript, no build step, no CDN.
// Pages work without it (forms post and the server answers with the whole page); with it,
// parts marked `data-live` follow the server's change stream (server-sent events), and forms
// marked `data-inplace` are sent with fetch and their answer is swapped into the page.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]')?.content ?? "";
  const parser = new DOMParser();

  // Replace each live region (and, after a form, the answer) with the one in `html`. A
  // region holding the focus is left alone on a live refresh, so typing is never lost. A
  // form answered with a page that has no answer (a refusal: signed out, out-of-date form,
  // too large) shows that whole page, as it would without this script. Returns whether the
  // answer is a refusal.
  function swap(html, afterForm) {
    const fresh = parser.parseFromString(html, "text/html");
    const answer = fresh.getElementById("answer");
    if (afterForm && !answer) {
      document.title = fresh.title;
      document.documentElement.lang = fresh.documentElement.lang;
      document.documentElement.dir = fresh.documentElement.dir;
      document.body.replaceWith(document.adoptNode(fresh.body));
      return true;
    }
    const refused = answer?.classList.contains("refused") ?? false;
    const selector = afterForm ? "[data-live], #answer" : "[data-live]";
    for (const region of fresh.querySelectorAll(selector)) {
      const current = document.getElementById(region.id);
      if (!current) continue;
      if (!afterForm && current.contains(document.activeElement)) continue;
      current.replaceWith(document.adoptNode(region));
    }
    return refused;
  }

  let refreshing = null;
  async function refresh() {
    if (refreshing) return refreshing.then(refresh);
    refreshing = (async () => {
      const response = await fetch(location.href, { headers: { Accept: "text/html" } });
      if (response.ok) swap(await response.text(), false);
    })().catch(() => {}).finally(() => { refreshing = null; });  // the next change retries
    return refreshing;
  }

  const since = document.body.dataset.since;
  if (since !== undefined) {
    // A live page answering a posted form (the list's Command box, at /command) takes its own
    // address, so live refreshes read it and a reload does not send the form again.
    const here = document.body.dataset.page;
    if (here && location.pathname !== here) history.replaceState(null, "", here);
    const changes = new EventSource("/live?since=" + encodeURIComponent(since));
    changes.addEventListener("change", () => { refresh(); });
    window.addEventListener("pagehide", () => changes.close());
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inplace")) return;
    event.preventDefault();
    let response, html;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-CSRF-Token": csrf, Accept: "text/html" },
      });
      html = await response.text();
    } catch {
      form.submit();  // the network hiccupped: post the ordinary way
      return;
    }
    const insideLive = form.closest("[data-live]") !== null;
    const refused = swap(html, true);
    // A refused line stays typed, to be fixed rather than typed again.
    if (form.hasAttribute("data-reset") && response.ok && !refused) form.reset();
    if (insideLive) document.getElementById("answer")?.focus();
  });
})();
