// Heartbeats UI enhancements. Every page works without this file; it only adds the live
// services and hosts lists (and a host's live values), search as you type, the schedule
// preview and copy buttons.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // --- live lists (services, hosts) and the host page's values -------------------------------------------------------------
  function liveList() {
    const live = document.getElementById("live");
    if (!live) return;
    const note = document.querySelector(".live-note");
    const state = document.getElementById("live-state");
    const okText = state ? state.textContent : "";
    let etag = live.dataset.etag || null;
    let last = null;
    let busy = false;
    let seq = 0;

    // Row links by their address, and each row's status, to compare before and after.
    function statuses() {
      const out = new Map();
      for (const row of live.querySelectorAll("tr[class^='row-']")) {
        const link = row.querySelector("a.svc");
        if (link) out.set(link.getAttribute("href"), { name: link.textContent, status: row.className.slice(4), label: (row.querySelector(".badge") || {}).textContent || "" });
      }
      return out;
    }

    // Swap in new rows without losing the keyboard's place, and tell screen readers,
    // politely, which services changed status.
    function pageStatus() {
      const card = live.querySelector("[data-status]");
      return card ? { status: card.dataset.status, label: card.dataset.statusLabel || "" } : null;
    }

    function swap(html) {
      const focused = live.contains(document.activeElement) ? document.activeElement : null;
      const focusHref = focused && focused.getAttribute("href");
      // A details element the reader opened (a host's GPUs) stays open.
      const focusKey = focused && focused.closest("details[data-key]");
      const open = new Set([...live.querySelectorAll("details[data-key][open]")].map((d) => d.dataset.key));
      const before = statuses();
      const was = pageStatus();
      live.innerHTML = html;
      for (const d of live.querySelectorAll("details[data-key]")) {
        if (open.has(d.dataset.key)) d.open = true;
      }
      utcOnTap(live);
      if (focusKey && !focusHref) {
        const again = live.querySelector('details[data-key="' + CSS.escape(focusKey.dataset.key) + '"] > summary');
        if (again) again.focus({ preventScroll: true });
      }
      if (focusHref) {
        const again = [...live.querySelectorAll("a[href]")].find((a) => a.getAttribute("href") === focusHref);
        if (again) again.focus({ preventScroll: true });
      }
      const changed = [];
      for (const [href, now] of statuses()) {
        const was = before.get(href);
        if (was && was.status !== now.status) changed.push(now.name + ": " + now.label);
      }
      const now = pageStatus();
      if (was && now && was.status !== now.status) changed.push(now.label);
      const announce = document.getElementById("live-announce");
      if (announce && changed.length) announce.textContent = changed.join("; ");
    }

    function setStale(stale) {
      if (!note) return;
      note.classList.add("on");
      note.classList.toggle("stale", stale);
      if (state) state.textContent = stale ? live.dataset.livePaused : okText;
    }

    async function refresh(force) {
      if ((busy && !force) || document.visibilityState === "hidden") return;
      busy = true;
      const mine = ++seq;
      try {
        // We send the version of the rows we show (the page came with its own); the
        // server answers 304 when nothing changed, and the browser hands that to us.
        const src = live.dataset.src;
        const headers = { Accept: "text/html" };
        if (etag) headers["If-None-Match"] = etag;
        const res = await fetch(src, { credentials: "same-origin", headers, cache: "no-store" });
        if (res.status === 401) {
          window.location.reload();
          return;
        }
        if (mine !== seq) return; // a newer request (a new search) is under way
        if (res.status === 304) {
          setStale(false);
          return;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        const html = await res.text();
        if (mine !== seq) return;
        etag = res.headers.get("ETag") || null;
        if (html !== last) {
          swap(html);
          last = html;
          // "(3 down) Services · Heartbeats": the title follows the counts.
          const tabs = live.querySelector("[data-title-prefix]");
          if (tabs && live.dataset.baseTitle) {
            document.title = tabs.dataset.titlePrefix + live.dataset.baseTitle;
          }
        }
        setStale(false);
      } catch (e) {
        setStale(true);
      } finally {
        if (mine === seq) busy = false;
      }
    }

    setInterval(refresh, 5000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refresh();
    });
    // No fetch at load: the page came with its rows; the first refresh is due in 5 s.

    // Search as you type, keeping the address bar in step so a reload keeps the search.
    const q = document.getElementById("q");
    const form = document.getElementById("search-form");
    if (q && form) {
      const update = debounce(function () {
        const params = new URLSearchParams(new FormData(form));
        if (!params.get("q")) params.delete("q");
        const qs = params.toString();
        // The rows' address and the page's: the services list's, or the hosts'.
        const rows = live.dataset.rows || "/ui/rows";
        const pagePath = form.getAttribute("action") || "/";
        live.dataset.src = rows + (qs ? "?" + qs : "");
        history.replaceState(null, "", pagePath + (qs ? "?" + qs : ""));
        refresh(true);
      }, 250);
      q.addEventListener("input", update);
    }
  }

  // --- UTC on touch screens -------------------------------------------------------------
  // Times show local time with UTC in their title, which only a mouse can hover: a tap
  // (or Enter) swaps the two.
  function utcOnTap(root) {
    for (const t of (root || document).querySelectorAll("time[title]:not([data-swap])")) {
      t.dataset.swap = "1";
      t.tabIndex = 0;
      t.classList.add("swappable");
      const swap = function () {
        const shown = t.textContent;
        t.textContent = t.title;
        t.title = shown;
      };
      t.addEventListener("click", swap);
      t.addEventListener("keydown", function (e) {
        if (e.key === "Enter") swap();
      });
    }
  }

  // --- long reported data ----------------------------------------------------------------
  // A ping's data scrolls inside its box past 12 lines or so; a box that scrolls takes
  // keyboard focus so that it can be scrolled without a mouse (short ones stay out of the
  // tab order).
  function scrollableData() {
    for (const pre of document.querySelectorAll("pre.data")) {
      const scrolls = pre.scrollHeight > pre.clientHeight + 1 || pre.scrollWidth > pre.clientWidth + 1;
      if (scrolls) pre.tabIndex = 0;
      else pre.removeAttribute("tabindex");
    }
  }

  // --- schedule preview on the service form --------------------------------------------
  function preview() {
    const form = document.getElementById("svc-form");
    const box = document.getElementById("preview");
    if (!form || !box) return;
    const names = ["kind", "period", "period_unit", "at", "cron", "timezone"];
    let seq = 0;

    function render(data) {
      box.textContent = "";
      const p = document.createElement("p");
      p.className = "preview-summary" + (data.ok ? "" : " error");
      p.textContent = data.ok ? data.summary : data.summary + ": " + (data.error || "");
      box.appendChild(p);
      if (data.times && data.times.length) {
        const ol = document.createElement("ol");
        ol.className = "times";
        data.times.forEach(function (t) {
          const li = document.createElement("li");
          const span = document.createElement("span");
          span.textContent = t.local;
          const small = document.createElement("small");
          small.className = "muted";
          small.textContent = t.utc;
          li.appendChild(span);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(small);
          ol.appendChild(li);
        });
        box.appendChild(ol);
      }
    }

    const update = debounce(async function () {
      const data = new FormData(form);
      const params = new URLSearchParams();
      names.forEach(function (n) {
        const v = data.get(n);
        if (v !== null) params.set(n, v);
      });
      const mine = ++seq;
      try {
        const res = await fetch("/ui/preview?" + params.toString(), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!res.ok) return;
        const json = await res.json();
        if (mine === seq) render(json);
      } catch (e) {
        /* keep the last preview */
      }
    }, 250);

    names.forEach(function (n) {
      form.querySelectorAll('[name="' + n + '"]').forEach(function (el) {
        el.addEventListener("input", update);
        el.addEventListener("change", update);
      });
    });
  }

  // --- copy buttons --------------------------------------------------------------------
  function copyButtons() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (btn) {
      btn.hidden = false;
      const label = btn.textContent;
      btn.addEventListener("click", async function () {
        const target = document.getElementById(btn.dataset.copy);
        if (!target) return;
        const text = target.innerText.replace(/\n$/, "");
        let ok = false;
        try {
          if (navigator.clipboard && window.isSecureContext) {
            await navigator.clipboard.writeText(text);
            ok = true;
          }
        } catch (e) {
          ok = false;
        }
        if (!ok) {
          // Plain-http LAN installs have no clipboard API: select and copy the old way.
          const ta = document.createElement("textarea");
          ta.value = text;
          ta.setAttribute("readonly", "");
          ta.style.position = "fixed";
          ta.style.opacity = "0";
          document.body.appendChild(ta);
          ta.select();
          try {
            ok = document.execCommand("copy");
          } catch (e) {
            ok = false;
          }
          document.body.removeChild(ta);
        }
        if (ok) {
          btn.textContent = btn.dataset.copied || label;
          setTimeout(function () {
            btn.textContent = label;
          }, 1500);
        }
      });
    });
  }

  function init() {
    liveList();
    preview();
    copyButtons();
    utcOnTap();
    scrollableData();
    window.addEventListener("resize", debounce(scrollableData, 200));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

// After a refused form, take the keyboard and the screen reader to the list of problems;
// each item links to its field.
(() => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();

// The channel form: show only the fields the chosen kind uses (without the script, every
// field shows and the server drops what the kind does not use).
(() => {
  const kind = document.querySelector("select[data-channel-kind]");
  if (!kind) return;
  const show = () => {
    for (const field of document.querySelectorAll("[data-kinds]")) {
      field.hidden = !field.dataset.kinds.split(" ").includes(kind.value);
    }
  };
  kind.addEventListener("change", show);
  show();
})();

// The service form: the slug's placeholder follows the name (the slug the server makes
// when the field is left empty: ASCII letters and digits, other runs of characters one '-').
(() => {
  const name = document.getElementById("name");
  const slug = document.getElementById("slug");
  if (!name || !slug) return;
  const fallback = slug.dataset.fallback || slug.placeholder;
  const update = () => {
    const made = name.value
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 100)
      .replace(/-+$/, "");
    slug.placeholder = made || fallback;
  };
  name.addEventListener("input", update);
})();
