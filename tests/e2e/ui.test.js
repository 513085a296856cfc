// The web UI in a real browser against the real server: sign in, create a service with
// tags, find it by a two-tag search, ping it and read the ping log, watch it go down
// through the live refresh and find the alert, pause, delete, switch to Chinese. Saves
// screenshots of the main pages to docs/screenshots/.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, REPO, api, sleep, startBrowser, startServer } from "./lib.js";

const SHOTS = process.env.HB_SCREENSHOT_DIR || path.join(REPO, "docs", "screenshots");

describe("Heartbeats web UI", { timeout: 180_000 }, () => {
  let server;
  let browser;
  let page;
  let hb;
  let created; // the id of the service made through the form
  const ids = {};
  const dialogs = [];

  async function shot(name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function rowNames() {
    return page.locator("table.services tbody a.svc").allTextContents();
  }

  before(async () => {
    server = await startServer();
    hb = api(server.base);
    browser = await startBrowser();
    page = browser.context.pages()[0] || (await browser.context.newPage());
    page.on("dialog", async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    // A fleet to look at, in every status.
    const make = async (key, body) => {
      ids[key] = (await hb.createService(body)).id;
    };
    await make("db", { name: "db backup (prod)", kind: "daily", at: "16:05", grace: 600, tags: ["db", "backup", "prod"], notify: ["ops@example.com"] });
    await make("cert", { name: "cert renew", kind: "cron", cron: "0 3 * * 1-5", timezone: "Europe/Berlin", tags: ["cert", "sync"], notify: ["ops@example.com", "sec@example.com"] });
    await make("photo", { name: "photo sync", kind: "interval", period: 7200, grace: 300, tags: ["sync"], notify: ["ops@example.com"] });
    await make("gpu", { name: "gpu-01 agent", kind: "interval", period: 300, grace: 120, tags: ["gpu", "agent"], notify: ["ops@example.com"] });
    await make("queue", { name: "queue worker", kind: "interval", period: 2, grace: 600, tags: ["worker"], notify: ["ops@example.com"] });
    await make("logs", { name: "log rotate", kind: "cron", cron: "*/15 * * * *", tags: ["ops"] });
    await make("report", { name: "nightly report", kind: "daily", at: "02:30", tags: ["report"], notify: ["ops@example.com"] });
    await make("other", { name: "e2e other", kind: "interval", period: 3600, tags: ["e2e", "report"] });
    for (const key of ["db", "cert", "photo", "queue", "gpu"]) await hb.ping(ids[key], "", "hb-agent/0.1");
    await hb.ping(ids.gpu, "10.0.0.3 disk / 93% > 90%\n10.0.0.3 gpu0 util 99% > 95%", "hb-agent/0.1");
    await hb.pause(ids.report);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
  });

  it("sends a signed-out visit to the sign-in page and back", async () => {
    await page.goto(`${server.base}/alerts`);
    assert.equal(new URL(page.url()).pathname, "/login");
    assert.equal(new URL(page.url()).searchParams.get("next"), "/alerts");
    await shot("login");
    await page.getByLabel("User name").fill(ADMIN);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Wrong user name or password.").waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.base}/alerts`);
    assert.equal(await page.locator("h1").textContent(), "Alerts");
  });

  it("creates a service with tags, previewing the schedule live", async () => {
    await page.goto(`${server.base}/`);
    await page.getByRole("link", { name: "New service" }).click();
    await page.waitForURL(`${server.base}/services/new`);
    // Cron: five due times in the chosen zone, or a plain complaint.
    await page.locator("label.seg", { hasText: "Cron" }).click();
    await page.getByLabel("Cron expression").fill("0 3 * * 1-5");
    await page.getByLabel("Time zone").selectOption("Europe/Berlin");
    await page.waitForFunction(() => document.querySelectorAll("#preview ol.times li").length === 5);
    const first = await page.locator("#preview ol.times li").first().textContent();
    assert.match(first, /03:00 UTC\+[12]/);
    await page.getByLabel("Cron expression").fill("61 * * * *");
    await page.getByText("Invalid schedule: minute field: 61 is out of range 0-59").waitFor();

    await page.locator("label.seg", { hasText: "Interval" }).click();
    assert.equal(await page.getByLabel("Cron expression").isVisible(), false);
    await page.getByLabel("Name").fill("e2e backup");
    await page.getByLabel("Period").fill("1");
    await page.locator("#period_unit").selectOption("s");
    await page.getByLabel("Time zone").selectOption("Asia/Shanghai");
    await page.getByLabel("Grace time").fill("1");
    await page.locator("#grace_unit").selectOption("s");
    await page.getByLabel("Tags").fill("e2e, backup, nightly");
    await page.getByLabel("Notify").fill("ops@example.com");
    await page.getByText("Due 1 s after each ping").waitFor();
    await page.getByRole("button", { name: "Create service" }).click();
    await page.waitForURL(/\/services\/[A-Za-z0-9]+$/);
    created = new URL(page.url()).pathname.split("/").pop();
    await page.getByText("Service created.").waitFor();
    assert.match(await page.locator("h1").textContent(), /e2e backup/);
    assert.match(await page.locator(".kv").textContent(), /every 1 s, grace 1 s/);
    // Copy buttons appear with the script.
    assert.equal(await page.locator("button.copy").first().isVisible(), true);
  });

  it("finds the service by a two-tag search", async () => {
    await page.goto(`${server.base}/`);
    assert.equal((await rowNames()).length, 9);
    // Search as you type (the script) ...
    await page.getByLabel("Search", { exact: true }).fill("e2e, backup");
    await page.waitForFunction(
      () => [...document.querySelectorAll("table.services a.svc")].map((a) => a.textContent).join("|") === "e2e backup",
    );
    assert.match(page.url(), /q=e2e%2C\+?backup/);
    // ... and the plain form submit give the same answer.
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForLoadState("load");
    assert.deepEqual(await rowNames(), ["e2e backup"]);
    // One tag alone finds both; a chip adds its tag to the search.
    await page.goto(`${server.base}/?q=e2e`);
    assert.deepEqual(await rowNames(), ["e2e backup", "e2e other"]);
    await page.locator("tr", { hasText: "e2e backup" }).getByRole("link", { name: "nightly" }).click();
    await page.waitForURL(/q=e2e%2Cnightly/);
    assert.deepEqual(await rowNames(), ["e2e backup"]);
    assert.equal(await page.getByLabel("Search", { exact: true }).inputValue(), "e2e, nightly");
    // An unknown tag finds nothing.
    await page.goto(`${server.base}/?q=e2e,nosuchtag`);
    await page.getByText("No service matches this search.").waitFor();
  });

  it("shows a ping in the service's log", async () => {
    await hb.ping(created, "", "e2e-cron/1.0");
    await page.goto(`${server.base}/services/${created}`);
    const row = page.locator("#pings tbody tr").first();
    assert.match(await row.textContent(), /UTC\+8/);
    assert.match(await row.textContent(), /e2e-cron\/1\.0/);
    assert.match(await row.textContent(), /127\.0\.0\.1/);
    assert.equal(await row.locator(".kind").textContent(), "success");
  });

  it("sees it go down through the live refresh, and the alert", async () => {
    await page.goto(`${server.base}/?q=e2e`);
    await page.evaluate(() => {
      window.__noReload = true;
    });
    const badge = page.locator("tr", { hasText: "e2e backup" }).locator(".badge");
    // The keyboard sits on the row's link while the refresh swaps the rows.
    await page.locator("a.svc", { hasText: "e2e backup" }).focus();
    await page.waitForFunction(
      () => {
        const row = [...document.querySelectorAll("table.services tr")].find((tr) => tr.textContent.includes("e2e backup"));
        return row && row.querySelector(".badge").textContent === "Down";
      },
      null,
      { timeout: 30_000, polling: 250 },
    );
    assert.equal(await badge.textContent(), "Down");
    assert.equal(await page.evaluate(() => window.__noReload), true, "the page was not reloaded");
    assert.equal(await page.getByLabel("Search", { exact: true }).inputValue(), "e2e");
    // The status tabs count it, and the title follows without a reload.
    assert.match(await page.locator(".tab-down").textContent(), /Down\s+1/);
    assert.equal(await page.title(), "(1 down) Services · Heartbeats");
    // Focus stayed on the same link, and the change was announced politely.
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.textContent), "e2e backup");
    assert.match(await page.locator("#live-announce").textContent(), /e2e backup: Down/);

    // The alert, with its delivery state (mail goes to files here, so it is sent).
    for (let i = 0; ; i++) {
      await page.goto(`${server.base}/alerts`);
      const row = page.locator("tbody tr", { hasText: "e2e backup" }).first();
      if ((await row.count()) > 0 && /sent/.test(await row.textContent())) {
        assert.match(await row.textContent(), /missed: no ping within the grace time/);
        assert.match(await row.textContent(), /ops@example\.com/);
        break;
      }
      assert.ok(i < 40, "the alert did not show as sent");
      await sleep(250);
    }
  });

  it("saves screenshots of the main pages", async () => {
    await page.goto(`${server.base}/`);
    await page.locator("tr", { hasText: "queue worker" }).locator(".b-late").waitFor({ timeout: 15_000 });
    await shot("services");
    await page.goto(`${server.base}/services/${ids.gpu}`);
    await shot("service");
    await page.goto(`${server.base}/services/${ids.cert}/edit`);
    await page.waitForFunction(() => document.querySelectorAll("#preview ol.times li").length === 5);
    await shot("edit");
    await page.goto(`${server.base}/alerts`);
    await shot("alerts");
    await page.goto(`${server.base}/account`);
    await shot("account");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.base}/`);
    await shot("services-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("pauses the service", async () => {
    await page.goto(`${server.base}/services/${created}`);
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByText("Paused. No alerts until the next ping.").waitFor();
    assert.equal(await page.locator("h1 .badge").textContent(), "Paused");
    assert.equal(await page.getByRole("button", { name: "Resume" }).isVisible(), true);
  });

  it("deletes it after a confirmation", async () => {
    await page.getByRole("link", { name: "Delete" }).click();
    await page.getByRole("heading", { name: "Delete this service?" }).waitFor();
    await page.getByRole("button", { name: "Delete for good" }).click();
    await page.waitForURL(`${server.base}/`);
    await page.getByText("Deleted “e2e backup”.").waitFor();
    assert.ok(!(await rowNames()).includes("e2e backup"));
    assert.ok(!(await hb.services()).some((s) => s.id === created));
  });

  it("switches to Chinese", async () => {
    await page.goto(`${server.base}/`);
    await page.getByRole("link", { name: "中文" }).click();
    await page.waitForURL(`${server.base}/`);
    assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
    assert.equal(await page.locator("h1").textContent(), "服务");
    await page.getByRole("link", { name: "告警" }).waitFor();
    assert.match(await page.locator("table.services").textContent(), /每天 16:05 Asia\/Shanghai，宽限 10 分钟/);
    await shot("services-zh");
    // The choice sticks across pages.
    await page.goto(`${server.base}/account`);
    assert.equal(await page.locator("h1").textContent(), "账户");
  });

  it("shows a hostile name as text", async () => {
    await hb.createService({ name: "<script>alert(1)</script>", kind: "interval", period: 60, tags: ["xss"] });
    await page.goto(`${server.base}/?q=xss`);
    assert.deepEqual(await rowNames(), ["<script>alert(1)</script>"]);
    await sleep(300);
    assert.deepEqual(dialogs, []);
  });
});
