// A campaign's live progress: on each live event of this campaign (live.js, from the event log) fetch
// its JSON, at most once a second; draw the jobs by state and the failures by code over time (uPlot; a
// series appears for each new failure code), update the funnel, the states and the failures.
(function () {
  const script = document.currentScript;
  const url = script.dataset.url;
  const id = script.dataset.id;
  const SERIES = ["queued", "held", "accepted", "sent", "delivered", "read", "failed"];
  const COLORS = ["#8696a0", "#f9a825", "#a5d6a7", "#66bb6a", "#2e7d32", "#53bdeb", "#b3261e"];
  const CODE_COLORS = ["#e65100", "#6a1b9a", "#c2185b", "#4e342e", "#f9a825", "#37474f"];
  const codes = [];
  const data = [[], ...SERIES.map(() => [])];
  const el = document.getElementById("chart");
  const plot = new uPlot({
    width: Math.max(280, el.clientWidth - 4), height: 240,
    series: [{}, ...SERIES.map((s, i) => ({ label: s, stroke: COLORS[i], width: 2 }))],
    axes: [{}, { label: "jobs" }],
  }, data, el);
  window.addEventListener("resize", () => plot.setSize({ width: Math.max(280, el.clientWidth - 4), height: 240 }));
  function count(states, name) {
    if (name === "queued") return (states.queued || 0) + (states.claimed || 0) + (states.sending || 0);
    if (name === "failed") return (states.failed || 0) + (states.dead || 0);
    return states[name] || 0;
  }
  function addCode(code) {
    codes.push(code);
    data.push(data[0].map(() => 0));
    plot.addSeries({ label: `failed ${code}`, stroke: CODE_COLORS[(codes.length - 1) % CODE_COLORS.length], width: 1, dash: [6, 4] });
  }
  function show(p) {
    const byCode = p.failed_by_code || {};
    Object.keys(byCode).forEach((c) => { if (!codes.includes(c)) addCode(c); });
    data[0].push(p.at || Date.now() / 1000);
    SERIES.forEach((s, i) => data[i + 1].push(count(p.states, s)));
    codes.forEach((c, i) => data[SERIES.length + 1 + i].push(byCode[c] || 0));
    plot.setData(data);
    const first = data[0][0];
    const last = data[0][data[0].length - 1];
    plot.setScale("x", { min: first - 1, max: Math.max(last, first + 60) });  // at least a minute wide
    for (const [step, n] of p.funnel || []) {
      const bar = document.querySelector(`#funnel [data-step="${step}"]`);
      if (bar) { bar.querySelector("span").textContent = n; bar.style.width = `${Math.round(100 * n / (p.total || 1))}%`; }
    }
    document.getElementById("states").replaceChildren(...Object.entries(p.states).map(([s, n]) => {
      const li = document.createElement("li"); li.textContent = `${s}: ${n}`; return li;
    }));
    const fails = Object.entries(byCode);
    document.getElementById("failures").replaceChildren(...(fails.length ? fails : [["none", ""]]).map(([c, n]) => {
      const li = document.createElement("li"); li.textContent = n === "" ? "none" : `code ${c}: ${n}`; return li;
    }));
    const holds = Object.entries(p.held || {});
    document.getElementById("campaign-held").textContent =
      holds.length ? ` · held: ${holds.map(([r, n]) => `${r.replaceAll("_", " ")} ${n}`).join(", ")}` : "";
    if (p.state) document.getElementById("campaign-run-state").textContent = p.state;
    const held = p.states.held || 0;
    const settled = p.done && !held && !(p.states.accepted || 0) && !(p.states.sent || 0);
    const words = p.state === "paused" ? "Paused" : p.state === "cancelled" ? "Cancelled" : held ? "Waiting (jobs held)"
      : p.start_at && p.start_at * 1000 > Date.now() ? "Scheduled" : settled ? "Finished" : p.done ? "All sent; waiting for delivery" : "Sending";
    document.getElementById("campaign-state").textContent = `${words}: ${p.total} recipients.`;
  }
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const answer = await fetch(url, { credentials: "same-origin" });
      if (answer.ok) show(await answer.json());
    } finally {
      setTimeout(() => { busy = false; if (again) { again = false; refresh(); } }, 1000);
    }
  }
  show(JSON.parse(document.getElementById("campaign-data").textContent));
  document.addEventListener("wacloud:live", (e) => {
    const ev = e.detail;
    if (ev.type === "tick" || ev.campaign === id) refresh();
  });
})();
