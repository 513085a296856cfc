// The operator's view in a real browser: a refused form takes focus to its error summary,
// whose links lead to the fields; on a phone the schedule preview sits under the schedule
// fields, above the submit button; a service page shows its history before the
// copy-paste snippets, which stay folded; a resumed service says what it waits for.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, api, startBrowser, startServer } from "./lib.js";

describe("Heartbeats for the operator", { timeout: 120_000 }, () => {
  let server;
  let browser;
  let page;
  let hb;

  async function signIn() {
    await page.goto(`${server.base}/login`);
    await page.getByLabel("User name").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.base}/`);
  }

  before(async () => {
    server = await startServer();
    hb = api(server.base);
    browser = await startBrowser({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    page = browser.context.pages()[0] || (await browser.context.newPage());
    await signIn();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
  });

  it("does not fetch the rows again right after loading the list", async () => {
    const fetched = [];
    const seen = (req) => {
      if (req.url().includes("/ui/rows")) fetched.push(req.url());
    };
    page.on("request", seen);
    await page.goto(`${server.base}/`);
    await page.waitForTimeout(2000);
    page.off("request", seen);
    assert.deepEqual(fetched, []);
  });

  it("puts the preview right under the schedule fields on a phone", async () => {
    await page.goto(`${server.base}/services/new`);
    await page.locator("label.seg", { hasText: "Cron" }).click();
    await page.getByLabel("Cron expression").fill("30 2 * * 1-5");
    await page.waitForFunction(() => document.querySelectorAll("#preview ol.times li").length === 5);
    const preview = await page.locator("aside.preview").boundingBox();
    const cron = await page.getByLabel("Cron expression").boundingBox();
    const submit = await page.getByRole("button", { name: "Create" }).boundingBox();
    assert.ok(preview.y > cron.y, "the preview follows the schedule fields");
    assert.ok(preview.y < submit.y, `the preview (${preview.y}) is above the submit button (${submit.y})`);
    const summary = await page.locator(".preview-summary").textContent();
    assert.match(summary, /weekdays at 02:30/);
  });

  it("takes focus to the error summary, whose links lead to the fields", async () => {
    await page.goto(`${server.base}/services/new`);
    await page.getByLabel("Name").fill("broken job");
    await page.locator("label.seg", { hasText: "Cron" }).click();
    await page.getByLabel("Cron expression").fill("0 0 31 2 *");
    await page.getByRole("button", { name: "Create" }).click();
    await page.locator("#error-summary").waitFor();
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    assert.equal(focused, "error-summary");
    const link = page.locator("#error-summary a").first();
    assert.match(await link.textContent(), /never fires/);
    await link.click();
    const target = await page.evaluate(() => location.hash);
    assert.equal(target, "#cron");
  });

  it("shows history before the snippets, which stay folded", async () => {
    const svc = await hb.createService({ name: "op backup", kind: "interval", period: 3600, notify: ["ops@example.com"] });
    await hb.ping(svc.id, "");
    await hb.pause(svc.id);
    await page.goto(`${server.base}/services/${svc.id}`);
    const tops = {};
    for (const id of ["flips-h", "log-h", "snip-h"]) {
      tops[id] = (await page.locator(`#${id}`).boundingBox()).y;
    }
    assert.ok(tops["flips-h"] < tops["log-h"] && tops["log-h"] < tops["snip-h"], JSON.stringify(tops));
    assert.equal(await page.locator("details.snippets-card").getAttribute("open"), null);
    assert.equal(await page.locator("#snip-curl").isVisible(), false);
    // A tap shows a time in UTC: phones have no hover.
    const time = page.locator("#pings tbody time").first();
    assert.match(await time.textContent(), /UTC\+8/);
    await time.tap();
    assert.match(await time.textContent(), / UTC$/);
    // Resume: the page says what it waits for.
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByText("Resumed: waiting for the next ping.").waitFor();
  });

  it("says on the row why a service is down, and colours its tags", async () => {
    const svc = await hb.createService({ name: "op nightly dump", kind: "interval", period: 3600, tags: ["dump"], notify: ["ops@example.com"] });
    await hb.ping(svc.id, "pg_dump failed: disk full");
    await page.goto(`${server.base}/`);
    const row = page.locator("tr", { has: page.locator("a.svc", { hasText: "op nightly dump" }) });
    const why = row.locator(".why");
    assert.match(await why.textContent(), /^< 1 min · pg_dump failed: disk full$/);
    // It fits the phone's width: no sideways scrolling to read it.
    const box = await why.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
    const chip = row.locator("a.chip", { hasText: "dump" });
    assert.match(await chip.getAttribute("class"), /chip-down/);
    assert.match(await chip.textContent(), /some of its services are down/);
    // Down rows come first.
    const first = await page.locator("tbody a.svc").first().textContent();
    assert.equal(first, "op nightly dump");
  });
});
