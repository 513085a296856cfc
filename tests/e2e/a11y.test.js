// Accessibility: axe-core (from node_modules, no CDN) on every page of the UI, in English
// and Chinese, on a desktop (1366x900) and a phone (390x844) viewport, and in the dark
// colour scheme for one combination of each. Any violation of impact "serious" or
// "critical" fails the test, with the rule, the elements and axe's help text.
//
// The fleet is realistic: services that are down (missed, and a reported error), late,
// up, new and paused, with tags; hosts down, degraded (with GPUs, charts and processes),
// up and new, and one unmanaged; alerts that were sent and one that keeps failing (a small
// SMTP server here refuses one recipient); users of every role; API keys; the audit log.
import assert from "node:assert/strict";
import net from "node:net";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";

import { ADMIN, PASSWORD, api, sleep, startBrowser, startServer } from "./lib.js";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

// WCAG 2.0/2.1/2.2 A and AA, and axe's best practices (landmarks, headings, one main,
// and so on). No rule is turned off. Only serious and critical violations fail the test;
// moderate and minor ones are printed as test diagnostics. axe's "incomplete" results
// (needs a human: e.g. the contrast of the "→" between two badges, which is no text) do
// not fail it.
const AXE_OPTIONS = {
  runOnly: {
    type: "tag",
    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
  },
  resultTypes: ["violations"],
};
const FAILING = new Set(["serious", "critical"]);

// Every page in both languages and both viewports; dark mode once for each language.
const COMBOS = [
  { lang: "en", width: 1366, height: 900, scheme: "light" },
  { lang: "en", width: 390, height: 844, scheme: "light" },
  { lang: "zh", width: 1366, height: 900, scheme: "light" },
  { lang: "zh", width: 390, height: 844, scheme: "light" },
  { lang: "en", width: 1366, height: 900, scheme: "dark" },
  { lang: "zh", width: 390, height: 844, scheme: "dark" },
];

/** An SMTP server that accepts every message except to bounce@example.com (550). */
function startSmtp() {
  return new Promise((resolve) => {
    const sockets = new Set();
    const srv = net.createServer((sock) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
      sock.on("error", () => {});
      let buf = "";
      let inData = false;
      sock.write("220 a11y-test ESMTP\r\n");
      sock.on("data", (chunk) => {
        buf += chunk.toString("latin1");
        for (;;) {
          if (inData) {
            const end = buf.indexOf("\r\n.\r\n");
            if (end < 0) return;
            buf = buf.slice(end + 5);
            inData = false;
            sock.write("250 2.0.0 queued\r\n");
            continue;
          }
          const nl = buf.indexOf("\r\n");
          if (nl < 0) return;
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === "EHLO") sock.write("250-a11y-test\r\n250 8BITMIME\r\n");
          else if (verb === "RCPT" && /bounce@/i.test(line)) sock.write("550 5.1.1 <bounce@example.com>: mailbox unavailable\r\n");
          else if (verb === "DATA") {
            inData = true;
            sock.write("354 go ahead\r\n");
          } else if (verb === "QUIT") {
            sock.end("221 bye\r\n");
          } else sock.write("250 ok\r\n");
        }
      });
    });
    srv.listen(0, "127.0.0.1", () =>
      resolve({
        port: srv.address().port,
        stop: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => srv.close(r));
        },
      }),
    );
  });
}

/** axe's findings on the page as it is now, serious and critical first. */
async function audit(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ path: AXE });
  }
  // The services list swaps its rows every 5 s; a swap during a run can upset axe, so
  // a run that throws is tried once more.
  for (let attempt = 0; ; attempt++) {
    try {
      return await page.evaluate((opts) => window.axe.run(document, opts), AXE_OPTIONS);
    } catch (e) {
      if (attempt > 0) throw e;
    }
  }
}

function describeViolation(v) {
  const nodes = v.nodes
    .slice(0, 8)
    .map((n) => {
      const why = (n.failureSummary || "").split("\n").slice(1, 3).map((s) => s.trim()).join(" / ");
      return `      at ${n.target.join(" ")}\n         ${n.html.slice(0, 160)}${why ? `\n         ${why}` : ""}`;
    })
    .join("\n");
  const more = v.nodes.length > 8 ? `\n      … and ${v.nodes.length - 8} more` : "";
  return `  [${v.impact}] ${v.id}: ${v.help}\n      ${v.helpUrl}\n${nodes}${more}`;
}

describe("Accessibility (axe-core)", { timeout: 600_000 }, () => {
  let smtp;
  let server;
  let browser;
  let page;
  let hb;
  const ids = {};
  let signedIn = false;

  before(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { SMTP_HOST: "127.0.0.1", SMTP_PORT: String(smtp.port), SMTP_TLS: "none" },
    });
    hb = api(server.base);
    // The pages' Content-Security-Policy allows scripts only from /static/; axe is
    // injected as an inline script, so the test browser ignores the policy.
    browser = await startBrowser({ bypassCSP: true });
    page = browser.context.pages()[0] || (await browser.context.newPage());

    const make = async (key, body) => {
      ids[key] = (await hb.createService(body)).id;
    };
    await make("db", { name: "db backup (prod)", kind: "daily", at: "16:05", grace: 600, tags: ["db", "backup", "prod"], notify: ["ops@example.com"] });
    await make("cert", { name: "cert renew", kind: "cron", cron: "0 3 * * 1-5", timezone: "Europe/Berlin", tags: ["cert", "sync"], notify: ["ops@example.com", "sec@example.com"] });
    await make("photo", { name: "photo sync", kind: "interval", period: 7200, grace: 300, tags: ["sync"], notify: ["ops@example.com"] });
    await make("gpu", { name: "gpu-01 agent", kind: "interval", period: 300, grace: 120, tags: ["gpu", "agent"], notify: ["ops@example.com", "bounce@example.com"] });
    await make("queue", { name: "queue worker", kind: "interval", period: 2, grace: 600, tags: ["worker"], notify: ["ops@example.com"] });
    await make("logs", { name: "log rotate", kind: "interval", period: 1, grace: 1, tags: ["ops"], notify: ["ops@example.com"] });
    await make("report", { name: "nightly report", kind: "daily", at: "02:30", tags: ["report"], notify: ["ops@example.com"] });
    await make("bare", { name: "scratch job", kind: "interval", period: 3600 });
    await make("dump", { name: "db dump", kind: "interval", period: 86400, max_run: 7200, min_run: 1, fail_after: 2, description: "Dumps the prod database to the NAS.\nOwner: Wei.", tags: ["db"], notify: ["ops@example.com"] });
    for (const key of ["db", "photo", "gpu", "queue", "logs", "report"]) await hb.ping(ids[key], "", "hb-agent/0.1");
    // A long report: its box scrolls.
    const lines = ["10.0.0.3 disk / 93% > 90%", "10.0.0.3 gpu0 util 99% > 95%"];
    for (let i = 1; i <= 30; i++) lines.push(`10.0.0.${i + 10} unreachable: connection timed out after 5 s`);
    await hb.ping(ids.gpu, lines.join("\n"), "hb-agent/0.1");
    await hb.pause(ids.report);
    // Job runs (the native start/finish URLs): a success, a failure with output, one open.
    const run = async (kind, body = "") => {
      const res = await fetch(`${server.base}/api/pings/${kind}?service=${ids.dump}`, {
        method: "POST",
        headers: { authorization: "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64"), "content-type": "text/plain" },
        body,
      });
      assert.equal(res.status, 200, `${kind}: ${await res.text()}`);
    };
    await run("start");
    await run("0");
    await run("start");
    await run("3", "pg_dump: error: connection to server failed");
    await run("start");
    // Users of each role (the API is the admin's Basic auth).
    const auth = "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64");
    for (const [name, role] of [["alice", "member"], ["bob", "viewer"]]) {
      const res = await fetch(`${server.base}/api/v1/users`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify({ name, email: `${name}@example.com`, password: "a11y-long-password", role }),
      });
      assert.equal(res.status, 201, await res.text());
    }
    // Hosts: one degraded with GPUs, a failed unit and processes; one unreachable; one
    // up; one never heard from; and a name that reports but is not configured.
    const hostApi = async (method, url, body) => {
      const res = await fetch(`${server.base}${url}`, {
        method,
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      assert.ok(res.status < 300, `${url}: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    ids.hostGpu = (await hostApi("POST", "/api/v1/hosts", { name: "gpu-01", address: "10.0.0.11", tags: ["gpu", "room:725"], notify: ["ops@example.com"], interval: 3600, checks: { units: ["nginx.service"], processes: [{ pattern: "train.py" }] } })).id;
    ids.hostDown = (await hostApi("POST", "/api/v1/hosts", { name: "build-01", tags: ["ci"], notify: ["ops@example.com"] })).id;
    await hostApi("POST", "/api/v1/hosts", { name: "db-01", tags: ["db", "room:725"], interval: 3600 });
    await hostApi("POST", "/api/v1/hosts", { name: "spare-01" });
    const GIB = 1024 ** 3;
    const snapshot = (name, at, cpu) => ({
      name, at: at.toISOString(), cpu_pct: cpu, load1: 2, load5: 1.5, load15: 1, cores: 16,
      mem_used_bytes: 40 * GIB, mem_total_bytes: 64 * GIB, swap_used_bytes: GIB, swap_total_bytes: 8 * GIB,
      disks: [{ mount: "/", used_pct: 41 }, { mount: "/data", used_pct: 93 }],
      gpus: [{ index: 0, name: "A100", util_pct: cpu, mem_used_mb: 30000, mem_total_mb: 40960, temp_c: 70, power_w: 300 }, { index: 1, name: "A100", util_pct: 5, mem_used_mb: 100, mem_total_mb: 40960, temp_c: 35, power_w: 60 }],
      processes: { top_cpu: [{ pid: 42, user: "alice", cpu_pct: cpu, mem_pct: 10, rss_bytes: 4 * GIB, command: "python train.py --epochs 100" }], top_mem: [{ pid: 42, user: "alice", cpu_pct: cpu, mem_pct: 10, rss_bytes: 4 * GIB, command: "python train.py --epochs 100" }] },
      units: [{ name: "nginx.service", active_state: "failed", sub_state: "failed" }],
    });
    for (let m = 30; m >= 1; m--) {
      await hostApi("POST", "/api/v1/hosts/reports", { reports: [snapshot("gpu-01", new Date(Date.now() - m * 60_000), 40 + m), { ...snapshot("db-01", new Date(Date.now() - m * 60_000), 20), gpus: undefined, units: undefined }] });
    }
    await hostApi("POST", "/api/v1/hosts/reports", { reports: [{ name: "build-01", error: "ssh: connect to host 10.0.0.41 port 22: Connection refused" }, { name: "lab-pc-7", cpu_pct: 3 }] });
    // Let "log rotate" go down (missed) and "queue worker" late, and the alerts go out
    // (the one to bounce@ is refused and waits for a retry).
    for (let i = 0; ; i++) {
      const all = await hb.services();
      const by = Object.fromEntries(all.map((s) => [s.id, s.status]));
      const alerts = await (await fetch(`${server.base}/api/v1/alerts`, { headers: { authorization: auth } })).json();
      // Sent, tried, or set aside with a note (a mail waiting to be grouped into a burst).
      const settled = alerts.length >= 3 && alerts.every((a) => a.state === "sent" || a.attempts > 0 || a.last_error);
      if (by[ids.logs] === "down" && by[ids.queue] === "late" && settled) break;
      assert.ok(i < 120, `the fleet did not settle: ${JSON.stringify(by)} ${JSON.stringify(alerts)}`);
      await sleep(250);
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      if (process.exitCode) console.log(server.log());
      await server.stop();
    }
    if (smtp) await smtp.stop();
  });

  const submit = (form) => page.locator(`${form} button[type=submit]`).first().click();

  // Each page: how to get there (and into the state worth checking).
  const PAGES = [
    {
      name: "sign-in page",
      async visit() {
        if (signedIn) {
          // Signing out lands here with its flash message.
          await page.goto(`${server.base}/account`);
          await submit("form.logout");
          await page.waitForURL(/\/login/);
          signedIn = false;
        } else {
          await page.goto(`${server.base}/login`);
        }
      },
    },
    {
      name: "sign-in refused",
      async visit() {
        await page.locator("#username").fill(ADMIN);
        await page.locator("#password").fill("not the password");
        await submit('form[action="/login"]');
        await page.locator("#login-error").waitFor();
      },
    },
    {
      name: "services list",
      async visit() {
        await page.locator("#password").fill(PASSWORD);
        await submit('form[action="/login"]');
        await page.waitForURL(`${server.base}/`);
        signedIn = true;
        await page.locator("tr.row-late").waitFor();
      },
    },
    {
      name: "services list, searched by a tag (active chip), a status tab, by name",
      async visit() {
        await page.goto(`${server.base}/?q=sync&status=up&sort=name`);
        await page.locator("a.chip.on").first().waitFor();
      },
    },
    {
      name: "services list, nothing matches",
      async visit() {
        await page.goto(`${server.base}/?q=nosuchtag,db`);
        await page.locator(".empty").waitFor();
      },
    },
    {
      name: "service page (down, reported error, alerts; snippets open)",
      async visit() {
        await page.goto(`${server.base}/services/${ids.gpu}`);
        await page.locator("details.snippets-card summary").click();
        await page.locator("#snip-curl").waitFor();
      },
    },
    {
      name: "service page with job runs (sparkline, streak, open run, output and new-URL warning open)",
      async visit() {
        await page.goto(`${server.base}/services/${ids.dump}`);
        await page.locator("#runs details.output summary").first().click();
        await page.locator("#regen-uuid summary").click();
        await page.locator("#regen-uuid .alert").waitFor();
      },
    },
    {
      name: "new-service form, run fields refused",
      async visit() {
        await page.goto(`${server.base}/services/new`);
        await page.locator("#name").fill("refused runs");
        await page.locator("#slug").fill("Not A Slug");
        await page.locator("#max_run").fill("1");
        await page.locator("#max_run_unit").selectOption("h");
        await page.locator("#min_run").fill("2");
        await page.locator("#min_run_unit").selectOption("h");
        await submit("#svc-form");
        await page.locator("#error-summary").waitFor();
      },
    },
    {
      name: "service page (paused)",
      async visit() {
        await page.goto(`${server.base}/services/${ids.report}`);
      },
    },
    {
      name: "service page (new, nobody to notify)",
      async visit() {
        await page.goto(`${server.base}/services/${ids.bare}`);
      },
    },
    {
      name: "new-service form",
      async visit() {
        await page.goto(`${server.base}/services/new`);
        await page.locator("#preview .preview-summary").waitFor();
      },
    },
    {
      name: "new-service form refused by the server",
      async visit() {
        await page.goto(`${server.base}/services/new`);
        await page.locator("label.seg:has(#kind-cron)").click();
        await page.locator("#cron").fill("0 0 31 2 *");
        await page.locator("#tags").fill("ok, not a tag!");
        await submit("#svc-form");
        await page.locator("#error-summary").waitFor();
      },
    },
    {
      name: "edit form",
      async visit() {
        await page.goto(`${server.base}/services/${ids.cert}/edit`);
        await page.waitForFunction(() => document.querySelectorAll("#preview ol.times li").length === 5);
      },
    },
    {
      name: "service page after saving (flash)",
      async visit() {
        await submit("#svc-form");
        await page.waitForURL(`${server.base}/services/${ids.cert}`);
        await page.locator(".flash").waitFor();
      },
    },
    {
      name: "delete confirmation",
      async visit() {
        await page.goto(`${server.base}/services/${ids.photo}/delete`);
      },
    },
    {
      name: "alerts page (sent and retrying)",
      async visit() {
        await page.goto(`${server.base}/alerts`);
        await page.locator("li.d-retrying").first().waitFor();
      },
    },
    {
      name: "alerts page after a test email",
      async visit() {
        await page.locator("#to").fill("ops@example.com");
        await submit('form[action="/alerts/test"]');
        await page.locator("#test-result").waitFor();
      },
    },
    {
      name: "channels page",
      async visit() {
        await page.goto(`${server.base}/channels/new`);
        // A new name on every viewport: the channel of the previous one exists.
        await page.locator("#name").fill(`ops group ${Date.now()}`);
        await page.locator("#kind").selectOption("dingtalk");
        await page.locator("#url").fill("http://127.0.0.1:9/robot/send?access_token=0123456789abcdef");
        await submit('form[action="/channels/new"]');
        await page.locator("#send-test").waitFor();
        await page.goto(`${server.base}/channels`);
      },
    },
    {
      name: "channel form, refused",
      async visit() {
        await page.goto(`${server.base}/channels/new`);
        await page.locator("#kind").selectOption("telegram");
        await submit('form[action="/channels/new"]');
        await page.locator(".field.invalid").first().waitFor();
      },
    },
    {
      name: "users page",
      async visit() {
        await page.goto(`${server.base}/users`);
        await page.locator("details.confirm summary").first().click();
      },
    },
    {
      name: "users page, new user refused",
      async visit() {
        await page.locator("#name").fill("no spaces allowed");
        await page.locator("#email").fill("not-an-address");
        await submit('form[action="/users"]');
        await page.locator(".field.invalid").first().waitFor();
      },
    },
    {
      name: "audit page",
      async visit() {
        await page.goto(`${server.base}/audit`);
      },
    },
    {
      name: "maintenance page (a window listed, delete confirmation open)",
      async visit() {
        await page.goto(`${server.base}/maintenance`);
        if ((await page.locator("table.maintenance").count()) === 0) {
          await page.locator("#name").fill("Sunday patching");
          await page.locator("#repeat").selectOption("weekly");
          await submit('form[action="/maintenance"]');
          await page.locator("table.maintenance").waitFor();
        }
        await page.locator("details.confirm summary").first().click();
      },
    },
    {
      name: "maintenance page, new window refused",
      async visit() {
        await page.locator("#name").fill("");
        await page.locator("#duration").fill("two");
        await submit('form[action="/maintenance"]');
        await page.locator(".field.invalid").first().waitFor();
      },
    },
    {
      name: "hosts overview (down, degraded, GPUs folded out, the inbox notice)",
      async visit() {
        await page.goto(`${server.base}/hosts`);
        await page.locator("#inbox-notice").waitFor();
        await page.locator("details.gpus summary").first().click();
      },
    },
    {
      name: "hosts overview, searched by a tag (active chip), a status tab",
      async visit() {
        await page.goto(`${server.base}/hosts?q=room:725&status=degraded`);
        await page.locator("a.chip.on").first().waitFor();
      },
    },
    {
      name: "hosts overview, nothing matches",
      async visit() {
        await page.goto(`${server.base}/hosts?q=nosuchtag`);
        await page.locator(".empty").waitFor();
      },
    },
    {
      name: "host page (degraded: values, charts, processes open, events)",
      async visit() {
        await page.goto(`${server.base}/hosts/${ids.hostGpu}?range=1h`);
        await page.locator("#chart-cpu svg").waitFor();
        await page.locator("details.fold summary").click();
      },
    },
    {
      name: "host page (down, 30 days)",
      async visit() {
        await page.goto(`${server.base}/hosts/${ids.hostDown}?range=30d`);
      },
    },
    {
      name: "new-host form",
      async visit() {
        await page.goto(`${server.base}/hosts/new`);
      },
    },
    {
      name: "new-host form refused by the server",
      async visit() {
        await page.locator("#address").fill("not an address!");
        await page.locator("#cpu_pct").fill("lots");
        await page.locator("#mount-0").fill("/data");
        await submit("#host-form");
        await page.locator("#error-summary").waitFor();
      },
    },
    {
      name: "edit-host form",
      async visit() {
        await page.goto(`${server.base}/hosts/${ids.hostGpu}/edit`);
      },
    },
    {
      name: "host delete confirmation",
      async visit() {
        await page.goto(`${server.base}/hosts/${ids.hostDown}/delete`);
      },
    },
    {
      name: "events log",
      async visit() {
        await page.goto(`${server.base}/events`);
      },
    },
    {
      name: "unmanaged hosts",
      async visit() {
        await page.goto(`${server.base}/hosts/inbox`);
      },
    },
    {
      name: "account page with a new API key",
      async visit() {
        await page.goto(`${server.base}/account`);
        await page.locator("#label").fill("hb-agent gpu-01");
        await submit('form[action="/account/keys"]');
        await page.locator(".new-key").waitFor();
      },
    },
    {
      name: "account page, new ping key warning open",
      async visit() {
        await page.goto(`${server.base}/account`);
        await page.locator("#regen-key summary").click();
        await page.locator("#regen-key form").waitFor();
      },
    },
    {
      name: "account page, password change refused",
      async visit() {
        await page.evaluate(() => {
          document.querySelector('form[action="/account/password"]').noValidate = true;
        });
        await page.locator("#current").fill(PASSWORD);
        await page.locator("#new").fill("short");
        await page.locator("#confirm").fill("different");
        await submit('form[action="/account/password"]');
        await page.locator('.field.invalid input[aria-invalid="true"]').first().waitFor();
      },
    },
    {
      name: "error page (404)",
      async visit() {
        const res = await page.goto(`${server.base}/services/NoSuchSvc`);
        assert.equal(res.status(), 404);
      },
    },
  ];

  it("catches a planted violation (the check itself works)", async () => {
    await page.goto(`${server.base}/login`);
    await page.evaluate(() => {
      const main = document.querySelector("main");
      main.insertAdjacentHTML(
        "beforeend",
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><p style="color:#bbb;background:#fff">faint</p>',
      );
    });
    const { violations } = await audit(page);
    const found = violations.filter((v) => FAILING.has(v.impact)).map((v) => v.id);
    assert.ok(found.includes("image-alt"), JSON.stringify(found));
    assert.ok(found.includes("color-contrast"), JSON.stringify(found));
  });

  for (const combo of COMBOS) {
    const label = `${combo.lang} ${combo.width}x${combo.height}${combo.scheme === "dark" ? " dark" : ""}`;
    describe(label, () => {
      before(async () => {
        await page.setViewportSize({ width: combo.width, height: combo.height });
        await page.emulateMedia({ colorScheme: combo.scheme });
        await browser.context.addCookies([{ name: "hb_lang", value: combo.lang, url: server.base }]);
      });

      for (const p of PAGES) {
        it(p.name, async (t) => {
          await p.visit();
          assert.equal(
            await page.locator("html").getAttribute("lang"),
            combo.lang === "zh" ? "zh-CN" : "en",
            "the page is in the language under test",
          );
          const { violations } = await audit(page);
          const failing = violations.filter((v) => FAILING.has(v.impact));
          for (const v of violations.filter((v) => !FAILING.has(v.impact))) {
            t.diagnostic(`[${v.impact}] ${v.id}: ${v.help} (${v.nodes.length}×, e.g. ${v.nodes[0].target.join(" ")})`);
          }
          assert.ok(
            failing.length === 0,
            `${failing.length} serious or critical axe violation(s) on ${p.name} (${label}, ${page.url()}):\n` +
              failing.map(describeViolation).join("\n"),
          );
        });
      }
    });
  }
});
