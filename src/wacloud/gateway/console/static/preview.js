// The template form's live preview: the message as a phone would show it (variables as examples).
(function () {
  const form = document.getElementById("tpl-form");
  if (!form) return;
  const out = (name) => document.querySelector(`[data-preview="${name}"]`);
  function render() {
    const examples = form.examples.value.split(",").map((s) => s.trim()).filter(Boolean);
    let n = 0;
    const fill = (text) => text.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (m, key) => {
      const i = /^\d+$/.test(key) ? Number(key) - 1 : n++;
      return examples[i] !== undefined ? examples[i] : `[${key}]`;
    });
    out("header").textContent = fill(form.header.value);
    out("body").textContent = fill(form.body.value) || "Your message";
    out("footer").textContent = form.footer.value;
    const buttons = out("buttons");
    buttons.replaceChildren(...form.buttons.value.split("\n").map((s) => s.trim()).filter(Boolean).map((t) => {
      const span = document.createElement("span"); span.className = "btn"; span.textContent = "↩ " + t; return span;
    }));
  }
  form.addEventListener("input", render);
  render();
})();
