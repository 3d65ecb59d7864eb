/**
 * Task status, progress and consumer heartbeats, in one process (a
 * producer and a worker Huey on one storage, the clock injected). The
 * same against real consumer processes: status_process_test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Consumer, MemoryStorage, RetryTask } from "../mod.ts";
import type { HueyEvent, TaskContext, TaskStatus } from "../mod.ts";
import { onEachStorage } from "./each_storage.ts";
import { fakeClock, producerAndWorker } from "./helpers.ts";

/** A status without `enqueuedAt`, which comes from the id (the real clock, not the test's). */
function untimed(status: TaskStatus): Omit<TaskStatus, "enqueuedAt"> {
  const { enqueuedAt: _made, ...rest } = status;
  return rest;
}

await onEachStorage("task status", (open) => {
  it("queued, scheduled, then complete with trackStatus off: derived, never consuming the result", async () => {
    const clock = fakeClock();
    const { producer, worker, tasks } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { storage: open(), clock },
    );
    const before = Date.now();
    const r = await tasks(1, 2);
    const { enqueuedAt, ...queued } = await producer.status(r.id);
    assert.deepEqual(queued, { id: r.id, name: "add", state: "queued", attempts: 0 });
    // Read from the id (UUID v7, made on the real clock): no write at enqueue.
    assert.ok(enqueuedAt! >= before - 1 && enqueuedAt! <= Date.now(), `enqueuedAt: ${enqueuedAt}`);
    const own = await tasks.schedule([5, 6], { id: "order-42" });
    assert.equal((await own.status()).enqueuedAt, undefined, "an id of one's own carries no time");
    const later = await tasks.schedule([3, 4], { delay: 60 });
    assert.equal((await later.status()).state, "scheduled");
    await worker.executeNext();
    assert.equal((await r.status()).state, "complete");
    assert.equal((await r.status()).state, "complete", "a second read sees it too");
    assert.equal(await r.get(), 3, "status did not consume the result");
    assert.equal((await producer.status("never-seen")).state, "unknown");
  });

  it("running from the message's lease with trackStatus off", async () => {
    const { producer, worker, tasks } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { storage: open() },
    );
    const r = await tasks(1, 2);
    const delivery = await worker.executor.dequeue();
    assert.deepEqual(untimed(await producer.status(r.id)), {
      id: r.id,
      name: "add",
      state: "running",
      attempts: 0,
    });
    await worker.executor.executeDelivery(delivery!);
    assert.equal((await r.status()).state, "complete");
  });

  it("with trackStatus: running names the consumer and the start; complete keeps attempts and times", async () => {
    const clock = fakeClock();
    let seen: unknown;
    const { producer, worker, tasks } = producerAndWorker(
      (h) =>
        h.task("slow", async (ctx: TaskContext) => {
          seen = await h.status(ctx.id);
          return "done";
        }, { context: true }),
      { storage: open(), clock, trackStatus: true },
    );
    const r = await tasks();
    const started = clock.now;
    const delivery = await worker.executor.dequeue();
    await worker.executor.executeDelivery(delivery!, { consumer: "c-1" });
    assert.deepEqual(untimed(seen as TaskStatus), {
      id: r.id,
      name: "slow",
      state: "running",
      attempts: 1,
      consumer: "c-1",
      startedAt: started,
    });
    const status = await producer.status(r.id);
    assert.equal(status.state, "complete");
    assert.equal(status.attempts, 1);
    assert.equal(status.consumer, "c-1");
    assert.equal(status.finishedAt, clock.now);
  });

  it("retrying with the last error and the attempts so far, then failed", async () => {
    const { producer, worker, tasks } = producerAndWorker((h) =>
      h.task("flaky", () => {
        throw new RangeError("no luck");
      }, { retries: 1 }), { storage: open() });
    const r = await tasks();
    await worker.executeNext();
    const retrying = await producer.status(r.id);
    assert.equal(retrying.state, "retrying");
    assert.equal(retrying.attempts, 1);
    assert.equal(retrying.error?.name, "RangeError");
    assert.equal(retrying.error?.message, "no luck");
    const again = await worker.executor.dequeue();
    assert.equal((await producer.status(r.id)).state, "running", "the retry's run, by its lease");
    assert.equal((await producer.status(r.id)).attempts, 2);
    await worker.executor.executeDelivery(again!);
    const failed = await r.status();
    assert.equal(failed.state, "failed");
    assert.equal(failed.attempts, 2);
    assert.equal(failed.error?.message, "no luck");
  });

  it("RetryTask counts every run; revoked and expired tasks show so once skipped", async () => {
    const clock = fakeClock();
    let runs = 0;
    const { producer, worker, tasks } = producerAndWorker((h) => ({
      again: h.task("again", () => {
        if (++runs < 3) throw new RetryTask();
      }),
      skip: h.task("skip", () => "x"),
    }), { storage: open(), clock });
    const again = await tasks.again();
    for (let i = 0; i < 3; i++) await worker.executeNext();
    assert.equal(runs, 3);
    assert.equal((await again.status()).attempts, 3);
    const revoked = await tasks.skip();
    await revoked.revoke();
    const expired = await tasks.skip.schedule([], { expires: 10 });
    clock.advance(11);
    await worker.executeNext();
    await worker.executeNext();
    assert.equal((await producer.status(revoked.id)).state, "revoked");
    assert.equal((await producer.status(expired.id)).state, "expired");
  });

  it("progress is stored, thinned to the latest in a tight loop, read from another Huey, and sent as events", async () => {
    const { producer, worker, tasks } = producerAndWorker(
      (h) =>
        h.task("count", async (ctx: TaskContext) => {
          for (let i = 1; i <= 100; i++) await ctx.progress(i / 100, { step: i });
          return "ok";
        }, { context: true }),
      { storage: open() },
    );
    const events: HueyEvent[] = [];
    const controller = new AbortController();
    const stream = worker.events({ signal: controller.signal });
    const reading = (async () => {
      for await (const event of stream) if (event.signal === "progress") events.push(event);
    })();
    await stream.ready;
    const r = await tasks();
    assert.equal(await r.progress(), undefined);
    await worker.executeNext();
    const progress = await r.progress();
    assert.equal(progress?.value, 1, "the last report is stored when the run ends");
    assert.deepEqual(progress?.meta, { step: 100 });
    assert.equal((await producer.status(r.id)).progress?.value, 1);
    // Across processes (Redis pub/sub) the events may still be on their way.
    for (let i = 0; i < 100 && events.length < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort();
    await reading;
    assert.equal(events.length, 100, "every report is an event");
    assert.deepEqual(events[99].progress, { value: 1, meta: { step: 100 } });
  });

  it("refuses a progress value that is not a number, and an id that cannot be a task's", async () => {
    const { producer, worker, tasks } = producerAndWorker(
      (h) =>
        h.task("bad", (ctx: TaskContext) => ctx.progress("half" as unknown as number), {
          context: true,
        }),
      { storage: open() },
    );
    const r = await tasks();
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "error");
    assert.ok(outcome?.error instanceof TypeError);
    assert.match(String(outcome?.error), /value must be a number: half/);
    assert.equal((await r.status()).state, "failed");
    await assert.rejects(() => producer.status("%status:x"), TypeError);
  });

  it("a status record expires statusTtl seconds after the task ends", async () => {
    const { producer, worker, tasks } = producerAndWorker(
      (h) => h.task("fails", () => Promise.reject(new Error("x"))),
      { storage: open(), statusTtl: 0.5, results: false },
    );
    const r = await tasks();
    await worker.executeNext();
    assert.equal((await producer.status(r.id)).state, "failed");
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal((await producer.status(r.id)).state, "unknown");
  });
});

describe("consumer heartbeats", () => {
  it("a consumer registers at start, beats, shows dead after 3 missed beats, and is removed by an orderly stop", async () => {
    const clock = fakeClock();
    const storage = new MemoryStorage();
    const { producer, worker } = producerAndWorker(() => undefined, { storage, clock });
    const consumer = new Consumer(worker, {
      workers: 2,
      heartbeatInterval: 5,
      consumerId: "worker-a",
      periodic: false,
    });
    await consumer.start();
    const [info] = await producer.consumers();
    assert.equal(info.id, "worker-a");
    assert.equal(info.workers, 2);
    assert.equal(info.workerType, "async");
    assert.equal(info.startedAt, clock.now);
    assert.equal(info.alive, true);
    assert.equal(typeof info.pid, "number");
    clock.advance(15);
    assert.equal((await producer.consumers())[0].alive, true, "3 beats missed: still alive");
    clock.advance(0.001);
    assert.equal((await producer.consumers())[0].alive, false, "past 3 beats: dead");
    await consumer.stop();
    assert.deepEqual(await producer.consumers(), []);
    await storage.close();
  });

  it("refuses a bad heartbeat interval or consumer id with a ConfigurationError", () => {
    const { worker } = producerAndWorker(() => undefined);
    assert.throws(() => new Consumer(worker, { heartbeatInterval: 0 }), /heartbeat interval/);
    assert.throws(() => new Consumer(worker, { consumerId: "a b" }), /consumer id/);
  });
});
