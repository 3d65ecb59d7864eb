/**
 * Cancelling tasks that another process holds, with real consumer
 * processes on SQLite and on Redis: a running task's signal aborts in the
 * consumer that runs it (Redis: at once, through pub/sub; SQLite: within
 * one lease-renewal period), waiting and scheduled tasks never run, and a
 * task in a worker thread that ignores its abort has its thread terminated
 * and replaced while the pool goes on.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TaskError } from "../mod.ts";
import type { HueyEvent } from "../mod.ts";
import {
  consumer,
  fast,
  freshApp as freshAppIn,
  printed,
  stop,
  tempDir,
  uniqueName,
  until,
} from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-cancel-");

/** `promise` rejects with the TaskError of a cancelled task. */
async function rejectsCancelled(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TaskError, String(err));
    assert.equal(err.remoteName, "CancelExecution");
    return true;
  });
}

/**
 * The tests on one storage; `within` is how soon (ms) a running task must
 * see its cancel there.
 */
function cancelTests(kind: string, config: () => Partial<AppConfig>, within: number) {
  // SQLite: a 3 s lease is renewed, and its cancel mark read, every second.
  const freshApp = () => freshAppIn(dir, { lease: 3, ...config() });

  describe(`cancel with consumer processes on ${kind}`, { timeout: 120_000 }, () => {
    it(`aborts a task running in another process within ${within} ms; it ends as cancelled`, async () => {
      const { url, app, lines } = await freshApp();
      const running = await consumer([url, "-w", "2", ...fast]);
      const events: HueyEvent[] = [];
      const feed = app.huey.events();
      const reading = (async () => {
        for await (const event of feed) events.push(event);
      })();
      try {
        await feed.ready;
        const r = await app.slow(60_000);
        await until(() => lines().includes(`start ${r.id}`), 10_000, running.output);
        const asked = Date.now();
        assert.equal(await r.cancel(), true);
        await rejectsCancelled(r.get({ blocking: true, timeout: 30 }));
        const took = Date.now() - asked;
        assert.ok(took < within, `ended ${took} ms after the cancel`);
        await until(() => lines().includes(`aborted ${r.id}`), 5_000, running.output);
        assert.ok(!lines().includes(`end ${r.id}`), "it did not run on");
        assert.equal(await app.huey.storage.leasedSize(), 0);
        assert.equal(await app.huey.storage.queueSize(), 0, "not retried");
        if (app.huey.storage.subscribeEvents) {
          // Signals of the consumer's process reach this one only through pub/sub.
          await until(() => events.some((e) => e.signal === "canceled" && e.id === r.id), 5_000);
        }
        // The consumer goes on.
        assert.equal(await (await app.add(1, 2)).get({ blocking: true, timeout: 10 }), 3);
      } finally {
        await feed.return?.();
        await reading;
        await stop(running);
        await app.huey.close();
      }
    });

    it("a waiting and a scheduled task, cancelled, never run in another process", async () => {
      const { url, app, lines } = await freshApp();
      const waiting = await app.record("waiting");
      const scheduled = await app.record.schedule(["scheduled"], { delay: 1 });
      assert.equal(await waiting.cancel(), true);
      assert.equal(await app.huey.cancel(scheduled.id), true);
      const running = await consumer([url, ...fast]);
      try {
        await rejectsCancelled(waiting.get({ blocking: true, timeout: 20 }));
        await rejectsCancelled(scheduled.get({ blocking: true, timeout: 20 }));
        const after = await app.record("after");
        assert.equal(await after.get({ blocking: true, timeout: 10 }), "after");
        assert.deepEqual(lines().filter((line) => line.startsWith("record")), ["record after"]);
        assert.equal(await app.huey.restoreById(waiting.id), false);
      } finally {
        await stop(running);
        await app.huey.close();
      }
    });

    it("terminates a worker thread whose task ignores its abort, and the pool goes on", async () => {
      const { url, app, lines } = await freshApp();
      const running = await consumer([
        url,
        "-k",
        "worker",
        "-w",
        "1",
        "--cancel-grace",
        "1",
        ...fast,
      ]);
      try {
        const r = await app.spin(60_000);
        await until(() => lines().includes(`spin ${r.id}`), 20_000, running.output);
        const asked = Date.now();
        assert.equal(await app.huey.cancel(r.id), true);
        await printed(running, /Worker 0 ignored the cancel of its task/, 15_000);
        await rejectsCancelled(r.get({ blocking: true, timeout: 30 }));
        const took = Date.now() - asked;
        assert.ok(took < 10_000, `ended ${took} ms after the cancel:\n${running.output()}`);
        assert.ok(!lines().includes(`spun ${r.id}`));
        // A new thread took the old one's place.
        assert.equal(await (await app.add(2, 3)).get({ blocking: true, timeout: 20 }), 5);
      } finally {
        await stop(running);
        await app.huey.close();
      }
    });
  });
}

cancelTests("SQLite", () => ({}), 4_000);

await describeWithRedis("cancel with consumer processes on Redis", (server) => {
  after(() => server.stop());
  // A 30 s lease renews every 10 s: what aborts within 1.5 s came through pub/sub.
  cancelTests(
    "Redis",
    () => ({ redis: server.url, name: `cancel-${uniqueName()}`, lease: 30 }),
    1_500,
  );
});
