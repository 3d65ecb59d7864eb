/**
 * Cancelling tasks in one process, on every storage: waiting and scheduled
 * tasks never run, a running one has its signal aborted, every cancelled
 * task ends as cancelled (its result, the `canceled` signal, no retry). The
 * consumer-process tests are in cancel_process_test.ts.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Huey,
  PostgresHuey,
  RedisHuey,
  SIGNAL_CANCELED,
  SIGNAL_REVOKED,
  TaskError,
} from "../mod.ts";
import type { Storage, TaskContext } from "../mod.ts";
import { Consumer } from "../lib/consumer/consumer.ts";
import { onEachStorage } from "./each_storage.ts";
import { silent } from "./helpers.ts";
import { until } from "./process_helpers.ts";
import { describeWithPostgres } from "./postgres_server.ts";
import { describeWithRedis } from "./redis_server.ts";

/** `promise` rejects with a TaskError for a CancelExecution. */
async function rejectsCancelled(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TaskError, String(err));
    assert.equal(err.remoteName, "CancelExecution");
    assert.match(err.remoteMessage, /cancelled \(huey\.cancel\)/);
    return true;
  });
}

function app(storage: Storage) {
  let now = Date.UTC(2026, 0, 1, 12);
  const huey = new Huey({ storage, clock: () => now, logger: silent });
  const ran: string[] = [];
  const signals: string[] = [];
  huey.signal(
    (signal, task) => void signals.push(`${signal} ${task.id}`),
    SIGNAL_CANCELED,
    SIGNAL_REVOKED,
  );
  const add = huey.task("add", (a: number, b: number) => {
    ran.push(`add ${a} ${b}`);
    return a + b;
  }, { retries: 2 });
  /** Runs until its signal aborts (or `ms` pass), noting both. */
  const wait = huey.task("wait", (ms: number, ctx: TaskContext) => {
    ran.push(`start ${ctx.id}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve("done"), ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        ran.push(`aborted ${ctx.id} ${(ctx.signal.reason as Error).name}`);
        reject(ctx.signal.reason);
      });
    });
  }, { context: true, retries: 3 });
  /** Ignores its signal: the run must still end as cancelled. */
  const deaf = huey.task(
    "deaf",
    (ms: number) => new Promise((r) => setTimeout(() => r("late"), ms)),
  );
  return { huey, add, wait, deaf, ran, signals, advance: (ms: number) => (now += ms) };
}

await onEachStorage("cancel", (open) => {
  it("a waiting task never runs, ends as cancelled, and cannot be restored", async () => {
    const { huey, add, ran, signals } = app(open());
    const r = await add(1, 2);
    assert.equal(await r.cancel(), true);
    assert.equal(await huey.restoreById(r.id), false, "a cancellation is not a revocation");
    const outcome = await huey.executeNext();
    assert.equal(outcome?.status, "canceled");
    assert.deepEqual(ran, []);
    assert.deepEqual(signals, [`canceled ${r.id}`]);
    await rejectsCancelled(r.get({ blocking: true, timeout: 5 }));
    assert.equal(await huey.storage.queueSize(), 0, "not retried");
    assert.equal(await huey.cancel(r.id), false, "nothing left to cancel");
    assert.equal(await huey.isRevoked(r.id), false, "its mark is gone");
    assert.equal((await huey.status(r.id)).state, "cancelled");
  });

  it("a scheduled task never runs when it comes due", async () => {
    const { huey, add, ran, advance } = app(open());
    const r = await add.schedule([2, 3], { delay: 60 });
    assert.equal(await huey.cancel(r.id), true);
    advance(61_000);
    assert.equal((await huey.readSchedule()).length, 1);
    assert.equal((await huey.executeNext())?.status, "canceled");
    assert.deepEqual(ran, []);
    await rejectsCancelled(r.get({ blocking: true, timeout: 5 }));
  });

  it("returns false for an unknown or finished task, and rejects what cannot be an id", async () => {
    const { huey, add } = app(open());
    assert.equal(await huey.cancel("no-such-task"), false);
    const r = await add(1, 1);
    await huey.executeNext();
    assert.equal(await r.cancel(), false);
    assert.equal(await r.get(), 2);
    await assert.rejects(huey.cancel(""), TypeError);
    await assert.rejects(huey.cancel("%r:x"), TypeError);
  });

  it("a running task has its signal aborted, ends as cancelled and is not retried", async () => {
    const { huey, wait, ran, signals } = app(open());
    const consumer = new Consumer(huey, { workers: 2, initialDelay: 0.01, maxDelay: 0.05 });
    await consumer.start();
    try {
      const r = await wait(30_000);
      const started = Date.now();
      await until(() => ran.includes(`start ${r.id}`), 10_000);
      assert.equal(await r.cancel(), true);
      await rejectsCancelled(r.get({ blocking: true, timeout: 10 }));
      assert.ok(Date.now() - started < 10_000, "at once, not after the task's 30 s");
      assert.ok(ran.includes(`aborted ${r.id} CancelExecution`), ran.join("\n"));
      assert.ok(signals.includes(`canceled ${r.id}`));
      assert.equal(await huey.storage.queueSize() + await huey.storage.scheduleSize(), 0);
      // Its mark goes once the worker is done with the run (just after its result is stored).
      await until(async () => !(await huey.isRevoked(r.id)), 5_000);
    } finally {
      await consumer.stop();
    }
  });

  it("a running task that ignores its signal still ends as cancelled, and the worker goes on", async () => {
    const { huey, deaf, add } = app(open());
    const consumer = new Consumer(huey, { workers: 1, initialDelay: 0.01, maxDelay: 0.05 });
    await consumer.start();
    try {
      const r = await deaf(20_000);
      const started = Date.now();
      await until(async () => (await huey.storage.leasedSize()) > 0, 10_000);
      assert.equal(await huey.cancel(r.id), true);
      await rejectsCancelled(r.get({ blocking: true, timeout: 10 }));
      const next = await add(2, 2);
      assert.equal(await next.get({ blocking: true, timeout: 10 }), 4);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      await consumer.stop();
    }
  });
});

/**
 * A producer's Huey and a consumer's on one server, each with its own
 * connections: the cancel crosses through the server's pub/sub (the
 * consumer's 60 s lease renews every 20 s, so an abort within seconds came
 * that way).
 */
function crossInstance(kind: string, make: () => { producer: Huey; worker: Huey }) {
  it(`reaches a task running under another Huey instance at once, through ${kind}'s pub/sub`, async () => {
    const { producer, worker } = make();
    const ran: string[] = [];
    const declare = (huey: Huey) =>
      huey.task("wait", (ms: number, ctx: TaskContext) =>
        new Promise((resolve, reject) => {
          ran.push(`start ${ctx.id}`);
          const timer = setTimeout(() => resolve("done"), ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        }), { context: true });
    const wait = declare(producer);
    declare(worker);
    const consumer = new Consumer(worker, { workers: 1, initialDelay: 0.01, maxDelay: 0.05 });
    await consumer.start();
    try {
      const r = await wait(60_000);
      await until(() => ran.includes(`start ${r.id}`), 10_000);
      const asked = Date.now();
      assert.equal(await producer.cancel(r.id), true);
      await rejectsCancelled(r.get({ blocking: true, timeout: 30 }));
      assert.ok(Date.now() - asked < 3000, `took ${Date.now() - asked} ms`);
    } finally {
      await consumer.stop();
      await producer.close();
      await worker.close();
    }
  });
}

let pairs = 0;
const pairName = () => `cancel-pair-${Date.now().toString(36)}-${pairs++}`;

await describeWithRedis("cancel across Huey instances on Redis", (server) => {
  describe("cancel across Huey instances on Redis", { timeout: 60_000 }, () => {
    after(() => server.stop());
    crossInstance("Redis", () => {
      const name = pairName();
      const huey = () => new RedisHuey({ name, url: server.url, leaseTimeout: 60, logger: silent });
      return { producer: huey(), worker: huey() };
    });
  });
});

await describeWithPostgres("cancel across Huey instances on PostgreSQL", (server) => {
  describe("cancel across Huey instances on PostgreSQL", { timeout: 60_000 }, () => {
    after(() => server.stop());
    crossInstance("PostgreSQL", () => {
      const name = pairName();
      const huey = () =>
        new PostgresHuey({ name, url: server.url, leaseTimeout: 60, logger: silent });
      return { producer: huey(), worker: huey() };
    });
  });
});
