// The channels page in a real browser against the real server: a tiny DingTalk robot on
// loopback (it checks each message's `msgtype` and answers as DingTalk does), a DingTalk
// channel created through the form (its fields follow the kind), "Send a test message"
// with its result shown, the channel attached to a service in the service's edit form,
// and the secrets masked on the page.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, api, startBrowser, startServer } from "./lib.js";

const TOKEN = "0123456789abcdef0123456789abcdef";
const SECRET = "SECfedcba9876543210fedcba9876543210";

/** A DingTalk robot: `POST /robot/send?access_token=…` with a JSON body. */
function startRobot() {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      let msg = null;
      try {
        msg = JSON.parse(body);
      } catch {
        // answered below as DingTalk answers a body it cannot read
      }
      const url = new URL(req.url, "http://robot");
      const ok = req.method === "POST" && url.pathname === "/robot/send" && url.searchParams.get("access_token") === TOKEN && msg && ["markdown", "text"].includes(msg.msgtype);
      received.push({ url: req.url, msg });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? { errcode: 0, errmsg: "ok" } : { errcode: 300001, errmsg: "bad request" }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: server.address().port,
        received,
        stop: () => new Promise((r) => server.close(r)),
      });
    });
  });
}

describe("Heartbeats channels page", { timeout: 120_000 }, () => {
  let robot;
  let server;
  let browser;
  let page;
  let hb;
  let serviceId;

  before(async () => {
    robot = await startRobot();
    server = await startServer();
    hb = api(server.base);
    serviceId = (await hb.createService({ name: "db backup", kind: "interval", period: 3600 })).id;
    browser = await startBrowser();
    page = browser.context.pages()[0] || (await browser.context.newPage());
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
    if (robot) await robot.stop();
  });

  it("creates a DingTalk channel through the form, its fields following the kind", async () => {
    await page.goto(`${server.base}/channels`);
    await page.getByLabel("User name").fill(ADMIN);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.base}/channels`);
    assert.equal(await page.locator("nav.nav a", { hasText: "Channels" }).getAttribute("aria-current"), "page");
    await page.getByRole("link", { name: "Add a channel" }).click();
    await page.locator("#kind").selectOption("dingtalk");
    // DingTalk has a signing secret, no chat id and no addresses.
    assert.ok(await page.locator("#secret").isVisible());
    assert.ok(!(await page.locator("#chat_id").isVisible()));
    assert.ok(!(await page.locator("#to").isVisible()));
    await page.locator("#kind").selectOption("telegram");
    assert.ok(await page.locator("#chat_id").isVisible());
    await page.locator("#kind").selectOption("dingtalk");
    await page.locator("#name").fill("ops group");
    await page.locator("#url").fill(`http://127.0.0.1:${robot.port}/robot/send?access_token=${TOKEN}`);
    await page.locator("#secret").fill(SECRET);
    await page.locator("#lang").selectOption("zh");
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("#send-test").waitFor();
    const html = await page.content();
    assert.ok(!html.includes(TOKEN) && !html.includes(SECRET), "secrets are masked on the page");
    assert.equal(await page.locator("#secret").inputValue(), "••••3210");
    await page.goto(`${server.base}/channels`);
    const row = page.locator("table.channels tbody tr", { hasText: "ops group" });
    assert.match(await row.textContent(), /DingTalk/);
    assert.match(await row.locator("code.target").textContent(), /access_token=••••cdef/);
  });

  it("sends a test message and shows the result", async () => {
    await page.getByRole("link", { name: "ops group", exact: true }).click();
    await page.getByRole("button", { name: "Send a test message" }).click();
    const result = page.locator("#test-result");
    await result.waitFor();
    const text = await result.textContent();
    assert.ok(!text.includes(TOKEN) && !text.includes(SECRET), text);
    assert.equal(text.trim(), "The test message was accepted.");
    assert.equal(robot.received.length, 1);
    const last = robot.received[0];
    assert.ok(["markdown", "text"].includes(last.msg.msgtype), JSON.stringify(last));
    const url = new URL(last.url, "http://robot");
    assert.ok(url.searchParams.get("sign") && url.searchParams.get("timestamp"), "signed with the secret");
  });

  it("keeps the secrets when the form is saved as shown", async () => {
    await page.locator("#name").fill("ops");
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("#send-test").waitFor();
    const channels = await (await fetch(`${server.base}/api/v1/channels`, { headers: { authorization: "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64") } })).json();
    assert.equal(channels.length, 1);
    assert.equal(channels[0].name, "ops");
    assert.equal(channels[0].secret, "••••3210");
    assert.match(channels[0].url, /access_token=••••cdef$/);
  });

  it("attaches the channel to a service in the service's edit form", async () => {
    await page.goto(`${server.base}/services/${serviceId}/edit`);
    const box = page.getByLabel(/ops \(DingTalk\)/);
    assert.ok(!(await box.isChecked()));
    await box.check();
    await page.locator("#remind_every").fill("2");
    await page.locator("#remind_every_unit").selectOption("h");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(`${server.base}/services/${serviceId}`);
    const service = await (await fetch(`${server.base}/api/v1/services/${serviceId}`, { headers: { authorization: "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64") } })).json();
    assert.equal(service.channels.length, 1);
    assert.equal(service.remind_every, 7200);
    assert.equal(service.remind_max, 3);
    await page.goto(`${server.base}/services/${serviceId}/edit`);
    assert.ok(await page.getByLabel(/ops \(DingTalk\)/).isChecked());
  });

  it("deletes the channel after confirmation, and the service no longer lists it", async () => {
    await page.goto(`${server.base}/channels`);
    await page.getByRole("link", { name: "ops", exact: true }).click();
    await page.locator("details.confirm summary").click();
    await page.getByRole("button", { name: "Delete channel ops" }).click();
    await page.waitForURL(`${server.base}/channels`);
    await page.locator("#no-channels").waitFor();
    const service = await (await fetch(`${server.base}/api/v1/services/${serviceId}`, { headers: { authorization: "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64") } })).json();
    assert.deepEqual(service.channels, []);
  });
});
