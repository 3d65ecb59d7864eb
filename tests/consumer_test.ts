/**
 * The consumer in this process (async workers): scheduler passes with a fake
 * clock, periodic tasks, lease recovery, graceful and hard stops. Real
 * consumer processes and OS signals are in consumer_process_test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigurationError, crontab, Huey, MemoryHuey, MemoryStorage } from "../mod.ts";
import type { HueyEvent, TaskContext } from "../mod.ts";
import { Consumer } from "../lib/consumer/consumer.ts";
import { resolveConsumerOptions } from "../lib/consumer/options.ts";
import { Scheduler } from "../lib/consumer/scheduler.ts";
import { fakeClock, silent } from "./helpers.ts";

const fast = { initialDelay: 0.01, maxDelay: 0.05, healthCheckInterval: 60 };

describe("consumer options", () => {
  it("fills in huey's defaults", () => {
    const options = resolveConsumerOptions();
    assert.equal(options.workers, 1);
    assert.equal(options.workerType, "async");
    assert.equal(options.initialDelay, 0.1);
    assert.equal(options.maxDelay, 10);
    assert.equal(options.backoff, 1.15);
    assert.equal(options.schedulerInterval, 1);
    assert.equal(options.periodic, true);
  });

  it("maps huey's worker-type names to ours", () => {
    assert.equal(resolveConsumerOptions({ workerType: "greenlet" as "async" }).workerType, "async");
    assert.equal(resolveConsumerOptions({ workerType: "thread" as "worker" }).workerType, "worker");
  });

  it("rejects bad values naming the option", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ workers: 0 }, /workers/],
      [{ workers: 1.5 }, /workers/],
      [{ workerType: "fiber" }, /worker type.*fiber/],
      [{ backoff: 1 }, /backoff/],
      [{ schedulerInterval: 7 }, /scheduler interval.*7/],
      [{ schedulerInterval: 120 }, /scheduler interval/],
      [{ initialDelay: 5, maxDelay: 1 }, /max delay/],
      [{ wrokers: 2 }, /unknown option: wrokers/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => resolveConsumerOptions(options),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    }
  });

  it("refuses thread and process workers on memory storage", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const consumer = new Consumer(huey, { workerType: "worker" }, {
      app: { module: "file:///nowhere.ts" },
    });
    await assert.rejects(
      () => consumer.start(),
      /needs storage that threads or processes can share/,
    );
    assert.throws(() => new Consumer(huey, { workerType: "process" }), /needs the app module/);
  });
});

describe("consumer in this process", () => {
  it("runs enqueued tasks and stores their results", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const consumer = new Consumer(huey, { workers: 2, ...fast });
    await consumer.start();
    try {
      const results = await Promise.all([add(1, 2), add(3, 4), add(5, 6)]);
      const values = await Promise.all(results.map((r) => r.get({ blocking: true, timeout: 5 })));
      assert.deepEqual(values, [3, 7, 11]);
    } finally {
      await consumer.stop();
    }
  });

  it("overlaps 64 sleeping tasks with 64 async workers", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const nap = huey.task("nap", (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)));
    const consumer = new Consumer(huey, { workers: 64, ...fast });
    await consumer.start();
    try {
      const start = performance.now();
      const group = await nap.map(Array.from({ length: 64 }, () => [300] as [number]));
      const values = await group.get({ blocking: true, timeout: 20 });
      const elapsed = performance.now() - start;
      assert.equal(values.length, 64);
      // Serially this would take 64 × 0.3 s = 19.2 s; overlapped, about one sleep.
      assert.ok(elapsed < 4000, `64 naps took ${elapsed.toFixed(0)} ms`);
    } finally {
      await consumer.stop();
    }
  });

  it("runs startup and shutdown hooks once per worker", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const seen: string[] = [];
    huey.onStartup(() => void seen.push("start"));
    huey.onShutdown(() => void seen.push("stop"));
    const consumer = new Consumer(huey, { workers: 3, ...fast });
    await consumer.start();
    await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    assert.deepEqual(seen.sort(), ["start", "start", "start", "stop", "stop", "stop"]);
  });

  it("a graceful stop lets the running task finish", async () => {
    const huey = new MemoryHuey({ logger: silent });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const slow = huey.task("slow", async () => {
      started();
      await new Promise((r) => setTimeout(r, 200));
      return "finished";
    });
    const consumer = new Consumer(huey, { workers: 1, ...fast });
    await consumer.start();
    const r = await slow();
    await running;
    await consumer.stop({ graceful: true });
    assert.equal(await r.get(), "finished");
    assert.equal(await huey.storage.leasedSize(), 0);
  });

  it("a hard stop aborts the running task and puts its message back", async () => {
    const huey = new MemoryHuey({ logger: silent });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let aborted = false;
    const slow = huey.task("slow", (ctx: TaskContext) =>
      new Promise((resolve) => {
        started();
        const timer = setTimeout(resolve, 10_000);
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          clearTimeout(timer);
        });
      }), { context: true });
    const consumer = new Consumer(huey, { workers: 1, ...fast });
    await consumer.start();
    const r = await slow();
    await running;
    const begin = performance.now();
    await consumer.stop({ graceful: false });
    assert.ok(performance.now() - begin < 2000, "stops at once");
    assert.equal(aborted, true);
    assert.equal(await r.get(), undefined, "no result");
    const recovered = await huey.storage.recoverLeases(huey.now());
    assert.equal(huey.decodeTask(recovered[0]).id, r.id, "released for redelivery");
  });

  it("keeps running when a message names an unknown task", async () => {
    const storage = new MemoryStorage();
    const producer = new Huey({ storage, logger: silent });
    const worker = new Huey({ storage, logger: silent });
    const ghost = producer.task("ghost", () => 1);
    const add = producer.task("add", (a: number, b: number) => a + b);
    worker.task("add", (a: number, b: number) => a + b);
    const consumer = new Consumer(worker, { workers: 1, ...fast });
    await consumer.start();
    try {
      await ghost();
      const r = await add(2, 2);
      assert.equal(await r.get({ blocking: true, timeout: 5 }), 4);
      const [kept] = await storage.errorItems();
      assert.match(kept.reason, /UnknownTaskError.*ghost/);
    } finally {
      await consumer.stop();
    }
  });
});

describe("scheduler", () => {
  it("moves due scheduled tasks and retries to the queue on its pass", async () => {
    const clock = fakeClock();
    const huey = new MemoryHuey({ clock, logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const scheduler = new Scheduler(huey);
    const r = await add.schedule([3, 4], { delay: 10 });
    await scheduler.tick();
    assert.equal(await huey.storage.queueSize(), 0);
    clock.advance(10);
    await scheduler.tick();
    assert.equal(await huey.storage.queueSize(), 1);
    await huey.executeNext();
    assert.equal(await r.get(), 7);
  });

  it("enqueues a periodic task once at the minute boundary", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 11, 59, 58));
    const huey = new MemoryHuey({ clock, logger: silent });
    huey.periodicTask("every3", crontab({ minute: "*/3" }), () => {});
    huey.periodicTask("hourly", crontab({ minute: "0" }), () => {});
    const scheduler = new Scheduler(huey);
    await scheduler.tick();
    assert.deepEqual((await huey.pending()).map((t) => t.name), [], "11:59 matches neither");
    clock.advance(2);
    await scheduler.tick();
    clock.advance(1);
    await scheduler.tick();
    assert.deepEqual((await huey.pending()).map((t) => t.name).sort(), ["every3", "hourly"]);
    clock.advance(60);
    await scheduler.tick();
    assert.equal((await huey.pending()).length, 2, "12:01 matches neither");
  });

  it("lets only one of several consumers enqueue a periodic run", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 12, 0, 0));
    const storage = new MemoryStorage();
    const hueys = [1, 2, 3].map(() => {
      const huey = new Huey({ storage, clock, logger: silent });
      huey.periodicTask("report", crontab({ minute: "0" }), () => {});
      return huey;
    });
    await Promise.all(hueys.map((huey) => new Scheduler(huey).tick()));
    assert.equal(await storage.queueSize(), 1);
  });

  it("reads crontabs in local time when utc is false", async () => {
    const local = new Date(2026, 10, 23, 9, 0, 0).getTime();
    const clock = fakeClock(local);
    const huey = new MemoryHuey({ clock, logger: silent });
    huey.periodicTask("nine", crontab({ minute: "0", hour: "9" }), () => {});
    await new Scheduler(huey, { utc: false }).tick();
    assert.equal(await huey.storage.queueSize(), 1);
  });

  it("puts a message whose consumer died back in the queue and reports it", async () => {
    const clock = fakeClock();
    const huey = new MemoryHuey({ clock, logger: silent, leaseTimeout: 30 });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const events: HueyEvent[] = [];
    const stop = new AbortController();
    const feed = huey.events({ signal: stop.signal });
    const reading = (async () => {
      for await (const event of feed) events.push(event);
    })();
    const r = await add(1, 2);
    // A consumer takes the message and dies before acknowledging it.
    await huey.storage.dequeue({ now: clock.now, leaseSeconds: 30 });
    const scheduler = new Scheduler(huey, { periodic: false });
    await scheduler.tick();
    assert.equal(await huey.storage.queueSize(), 0, "still leased");
    clock.advance(30);
    await scheduler.tick();
    assert.equal(await huey.storage.queueSize(), 1);
    await huey.executeNext();
    assert.equal(await r.get(), 3);
    stop.abort();
    await reading;
    const recovered = events.filter((e) => e.signal === "recovered");
    assert.equal(recovered.length, 1);
    assert.equal(recovered[0].id, r.id);
  });
});

describe("a run whose lease ran out before it finished", () => {
  /** A worker whose first delivery of each message is put back before it finishes. */
  async function staleRun(enqueue: (huey: Huey) => Promise<unknown>) {
    const clock = fakeClock();
    const storage = new MemoryStorage();
    const warnings: string[] = [];
    const logger = { ...silent, warn: (message: string) => warnings.push(message) };
    const huey = new Huey({ storage, clock, logger, leaseTimeout: 1 });
    await enqueue(huey);
    const first = (await huey.executor.dequeue())!;
    clock.advance(2);
    assert.equal((await storage.recoverLeases(clock.now)).length, 1);
    return { huey, storage, first, warnings };
  }

  it("stores nothing over the result of the run that replaced it, and says so", async () => {
    let id = "";
    const { huey, storage, first, warnings } = await staleRun((huey) => {
      const task = huey.task("fail", () => {
        throw new Error("late");
      }).s();
      id = task.id;
      return huey.enqueue(task);
    });
    const rerun = (await huey.executor.dequeue())!;
    await storage.putData(id, "the rerun's");
    const outcome = await huey.executor.executeDelivery(first);
    assert.equal(outcome.acknowledged, false);
    assert.equal(await storage.peekData(id), "the rerun's");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      new RegExp(
        `^fail: ${id} finished after its lease ran out .*: its result is dropped, not stored ` +
          `\\(stale run: receipt ${first.receipt}, delivery 1; current run: receipt ${rerun.receipt}, delivery 2\\)$`,
      ),
    );
  });

  it("enqueues neither its retry nor the next task of its pipeline", async () => {
    const { huey, storage, first, warnings } = await staleRun((huey) => {
      const flaky = huey.task("flaky", () => {
        throw new Error("late");
      }, { retries: 2 });
      const next = huey.task("next", (x: number) => x + 1);
      return huey.enqueue(flaky.s()).then(() => huey.enqueue(next.s(1).then(next)));
    });
    // The first message (the flaky task) is back in the queue, ahead of the pipeline.
    assert.equal((await huey.executor.executeDelivery(first)).retrying, false);
    const second = (await huey.executor.dequeue({ now: huey.now() }))!;
    const pipeline = (await huey.executor.dequeue({ now: huey.now() }))!;
    assert.equal(huey.decodeTask(pipeline.data).name, "next");
    assert.equal(await storage.extendLease(pipeline.receipt, huey.now(), 0), true);
    await storage.recoverLeases(huey.now());
    assert.equal((await huey.executor.executeDelivery(pipeline)).acknowledged, false);
    // Only the two put-back messages wait: no retry, no next task.
    assert.deepEqual((await huey.pending()).map((task) => task.name), ["next"]);
    assert.equal(await storage.scheduleSize(), 0);
    // (Besides the failure itself, logged at WARN since it has retries left.)
    const stale = warnings.filter((line) => /finished after its lease ran out/.test(line));
    assert.equal(stale.length, 2);
    assert.match(stale[1], /its result and follow-up tasks are dropped/);
    await storage.ack(second.receipt);
  });
});
