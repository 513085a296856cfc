// Shared pieces of the end-to-end tests: the real server binary on a free port over a
// temporary SQLite database, and Debian's Chromium driven by playwright-core.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ADMIN = "admin";
export const PASSWORD = "e2e-correct-horse";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function serverBinary() {
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO, process.env.CARGO_TARGET_DIR)
    : path.join(REPO, "target");
  const bin = process.env.HB_BIN || path.join(target, "debug", "heartbeats");
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} is missing: run 'cargo build' first (or set HB_BIN)`);
  }
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start `heartbeats serve` on a free port with a database and data dir of its own
 * (`env`: more settings, e.g. an SMTP server). */
export async function startServer({ env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hb-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, "server.log"), "a");
  const child = spawn(serverBinary(), ["serve"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HB_LISTEN: `127.0.0.1:${port}`,
      HB_DATA_DIR: path.join(dir, "data"),
      DATABASE_URL: `sqlite://${path.join(dir, "data", "heartbeats.db")}`,
      HB_ADMIN_USER: ADMIN,
      HB_ADMIN_PASSWORD: PASSWORD,
      HB_BASE_URL: base,
      HB_TIMEZONE: "Asia/Shanghai",
      HB_SQLITE_SYNCHRONOUS: "normal",
      RUST_LOG: "warn,heartbeats=info",
      ...env,
    },
    stdio: ["ignore", log, log],
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`server exited:\n${fs.readFileSync(path.join(dir, "server.log"), "utf8")}`);
    }
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error("server did not start within 30 s");
    await sleep(100);
  }
  return {
    base,
    dir,
    log: () => fs.readFileSync(path.join(dir, "server.log"), "utf8"),
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium with a fresh profile directory of its own. */
export async function startBrowser(options = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "hb-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    locale: "en-US",
    timezoneId: "Asia/Shanghai",
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The API, as a cron job's curl line uses it (HTTP Basic). */
export function api(base) {
  const auth = "Basic " + Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64");
  return {
    async createService(body) {
      const res = await fetch(`${base}/api/v1/services`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async ping(id, data = "", userAgent = "e2e-cron/1.0") {
      const url = `${base}/api/pings?service=${encodeURIComponent(id)}&data=${encodeURIComponent(data)}`;
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: auth, "user-agent": userAgent },
      });
      if (res.status !== 200) throw new Error(`ping: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async pause(id) {
      const res = await fetch(`${base}/api/v1/services/${id}/pause`, {
        method: "POST",
        headers: { authorization: auth },
      });
      if (res.status !== 200) throw new Error(`pause: ${res.status}`);
    },
    async services() {
      const res = await fetch(`${base}/api/v1/services`, { headers: { authorization: auth } });
      return res.json();
    },
  };
}

export { sleep };
