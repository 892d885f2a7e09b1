// slim's HTML report. It draws the JSON model embedded in the page and computes no numbers of
// its own beyond shares and layout. Everything from the image is set with textContent, never
// parsed as HTML.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("slim-data").textContent);
  const app = document.getElementById("app");
  const MAPS = [];

  // ---- small helpers ------------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  // IEC units with one decimal, as the text report prints them.
  function human(b) {
    if (b < 1024) return b + " B";
    let i = 0, v = b;
    while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
    return v.toFixed(1) + " " + UNITS[i];
  }
  function signed(d) { return d === 0 ? "0 B" : (d > 0 ? "+" : "-") + human(Math.abs(d)); }
  const exact = (b) => b.toLocaleString("en-US") + " bytes";
  const pct = (part, whole) => whole ? (part * 100 / whole).toFixed(1) + "%" : "0.0%";
  function shortStep(s, max) {
    if (!s) return "(no history for this layer)";
    s = s.trim().replace(/^\/bin\/sh -c #\(nop\) +/, "").replace(/^\/bin\/sh -c /, "RUN ").replace(/\s+/g, " ");
    return s.length > max ? s.slice(0, max - 1) + "…" : s;
  }
  function table(head, rows, right) {
    right = right || [];
    return el("table", {},
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: right.includes(i) ? "num" : null, scope: "col", text: h })))),
      el("tbody", {}, rows.map((r) => el("tr", { class: r.cls || null }, r.cells.map((c, i) =>
        el("td", { class: right.includes(i) ? "num" : null }, c instanceof Node ? c : document.createTextNode(String(c))))))));
  }
  function section(title, ...kids) { return el("section", {}, el("h2", { text: title }), ...kids); }
  function stat(label, value, title) { return el("div", { class: "stat", title: title || null }, el("div", { class: "v", text: value }), el("div", { class: "k", text: label })); }

  // ---- page ---------------------------------------------------------------------------------
  function header(image, subtitle) {
    return el("header", {},
      el("h1", {}, el("span", { class: "brand", text: "slim " + subtitle + " " }), el("span", { text: image.source })),
      el("p", { class: "meta", text: [image.reference || "(untagged)", image.platform, image.format].filter(Boolean).join(" · ") }));
  }

  function analysisSections(a) {
    const t = a.totals;
    const out = [];
    out.push(el("div", { class: "stats" },
      stat("final filesystem", human(t.final_bytes), exact(t.final_bytes)),
      stat("files", t.final_files.toLocaleString("en-US")),
      stat("layers", String(t.layers)),
      stat("compressed", human(t.compressed_bytes), exact(t.compressed_bytes)),
      stat("hidden by later layers", human(t.wasted_bytes), exact(t.wasted_bytes)),
      stat("reclaimable (findings)", human(t.reclaimable_bytes), exact(t.reclaimable_bytes))));
    const map = a.treemap ? new Treemap(a.treemap, a.layers) : null;
    if (map) out.push(map.section);
    else out.push(section("Where the bytes are", el("p", { text: "No treemap in this analysis (it was read from JSON); the owners follow." })));
    out.push(layersSection(a, map));
    out.push(findingsSection(a, map));
    if (a.unused_packages && a.unused_packages.length) out.push(unusedSection(a));
    out.push(ownersSection(a));
    if (a.warnings.length) out.push(section("Warnings", el("ul", {}, a.warnings.map((w) => el("li", { text: w })))));
    return out;
  }

  // ---- treemap ------------------------------------------------------------------------------
  const KIND_COLOURS = { python: "#4e79a7", dpkg: "#f28e2b", conda: "#59a14f", npm: "#e15759", category: "#9c9c9c" };
  function layerColour(i) { return "hsl(" + ((i * 137.508) % 360).toFixed(0) + ",55%,58%)"; }

  // Squarified treemap (Bruls, Huizing, van Wijk): rows of rectangles kept close to square.
  function squarify(nodes, x, y, w, h) {
    const total = nodes.reduce((s, n) => s + n.bytes, 0);
    const out = [];
    if (!total || w <= 0 || h <= 0) return out;
    let items = nodes.filter((n) => n.bytes > 0).map((n) => ({ n, a: n.bytes / total * w * h }));
    const worst = (row, side) => {
      const s = row.reduce((t, r) => t + r.a, 0);
      let m = 0;
      for (const r of row) m = Math.max(m, side * side * r.a / (s * s), s * s / (side * side * r.a));
      return m;
    };
    while (items.length) {
      const side = Math.min(w, h);
      let k = 1, best = worst(items.slice(0, 1), side);
      while (k < items.length) {
        const next = worst(items.slice(0, k + 1), side);
        if (next > best) break;
        best = next; k++;
      }
      const row = items.slice(0, k);
      const area = row.reduce((t, r) => t + r.a, 0);
      const thick = area / side;
      let at = 0;
      for (const r of row) {
        const len = r.a / thick;
        if (w >= h) out.push({ n: r.n, x: x, y: y + at, w: thick, h: len });
        else out.push({ n: r.n, x: x + at, y: y, w: len, h: thick });
        at += len;
      }
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
      items = items.slice(k);
    }
    return out;
  }

  function Treemap(root, layers) {
    const self = this;
    this.root = root;
    this.layers = layers;
    this.byId = [];
    this.colourBy = "kind";
    this.hits = null;
    (function index(n, parent, kind) {
      n.id = self.byId.length; self.byId.push(n);
      n.parent = parent;
      n.kind = n.level === "kind" ? n.name : kind;
      for (const c of n.children || []) index(c, n, n.kind);
    })(root, null, null);
    this.current = root;
    MAPS.push(this);

    this.crumbs = el("nav", { class: "crumbs", "aria-label": "Treemap position" });
    this.box = el("div", { class: "treemap", role: "group", "aria-label": "Treemap of the final filesystem: Tab to a rectangle, Enter to zoom in, Escape to zoom out" });
    this.tip = el("div", { class: "tip", "aria-hidden": "true" });
    // What the focused or selected rectangle is, for the keyboard and screen readers.
    this.status = el("p", { class: "status", role: "status", "aria-live": "polite", text: "Hover, focus or select a rectangle for its exact bytes, files and path." });
    this.fallback = el("div", { class: "fallback" });
    const radio = (value, label) => el("label", {}, el("input", { type: "radio", name: "colour", value, checked: value === "kind", onchange: () => { self.colourBy = value; self.draw(); } }), " " + label);
    this.legend = el("div", { class: "legend" });
    this.section = section("Where the bytes are",
      el("div", { class: "toolbar" }, el("span", { text: "Colour by " }), radio("kind", "owner kind"), radio("layer", "layer that wrote it"), this.legend),
      this.crumbs, this.box, this.tip, this.status,
      el("details", { class: "fallback-wrap" }, el("summary", { text: "The same level as a table" }), this.fallback));
    window.addEventListener("resize", () => this.draw());
    this.box.addEventListener("keydown", (e) => this.key(e));
    this.box.addEventListener("mouseleave", () => { this.tip.classList.remove("shown"); });
  }

  Treemap.prototype.colour = function (n) {
    return this.colourBy === "kind" ? (KIND_COLOURS[n.kind] || "#bab0ac") : layerColour(n.layer);
  };

  Treemap.prototype.label = function (n) {
    if (n.level === "rest") return n.name + ", " + human(n.bytes);
    if (n.level === "kind") return n.name;
    return n.name;
  };

  Treemap.prototype.describe = function (n) {
    const parts = [];
    parts.push((n.path && n.level !== "owner" ? n.path : this.trail(n).slice(1).map((m) => m.name).join(" › ")) || "/");
    parts.push(human(n.bytes) + " (" + exact(n.bytes) + ")");
    if (n.level !== "file") parts.push(n.files.toLocaleString("en-US") + " files");
    parts.push(pct(n.bytes, this.root.bytes) + " of the image");
    const l = this.layers[n.layer];
    parts.push("layer " + n.layer + (l ? ": " + shortStep(l.created_by, 60) : ""));
    return parts.join(" · ");
  };

  Treemap.prototype.trail = function (n) {
    const t = [];
    for (let m = n; m; m = m.parent) t.unshift(m);
    return t;
  };

  Treemap.prototype.zoom = function (n) {
    while (n && !(n.children && n.children.length)) n = n.parent;
    this.current = n || this.root;
    this.draw();
    const first = this.box.querySelector('.tile[data-depth="0"]');
    if (first && this.box.contains(document.activeElement) === false && this.focusAfter) first.focus();
  };

  Treemap.prototype.draw = function () {
    const self = this;
    const cur = this.current;
    // Breadcrumb.
    this.crumbs.replaceChildren(...this.trail(cur).map((n, i, all) => {
      const last = i === all.length - 1;
      return el("span", {}, i ? " › " : "",
        last ? el("strong", { "aria-current": "location", text: n.level === "image" ? "whole image" : n.name })
             : el("button", { type: "button", class: "linklike", text: n.level === "image" ? "whole image" : n.name, onclick: () => self.zoom(n) }));
    }), el("span", { class: "muted", text: "  " + human(cur.bytes) + " in " + cur.files.toLocaleString("en-US") + " files" }));
    // Legend.
    if (this.colourBy === "kind") {
      this.legend.replaceChildren(...this.root.children.map((k) => el("span", { class: "key" }, swatch(KIND_COLOURS[k.name] || "#bab0ac"), k.name)));
    } else {
      this.legend.replaceChildren(...this.layers.filter((l) => l.file_bytes > 0).map((l) => el("span", { class: "key", title: shortStep(l.created_by, 80) }, swatch(layerColour(l.index)), String(l.index))));
    }
    // Rectangles.
    const W = this.box.clientWidth, H = this.box.clientHeight;
    this.box.replaceChildren();
    this.box.classList.toggle("dimmed", !!this.hits);
    const place = (nodes, x, y, w, h, depth) => {
      for (const r of squarify(nodes, x, y, w, h)) {
        const n = r.n;
        const kids = n.children && n.children.length;
        const nest = kids && depth < 3 && r.w > 48 && r.h > 36;
        const t = el("div", {
          class: "tile" + (nest ? " frame" : "") + (this.hits && this.hits.has(n.id) ? " hit" : "") + (n.level === "rest" ? " rest" : ""),
          tabindex: depth === 0 ? "0" : "-1", role: "button",
          "data-id": String(n.id), "data-depth": String(depth), "data-level": n.level, "data-key": n.name, "data-path": n.path || (n.level === "rest" && n.parent.path) || null,
          "aria-label": this.label(n) + ", " + human(n.bytes),
        });
        t.style.left = r.x + "px"; t.style.top = r.y + "px";
        t.style.width = r.w + "px"; t.style.height = r.h + "px";
        t.style.backgroundColor = this.colour(n);
        if (r.w > 30 && r.h > 14) t.append(el("span", { class: "lbl", text: this.label(n) + (n.level === "rest" ? "" : "  " + human(n.bytes)) }));
        this.box.append(t);
        if (nest) place(n.children, r.x + 2, r.y + 16, r.w - 4, r.h - 18, depth + 1);
      }
    };
    place(cur.children || [], 0, 0, W, H, 0);
    this.box.querySelectorAll(".tile").forEach((t) => {
      const n = this.byId[+t.dataset.id];
      t.addEventListener("click", (e) => { e.stopPropagation(); this.focusAfter = false; this.show(n, null); this.open(n); });
      t.addEventListener("mousemove", (e) => { e.stopPropagation(); this.show(n, e); });
      t.addEventListener("focus", () => this.show(n, null));
    });
    // Table fallback: the level on screen.
    this.fallback.replaceChildren(table(["name", "size", "bytes", "files", "share", "layer"],
      (cur.children || []).map((n) => ({ cells: [
        n.children && n.children.length ? el("button", { type: "button", class: "linklike", text: n.path && n.level !== "owner" ? n.path : n.name, onclick: () => this.zoom(n) }) : (n.path || n.name),
        human(n.bytes), n.bytes.toLocaleString("en-US"), n.files, pct(n.bytes, this.root.bytes), n.layer] })), [1, 2, 3, 4, 5]));
  };

  function swatch(c) { const s = el("span", { class: "sw" }); s.style.backgroundColor = c; return s; }

  Treemap.prototype.open = function (n) {
    if (n.children && n.children.length) this.zoom(n);
    else this.show(n, null);
  };

  Treemap.prototype.show = function (n, e) {
    const text = this.describe(n);
    if (e) {
      this.tip.textContent = text;
      this.tip.classList.add("shown");
      const b = this.box.getBoundingClientRect();
      this.tip.style.left = Math.max(0, Math.min(e.clientX - b.left + 12, b.width - 360)) + "px";
      this.tip.style.top = (e.clientY - b.top + this.box.offsetTop + 16) + "px";
    } else {
      this.tip.classList.remove("shown");
      this.status.textContent = text;
    }
  };

  Treemap.prototype.key = function (e) {
    const tiles = [...this.box.querySelectorAll('.tile[data-depth="0"]')];
    const i = tiles.indexOf(document.activeElement);
    if (e.key === "Enter" || e.key === " ") {
      if (i >= 0) { e.preventDefault(); this.focusAfter = true; this.open(this.byId[+tiles[i].dataset.id]); this.focusFirst(); }
    } else if (e.key === "Escape" || e.key === "Backspace") {
      if (this.current.parent) { e.preventDefault(); const was = this.current; this.zoom(this.current.parent); this.focusOn(was); }
    } else if (["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"].includes(e.key) && i >= 0) {
      e.preventDefault();
      const step = e.key === "ArrowRight" || e.key === "ArrowDown" ? 1 : -1;
      tiles[(i + step + tiles.length) % tiles.length].focus();
    }
  };
  Treemap.prototype.focusFirst = function () { const t = this.box.querySelector('.tile[data-depth="0"]'); if (t) t.focus(); };
  Treemap.prototype.focusOn = function (n) {
    const t = this.box.querySelector('.tile[data-depth="0"][data-id="' + n.id + '"]');
    if (t) t.focus(); else this.focusFirst();
  };

  // Nodes holding an evidence path (or inside it); when the path was folded away, the
  // deepest nodes that contain it.
  Treemap.prototype.find = function (paths, owners) {
    const hits = new Set();
    for (const p of paths) {
      let found = false, deepest = [], depth = -1;
      for (const n of this.byId) {
        if (!n.path) continue;
        if (n.level !== "owner" && (n.path === p || n.path.startsWith(p + "/"))) { hits.add(n.id); found = true; }
        else if (p.startsWith(n.path === "/" ? "/" : n.path + "/")) {
          if (n.path.length > depth) { depth = n.path.length; deepest = [n]; } else if (n.path.length === depth) deepest.push(n);
        }
      }
      // Folded away (or deleted by a later layer): the smaller files of the directory it was in.
      if (!found) for (const n of deepest) hits.add(((n.children || []).find((c) => c.level === "rest") || n).id);
    }
    if (!paths.length) {
      for (const n of this.byId) if (n.level === "owner" && owners.includes(n.kind + ":" + n.name.replace(/ \(unrecorded files\)$/, ""))) hits.add(n.id);
    }
    return hits;
  };

  // Mark `hits` and zoom to the smallest node holding them all.
  Treemap.prototype.highlight = function (hits, zoom) {
    this.hits = hits && hits.size ? hits : null;
    if (!this.hits) { this.draw(); return; }
    // Every ancestor of a hit is shown as holding it.
    const marked = new Set(this.hits);
    let common = null;
    for (const id of this.hits) {
      const t = this.trail(this.byId[id]);
      t.forEach((m) => marked.add(m.id));
      common = common ? common.filter((m, i) => t[i] === m) : t;
    }
    this.hits = marked;
    let target = common[common.length - 1];
    // Zoom to a level where the hits are rectangles, not the hits themselves.
    if (this.hits.has(target.id) && !(target.children && target.children.length)) target = target.parent || target;
    if (zoom) this.zoom(target); else this.draw();
  };

  // ---- layers -------------------------------------------------------------------------------
  function layersSection(a, map) {
    const max = Math.max(1, ...a.layers.map((l) => l.file_bytes));
    const detail = el("div", { class: "layer-detail", "aria-live": "polite" });
    let open = null;
    const rows = a.layers.map((l) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = (l.file_bytes / max * 100) + "%";
      const hid = el("span", { class: "hidden-part", title: human(l.wasted_bytes) + " of it hidden by later layers" });
      hid.style.width = (l.file_bytes ? l.wasted_bytes / l.file_bytes * 100 : 0) + "%";
      bar.append(hid);
      const b = el("button", { type: "button", class: "layer", "aria-expanded": "false", "data-layer": String(l.index),
        onclick: () => {
          const again = open === l.index;
          open = again ? null : l.index;
          sect.querySelectorAll("button.layer").forEach((x) => x.setAttribute("aria-expanded", String(!again && x === b)));
          if (again) { detail.replaceChildren(); if (map) map.highlight(null); return; }
          detail.replaceChildren(...layerDetail(a, l, map));
          if (map) {
            const hits = new Set(map.byId.filter((n) => (n.level === "file" || n.level === "rest") && n.layer === l.index).map((n) => n.id));
            map.highlight(hits, false);
          }
        } },
        el("span", { class: "idx", text: String(l.index) }),
        el("span", { class: "step", text: shortStep(l.created_by, 90) }),
        el("span", { class: "track" }, bar),
        el("span", { class: "num", text: human(l.file_bytes) }),
        el("span", { class: "num muted", text: l.wasted_bytes ? human(l.wasted_bytes) + " hidden" : "" }));
      return b;
    });
    const sect = section("Layers",
      el("p", { class: "muted", text: "Bar: file bytes the layer holds; hatched: the part later layers overwrote or deleted. Select a layer for what it added." }),
      el("div", { class: "layers" }, rows), detail);
    return sect;
  }

  function layerDetail(a, l, map) {
    const out = [el("h3", { text: "Layer " + l.index })];
    out.push(el("pre", { class: "step-full", text: l.created_by || "(no history for this layer)" }));
    out.push(table(["", ""], [
      { cells: ["compressed", human(l.compressed_bytes)] },
      { cells: ["file bytes", human(l.file_bytes) + " (" + exact(l.file_bytes) + ")"] },
      { cells: ["files added / changed / removed", l.files_added + " / " + l.files_changed + " / " + l.files_removed] },
      { cells: ["hidden by later layers", human(l.wasted_bytes)] },
      { cells: ["digest", l.digest] }]));
    if (map) {
      const files = map.byId.filter((n) => n.level === "file" && n.layer === l.index).sort((x, y) => y.bytes - x.bytes).slice(0, 15);
      if (files.length) {
        out.push(el("h4", { text: "Largest files it wrote that are in the final filesystem" }));
        out.push(table(["size", "path"], files.map((n) => ({ cells: [human(n.bytes), n.path] })), [0]));
      }
    }
    const hidden = a.wasted_files.filter((w) => w.added_in === l.index);
    if (hidden.length) {
      out.push(el("h4", { text: "Largest files it wrote that a later layer hid" }));
      out.push(table(["size", "hidden by", "path"], hidden.map((w) => ({ cells: [human(w.bytes), "layer " + w.hidden_in, w.path] })), [0]));
    }
    return out;
  }

  // ---- findings -----------------------------------------------------------------------------
  function findingsSection(a, map) {
    if (!a.findings.length) return section("Findings", el("p", { text: "None: no rule found bytes to reclaim." }));
    const list = el("ol", { class: "findings" });
    const sorted = [...a.findings].sort((x, y) => y.bytes_saved - x.bytes_saved);
    for (const f of sorted) {
      const ev = f.evidence;
      const body = el("div", { class: "evidence" },
        ev.notes.map((n) => el("p", { class: "note", text: n })),
        ev.layers.map((l) => el("p", { class: "muted", text: "layer " + l.index + ": " + shortStep(l.created_by, 100) })),
        ev.paths.length ? el("ul", { class: "paths" }, ev.paths.map((p) => el("li", {}, el("code", { text: p }))), ev.more_paths ? el("li", { class: "muted", text: "and " + ev.more_paths + " more paths" }) : null) : null,
        ev.owners.length ? el("p", { class: "muted", text: "owners: " + ev.owners.join(", ") }) : null,
        el("p", {}, el("strong", { text: "Fix: " }), f.fix.text),
        el("p", { class: "muted", text: "Estimate: " + f.basis }));
      const li = el("li", { class: "finding sev-" + f.severity, "data-id": f.id },
        el("button", { type: "button", class: "finding-head", "aria-expanded": "false",
          onclick: (e) => {
            const on = e.currentTarget.getAttribute("aria-expanded") !== "true";
            list.querySelectorAll(".finding-head").forEach((b) => b.setAttribute("aria-expanded", "false"));
            list.querySelectorAll(".finding").forEach((x) => x.classList.remove("open"));
            if (on) { e.currentTarget.setAttribute("aria-expanded", "true"); li.classList.add("open"); }
            if (map) {
              map.highlight(on ? map.find(ev.paths, ev.owners) : null, on);
              if (on) map.section.scrollIntoView({ block: "start" });
            }
          } },
          el("span", { class: "save num", text: human(f.bytes_saved) }),
          el("span", { class: "rule", text: f.id + " " + f.rule }),
          el("span", { class: "title", text: f.title })),
        body);
      list.append(li);
    }
    return section("Findings", el("p", { class: "muted", text: "Largest saving first; together " + human(a.totals.reclaimable_bytes) + " (overlaps counted once). Select one to see its files in the treemap." }), list);
  }

  function unusedSection(a) {
    const rows = a.unused_packages.map((u) => ({ cells: [
      u.name + (u.version ? " " + u.version : ""), human(u.bytes), human(u.total_bytes), u.confidence,
      u.pulls_in.join(", "), u.required_by.length ? u.required_by.join(", ") : "(installed for its own sake)", "layer " + u.layer] }));
    const app = a.app;
    const intro = app && app.found
      ? "The app (" + app.roots.join(", ") + ": " + app.files + " files, " + app.imports + " imports) reaches " + app.direct.length + " distributions directly; nothing in it reaches these."
      : "";
    return section("Packages nothing imports",
      el("p", { class: "muted", text: intro + " `slim why PACKAGE IMAGE` prints each chain." }),
      table(["package", "own size", "with what only it pulls in", "confidence", "pulls in", "required by", "installed in"], rows, [1, 2]));
  }

  function ownersSection(a) {
    const top = a.owners.slice(0, 25);
    const rows = top.map((o) => ({ cells: [o.kind, o.name + (o.unrecorded ? " (unrecorded files)" : ""), o.version || "", human(o.bytes), o.files, pct(o.bytes, a.totals.final_bytes), o.group || ""] }));
    if (a.owners.length > top.length) {
      const rest = a.owners.slice(top.length);
      rows.push({ cls: "muted", cells: ["", "and " + rest.length + " more owners", "", human(rest.reduce((s, o) => s + o.bytes, 0)), rest.reduce((s, o) => s + o.files, 0), "", ""] });
    }
    rows.push({ cls: "total", cells: ["", "total", "", human(a.owners.reduce((s, o) => s + o.bytes, 0)), a.owners.reduce((s, o) => s + o.files, 0), "", ""] });
    return section("Owners", table(["kind", "name", "version", "size", "files", "share", "group"], rows, [3, 4, 5]));
  }

  // ---- check --------------------------------------------------------------------------------
  function checkPage(c, a) {
    const failed = c.checks.filter((x) => !x.passed).length;
    const n = c.checks.length;
    const verdict = el("div", { class: "verdict " + (c.passed ? "pass" : "fail"), role: "status" },
      el("strong", { text: c.passed ? "PASSED" : "FAILED" }),
      " " + (c.passed ? n + " of " + n + " checks passed" : failed + " of " + n + " checks failed"));
    const rows = c.checks.map((x) => ({ cls: x.passed ? "pass" : "fail", cells: [x.passed ? "PASS" : "FAIL", checkName(x), x.limit_text, x.measured_text, x.message] }));
    const where = c.checks.filter((x) => !x.passed && x.contributors.length).map((x) =>
      el("div", {}, el("h3", { text: "Where to look: " + checkName(x) }),
        table(["size", "what", ""], x.contributors.map((k) => ({ cells: [human(k.bytes), contributorLabel(k), k.note || ""] })), [0])));
    return [header(c.image, "check"), verdict, section("Checks", table(["result", "check", "limit", "measured", ""], rows, [2, 3]), where), ...analysisSections(a)];
  }
  function checkName(x) { return x.subject ? x.key + " " + x.subject : x.key; }
  function contributorLabel(k) { return k.kind === "layer" ? k.name : k.kind + " " + k.name; }

  // ---- diff ---------------------------------------------------------------------------------
  function diffPage(d) {
    const b = d.before, a = d.after;
    const side = (s) => s.image.source + " (" + (s.image.reference || "untagged") + ")";
    const totals = [["final filesystem", "final_bytes", true], ["in layers", "layer_file_bytes", true], ["hidden by later layers", "wasted_bytes", true], ["compressed", "compressed_bytes", true], ["layers", "layers", false], ["final files", "final_files", false]]
      .map(([label, k, bytes]) => ({ cells: [label, bytes ? human(b.totals[k]) : b.totals[k], bytes ? human(a.totals[k]) : a.totals[k],
        bytes ? signed(a.totals[k] - b.totals[k]) : (a.totals[k] - b.totals[k] >= 0 ? "+" : "") + (a.totals[k] - b.totals[k])] }));
    const max = Math.max(1, ...d.owners.map((o) => Math.max(o.before_bytes || 0, o.after_bytes || 0)), ...d.layers.map((l) => Math.max(l.before_bytes || 0, l.after_bytes || 0)));
    const pair = (label, title, before, after, delta, change) => el("div", { class: "pair " + change, role: "row" },
      el("span", { class: "plabel", role: "cell", title: title || null, text: label }),
      el("span", { class: "pbefore", role: "cell" }, barOf(before, max, "left"), el("span", { class: "num", text: before === null ? "-" : human(before) })),
      el("span", { class: "pafter", role: "cell" }, barOf(after, max, "right"), el("span", { class: "num", text: after === null ? "-" : human(after) })),
      el("span", { class: "num pdelta", role: "cell", text: signed(delta) + " " + change }));
    const head = () => el("div", { class: "pair head", role: "row" }, el("span", { role: "columnheader", text: "" }), el("span", { role: "columnheader", class: "pbefore", text: "before" }), el("span", { role: "columnheader", class: "pafter", text: "after" }), el("span", { role: "columnheader", class: "num", text: "change" }));
    const owners = d.owners.map((o) => pair(o.kind + " " + o.name + (o.version_before !== o.version_after && o.version_before && o.version_after ? " " + o.version_before + " → " + o.version_after : ""), o.location, o.before_bytes ?? null, o.after_bytes ?? null, o.delta, o.change));
    const layers = d.layers.map((l) => pair((l.before_index ?? "-") + " → " + (l.after_index ?? "-") + "  " + shortStep(l.created_by, 60), l.created_by, l.before_bytes ?? null, l.after_bytes ?? null, l.delta, l.change));
    const groups = d.groups.map((g) => pair(g.name, null, g.before_bytes ?? null, g.after_bytes ?? null, g.delta, g.change));
    const counts = (c) => d.owners.filter((o) => o.change === c).length;
    return [
      el("header", {}, el("h1", {}, el("span", { class: "brand", text: "slim diff " }), el("span", { text: side(b) + " → " + side(a) }))),
      el("div", { class: "stats" },
        stat("final filesystem", signed(a.totals.final_bytes - b.totals.final_bytes), human(b.totals.final_bytes) + " → " + human(a.totals.final_bytes)),
        stat("owners grew / shrank", counts("grew") + " / " + counts("shrank")),
        stat("owners appeared / vanished", counts("appeared") + " / " + counts("vanished"))),
      section("Totals", table(["", "before", "after", "change"], totals, [1, 2, 3])),
      section("Owners: " + d.owners.length + " changed, " + d.unchanged_owners + " unchanged", el("div", { class: "pairs", role: "table", "aria-label": "Owners before and after" }, head(), owners)),
      section("Layers (file bytes)", el("div", { class: "pairs", role: "table", "aria-label": "Layers before and after" }, head(), layers)),
      d.groups.length ? section("Groups: " + d.groups.length + " changed, " + d.unchanged_groups + " unchanged", el("div", { class: "pairs", role: "table" }, head(), groups)) : null,
    ];
  }
  function barOf(v, max, dir) {
    const b = el("span", { class: "dbar " + dir });
    b.style.width = (v ? v / max * 100 : 0) + "%";
    return el("span", { class: "dtrack " + dir }, b);
  }

  // ---- rewrite ------------------------------------------------------------------------------
  function rewritePage(r) {
    const max = Math.max(1, r.before_bytes, r.predicted_after_bytes);
    const bar = (label, v) => el("div", { class: "pair" }, el("span", { class: "plabel", text: label }), el("span", { class: "pafter" }, barOf(v, max, "right"), el("span", { class: "num", text: human(v) })));
    return [
      el("header", {}, el("h1", {}, el("span", { class: "brand", text: "slim rewrite " }), el("span", { text: r.image })),
        el("p", { class: "meta", text: r.reconstructed ? "Dockerfile reconstructed from the image history: check its FROM line and COPY sources" : "Dockerfile: " + r.dockerfile })),
      section("Before and after (predicted)", el("div", { class: "pairs" }, bar("before (measured)", r.before_bytes), bar("after (predicted)", r.predicted_after_bytes)),
        el("p", { text: "Predicted change: " + signed(r.predicted_after_bytes - r.before_bytes) })),
      section("Changes", table(["could save", "finding", "", "applied", "what"], r.changes.map((c) => ({ cls: c.applied ? "" : "muted", cells: [human(c.bytes_saved), c.finding_id + " " + c.rule, c.title, c.applied ? "yes" : "no", c.what] })), [0])),
      r.diff ? section("Dockerfile diff", el("pre", { class: "diff", text: r.diff })) : null,
    ];
  }

  // ---- boot ---------------------------------------------------------------------------------
  let parts;
  if (DATA.kind === "analyze") parts = [header(DATA.analysis.image, "analyze"), ...analysisSections(DATA.analysis)];
  else if (DATA.kind === "check") parts = checkPage(DATA.check, DATA.analysis);
  else if (DATA.kind === "diff") parts = diffPage(DATA.diff);
  else parts = rewritePage(DATA.rewrite);
  app.replaceChildren(...parts.filter(Boolean));
  for (const m of app.querySelectorAll("section")) m.setAttribute("aria-label", m.querySelector("h2").textContent);
  // Drawn once in the document, when the box has its size.
  for (const m of MAPS) m.draw();
  window.addEventListener("beforeprint", () => app.querySelectorAll("details").forEach((d) => { d.open = true; }));
  document.documentElement.dataset.ready = "true";
})();
