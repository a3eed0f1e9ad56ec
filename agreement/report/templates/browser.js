/* agreement report: filter, sort and view the lists of the page's JSON data island.
   Plain JavaScript, no library, no network. Without it the page shows every table row and every
   picture; with it each ".browser[data-list=KEY]" gets filters, sorting and a picture viewer. */
(function () {
  "use strict";

  var island = document.getElementById("report-data");
  if (!island) { return; }
  var data;
  try { data = JSON.parse(island.textContent); } catch (err) { return; }
  if (!data || !data.lists) { return; }
  document.documentElement.classList.add("js");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function members(value) {
    if (Array.isArray(value)) { return value.map(String); }
    return value === null || value === undefined || value === "" ? [] : [String(value)];
  }

  /* Show or hide every panel of one annotator, in every picture of the page. */
  var hiddenAnnotators = {};
  function applyAnnotators(root) {
    (root || document).querySelectorAll(".panel[data-annotator]").forEach(function (panel) {
      panel.hidden = !!hiddenAnnotators[panel.getAttribute("data-annotator")];
    });
  }

  function annotatorBoxes(names) {
    var box = el("fieldset", { "class": "annotator-toggles" });
    box.appendChild(el("legend", {}, "Annotators shown"));
    names.forEach(function (name) {
      var label = el("label");
      var input = el("input", { type: "checkbox", "data-annotator": name });
      input.checked = !hiddenAnnotators[name];
      input.addEventListener("change", function () {
        hiddenAnnotators[name] = !input.checked;
        document.querySelectorAll('input[data-annotator]').forEach(function (other) {
          if (other.getAttribute("data-annotator") === name) { other.checked = input.checked; }
        });
        applyAnnotators();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + name));
      box.appendChild(label);
    });
    return box;
  }

  function ListBrowser(root, list) {
    this.root = root;
    this.list = list;
    this.col = {};
    var self = this;
    list.columns.forEach(function (c, i) { self.col[c] = i; });
    this.filters = {};
    this.selected = null;
    var byId = {};
    list.rows.forEach(function (values) { byId[String(values[self.col[list.id]])] = values; });
    this.tbody = root.querySelector("tbody");
    this.rows = Array.prototype.map.call(this.tbody.querySelectorAll("tr[data-id]"), function (tr) {
      var id = tr.getAttribute("data-id");
      tr.tabIndex = 0;
      return { id: id, tr: tr, values: byId[id] || [] };
    });
    this.viewer = root.querySelector(".browser-viewer");
    this.buildControls();
    this.bindRows();
    this.sortBy(list.sort.length ? list.sort[0] : null);
    this.apply();
    if (this.viewer) { this.viewer.hidden = false; }
  }

  ListBrowser.prototype.value = function (row, column) {
    var i = this.col[column];
    return i === undefined ? undefined : row.values[i];
  };

  ListBrowser.prototype.buildControls = function () {
    var self = this;
    var controls = this.root.querySelector(".browser-controls");
    if (!controls) { return; }
    this.list.facets.forEach(function (facet) {
      var counts = {};
      self.rows.forEach(function (row) {
        members(self.value(row, facet)).forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
      });
      var values = Object.keys(counts).sort(function (a, b) {
        return counts[b] - counts[a] || (a < b ? -1 : a > b ? 1 : 0);
      });
      var label = el("label", { "class": "facet" });
      label.appendChild(el("span", {}, facet.replace(/_/g, " ")));
      var select = el("select", { "data-facet": facet });
      select.appendChild(el("option", { value: "" }, "all (" + values.length + ")"));
      values.forEach(function (v) {
        select.appendChild(el("option", { value: v }, v + " (" + counts[v] + ")"));
      });
      select.addEventListener("change", function () {
        self.filters[facet] = select.value;
        self.apply();
      });
      label.appendChild(select);
      controls.appendChild(label);
    });
    if (this.list.sort.length) {
      var label = el("label", { "class": "facet" });
      label.appendChild(el("span", {}, "sort by"));
      var sorter = el("select", { "data-sort": "" });
      this.list.sort.forEach(function (c) { sorter.appendChild(el("option", { value: c }, c)); });
      sorter.addEventListener("change", function () { self.sortBy(sorter.value); self.apply(); });
      label.appendChild(sorter);
      controls.appendChild(label);
      this.sorter = sorter;
    }
    var reset = el("button", { type: "button", "class": "reset" }, "show all");
    reset.addEventListener("click", function () {
      controls.querySelectorAll("select[data-facet]").forEach(function (s) { s.value = ""; });
      self.filters = {};
      self.apply();
    });
    controls.appendChild(reset);
    this.count = el("span", { "class": "count", "aria-live": "polite" });
    controls.appendChild(this.count);
    if (data.annotators && data.annotators.length) {
      controls.appendChild(annotatorBoxes(data.annotators));
    }
    controls.hidden = false;
  };

  ListBrowser.prototype.bindRows = function () {
    var self = this;
    this.rows.forEach(function (row) {
      row.tr.addEventListener("click", function (event) {
        if (event.target.closest("a")) { event.preventDefault(); }
        self.select(row);
      });
      row.tr.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          self.select(row);
        }
      });
    });
    this.root.querySelectorAll("th[data-col]").forEach(function (th) {
      var column = th.getAttribute("data-col");
      if (self.list.sort.indexOf(column) < 0) { return; }
      th.classList.add("sortable");
      th.title = "sort by " + column;
      th.addEventListener("click", function () {
        if (self.sorter) { self.sorter.value = column; }
        self.sortBy(column);
        self.apply();
      });
    });
  };

  ListBrowser.prototype.matches = function (row) {
    var self = this;
    return Object.keys(this.filters).every(function (facet) {
      var wanted = self.filters[facet];
      return !wanted || members(self.value(row, facet)).indexOf(wanted) >= 0;
    });
  };

  ListBrowser.prototype.sortBy = function (column) {
    if (!column) { return; }
    var self = this;
    this.root.querySelectorAll("th[data-col]").forEach(function (th) {
      th.classList.toggle("sorted", th.getAttribute("data-col") === column);
    });
    var keyed = this.rows.map(function (row, i) { return { row: row, i: i, v: self.value(row, column) }; });
    keyed.sort(function (a, b) {
      var x = a.v, y = b.v;
      if (typeof x === "number" && typeof y === "number") { return y - x || a.i - b.i; }
      x = String(x); y = String(y);
      return x < y ? -1 : x > y ? 1 : a.i - b.i;
    });
    this.rows = keyed.map(function (k) { return k.row; });
    this.rows.forEach(function (row) { self.tbody.appendChild(row.tr); });
  };

  ListBrowser.prototype.apply = function () {
    var shown = 0;
    var self = this;
    this.rows.forEach(function (row) {
      var ok = self.matches(row);
      row.tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (this.count) {
      this.count.textContent = shown + " of " + this.rows.length + " shown" +
        (this.list.total > this.rows.length ? " (" + this.list.total + " in the csv)" : "");
    }
    if (!this.selected || this.selected.tr.hidden) {
      var first = this.rows.filter(function (r) { return !r.tr.hidden; })[0] || null;
      this.select(first);
    }
  };

  ListBrowser.prototype.select = function (row) {
    if (this.selected) {
      this.selected.tr.classList.remove("selected");
      this.selected.tr.removeAttribute("aria-selected");
    }
    this.selected = row;
    var viewer = this.viewer;
    if (!viewer) { return; }
    viewer.textContent = "";
    if (!row) {
      viewer.appendChild(el("p", { "class": "note" }, "Nothing matches these filters."));
      return;
    }
    row.tr.classList.add("selected");
    row.tr.setAttribute("aria-selected", "true");
    var ids = this.list.pictures[row.id] || [];
    var shownAny = false;
    ids.forEach(function (id) {
      var source = document.getElementById(id);
      if (!source) { return; }
      var copy = source.cloneNode(true);
      copy.removeAttribute("id");
      copy.querySelectorAll("[id]").forEach(function (n) { n.removeAttribute("id"); });
      viewer.appendChild(copy);
      shownAny = true;
    });
    if (!shownAny) {
      var parts = [];
      this.list.columns.forEach(function (c, i) {
        var v = row.values[i];
        if (c !== "picture") { parts.push(c + ": " + (Array.isArray(v) ? v.join(", ") : v)); }
      });
      viewer.appendChild(el("p", { "class": "note" },
        (this.list.empty || "No picture for this row.") + " " + parts.join("; ")));
    }
    viewer.setAttribute("data-showing", row.id);
    applyAnnotators(viewer);
  };

  Object.keys(data.lists).forEach(function (key) {
    document.querySelectorAll(".browser[data-list]").forEach(function (root) {
      if (root.getAttribute("data-list") === key) { root.browser = new ListBrowser(root, data.lists[key]); }
    });
  });
})();
