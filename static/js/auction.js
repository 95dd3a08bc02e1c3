// The live auction block: polls the public API about once a second, counts down on the
// server's clock (window.ipx.now), bids and deposits through the session + CSRF header.
// Deferred scripts run in document order and this block sits above app.js: start once
// the document (and window.ipx) is ready.
document.addEventListener("DOMContentLoaded", function () {
  const root = document.getElementById("live-auction");
  if (!root || !window.ipx) return;
  const S = JSON.parse(root.dataset.strings);
  const $ = (name) => root.querySelector(`[data-field="${name}"]`);
  const form = root.querySelector('[data-role="bid-form"]');
  const depositBox = root.querySelector('[data-role="deposit"]');
  const accountBox = root.querySelector('[data-role="account"]');
  const payForm = root.querySelector('[data-role="pay"]');
  const locale = S.lang === "en" ? "en-US" : "zh-CN";
  // Times as the market reads them (MARKET_TIMEZONE), whatever the viewer's clock zone.
  const tz = { timeZone: root.dataset.tz || "Asia/Shanghai" };
  const money = (v) => v == null ? "—" : "¥" + Number(v).toLocaleString(locale,
    { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const fill = (tpl, vals) => tpl.replace(/\{(\w+)\}/g, (_, k) => vals[k] == null ? "" : vals[k]);
  let state = null, me = null, lastLeader, lastStatus, lastMe = 0;

  function say(text, bad) {
    const m = $("message");
    m.textContent = text || "";
    m.className = bad ? "error" : "";
  }

  function renderCountdown() {
    if (!state) return;
    const now = window.ipx.now();
    const start = Date.parse(state.starts_at), end = Date.parse(state.ends_at);
    const el = $("countdown");
    let ms, label;
    if (state.status === "scheduled" && now < start) { ms = start - now; label = S.startsIn; }
    else { ms = end - now; label = S.endsIn; }
    $("countdown-label").textContent = label;
    if (ms <= 0 || ["closed", "failed", "cancelled"].includes(state.status)) {
      el.textContent = S.ended;
      el.classList.remove("urgent");
      return;
    }
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
    const hh = String(Math.floor(s % 86400 / 3600)).padStart(2, "0");
    const mm = String(Math.floor(s % 3600 / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    el.textContent = (d ? d + S.days + " " : "") + `${hh}:${mm}:${ss}`;
    el.classList.toggle("urgent", label === S.endsIn && ms <= state.extension_window_s * 1000);
  }

  function renderAuction(a) {
    // A later close than the last one seen: a bid inside the soft-close window moved it.
    const extended = state && Date.parse(a.ends_at) > Date.parse(state.ends_at);
    state = a;
    $("status").textContent = S.status[a.status] || a.status;
    $("status").className = "badge " + (a.status === "open" ? "ok" : a.status === "closed" ? "warn" : "");
    $("current").textContent = money(a.current_price);
    $("min").textContent = money(a.min_next_bid);
    // Shown only where the auction has a reserve (the server leaves it out otherwise).
    if ($("reserve")) $("reserve").textContent = a.reserve_met ? S.reserveMet : S.reserveNotMet;
    $("count").textContent = a.bid_count;
    const ends = $("ends");
    ends.dateTime = a.ends_at;
    ends.textContent = new Date(a.ends_at).toLocaleString(locale, tz);
    if (extended) $("extended").hidden = false;
    const amount = form.elements.amount;
    if (document.activeElement !== amount) amount.value = a.min_next_bid;
    renderCountdown();
    if (a.leader_code !== lastLeader || a.status !== lastStatus) {
      lastLeader = a.leader_code; lastStatus = a.status; loadMe();
    }
    renderMe();
  }

  function renderBids(page) {
    const body = $("log");
    body.textContent = "";
    if (!page.items.length) {
      const tr = body.insertRow(); const td = tr.insertCell();
      td.colSpan = 3; td.className = "muted"; td.textContent = S.noBids;
      return;
    }
    for (const b of page.items) {
      const tr = body.insertRow();
      const mine = me && me.bidder_code === b.bidder_code;
      tr.insertCell().textContent = b.bidder_code + (mine ? ` (${S.you})` : "");
      const td = tr.insertCell(); td.className = "num"; td.textContent = money(b.amount);
      tr.insertCell().textContent = new Date(b.placed_at).toLocaleTimeString(locale, tz);
      if (mine) tr.style.fontWeight = "600";
    }
  }

  function renderMe() {
    const box = $("me");
    if (!state || !me) return;
    const live = state.status === "open" || state.status === "scheduled";
    let text = "", canBid = false, needDeposit = false, transfer = false, pay = false;
    if (!me.logged_in) text = S.login;
    else if (me.role !== "investor") text = S.investorsOnly;
    else if (me.won || (state.winner_code && state.winner_code === me.bidder_code)) {
      text = S.won;
      if (me.balance_due) text += " " + fill(S.balance, { amount: money(me.balance_due),
        date: me.balance_due_by ? new Date(me.balance_due_by).toLocaleString(locale, tz) : "—" });
      pay = me.settlement_status === "awaiting_payment";
    }
    else if (!live && me.bidder_code) text = S.lost;
    else if (me.bidder_code) {
      const leading = state.leader_code === me.bidder_code;
      text = fill(S.qualified, { code: me.bidder_code }) + " " +
        (leading ? S.leading : (me.outbid || (state.leader_code && me.has_bid) ? S.outbid : ""));
      canBid = live && !leading;
    } else if (me.deposit && me.deposit.status === "pending") {
      text = me.deposit.method === "offline"
        ? fill(S.pending, { amount: money(me.deposit.amount), ref: me.deposit.reference })
        : S.cardPending;
      transfer = me.deposit.method === "offline";
    } else if (live) {
      text = fill(S.needDeposit, { amount: money(me.deposit_amount) });
      needDeposit = true;
    }
    box.textContent = text;
    box.dataset.leading = String(!!(me.bidder_code && state.leader_code === me.bidder_code));
    form.hidden = !canBid;
    form.style.display = canBid ? "" : "none";  // .row sets display, which beats [hidden]
    depositBox.hidden = !needDeposit;
    accountBox.hidden = !(needDeposit || transfer);
    payForm.hidden = !pay;
  }

  async function loadMe() {
    lastMe = Date.now();
    try {
      const r = await fetch(root.dataset.me, { credentials: "same-origin", cache: "no-store" });
      if (r.ok) { me = await r.json(); renderMe(); }
    } catch (e) { /* the next poll retries */ }
  }

  async function poll() {
    try {
      const [ra, rb] = await Promise.all([
        fetch(root.dataset.api, { cache: "no-store" }),
        fetch(root.dataset.bids + "?per_page=20", { cache: "no-store" })]);
      if (ra.ok) {
        const a = await ra.json();
        if (a.server_time) window.ipx.syncClock(a.server_time);
        renderAuction(a);
      }
      if (rb.ok) renderBids(await rb.json());
      if (Date.now() - lastMe > 5000) loadMe();
    } catch (e) { /* offline for a moment: keep counting down */ }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const amount = form.elements.amount.value.trim();
    if (!window.confirm(fill(S.confirm, { amount: money(amount) }))) return;
    const r = await window.ipx.post(root.dataset.bidUrl, { amount });
    if (r.ok) {
      say(fill(S.placed, { amount: money(r.data.bid.amount) }));
      if (me) { me.has_bid = true; }
      renderAuction(r.data.auction);
      loadMe();
      poll();
    } else {
      const code = r.data && r.data.error && r.data.error.code;
      say((S.errors[code] || (r.data && r.data.error && r.data.error.message) || S.failed), true);
      poll();
    }
  });

  depositBox.addEventListener("click", async (ev) => {
    const method = ev.target.dataset && ev.target.dataset.method;
    if (!method) return;
    const r = await window.ipx.post(root.dataset.depositUrl, { method });
    if (!r.ok) {
      const code = r.data && r.data.error && r.data.error.code;
      say(S.errors[code] || (r.data && r.data.error && r.data.error.message) || S.failed, true);
      return;
    }
    say("");
    loadMe();
  });

  poll();
  loadMe();
  setInterval(poll, 1000);
  setInterval(renderCountdown, 250);
});
