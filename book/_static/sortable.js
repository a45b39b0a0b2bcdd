// Sortable tables: a reader sorts any table made by helpers.display.table by clicking a
// column header (a button, so it works from the keyboard). Numbers sort by the value in
// the cell's data-value; suppressed or missing cells, and text, sort after numbers.
document.addEventListener("DOMContentLoaded", () => {
  const key = (cell) => (cell.dataset.value === undefined ? null : Number(cell.dataset.value));
  const compare = (a, b) => {
    const x = key(a), y = key(b);
    if (x !== null && y !== null) return x - y;
    if (x !== null || y !== null) return x !== null ? -1 : 1;
    return a.textContent.localeCompare(b.textContent, undefined, { numeric: true });
  };
  document.querySelectorAll(".vw-table table").forEach((table) => {
    const headers = Array.from(table.querySelectorAll("thead th"));
    headers.forEach((th, column) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "vw-sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach((other) => other.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => compare(a.cells[column], b.cells[column]) * (ascending ? 1 : -1));
        rows.forEach((row) => body.appendChild(row));
      });
    });
  });
});
