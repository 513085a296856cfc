// The hosts pages in a real browser against the real server: add a host through the form
// (a refused form first takes focus to its error summary), push reports through the
// documented API (`POST /api/v1/hosts/reports`), watch the overview change live without
// a reload or losing the keyboard's place, open the host's charts and switch their range,
// adopt a reporting name from the unmanaged inbox, read a phone's cards without sideways
// scrolling, and switch to Chinese. Saves screenshots of the overview and a host page
// (desktop and phone) to docs/screenshots/.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, REPO, startBrowser, startServer } from "./lib.js";

const SHOTS = process.env.HB_SCREENSHOT_DIR || path.join(REPO, "docs", "screenshots");
const GIB = 1024 ** 3;

/** The hosts API, as a script or hb-agent uses it (HTTP Basic). */
function hostsApi(base) {
  const auth = "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64");
  async function call(method, url, body) {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return {
    createHost: (body) => call("POST", "/api/v1/hosts", body),
    report: (body) => call("POST", "/api/v1/hosts/reports", body),
    hosts: () => call("GET", "/api/v1/hosts"),
  };
}

/** A report with values of every kind; `at` backdates it. */
function snapshot(name, { cpu = 30, mem = 40, data = 60, gpus = [], at, units } = {}) {
  const r = {
    name,
    cpu_pct: cpu,
    load1: cpu / 20,
    load5: cpu / 25,
    load15: cpu / 30,
    cores: 32,
    mem_used_bytes: Math.round((mem / 100) * 128 * GIB),
    mem_total_bytes: 128 * GIB,
    swap_used_bytes: GIB / 2,
    swap_total_bytes: 16 * GIB,
    disks: [
      { mount: "/", used_bytes: 60 * GIB, total_bytes: 200 * GIB },
      { mount: "/data", used_bytes: Math.round((data / 100) * 8000 * GIB), total_bytes: 8000 * GIB },
    ],
    processes: {
      top_cpu: [
        { pid: 4242, user: "alice", cpu_pct: cpu * 0.8, mem_pct: 9.5, rss_bytes: 12 * GIB, command: "python train.py --model llama --epochs 40" },
        { pid: 812, user: "root", cpu_pct: 1.2, mem_pct: 0.3, rss_bytes: 90 * 1024 ** 2, command: "nginx: master process /usr/sbin/nginx" },
      ],
      top_mem: [{ pid: 4242, user: "alice", cpu_pct: cpu * 0.8, mem_pct: 9.5, rss_bytes: 12 * GIB, command: "python train.py --model llama --epochs 40" }],
    },
  };
  if (gpus.length) {
    r.gpus = gpus.map(([util, memPct], index) => ({
      index,
      name: "NVIDIA A100-SXM4-40GB",
      util_pct: util,
      mem_used_mb: Math.round((memPct / 100) * 40960),
      mem_total_mb: 40960,
      temp_c: 38 + util / 3,
      power_w: 70 + util * 3,
    }));
  }
  if (units) r.units = units;
  if (at) r.at = at.toISOString();
  return r;
}

describe("Heartbeats hosts pages", { timeout: 240_000 }, () => {
  let server;
  let browser;
  let page;
  let api;
  let created; // the id of the host made through the form

  async function shot(name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function rowNames() {
    return page.locator("table.hosts tbody a.svc").allTextContents();
  }

  async function noSidewaysScroll() {
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= width, `the page scrolls sideways: ${scroll} > ${width}`);
  }

  before(async () => {
    server = await startServer();
    api = hostsApi(server.base);
    browser = await startBrowser();
    page = browser.context.pages()[0] || (await browser.context.newPage());
    // A small fleet: GPU boxes, a database, a web server with a failed unit, a NAS.
    const fleet = [
      { name: "gpu-01", address: "10.0.0.11", tags: ["gpu", "room:725"] },
      { name: "gpu-02", address: "10.0.0.12", tags: ["gpu", "room:725"] },
      { name: "db-01", address: "10.0.0.21", tags: ["db", "room:725"] },
      { name: "web-01", address: "10.0.0.31", tags: ["web"], checks: { units: ["nginx.service"] } },
      { name: "nas-01", address: "10.0.0.51", tags: ["storage", "room:726"] },
      { name: "build-01", address: "10.0.0.41", tags: ["ci"] },
    ];
    // Reports are expected hourly, so the backdated hour below does not count as silence.
    for (const h of fleet) await api.createHost({ ...h, notify: ["ops@example.com"], interval: 3600 });
    // An hour of history, a report a minute, for the charts.
    const now = Date.now();
    for (let m = 60; m >= 1; m--) {
      const at = new Date(now - m * 60_000);
      const wave = (base, amp, phase = 0) => Math.max(0, Math.min(100, base + amp * Math.sin((m + phase) / 7)));
      await api.report({
        reports: [
          snapshot("gpu-01", { at, cpu: wave(55, 25), mem: wave(60, 10), data: 70 + (60 - m) / 3, gpus: [[wave(80, 18), wave(70, 15)], [wave(45, 40, 3), wave(40, 20, 3)], [wave(20, 15, 6), 15], [wave(65, 30, 9), wave(50, 25, 9)]] }),
          snapshot("gpu-02", { at, cpu: wave(15, 8), mem: 22, gpus: [[wave(5, 4), 3], [wave(3, 2), 2]] }),
          snapshot("db-01", { at, cpu: wave(62, 12), mem: 78, data: 71 }),
          snapshot("nas-01", { at, cpu: 3, mem: 18, data: 64 }),
        ],
      });
    }
    await api.report({
      reports: [
        snapshot("gpu-01", { cpu: 61, mem: 62, data: 93, gpus: [[98, 93], [12, 5], [55, 49], [0, 0]] }),
        snapshot("gpu-02", { cpu: 16, mem: 22, gpus: [[3, 1], [1, 1]] }),
        snapshot("db-01", { cpu: 72, mem: 78, data: 71 }),
        snapshot("web-01", { cpu: 6, mem: 35, data: 22, units: [{ name: "nginx.service", active_state: "failed", sub_state: "failed" }, { name: "ssh.service", active_state: "active", sub_state: "running" }] }),
        snapshot("nas-01", { cpu: 3, mem: 18, data: 64 }),
        { name: "build-01", error: "ssh: connect to host 10.0.0.41 port 22: Connection refused" },
        snapshot("lab-pc-7", { cpu: 20 }),
      ],
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
  });

  it("signs in and lists the fleet, what is broken first", async () => {
    await page.goto(`${server.base}/hosts`);
    await page.getByLabel("User name").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.base}/hosts`);
    assert.equal(await page.locator("h1").textContent(), "Hosts");
    assert.equal(await page.locator("nav.nav a", { hasText: "Hosts" }).getAttribute("aria-current"), "page");
    const names = await rowNames();
    assert.deepEqual(names.slice(0, 3), ["build-01", "gpu-01", "web-01"]);
    const down = page.locator("tr", { has: page.locator("a.svc", { hasText: "build-01" }) });
    assert.match(await down.locator(".why").textContent(), /Connection refused/);
    const web = page.locator("tr", { has: page.locator("a.svc", { hasText: "web-01" }) });
    assert.match(await web.locator(".c-units").textContent(), /nginx\.service/);
    assert.equal(await page.title(), "(1 down) Hosts · Heartbeats");
    await page.getByText("1 host reports but is not configured.").waitFor();
    // The GPUs fold out per GPU, without a script's help.
    const gpu = page.locator("tr", { has: page.locator("a.svc", { hasText: "gpu-01" }) });
    await gpu.locator("details.gpus summary").click();
    assert.match(await gpu.locator(".gpu-list").textContent(), /GPU3 NVIDIA A100-SXM4-40GB · 0%/);
  });

  it("finds hosts by tags, as the search box types", async () => {
    await page.getByLabel("Search", { exact: true }).fill("gpu, room:725");
    await page.waitForFunction(() => [...document.querySelectorAll("table.hosts a.svc")].map((a) => a.textContent).join("|") === "gpu-01|gpu-02");
    assert.match(page.url(), /\/hosts\?q=gpu%2C\+?room%3A725/);
    await page.goto(`${server.base}/hosts?q=nosuchtag`);
    await page.getByText("No host matches this search.").waitFor();
  });

  it("refuses a form with focus on its error summary, then adds the host", async () => {
    await page.goto(`${server.base}/hosts`);
    await page.getByRole("link", { name: "Add host" }).click();
    await page.waitForURL(`${server.base}/hosts/new`);
    await page.getByLabel("Name", { exact: true }).fill("e2e-gpu");
    await page.getByLabel("Address", { exact: true }).fill("not an address!");
    await page.getByLabel("CPU", { exact: true }).fill("lots");
    await page.getByRole("button", { name: "Add host" }).click();
    await page.locator("#error-summary").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), "error-summary");
    const links = await page.locator("#error-summary a").allTextContents();
    assert.deepEqual(links, ["must be a host name or IP address, optionally with :port", "must be between 0 and 100"]);
    await page.locator("#error-summary a").nth(1).click();
    assert.equal(await page.evaluate(() => location.hash), "#cpu_pct");
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "e2e-gpu");

    await page.getByLabel("Address", { exact: true }).fill("10.0.0.99");
    await page.getByLabel("CPU", { exact: true }).fill("85");
    await page.getByLabel("Tags", { exact: true }).fill("gpu, e2e");
    await page.getByLabel("Notify", { exact: true }).fill("ops@example.com");
    await page.getByLabel("Watched systemd units").fill("nginx.service");
    await page.getByRole("button", { name: "Add host" }).click();
    await page.waitForURL(/\/hosts\/[A-Za-z0-9]+$/);
    created = new URL(page.url()).pathname.split("/").pop();
    await page.getByText("Host added. It is new until its first report arrives.").waitFor();
    assert.match(await page.locator("h1").textContent(), /New\s+e2e-gpu/);
    assert.match(await page.locator("#checks-h + dl").textContent(), /> 85% for 5 min/);
  });

  it("sees its first report live on the overview, keeping the keyboard's place", async () => {
    await page.goto(`${server.base}/hosts?q=e2e`);
    await page.evaluate(() => {
      window.__noReload = true;
    });
    const row = page.locator("tr", { has: page.locator("a.svc", { hasText: "e2e-gpu" }) });
    assert.equal(await row.locator(".badge").textContent(), "New");
    await page.locator("a.svc", { hasText: "e2e-gpu" }).focus();
    // The documented report API, as any script may send it.
    await api.report(snapshot("e2e-gpu", { cpu: 97, mem: 41, data: 52, gpus: [[91, 60]], units: [{ name: "nginx.service", active_state: "active", sub_state: "running" }] }));
    await page.waitForFunction(
      () => {
        const a = [...document.querySelectorAll("table.hosts a.svc")].find((x) => x.textContent === "e2e-gpu");
        return a && a.closest("tr").querySelector(".badge").textContent === "Up";
      },
      null,
      { timeout: 30_000, polling: 250 },
    );
    assert.equal(await page.evaluate(() => window.__noReload), true, "the page was not reloaded");
    assert.match(await row.locator(".c-cpu").textContent(), /97%/);
    // Over its threshold (85 %), said in more than colour.
    assert.match(await row.locator(".c-cpu").textContent(), /over its threshold/);
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.textContent), "e2e-gpu");
    assert.match(await page.locator("#live-announce").textContent(), /e2e-gpu: Up/);
  });

  it("opens the host's charts and switches their range", async () => {
    await page.goto(`${server.base}/hosts`);
    await page.locator("a.svc", { hasText: "gpu-01" }).click();
    await page.waitForURL(/\/hosts\/[A-Za-z0-9]+$/);
    await page.locator("#charts").scrollIntoViewIfNeeded();
    const cpu = page.locator("#chart-cpu svg.chart");
    await cpu.waitFor();
    assert.equal(await page.locator("#chart-cpu title").textContent(), "CPU over 24 h");
    assert.match(await page.locator("#chart-cpu desc").textContent(), /^CPU: avg \d+%, max \d+% \(UTC\+8\)$/);
    assert.ok((await page.locator("#chart-cpu path.line").count()) >= 1);
    assert.equal(await page.locator("#chart-gpu-util path.line").count(), 4, "a line per GPU");
    assert.match(await page.locator("#chart-gpu-util .legend").textContent(), /GPU3: avg/);
    // Time labels are in the server's zone, said once.
    assert.equal(await page.locator("#chart-cpu .zone").textContent(), "UTC+8");
    await page.getByRole("link", { name: "1 h", exact: true }).click();
    await page.waitForURL(/range=1h/);
    await shot("host");
    assert.equal(await page.locator("#chart-cpu title").textContent(), "CPU over 1 h");
    assert.equal(await page.getByRole("link", { name: "1 h", exact: true }).getAttribute("aria-current"), "page");
    // The live values and the processes are there too; the processes fold.
    assert.match(await page.locator("#now").textContent(), /GPU3 · NVIDIA A100-SXM4-40GB/);
    await page.locator("details.fold summary").click();
    assert.match(await page.locator("details.fold").textContent(), /python train\.py/);
  });

  it("adopts a reporting name from the unmanaged inbox", async () => {
    await page.goto(`${server.base}/hosts`);
    await page.getByRole("link", { name: "Review them" }).click();
    await page.waitForURL(`${server.base}/hosts/inbox`);
    await page.getByRole("button", { name: "Adopt lab-pc-7" }).click();
    await page.waitForURL(/\/hosts\/[A-Za-z0-9]+$/);
    await page.getByText("Adopted with the defaults for new hosts.").waitFor();
    assert.match(await page.locator("h1").textContent(), /lab-pc-7/);
    assert.ok((await api.hosts()).some((h) => h.name === "lab-pc-7"));
  });

  it("reads as cards on a phone, without sideways scrolling", async () => {
    await page.goto(`${server.base}/hosts`);
    await shot("hosts");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.base}/hosts`);
    await noSidewaysScroll();
    const card = page.locator("tr", { has: page.locator("a.svc", { hasText: "gpu-01" }) });
    assert.equal(await card.evaluate((tr) => getComputedStyle(tr).display), "grid");
    const box = await card.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
    await shot("hosts-phone");
    const id = (await api.hosts()).find((h) => h.name === "gpu-01").id;
    await page.goto(`${server.base}/hosts/${id}?range=1h`);
    await noSidewaysScroll();
    await shot("host-phone");
    await page.goto(`${server.base}/hosts/${created}/edit`);
    await noSidewaysScroll();
    await page.goto(`${server.base}/events`);
    await noSidewaysScroll();
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("pauses, and deletes after a confirmation", async () => {
    await page.goto(`${server.base}/hosts/${created}`);
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByText("Paused. No checks and no alerts until it is resumed.").waitFor();
    assert.match(await page.locator("h1 .badge").textContent(), /Paused/);
    await page.getByRole("link", { name: "Delete" }).click();
    await page.getByRole("heading", { name: "Delete this host?" }).waitFor();
    await page.getByRole("button", { name: "Delete for good" }).click();
    await page.waitForURL(`${server.base}/hosts`);
    await page.getByText("Deleted “e2e-gpu”.").waitFor();
    assert.ok(!(await rowNames()).includes("e2e-gpu"));
  });

  it("switches to Chinese", async () => {
    await page.goto(`${server.base}/hosts`);
    await page.getByRole("link", { name: "中文" }).click();
    await page.waitForURL(`${server.base}/hosts`);
    assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
    assert.equal(await page.locator("h1").textContent(), "主机");
    assert.match(await page.locator(".tabs").first().textContent(), /故障\s+1/);
    await page.locator("a.svc", { hasText: "gpu-01" }).click();
    await page.waitForURL(/\/hosts\/[A-Za-z0-9]+$/);
    assert.equal(await page.locator("#chart-cpu title").textContent(), "CPU（24 小时）");
    assert.match(await page.locator("#chart-cpu desc").textContent(), /^CPU：平均 \d+%，最高 \d+%/);
    await page.getByRole("link", { name: "EN" }).click();
  });
});
