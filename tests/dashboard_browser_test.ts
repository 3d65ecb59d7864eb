/**
 * The dashboard in a real browser: Debian's chromium (`/usr/bin/chromium`,
 * or `CHROMIUM_PATH`) driven by playwright-core, on the dashboard of an app
 * whose consumer is a real process (`cli.ts`) on a SQLite file. It loads the
 * page, checks that hostile task names and arguments show as text, clicks
 * revoke and restore and checks the storage, and takes a screenshot (to a
 * temporary directory or HUEY_SCREENSHOT_DIR, printed, never committed). Under CI=true a missing
 * chromium fails the test; elsewhere it is skipped with the reason.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { serveDashboard } from "../mod.ts";
import type { HttpServer } from "../mod.ts";
import { env } from "../lib/runtime.ts";
import { consumer, fast, freshApp, stop, tempDir, uniqueName, until } from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis } from "./redis_server.ts";
import type { Running } from "./process_helpers.ts";

const chromiumPath = env("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const missing = existsSync(chromiumPath)
  ? undefined
  : `no chromium at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
const dir = tempDir("huey-browser-");
const HOSTILE = "<script>window.__pwned=1</script>";

type Browser = import("playwright-core").Browser;
type Page = import("playwright-core").Page;

if (missing) {
  describe("the dashboard in chromium", () => {
    it(`needs chromium: ${missing}`, { skip: env("CI") === "true" ? false : missing }, () => {
      assert.fail(`chromium is required under CI=true: ${missing}`);
    });
  });
} else {
  browserTests("SQLite", () => ({}));
  await describeWithRedis("the dashboard in chromium (a consumer process on Redis)", (server) => {
    after(() => server.stop());
    browserTests("Redis", () => ({ redis: server.url, name: `dash-${uniqueName()}` }));
  });
}

function browserTests(storage: string, config: () => Partial<AppConfig>) {
  describe(
    `the dashboard in chromium (a consumer process on ${storage})`,
    { timeout: 120_000 },
    () => {
      let app: Awaited<ReturnType<typeof freshApp>>;
      let running: Running;
      let server: HttpServer;
      let browser: Browser;
      let page: Page;
      before(async () => {
        app = await freshApp(dir, config());
        running = await consumer([app.url, "-w", "2", "-n", ...fast]);
        server = await serveDashboard(app.app.huey, { port: 0, prefix: "/admin/huey" });
        const { chromium } = await import("playwright-core");
        browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
        page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      });
      after(async () => {
        await browser?.close();
        await server?.close();
        // SIGTERM: the 60 s task is aborted, not waited for.
        if (running) await stop(running, "SIGTERM");
        await app?.app.huey.close();
      });

      /** Load the page and wait until its script has rendered the overview `times` times. */
      async function load(check?: () => Promise<boolean>): Promise<void> {
        await page.goto(server.url);
        await page.waitForSelector("body[data-loaded]");
        if (check) await until(check, 30_000, running.output);
      }
      const row = (section: string, text: string) =>
        page.locator(`#${section} tr`, { hasText: text }).first();

      it("shows the app's tasks, counts and queue, with hostile names and arguments as text", async () => {
        const { huey, add, slow } = app.app;
        // Declared here only: the consumer sets its messages aside as unknown.
        const hostile = huey.task(HOSTILE, (html: string) => html);
        for (let i = 0; i < 5; i++) await add(i, i);
        await hostile("<img src=x onerror='window.__pwned=2'>");
        await slow.schedule([1000], { delay: 3600 });
        const long = await slow(60_000);
        await until(
          () => app.lines().some((line) => line === `start ${long.id}`),
          10_000,
          running.output,
        );
        await until(async () => (await huey.metrics()).tasks.some((m) => m.count === 5), 20_000);
        await until(async () => (await huey.storage.errorItems()).length === 1, 10_000);
        await load();
        await page.waitForFunction(() =>
          [...document.querySelectorAll("#tasks td")].some((td) => td.textContent === "5")
        );
        assert.equal(await row("tasks", "add").locator("td").nth(1).textContent(), "5");
        assert.equal(await row("tasks", HOSTILE).locator("td code").textContent(), HOSTILE);
        assert.match(
          (await page.locator("#dead").textContent())!,
          /\["<img src=x onerror='window\.__pwned=2'>"\]/,
        );
        assert.match((await page.locator("#dead").textContent())!, /UnknownTaskError/);
        assert.equal(
          await row("scheduled", "slow").locator("td code").nth(1).textContent(),
          "[1000]",
        );
        assert.equal(
          await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned),
          undefined,
          "no data ran as script",
        );
        assert.equal(await page.locator("main img, main script").count(), 0);
        assert.equal(await page.locator('[data-gauge="scheduled"] b').textContent(), "1");
        assert.equal(
          await row("running", long.id).locator("td code").first().textContent(),
          "slow",
        );
        assert.equal(await page.locator('[data-gauge="consumers alive"] b').textContent(), "1");
        assert.equal(
          await row("consumers", "alive").locator("td").nth(2).textContent(),
          String(running.child.pid),
        );
        assert.equal(await page.locator("#chart polyline").count(), 4);
        // HUEY_SCREENSHOT_DIR keeps it past the test (the temporary directory goes with it).
        const shot = join(env("HUEY_SCREENSHOT_DIR") ?? dir, `dashboard-${storage}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`screenshot: ${shot}`);
      });

      it("revokes and restores a task type by clicking, and the storage says so", async () => {
        const { huey, add } = app.app;
        await load();
        await row("tasks", "add").locator('button[data-action="revoke"]').click();
        await until(() => huey.isRevoked(add), 10_000);
        await row("tasks", "add").locator('button[data-action="restore"]').waitFor();
        assert.equal(await row("tasks", "add").locator(".revoked").textContent(), "revoked");
        await row("tasks", "add").locator('button[data-action="restore"]').click();
        await until(async () => !(await huey.isRevoked(add)), 10_000);
        await row("tasks", "add").locator('button[data-action="revoke"]').waitFor();
      });

      /** Click the `action` button of the row of `section` holding `text`; wait for the answer. */
      async function click(section: string, text: string, action: string): Promise<void> {
        const before = await page.locator("body").getAttribute("data-loaded");
        await row(section, text).locator(`button[data-action="${action}"]`).click();
        // The page refreshes once the action has answered.
        await page.waitForFunction((at) => document.body.dataset.loaded !== at, before);
        assert.equal(await page.locator("#status").textContent(), `${action} done`);
      }

      it("requeues a dead letter by clicking: it runs again, and the store is empty", async () => {
        const { huey, stall } = app.app;
        // Its first run fails for good (retries 0); a later run of the same task returns "rerun".
        const failed = await stall(10, true);
        const dead = async () => (await huey.deadLetters()).some((d) => d.taskId === failed.id);
        await until(dead, 10_000, running.output);
        await load();
        await click("dead", failed.id, "requeue");
        assert.equal(await dead(), false);
        assert.equal(await failed.get({ blocking: true, timeout: 10 }), "rerun");
      });

      it("cancels a running task by clicking: its signal aborts in the consumer process", async () => {
        const { huey, slow } = app.app;
        const run = await slow(60_000);
        await until(() => app.lines().includes(`start ${run.id}`), 10_000, running.output);
        await load();
        await click("running", run.id, "cancel");
        await until(() => app.lines().includes(`aborted ${run.id}`), 10_000, running.output);
        await until(async () => (await huey.status(run.id)).state === "cancelled", 10_000);
      });

      it("cancels a scheduled task by clicking: when it is due, it does not run", async () => {
        const { huey, record } = app.app;
        // Due in 5 s: time to load the page and click, then the consumer takes it and skips it.
        const later = await record.schedule(["later"], { delay: 5 });
        await load();
        await click("scheduled", later.id, "cancel");
        const skipped = new RegExp(`${later.id}.*not run`);
        await until(() => skipped.test(running.output()), 20_000, running.output);
        assert.equal((await huey.scheduled()).some((t) => t.id === later.id), false);
        assert.equal(app.lines().includes("record later"), false, "and did not run it");
      });
    },
  );
}
