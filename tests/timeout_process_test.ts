/**
 * Task timeouts in real consumer processes (`cli.ts`), on every worker type
 * (`-k async`, `worker`, `process`), on SQLite and on Redis: a task that
 * ignores its signal is cut off at its timeout, a synchronous loop that
 * checks `ctx.checkTimeout()` ends at it, a per-call timeout (or none)
 * wins over the task's, and each timed-out run stores a `TaskTimeout`,
 * sends `timeout` (never `error`) and is retried when it has retries.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { TaskError } from "../mod.ts";
import type { HueyEvent } from "../mod.ts";
import { pid } from "../lib/runtime.ts";
import { consumer, fast, stop, tempDir, uniqueName, until } from "./process_helpers.ts";
import type { Running } from "./process_helpers.ts";
import { describeWithRedis } from "./redis_server.ts";
import type { TimeoutAppConfig } from "./fixtures/timeout_app.ts";

const dir = tempDir("huey-timeout-process-");
const fixture = new URL("./fixtures/timeout_app.ts", import.meta.url);

type TimeoutApp = ReturnType<typeof import("./fixtures/timeout_app.ts").makeTimeoutApp>;

/** A fresh app module for the consumer to load (and this process to produce with). */
async function freshApp(config: Partial<TimeoutAppConfig> = {}) {
  const id = uniqueName();
  const log = join(dir, `${id}.log`);
  const url = join(dir, `${id}_app.ts`);
  writeFileSync(
    url,
    `import { makeTimeoutApp } from ${JSON.stringify(fixture.href)};\n` +
      `export const app = makeTimeoutApp(${
        JSON.stringify({ db: join(dir, `${id}.db`), ...config, log })
      });\n` +
      `export const huey = app.huey;\n`,
  );
  const app: TimeoutApp = (await import(pathToFileURL(url).href)).app;
  /** The signals the consumer's processes sent for `task`, in order (not this producer's). */
  const signals = (task: string) =>
    (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [])
      .map((line) => line.split(" "))
      .filter(([, name, sender]) => name === task && sender !== String(pid()))
      .map(([signal]) => signal);
  const lines = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
  return { url, app, signals, lines };
}

/** `error` is the stored TaskTimeout of task `name` after `limit` seconds. */
function timedOut(name: string, limit: number) {
  return (error: unknown) => {
    assert.ok(error instanceof TaskError, String(error));
    assert.equal(error.remoteName, "TaskTimeout");
    assert.match(
      error.remoteMessage,
      new RegExp(`^Task ${name} \\(.+\\) timed out after ${limit}s$`),
    );
    return true;
  };
}

/** What every worker type (and storage) must show, with `running` consuming `app`. */
async function timesOut(
  app: Awaited<ReturnType<typeof freshApp>>,
  running: Running,
): Promise<void> {
  const { stuck, crunch, nap } = app.app;
  const ignoring = await stuck();
  const looping = await crunch();
  const declared = await nap(600);
  const lifted = await nap.schedule([600], { timeout: 0 });
  const shorter = await nap.schedule([600], { timeout: 0.1 });
  const get = { blocking: true, timeout: 30, preserve: true };

  // The run that ignores its signal: cut off, retried once, cut off again.
  const expected = ["executing", "timeout", "retrying", "enqueued", "executing", "timeout"];
  await until(() => app.signals("stuck").length >= expected.length, 30_000, running.output);
  assert.deepEqual(app.signals("stuck"), expected);
  await assert.rejects(() => ignoring.get(get), timedOut("stuck", 0.5));

  await assert.rejects(() => looping.get(get), timedOut("crunch", 0.3));
  await until(() => app.signals("crunch").length >= 2, 10_000, running.output);
  assert.deepEqual(app.signals("crunch"), ["executing", "timeout"]);
  const remaining = Number(/remaining (\S+)/.exec(app.lines())?.[1]);
  assert.ok(remaining > 0.1 && remaining <= 0.3, `timeRemaining() at the start: ${remaining}`);

  await assert.rejects(() => declared.get(get), timedOut("nap", 0.2));
  assert.equal(await lifted.get(get), 600, "timeout: 0 lifts the declared timeout");
  await assert.rejects(() => shorter.get(get), timedOut("nap", 0.1));
  assert.ok(!app.signals("stuck").includes("error") && !app.signals("nap").includes("error"));
}

describe("task timeouts in consumer processes", { timeout: 120_000 }, () => {
  for (const type of ["async", "worker", "process"]) {
    it(`-k ${type}: cut off at the timeout, TaskTimeout stored, timeout signal, retried`, async () => {
      const app = await freshApp();
      const running = await consumer([app.url, "-w", "2", "-k", type, ...fast]);
      try {
        await timesOut(app, running);
      } finally {
        assert.equal(await stop(running), 0, running.output());
        await app.app.huey.close();
      }
    });
  }

  it("-k worker: a run with timeout: 0 is not taken for hung by the health check (-c 1)", async () => {
    const app = await freshApp();
    const running = await consumer([app.url, "-w", "1", "-k", "worker", "-c", "1", ...fast]);
    try {
      const long = await app.app.nap.schedule([6500], { timeout: 0 });
      assert.equal(await long.get({ blocking: true, timeout: 30 }), 6500);
      assert.doesNotMatch(running.output(), /stuck in nap/);
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await app.app.huey.close();
    }
  });
});

await describeWithRedis("task timeouts in a consumer process on Redis", (server) => {
  describe("task timeouts in a consumer process on Redis", { timeout: 120_000 }, () => {
    after(() => server.stop());

    it("-k async: the same, and the timeout event reaches the producer over pub/sub", async () => {
      const app = await freshApp({ redis: server.url, name: `timeouts-${uniqueName()}` });
      const controller = new AbortController();
      const events: HueyEvent[] = [];
      const collected = (async () => {
        for await (const event of app.app.huey.events({ signal: controller.signal })) {
          events.push(event);
        }
      })();
      const running = await consumer([app.url, "-w", "2", "-n", ...fast]);
      try {
        await timesOut(app, running);
        await until(() => events.filter((e) => e.signal === "timeout").length >= 5, 10_000);
        const timeouts = events.filter((e) => e.signal === "timeout");
        assert.deepEqual(
          timeouts.map((e) => e.name).sort(),
          ["crunch", "nap", "nap", "stuck", "stuck"],
        );
        assert.match(timeouts[0].error ?? "", /^TaskTimeout: Task \w+ \(.+\) timed out after/);
      } finally {
        controller.abort();
        await collected;
        assert.equal(await stop(running), 0, running.output());
        await app.app.huey.close();
      }
    });
  });
});
