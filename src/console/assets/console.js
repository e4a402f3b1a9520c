// Holdfast console: live queue, SLA countdowns, keyboard shortcuts.
// Everything here only enhances pages that work without it.
(function () {
  "use strict";
  var body = document.body;
  var units = (body.dataset.units || "d,h,m,s").split(",");

  function span(seconds) {
    var s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
      m = Math.floor(s % 3600 / 60), r = s % 60;
    if (s < 60) return r + units[3];
    if (s < 3600) return m + units[2] + " " + r + units[3];
    if (s < 172800) return (h + d * 24) + units[1] + " " + m + units[2];
    return d + units[0] + " " + h + units[1];
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("datetime")) - now) / 1000;
      var overdue = left <= 0;
      el.textContent = (overdue ? body.dataset.overdue : body.dataset.left).replace("{}", span(Math.abs(left)));
      var sla = el.closest(".sla");
      if (sla) sla.classList.toggle("overdue", overdue);
    });
  }
  tick();
  setInterval(tick, 1000);

  var table = document.getElementById("queue");
  var rows = document.getElementById("queue-rows");
  var news = document.getElementById("queue-news");
  function ids() {
    return Array.prototype.map.call(rows.querySelectorAll("tr[data-id]"), function (tr) { return tr.dataset.id; });
  }
  function refresh() {
    if (!table || !table.dataset.poll) return;
    fetch(table.dataset.poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        var before = ids();
        var fresh = data.ids.filter(function (id) { return before.indexOf(id) < 0; });
        rows.innerHTML = data.rows;
        document.getElementById("queue-counts").innerHTML = data.counts;
        fresh.forEach(function (id) {
          var tr = rows.querySelector('tr[data-id="' + id + '"]');
          if (tr) tr.classList.add("new");
        });
        if (fresh.length && news) news.textContent = news.dataset.new + " " + fresh.length;
        tick();
      })
      .catch(function () {});
  }
  if (table && table.dataset.poll) setInterval(refresh, 5000);

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName)) return;
    if (event.key === "n") {
      var next = document.getElementById("take-next");
      if (next) { event.preventDefault(); next.click(); }
    } else if (event.key === "r" && table && table.dataset.poll) {
      event.preventDefault();
      refresh();
    }
  });
})();
