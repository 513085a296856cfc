// Job runs in a real browser against the real server: create a service with run-time
// bounds, a slug and a description through the form; a job sends start and finish pings
// (the native URLs with Basic auth, and the password-free /ping/<uuid> URLs with a rid);
// the service page shows the runs, their outcomes and output, the duration sparkline with
// its summary, the failure streak and the open run; the list shows the last run; a new
// ping UUID replaces the old URL; the Account page's ping key makes the slug URL work;
// the same in Chinese. Saves screenshots of the service page with runs (desktop and phone).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, REPO, startBrowser, startServer } from "./lib.js";

const SHOTS = process.env.HB_SCREENSHOT_DIR || path.join(REPO, "docs", "screenshots");
const AUTH = "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64");
const RID = "5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c";

describe("Job runs in the web UI", { timeout: 180_000 }, () => {
  let server;
  let browser;
  let page;
  let id;
  let uuid;

  async function shot(name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** A native ping with the job's Basic auth: `kind` is start, fail, log or an exit status. */
  async function native(kind, body = "") {
    const res = await fetch(`${server.base}/api/pings/${kind}?service=${id}`, {
      method: "POST",
      headers: { authorization: AUTH, "user-agent": "e2e-job/1.0", "content-type": "text/plain" },
      body,
    });
    assert.equal(res.status, 200, `${kind}: ${await res.text()}`);
  }

  /** A healthchecks-style ping: no credentials, the UUID is the secret. */
  async function hc(suffix, body = "") {
    const res = await fetch(`${server.base}/ping/${uuid}${suffix}`, {
      method: "POST",
      headers: { "user-agent": "runitor/1.3.0-e2e", "content-type": "text/plain" },
      body,
    });
    return res;
  }

  before(async () => {
    server = await startServer();
    browser = await startBrowser();
    page = browser.context.pages()[0] || (await browser.context.newPage());
    await page.goto(`${server.base}/login`);
    await page.getByLabel("User name").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.base}/`);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
  });

  it("creates a service with run-time bounds, a slug and a description", async () => {
    await page.goto(`${server.base}/services/new`);
    await page.getByLabel("Name").fill("DB dump (prod)");
    // The slug's placeholder is the one the name makes.
    assert.equal(await page.locator("#slug").getAttribute("placeholder"), "db-dump-prod");
    await page.getByLabel("Description").fill("Dumps the prod database to the NAS.\nOwner: Wei.");
    await page.locator("#max_run").fill("2");
    await page.locator("#max_run_unit").selectOption("h");
    await page.getByLabel("Alert after failures in a row").fill("2");
    // A minimum above the maximum is refused at its field, and nothing typed is lost.
    await page.locator("#min_run").fill("3");
    await page.locator("#min_run_unit").selectOption("h");
    await page.getByRole("button", { name: "Create" }).click();
    await page.locator("#min_run-err").waitFor();
    assert.equal(await page.locator("#min_run-err").textContent(), "must not be more than the maximum run time");
    assert.equal(await page.getByLabel("Description").inputValue(), "Dumps the prod database to the NAS.\nOwner: Wei.");
    await page.locator("#min_run").fill("");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL(/\/services\/[A-Za-z0-9_-]+$/);
    id = page.url().split("/").pop();
    assert.match(await page.locator("#description").textContent(), /Dumps the prod database/);
    assert.equal(await page.locator("dt:text-is('Maximum run time') + dd").textContent(), "2 h");
    assert.equal(await page.locator("dt:text-is('Slug') + dd").textContent(), "db-dump-prod");
    assert.match(await page.locator("#runs").textContent(), /No runs yet/);
    const url = await page.locator("#uuid-url").textContent();
    uuid = url.split("/").pop();
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("shows runs from start and finish pings, with the sparkline, streak and open run", async () => {
    // A run through the native URLs: start, then exit status 0.
    await native("start");
    await native("0");
    // A run through the healthchecks URL with a rid, failing with exit status 3.
    assert.equal((await hc(`/start?rid=${RID}`)).status, 200);
    const failed = await hc(`/3?rid=${RID}`, "pg_dump: connection refused");
    assert.equal(failed.status, 200);
    assert.equal(await failed.text(), "OK");
    // And one still going.
    await native("start");

    await page.goto(`${server.base}/services/${id}`);
    const rows = page.locator("#runs tr.run");
    assert.equal(await rows.count(), 3);
    assert.equal(await rows.nth(0).locator(".outcome").textContent(), "running");
    assert.equal(await rows.nth(1).locator(".outcome").textContent(), "failure");
    assert.equal(await rows.nth(2).locator(".outcome").textContent(), "success");
    assert.equal((await rows.nth(1).locator("td.num").nth(1).textContent()).trim(), "3");
    await rows.nth(1).locator("details.output summary").click();
    assert.equal(await rows.nth(1).locator("pre").textContent(), "pg_dump: connection refused");
    assert.equal(await rows.nth(1).locator("code.rid").getAttribute("title"), `Run id: ${RID}`);
    // The sparkline says in words what it draws.
    const svg = page.locator("#runs svg.spark");
    assert.equal(await svg.getAttribute("role"), "img");
    assert.match(await svg.getAttribute("aria-label"), /^Last 2 runs: shortest .+, median .+, longest .+$/);
    assert.equal(await page.locator("#runs svg.spark polyline").count(), 1);
    assert.match(await page.locator("#streak").textContent(), /1 failure in a row; alerts at 2/);
    assert.match(await page.locator("#running").textContent(), /Running for < 1 min/);
    // The ping log names the kinds and the exit status.
    assert.ok((await page.locator("#pings .kind.k-start").count()) >= 3);
    assert.match(await page.locator("#pings").textContent(), /Exit status 3/);
    await shot("service-runs");

    // The list says a run is open.
    await page.goto(`${server.base}/`);
    const row = page.locator("tr", { has: page.locator(`a[href="/services/${id}"]`) });
    assert.equal(await row.locator(".run-open").textContent(), "running");
  });

  it("makes a new ping UUID, after a warning, and the old URL stops working", async () => {
    await page.goto(`${server.base}/services/${id}`);
    const old = uuid;
    await page.locator("#regen-uuid summary").click();
    assert.match(await page.locator("#regen-uuid .alert").textContent(), /stops working at once/);
    await page.locator("#regen-uuid button[type=submit]").click();
    await page.waitForURL(`${server.base}/services/${id}#urls`);
    await page.getByText("New ping URL made: the old one no longer works.").waitFor();
    uuid = (await page.locator("#uuid-url").textContent()).split("/").pop();
    assert.notEqual(uuid, old);
    // A log ping: the new URL works, and the failure streak stays for the last test.
    assert.equal((await hc("/log")).status, 200);
    const stale = await fetch(`${server.base}/ping/${old}`, { method: "POST" });
    assert.equal(stale.status, 404);
    // The snippets use the new UUID.
    await page.locator("details.snippets-card summary").click();
    assert.match(await page.locator("#snip-runitor").textContent(), new RegExp(`-uuid ${uuid} -- `));
    assert.match(await page.locator("#snip-uuid-run").textContent(), new RegExp(`/ping/${uuid}/start`));
  });

  it("shows the ping key on the Account page; the slug URL pings with it", async () => {
    await page.goto(`${server.base}/account`);
    const key = await page.locator("#ping-key-value").textContent();
    // A log ping: it reaches the service by the key and slug, and leaves the streak as it is.
    const res = await fetch(`${server.base}/ping/${key}/db-dump-prod/log`, { method: "POST" });
    assert.equal(res.status, 200);
    await page.locator("#regen-key summary").click();
    await page.locator("#regen-key button[type=submit]").click();
    await page.getByText("New ping key made: your slug URLs have changed.").waitFor();
    const fresh = await page.locator("#ping-key-value").textContent();
    assert.notEqual(fresh, key);
    await page.goto(`${server.base}/services/${id}`);
    assert.equal(await page.locator("#slug-url").textContent(), `${server.base}/ping/${fresh}/db-dump-prod`);
  });

  it("reads in Chinese, and fits a phone", async () => {
    await page.goto(`${server.base}/services/${id}`);
    await page.getByRole("link", { name: "中文" }).click();
    await page.waitForURL(`${server.base}/services/${id}`);
    assert.equal(await page.locator("#runs-h").textContent(), "运行记录");
    assert.match(await page.locator("#streak").textContent(), /已连续失败 1 次；达到 2 次时告警/);
    assert.match(await page.locator("#runs svg.spark").getAttribute("aria-label"), /^最近 2 次运行：最短/);
    assert.equal(await page.locator("#runs tr.run").nth(1).locator(".outcome").textContent(), "失败");
    await page.getByRole("link", { name: "EN" }).click();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.base}/services/${id}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px`);
    await shot("service-runs-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
