/**
 * Metrics across processes: consumer processes (`cli.ts`, `-k async` and
 * `-k worker`) count their runs in memory and flush them to the storage's
 * counters; this process, which runs none of the tasks, reads them with
 * `huey.metrics()` while the consumers run, on SQLite and on Redis.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { metricsText, Task } from "../mod.ts";
import type { MetricsSnapshot } from "../mod.ts";
import { consumer, fast, freshApp, stop, tempDir, uniqueName, until } from "./process_helpers.ts";
import type { Running } from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-metrics-");

function count(snapshot: MetricsSnapshot, task: string, outcome: string): number {
  return snapshot.tasks.find((m) => m.task === task && m.outcome === outcome)?.count ?? 0;
}

function metricsTests(storage: string, config: () => Partial<AppConfig>) {
  describe(`metrics on ${storage} (two consumer processes, read from a third)`, {
    timeout: 120_000,
  }, () => {
    let app: Awaited<ReturnType<typeof freshApp>>;
    let consumers: Running[] = [];
    const output = () => consumers.map((c) => c.output()).join("\n");
    before(async () => {
      app = await freshApp(dir, config());
      consumers = [
        await consumer([app.url, "-w", "2", "-n", ...fast]),
        await consumer([app.url, "-w", "2", "-k", "worker", "-n", ...fast]),
      ];
    });
    after(async () => {
      for (const running of consumers) await stop(running);
      await app?.app.huey.close();
    });

    it("counts runs per task and outcome with durations, within a flush interval, without stopping them", async () => {
      const { huey, add, nap, flaky } = app.app;
      const before = await huey.metrics();
      assert.deepEqual(before.tasks, [], "nothing counted yet");
      for (let i = 0; i < 20; i++) await add(i, i);
      for (let i = 0; i < 4; i++) await nap(30);
      await flaky();
      // A message naming a task no app declares: set aside without running.
      const stray = new Task({
        id: "stray-1",
        name: "nosuch",
        args: [],
        retries: 0,
        retryDelay: 0,
        priority: 0,
      });
      await huey.storage.enqueue(huey.encodeTask(stray), 0);
      let snapshot = before;
      await until(
        async () => {
          snapshot = await huey.metrics();
          return count(snapshot, "add", "complete") === 20 &&
            count(snapshot, "nap", "complete") === 4 &&
            count(snapshot, "flaky", "retried") === 1 &&
            count(snapshot, "flaky", "complete") === 1 &&
            snapshot.setAside === 1;
        },
        30_000,
        () => `${output()}\n${JSON.stringify(snapshot.tasks)}`,
      );
      const naps = snapshot.tasks.find((m) => m.task === "nap" && m.outcome === "complete")!;
      assert.equal(naps.timed, 4);
      assert.ok(
        naps.durationSum >= 0.1 && naps.durationSum < 5,
        `4 naps of 30 ms: ${naps.durationSum}`,
      );
      const bound = snapshot.bounds.indexOf(0.025);
      assert.equal(naps.buckets[bound], 0, "no 30 ms nap took 25 ms or less");
      assert.equal(naps.buckets[snapshot.bounds.indexOf(10)], 4);
      const minute = snapshot.history.at(-1)!;
      const done = snapshot.history.reduce((n, m) => n + m.values.done, 0);
      const errors = snapshot.history.reduce((n, m) => n + m.values.errors, 0);
      assert.equal(snapshot.history.length, 60);
      assert.ok(minute.minute <= snapshot.time && snapshot.time - minute.minute < 60_000);
      assert.equal(done, 25, "20 adds, 4 naps and flaky's second attempt done this hour");
      assert.equal(errors, 1, "flaky's first attempt");
      await until(async () => (await huey.metrics()).queue.scheduled === 0, 10_000);
      const text = metricsText(await huey.metrics());
      assert.match(text, /^huey_tasks_total\{task="add",outcome="complete"\} 20$/m);
      assert.match(
        text,
        /^huey_task_duration_seconds_bucket\{task="nap",outcome="complete",le="\+Inf"\} 4$/m,
      );
      assert.match(text, /^huey_messages_set_aside_total 1$/m);
      assert.match(text, /^huey_queue_depth 0$/m);
    });

    it("keeps what a stopped consumer counted: SIGINT flushes before it exits", async () => {
      const { huey, add } = app.app;
      const start = count(await huey.metrics(), "add", "complete");
      await stop(consumers[1]);
      for (let i = 0; i < 5; i++) await add(1, i);
      await until(
        async () => (await huey.storage.queueSize()) + (await huey.storage.leasedSize()) === 0,
        20_000,
        output,
      );
      assert.equal(await stop(consumers[0]), 0);
      // Both consumers have exited: what is counted now was flushed by them.
      assert.equal(count(await huey.metrics(), "add", "complete"), start + 5);
    });
  });
}

metricsTests("SQLite", () => ({}));
await describeWithRedis(
  "metrics on Redis (two consumer processes, read from a third)",
  (server) => {
    after(() => server.stop());
    metricsTests("Redis", () => ({ redis: server.url, name: `metrics-${uniqueName()}` }));
  },
);
