// Chats show the newest message at the bottom: keep them scrolled there across the 2 s refreshes,
// unless the reader scrolled up to read older messages.
(function () {
  const atBottom = new WeakMap();
  const bottom = (root) => root.querySelectorAll(".chat").forEach((c) => { c.scrollTop = c.scrollHeight; });
  document.addEventListener("DOMContentLoaded", () => bottom(document));
  document.addEventListener("htmx:beforeSwap", (e) => {
    const chat = e.detail.target.querySelector(".chat");
    if (chat) atBottom.set(e.detail.target, chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40);
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    if (atBottom.get(e.detail.target) !== false) bottom(e.detail.target);
  });
})();
