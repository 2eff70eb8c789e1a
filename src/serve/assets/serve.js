// gitgen serve: asks /api/state every poll interval and updates the live cells in place.
// A change of rows or columns (a learner joins) reloads the page, whose cells the server
// draws. Text only goes in through textContent, never as HTML.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const every = Number(document.body.dataset.pollMs) || 1000;
  function cells(state) {
    const rows = state.class ? state.class.rows : [];
    return state.lessons.concat(...rows.map((row) => row.cells));
  }
  function show(state) {
    if (state.layout !== live.dataset.layout) {
      location.reload();
      return;
    }
    document.getElementById("live-unreachable").hidden = !state.unreachable;
    document.getElementById("live-why").textContent = state.unreachable || "";
    document.getElementById("live-summary").textContent = state.summary;
    for (const cell of cells(state)) {
      const element = document.getElementById(cell.id);
      if (!element) continue;
      element.textContent = cell.text;
      element.className = "cell " + cell.tone;
      element.title = cell.detail || "";
    }
    const holds = document.getElementById("bad-holds");
    if (holds && state.class) {
      holds.replaceChildren(...state.class.bad_holds.map((bad) => {
        const item = document.createElement("li");
        const hint = document.createElement("small");
        hint.textContent = "fix: " + bad.hint;
        item.append(bad.message, document.createElement("br"), hint);
        return item;
      }));
    }
  }
  async function poll() {
    try {
      const answer = await fetch("/api/state", { cache: "no-store" });
      if (answer.ok) show(await answer.json());
    } catch (_) {
      // gitgen serve stopped or restarts: keep the last state and ask again.
    }
    setTimeout(poll, every);
  }
  setTimeout(poll, every);
})();
