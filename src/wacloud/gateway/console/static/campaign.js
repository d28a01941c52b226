// A campaign's live progress: poll its JSON every 2 s, draw the jobs by state over time (uPlot),
// update the funnel and the failures. Stops polling once the campaign is done and settled.
(function () {
  const script = document.currentScript;
  const url = script.dataset.url;
  const SERIES = ["queued", "accepted", "sent", "delivered", "read", "failed"];
  const COLORS = ["#8696a0", "#a5d6a7", "#66bb6a", "#2e7d32", "#53bdeb", "#b3261e"];
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
  function show(p) {
    data[0].push(p.at || Date.now() / 1000);
    SERIES.forEach((s, i) => data[i + 1].push(count(p.states, s)));
    plot.setData(data);
    for (const [step, n] of p.funnel || []) {
      const bar = document.querySelector(`#funnel [data-step="${step}"]`);
      if (bar) { bar.querySelector("span").textContent = n; bar.style.width = `${Math.round(100 * n / (p.total || 1))}%`; }
    }
    document.getElementById("states").replaceChildren(...Object.entries(p.states).map(([s, n]) => {
      const li = document.createElement("li"); li.textContent = `${s}: ${n}`; return li;
    }));
    const fails = Object.entries(p.failed_by_code);
    document.getElementById("failures").replaceChildren(...(fails.length ? fails : [["none", ""]]).map(([c, n]) => {
      const li = document.createElement("li"); li.textContent = n === "" ? "none" : `code ${c}: ${n}`; return li;
    }));
    const settled = p.done && !(p.states.accepted || 0) && !(p.states.sent || 0);
    document.getElementById("campaign-state").textContent =
      `${settled ? "Finished" : p.done ? "All sent; waiting for delivery" : "Sending"}: ${p.total} recipients.`;
    return settled;
  }
  show(JSON.parse(document.getElementById("campaign-data").textContent));
  const timer = setInterval(async () => {
    const answer = await fetch(url, { credentials: "same-origin" });
    if (answer.ok && show(await answer.json())) clearInterval(timer);
  }, 2000);
})();
