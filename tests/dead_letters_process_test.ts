/**
 * Dead letters with real consumer processes, on SQLite and on Redis: a
 * poison message (it kills its consumer every time) stops coming back after
 * maxDeliveries, a producer blocking on it learns at once, and requeue runs
 * it once the cause is fixed; a message naming a task no consumer declares
 * reaches its producer as an UnknownTaskError.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "../lib/_util.ts";
import { DeadLetterError, UnknownTaskError } from "../mod.ts";
import { Task } from "../lib/task.ts";
import {
  consumer,
  fast,
  freshApp as freshAppIn,
  startConsumer,
  stop,
  tempDir,
  uniqueName,
} from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-dead-letters-");

function deadLetterTests(kind: string, config: () => Partial<AppConfig>) {
  const freshApp = (more: Partial<AppConfig> = {}) => freshAppIn(dir, { ...config(), ...more });

  describe(`dead letters with consumer processes on ${kind}`, { timeout: 120_000 }, () => {
    it("a poison message is set aside after maxDeliveries; its producer hears at once; requeue runs it once fixed", async () => {
      const { url, app, lines } = await freshApp({ lease: 1, maxDeliveries: 2 });
      const cure = join(dir, `${uniqueName()}.cure`);
      const r = await app.poison(cure);
      // A producer waiting on the result for longer than the whole test.
      const waited = r.get({ blocking: true, timeout: 100 }).then(
        (value) => ({ value, at: Date.now() }),
        (error: unknown) => ({ error, at: Date.now() }),
      );
      const dead = async () => (await app.huey.deadLetters()).length > 0;
      const exits: (number | null)[] = [];
      let deadAt = 0;
      // A supervisor: start a consumer again each time the poison message kills it.
      while (!(await dead()) && exits.length < 6) {
        const running = startConsumer([url, ...fast]);
        let exited: number | null | undefined;
        running.exited.then((exit) => (exited = exit.code));
        while (exited === undefined && !(await dead())) await sleep(0.05);
        if (exited === undefined) {
          deadAt = Date.now();
          await stop(running);
        } else {
          exits.push(exited);
        }
      }
      assert.deepEqual(exits, [3, 3], "killed two consumers, then set aside");
      assert.equal(lines().filter((line) => line === "poison").length, 2);

      const outcome = await waited;
      assert.ok("error" in outcome, "the producer got an error, not a value");
      assert.ok(outcome.error instanceof DeadLetterError, String(outcome.error));
      assert.equal(outcome.error.taskId, r.id);
      assert.equal(outcome.error.taskName, "poison");
      assert.match(outcome.error.reason, /DeliveryLimitExceeded: delivered 3 times/);
      assert.ok(outcome.at - deadAt < 5000, `heard ${outcome.at - deadAt} ms after`);

      const [letter] = await app.huey.deadLetters({ limit: 5 });
      assert.equal(letter.kind, "delivery-limit");
      assert.equal(letter.taskId, r.id);
      assert.equal(letter.taskName, "poison");
      assert.equal(letter.attempts, 2);
      assert.equal(await app.huey.storage.queueSize(), 0, "it stopped coming back");

      writeFileSync(cure, "fixed");
      const running = await consumer([url, ...fast]);
      try {
        assert.equal(await app.huey.requeue(letter.id), 1);
        r.reset();
        assert.equal(await r.get({ blocking: true, timeout: 20 }), "cured");
        assert.deepEqual(await app.huey.deadLetters(), []);
      } finally {
        await stop(running);
      }
      await app.huey.close();
    });

    it("a task that hangs its worker thread every time stops coming back after maxDeliveries", async () => {
      const { url, app, lines } = await freshApp({ lease: 1, maxDeliveries: 2 });
      // -c 1: the health check replaces a thread stuck 5 s past its task's 1 s timeout.
      const running = await consumer([url, "-k", "worker", "-w", "1", "-c", "1", ...fast]);
      try {
        const r = await app.hang();
        await assert.rejects(r.get({ blocking: true, timeout: 60 }), (err: unknown) => {
          assert.ok(err instanceof DeadLetterError, String(err));
          assert.match(err.reason, /delivered 3 times without finishing \(maxDeliveries 2\)/);
          return true;
        });
        assert.equal(lines().filter((line) => line === "hang").length, 2, "ran twice, not again");
        const [letter] = await app.huey.deadLetters();
        assert.equal(letter.kind, "delivery-limit");
        assert.equal(letter.taskName, "hang");
        // The new thread goes on with the rest.
        assert.equal(await (await app.add(1, 1)).get({ blocking: true, timeout: 20 }), 2);
        assert.equal(await app.huey.storage.queueSize(), 0);
      } finally {
        await stop(running);
        await app.huey.close();
      }
    });

    it("a message naming an unknown task reaches its blocked producer as an UnknownTaskError", async () => {
      const { url, app } = await freshApp();
      const running = await consumer([url, ...fast]);
      try {
        const id = `resize-${uniqueName()}`;
        // Written as another app's producer would (this app does not declare "resize").
        const task = new Task({
          id,
          name: "resize",
          args: [],
          retries: 0,
          retryDelay: 0,
          priority: 0,
        });
        await app.huey.storage.enqueue(app.huey.encodeTask(task), 0);
        const started = Date.now();
        await assert.rejects(
          app.huey.result(id, { blocking: true, timeout: 60 }),
          (err: unknown) => {
            assert.ok(err instanceof UnknownTaskError, String(err));
            assert.equal(err.taskName, "resize");
            assert.ok(err.registered.includes("add"));
            return true;
          },
        );
        assert.ok(Date.now() - started < 10_000, "not a timeout");
        const [letter] = await app.huey.deadLetters();
        assert.equal(letter.kind, "unknown-task");
        assert.equal(letter.taskId, id);
      } finally {
        await stop(running);
        await app.huey.close();
      }
    });
  });
}

deadLetterTests("SQLite", () => ({}));

await describeWithRedis("dead letters with consumer processes on Redis", (server) => {
  after(() => server.stop());
  deadLetterTests("Redis", () => ({ redis: server.url, name: `dead-${uniqueName()}` }));
});
