// Live updates from the gateway's event log. Follows /console/live (Server-Sent Events); a browser
// without EventSource polls /console/live/poll instead; a gateway without an event log (204, or no cursor)
// falls back to refreshing every 3 s. Each event refreshes the htmx fragments whose data-live lists its
// type (and whose data-live-number / data-live-customer match it), at most once per 300 ms, and is
// dispatched as a "wacloud:live" DOM event for page scripts (the campaign chart).
// document.body.dataset.live says which mode runs ("sse", "poll" or "timer").
(function () {
  const script = document.currentScript;
  const url = script.dataset.url;
  let cursor = script.dataset.after === "" ? null : Number(script.dataset.after);
  const waiting = new WeakSet();

  function matches(el, ev) {
    if (ev.type === "tick") return true;
    if (!el.dataset.live.split(" ").includes(ev.type)) return false;
    if (el.dataset.liveNumber && ev.number && el.dataset.liveNumber !== ev.number) return false;
    const who = el.dataset.liveCustomer;
    if (who && !(who.split(" ").includes(ev.wa_id) || (ev.contact_id && who.split(" ").includes(ev.contact_id)))) return false;
    return true;
  }
  function refresh(el) {
    if (waiting.has(el)) return;
    waiting.add(el);
    setTimeout(() => { waiting.delete(el); if (window.htmx && el.isConnected) htmx.trigger(el, "live"); }, 300);
  }
  function handle(ev) {
    if (typeof ev.position === "number") cursor = Math.max(cursor || 0, ev.position);
    document.querySelectorAll("[data-live]").forEach((el) => { if (matches(el, ev)) refresh(el); });
    document.dispatchEvent(new CustomEvent("wacloud:live", { detail: ev }));
  }
  function timer() {
    document.body.dataset.live = "timer";
    setInterval(() => handle({ type: "tick" }), 3000);
  }
  function poll() {
    document.body.dataset.live = "poll";
    const tick = async () => {
      try {
        const answer = await fetch(`${url}/poll${cursor === null ? "" : `?after=${cursor}`}`, { credentials: "same-origin" });
        if (answer.ok) {
          const page = await answer.json();
          if (page.next === null) { timer(); return; }
          page.events.forEach(handle);
          cursor = page.next;
        }
      } catch (e) { /* the gateway restarts: try again */ }
      setTimeout(tick, 2000);
    };
    tick();
  }
  function follow() {
    const source = new EventSource(cursor === null ? url : `${url}?after=${cursor}`);
    source.addEventListener("open", () => { document.body.dataset.live = "sse"; });
    source.addEventListener("console", (m) => handle(JSON.parse(m.data)));
    source.addEventListener("error", () => {
      // CLOSED: the server said no (204: no event log) or the session ended; otherwise it reconnects itself.
      if (source.readyState === EventSource.CLOSED) poll();
    });
    window.addEventListener("pagehide", () => source.close());
  }
  if (window.EventSource) follow(); else poll();
})();
