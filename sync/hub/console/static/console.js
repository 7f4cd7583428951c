// The hub console's only script: tables sort by a click on their header, wide tables take
// the keyboard's focus, and a table body with data-refresh reloads itself (the terminals'
// last-seen times move without a reload); a button with data-print prints the page
// (the yearly summary).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Wide tables scroll sideways on a phone: each can take the keyboard's focus, so arrow
  // keys scroll it too.
  for (const table of document.querySelectorAll("table.data")) {
    if (!table.hasAttribute("tabindex")) table.tabIndex = 0;
  }
  for (const table of document.querySelectorAll("table.sortable")) {
    table.querySelectorAll("thead th").forEach((th, col) => {
      th.tabIndex = 0;
      const sort = () => {
        const body = table.tBodies[0];
        const up = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(h => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        const key = row => {
          const cell = row.children[col];
          const raw = cell ? (cell.dataset.sort ?? cell.textContent.trim()) : "";
          const n = parseFloat(raw);
          return isNaN(n) ? raw : n;
        };
        [...body.rows].sort((a, b) => {
          const x = key(a), y = key(b);
          const c = typeof x === "number" && typeof y === "number" ? x - y
                    : String(x).localeCompare(String(y), "zh-CN");
          return up ? c : -c;
        }).forEach(r => body.appendChild(r));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", e => { if (e.key === "Enter") sort(); });
    });
  }
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  for (const body of document.querySelectorAll("[data-refresh]")) {
    const every = 1000 * Number(body.dataset.every || 30);
    setInterval(async () => {
      try {
        const r = await fetch(body.dataset.refresh, {credentials: "same-origin"});
        if (r.redirected) { location.reload(); return; }   // signed out: show the login
        if (r.ok) body.innerHTML = await r.text();
      } catch (e) { /* the hub is unreachable for a moment: keep what is shown */ }
    }, every);
  }
});
