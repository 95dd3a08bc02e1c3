// Shared page helpers: CSRF header for fetch, server-time offset for countdowns.
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.ipx = {
    csrf: meta ? meta.content : "",
    // Positive when the server clock is ahead of this browser's clock.
    serverOffsetMs: 0,
    syncClock(serverIso) {
      const t = Date.parse(serverIso);
      if (!isNaN(t)) this.serverOffsetMs = t - Date.now();
    },
    now() { return Date.now() + this.serverOffsetMs; },
    async post(url, body) {
      const r = await fetch(url, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf },
        body: JSON.stringify(body || {}) });
      let data = null; try { data = await r.json(); } catch (e) { data = null; }
      return { ok: r.ok, status: r.status, data };
    },
  };
  // Instead of inline handlers (the Content-Security-Policy allows no inline code):
  // <form data-confirm="question"> asks before submitting; <select data-autosubmit>
  // submits its form when changed.
  document.addEventListener("submit", function (e) {
    const q = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) e.preventDefault();
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-autosubmit]")) e.target.form.submit();
  });
  const t = document.querySelector("[data-server-now]");
  // The ISO instant is in the datetime attribute; the text is for people.
  if (t) window.ipx.syncClock(t.getAttribute("datetime") || t.textContent);
})();
