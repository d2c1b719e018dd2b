// Site search: loads /search-index.json and finds the pages that contain every word of the
// query as a substring, so Chinese terms such as 入职 need no word segmentation.
// The same rules are in site/src/search.rs, which the tests use.
(function (root) {
  "use strict";

  /** Lower-cases and splits a query into terms (full-width letters become ASCII). */
  function terms(query) {
    var text = String(query || "");
    if (text.normalize) text = text.normalize("NFKC");
    return text.toLowerCase().split(/\s+/).filter(function (t) { return t.length > 0; });
  }

  function count(haystack, needle) {
    var n = 0;
    var at = haystack.indexOf(needle);
    while (at !== -1) {
      n += 1;
      at = haystack.indexOf(needle, at + needle.length);
    }
    return n;
  }

  /** Returns the documents containing every term, best first. */
  function search(index, query) {
    var words = terms(query);
    if (words.length === 0) return [];
    var hits = [];
    index.docs.forEach(function (doc) {
      var title = doc.t.toLowerCase();
      var all = title + "\n" + doc.d.toLowerCase() + "\n" + doc.b.toLowerCase();
      for (var i = 0; i < words.length; i++) {
        if (all.indexOf(words[i]) === -1) return;
      }
      var score = 0;
      words.forEach(function (w) { score += count(all, w) + 10 * count(title, w); });
      hits.push({ score: score, doc: doc });
    });
    hits.sort(function (a, b) {
      return b.score - a.score || (a.doc.u < b.doc.u ? -1 : a.doc.u > b.doc.u ? 1 : 0);
    });
    return hits.map(function (h) { return h.doc; });
  }

  /** A piece of text around the first match, about 60 characters. */
  function snippet(doc, query) {
    var words = terms(query);
    var body = doc.b || doc.d || "";
    var lower = body.toLowerCase();
    var at = -1;
    for (var i = 0; i < words.length && at === -1; i++) at = lower.indexOf(words[i]);
    if (at === -1) return body.slice(0, 60);
    var start = Math.max(0, at - 20);
    return (start > 0 ? "…" : "") + body.slice(start, start + 60) + (start + 60 < body.length ? "…" : "");
  }

  /** Appends `text` to `parent`, with each term wrapped in <mark>. */
  function appendMarked(parent, text, words) {
    var lower = text.toLowerCase();
    var pos = 0;
    while (pos < text.length) {
      var next = -1;
      var len = 0;
      words.forEach(function (w) {
        var at = lower.indexOf(w, pos);
        if (at !== -1 && (next === -1 || at < next)) { next = at; len = w.length; }
      });
      if (next === -1) break;
      parent.appendChild(document.createTextNode(text.slice(pos, next)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(next, next + len);
      parent.appendChild(mark);
      pos = next + len;
    }
    parent.appendChild(document.createTextNode(text.slice(pos)));
  }

  function render(results, query, box, status) {
    box.textContent = "";
    var words = terms(query);
    if (words.length === 0) { status.textContent = ""; return; }
    status.textContent = results.length
      ? "找到 " + results.length + " 个相关页面"
      : "没有找到包含“" + query.trim() + "”的页面。请换个说法，或拨打 12333 咨询。";
    var list = document.createElement("ol");
    list.className = "search-results";
    results.forEach(function (doc) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = doc.u;
      appendMarked(link, doc.t || doc.u, words);
      var heading = document.createElement("h2");
      heading.appendChild(link);
      var text = document.createElement("p");
      appendMarked(text, snippet(doc, query), words);
      item.appendChild(heading);
      item.appendChild(text);
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function start() {
    var form = document.getElementById("search-form");
    var input = document.getElementById("search-q");
    var box = document.getElementById("search-results");
    if (!form || !input || !box) return;
    var status = document.getElementById("search-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "search-status";
      status.setAttribute("role", "status");
      box.parentNode.insertBefore(status, box);
    }
    var fallback = document.getElementById("search-nojs");
    if (fallback) fallback.hidden = true;
    var indexUrl = form.getAttribute("data-index") || "/search-index.json";
    var loaded = null;
    function load() {
      if (!loaded) {
        loaded = fetch(indexUrl).then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.json();
        });
      }
      return loaded;
    }
    function run(query) {
      load().then(function (index) {
        render(search(index, query), query, box, status);
      }, function () {
        status.textContent = "搜索暂时不可用，请使用网站导航或拨打 12333。";
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = input.value;
      if (window.history && history.replaceState) {
        history.replaceState(null, "", "?q=" + encodeURIComponent(query));
      }
      run(query);
    });
    var initial = new URLSearchParams(location.search).get("q");
    if (initial) {
      input.value = initial;
      run(initial);
    }
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = { search: search, terms: terms, snippet: snippet };
  } else {
    root.beianSearch = { search: search };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
})(this);
