// Maintenance windows and snooze in a real browser against the real server: add a weekly
// window on the Maintenance page and see it listed with when it next opens; snooze a
// service from its page, see "Snoozed until", and unsnooze it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, api, startBrowser, startServer } from "./lib.js";

describe("maintenance windows and snooze", () => {
  let server;
  let browser;
  let page;
  let hb;

  before(async () => {
    server = await startServer();
    hb = api(server.base);
    browser = await startBrowser();
    page = browser.context.pages()[0] || (await browser.context.newPage());
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
  });

  it("adds a weekly window on the page and lists it", async () => {
    await page.goto(`${server.base}/maintenance`);
    await page.getByLabel("User name").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.base}/maintenance`);
    assert.equal(await page.locator("h1").textContent(), "Maintenance windows");
    assert.equal(await page.locator("#no-windows").count(), 1);

    // A refusal first: no day ticked.
    await page.getByLabel("Name").fill("Sunday patching");
    await page.getByLabel("Repeat").selectOption("weekly");
    await page.locator("#day-sun").uncheck();
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator("#days-err").waitFor();
    assert.equal(await page.locator("#name").inputValue(), "Sunday patching", "what was typed stays");

    await page.locator("#day-sun").check();
    await page.getByLabel("Start time").fill("02:00");
    await page.getByLabel("Duration").fill("2");
    await page.locator("#duration_unit").selectOption("h");
    await page.getByLabel("Time zone").fill("Asia/Shanghai");
    await page.getByLabel("Applies to").selectOption("hosts");
    await page.getByLabel("Tags").fill("room:725");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.waitForURL(`${server.base}/maintenance`);
    const row = page.locator("table.maintenance tbody tr").first();
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, /Sunday patching/);
    assert.match(text, /Sun 02:00 · 2 h \(Asia\/Shanghai\)/);
    assert.match(text, /Next: Sun \d{4}-\d\d-\d\d 02:00:00 UTC\+8|Active now, until/);
    assert.match(text, /room:725/);

    // The API sees the same window.
    const auth = "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64");
    const windows = await (await fetch(`${server.base}/api/v1/maintenance`, { headers: { authorization: auth } })).json();
    assert.equal(windows.length, 1);
    assert.deepEqual(windows[0].days, ["sun"]);
    assert.equal(windows[0].duration, 7200);
    assert.equal(windows[0].applies_to, "hosts");
  });

  it("snoozes a service from its page and unsnoozes it", async () => {
    const svc = await hb.createService({ name: "nightly backup", kind: "interval", period: 3600, notify: ["ops@example.com"] });
    await page.goto(`${server.base}/services/${svc.id}`);
    assert.equal(await page.locator("#snoozed").count(), 0);
    await page.locator("#snooze").getByRole("button", { name: "4 h" }).click();
    await page.waitForURL(`${server.base}/services/${svc.id}`);
    const snoozed = await page.locator("#snoozed").textContent();
    assert.match(snoozed, /Snoozed until/);
    const after = await (await fetch(`${server.base}/api/v1/services/${svc.id}`, {
      headers: { authorization: "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64") },
    })).json();
    const hours = (Date.parse(after.snoozed_until) - Date.now()) / 3_600_000;
    assert.ok(hours > 3.9 && hours <= 4, `snoozed for ${hours} h`);

    await page.getByRole("button", { name: "Unsnooze" }).click();
    await page.waitForURL(`${server.base}/services/${svc.id}`);
    assert.equal(await page.locator("#snoozed").count(), 0);
  });
});
