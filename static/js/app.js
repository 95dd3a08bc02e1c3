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
  const t = document.querySelector("[data-server-now]");
  // The ISO instant is in the datetime attribute; the text is for people.
  if (t) window.ipx.syncClock(t.getAttribute("datetime") || t.textContent);
})();
