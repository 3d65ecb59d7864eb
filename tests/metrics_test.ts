/**
 * Metrics in one process, on real storages: what a recorder counts and when
 * it reaches the storage, a storage that fails a flush, one sample of the
 * queue per minute across consumers, and the Prometheus text.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger, MemoryHuey, metricsText, SqliteHuey, SqliteStorage } from "../mod.ts";
import type { MetricsSnapshot, Storage } from "../mod.ts";
import { metricOutcome, MetricsRecorder } from "../lib/metrics_recorder.ts";
import { tempDir, uniqueName } from "./process_helpers.ts";

const dir = tempDir("huey-metrics-unit-");
const MINUTE = 60_000;

function sqliteHuey(clock = Date.now) {
  const huey = new SqliteHuey({
    name: "m",
    filename: join(dir, `${uniqueName()}.db`),
    clock: () => clock(),
  });
  after(() => huey.close());
  return huey;
}

describe("metrics", () => {
  it("sorts outcomes: a failed attempt that runs again is retried, one that does not is its failure", () => {
    assert.equal(metricOutcome({ status: "error", retrying: true }), "retried");
    assert.equal(metricOutcome({ status: "timeout", retrying: true }), "retried");
    assert.equal(metricOutcome({ status: "error", retrying: false }), "error");
    assert.equal(metricOutcome({ status: "timeout" }), "timeout");
    assert.equal(metricOutcome({ status: "canceled" }), "cancelled");
    assert.equal(metricOutcome({ status: "scheduled" }), undefined, "moved, not run");
    assert.equal(metricOutcome({ status: "invalid" }), "invalid");
  });

  it("counts in memory, and reaches the storage only when flushed", async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const huey = sqliteHuey(() => now);
    huey.task("add", (a: number, b: number) => a + b);
    const recorder = new MetricsRecorder(huey);
    recorder.record({ status: "complete", duration: 0.003 }, "add");
    recorder.record({ status: "complete", duration: 0.2 }, "add");
    recorder.record({ status: "error", duration: 1000, retrying: true }, "add");
    recorder.record({ status: "revoked" }, "add");
    recorder.record({ status: "invalid" });
    assert.deepEqual((await huey.metrics()).tasks, [], "nothing before the flush");
    await recorder.flush();
    now += MINUTE;
    const snapshot = await huey.metrics();
    const complete = snapshot.tasks.find((m) => m.outcome === "complete")!;
    assert.equal(complete.count, 2);
    assert.equal(complete.timed, 2);
    assert.ok(Math.abs(complete.durationSum - 0.203) < 1e-6);
    assert.equal(complete.buckets[snapshot.bounds.indexOf(0.005)], 1);
    assert.equal(complete.buckets[snapshot.bounds.indexOf(0.25)], 2);
    const retried = snapshot.tasks.find((m) => m.outcome === "retried")!;
    assert.equal(retried.buckets.at(-1), 0, "1000 s is past the last bound: only in +Inf");
    assert.equal(retried.timed, 1);
    assert.deepEqual(snapshot.tasks.find((m) => m.outcome === "revoked"), {
      task: "add",
      outcome: "revoked",
      count: 1,
      timed: 0,
      durationSum: 0,
      buckets: snapshot.bounds.map(() => 0),
    });
    assert.equal(snapshot.setAside, 1);
    // The runs were counted in the minute before the one read as current.
    const [previous, current] = snapshot.history.slice(-2);
    assert.equal(previous.minute, Date.UTC(2026, 0, 1, 12, 0));
    assert.deepEqual([previous.values.done, previous.values.errors], [2, 1]);
    assert.deepEqual([current.values.done, current.values.errors], [0, 0]);
  });

  it("keeps the counts of a flush the storage refused, says so once (DEBUG), and adds them once it works", async () => {
    const good = new SqliteStorage({ filename: join(dir, `${uniqueName()}.db`), name: "m" });
    after(() => good.close());
    const closed = new SqliteStorage({ filename: join(dir, `${uniqueName()}.db`), name: "m" });
    await closed.close();
    const warnings: string[] = [];
    let storage: Storage = closed;
    const host = {
      get storage() {
        return storage;
      },
      logger: createLogger({ level: "debug", write: (line: string) => void warnings.push(line) }),
      now: () => Date.now(),
    };
    const recorder = new MetricsRecorder(host);
    recorder.record({ status: "complete", duration: 0.001 }, "add");
    await recorder.flush();
    recorder.record({ status: "complete", duration: 0.001 }, "add");
    await recorder.flush();
    assert.equal(warnings.filter((w) => /Cannot flush metrics, keeping them/.test(w)).length, 1);
    storage = good;
    await recorder.flush();
    await recorder.flush();
    assert.equal(await good.incr("%metrics:n:complete:add", 0), 2);
  });

  it("samples the queue once a minute, by one consumer of many", async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 5);
    const huey = sqliteHuey(() => now);
    const add = huey.task("add", (a: number, b: number) => a + b);
    for (let i = 0; i < 3; i++) await add(i, i);
    await add.schedule([1, 1], { delay: 600 });
    const consumers = [new MetricsRecorder(huey), new MetricsRecorder(huey)];
    await Promise.all(consumers.map((c) => c.flush()));
    await Promise.all(consumers.map((c) => c.flush()));
    now += MINUTE;
    await add(9, 9);
    await Promise.all(consumers.map((c) => c.flush()));
    const history = (await huey.metrics()).history;
    const [first, second] = history.slice(-2).map((m) => m.values);
    assert.deepEqual(
      [first.queued, first.scheduled],
      [3, 1],
      "sampled once, not once per consumer",
    );
    assert.deepEqual([second.queued, second.scheduled], [4, 1]);
  });

  it("renders Prometheus text with HELP and TYPE lines and escaped labels", async () => {
    const huey = new MemoryHuey();
    const name = 'say "hi"\\\n';
    huey.task(name, () => {});
    const recorder = new MetricsRecorder(huey);
    recorder.record({ status: "complete", duration: 0.07 }, name);
    await recorder.flush();
    const snapshot: MetricsSnapshot = await huey.metrics();
    const text = metricsText(snapshot);
    const label = 'task="say \\"hi\\"\\\\\\n",outcome="complete"';
    assert.ok(text.includes(`huey_tasks_total{${label}} 1\n`), text);
    assert.ok(text.includes(`huey_task_duration_seconds_bucket{${label},le="0.05"} 0\n`));
    assert.ok(text.includes(`huey_task_duration_seconds_bucket{${label},le="0.1"} 1\n`));
    assert.ok(text.includes(`huey_task_duration_seconds_bucket{${label},le="+Inf"} 1\n`));
    assert.ok(text.includes(`huey_task_duration_seconds_count{${label}} 1\n`));
    for (const metric of ["huey_tasks_total", "huey_task_duration_seconds", "huey_queue_depth"]) {
      assert.match(text, new RegExp(`^# HELP ${metric} .+\\n# TYPE ${metric} \\w+$`, "m"));
    }
    assert.ok(text.endsWith("\n"));
  });
});
