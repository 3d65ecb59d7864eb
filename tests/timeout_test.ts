/**
 * Task timeouts: per task and per call, `0` for none, the `TaskTimeout`
 * error a timed-out run stores, the `timeout` signal, retries, and the
 * cooperative API (`ctx.timeRemaining()`, `isTimedOut()`, `checkTimeout()`),
 * on memory, SQLite and Redis. The deadlines are real timers (what is
 * tested is that they fire), kept to a few tenths of a second.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigurationError,
  currentTask,
  HueyError,
  MemoryHuey,
  SIGNAL_ENQUEUED,
  SIGNAL_EXECUTING,
  SIGNAL_RETRYING,
  SIGNAL_SCHEDULED,
  SIGNAL_TIMEOUT,
  TaskError,
  TaskTimeout,
} from "../mod.ts";
import type { Huey, SignalName, TaskContext } from "../mod.ts";
import { onEachStorage } from "./each_storage.ts";
import { drain, producerAndWorker, silent } from "./helpers.ts";

let names = 0;

/** Never settles, and ignores its signal: only the deadline can end it. */
const forever = () => new Promise<never>(() => {});

/** Asserts `error` is the TaskError of a run of `name` that timed out after `limit` seconds. */
function assertTimedOut(error: unknown, name: string, limit: number): true {
  assert.ok(error instanceof TaskError, String(error));
  assert.equal(error.remoteName, "TaskTimeout");
  assert.equal(error.taskName, name);
  assert.match(error.remoteMessage, new RegExp(`^Task ${name} \\(.+\\) timed out after ${limit}s`));
  return true;
}

await onEachStorage("task timeouts", (open) => {
  const setup = <T>(declare: (huey: Huey) => T) => {
    const storage = open();
    const pair = producerAndWorker(declare, { storage });
    const seen: SignalName[] = [];
    pair.producer.signal((signal) => void seen.push(signal));
    pair.worker.signal((signal) => void seen.push(signal));
    return { ...pair, seen };
  };

  it("a run past its timeout stores a TaskTimeout that says the limit", async () => {
    const { worker, tasks: stuck } = setup((h) => h.task("stuck", forever, { timeout: 0.05 }));
    const r = await stuck();
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "timeout");
    assert.ok(outcome?.error instanceof TaskTimeout);
    await assert.rejects(() => r.get(), (error) => assertTimedOut(error, "stuck", 0.05));
  });

  it("fires timeout, not error, and is retried: enqueued, executing, timeout, retrying, scheduled", async () => {
    const { worker, tasks: stuck, seen } = setup((h) =>
      h.task("stuck", forever, { timeout: 0.05, retries: 1, retryDelay: 60 })
    );
    await stuck();
    await worker.executeNext();
    assert.deepEqual(seen, [
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_TIMEOUT,
      SIGNAL_RETRYING,
      SIGNAL_SCHEDULED,
    ]);
    const [retry] = await worker.scheduled();
    assert.equal(retry.retries, 0);
  });

  it("timeout per call: schedule() overrides the task's, and timeout: 0 means none", async () => {
    const { worker, tasks: nap } = setup((h) =>
      h.task("nap", (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), {
        timeout: 0.05,
      })
    );
    const declared = await nap(200);
    const longer = await nap.schedule([200], { timeout: 2 });
    const none = await nap.schedule([200], { timeout: 0 });
    const shorter = await nap.schedule([200], { timeout: 0.02 });
    assert.deepEqual(await drain(worker), ["timeout", "complete", "complete", "timeout"]);
    await assert.rejects(() => declared.get(), (error) => assertTimedOut(error, "nap", 0.05));
    assert.equal(await longer.get(), 200);
    assert.equal(await none.get(), 200);
    await assert.rejects(() => shorter.get(), (error) => assertTimedOut(error, "nap", 0.02));
  });
});

describe("timeout settings", () => {
  it("timeout: 0 at declaration means none", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const nap = huey.task(
      "nap",
      (ms: number, ctx: TaskContext) =>
        new Promise((r) => setTimeout(() => r(ctx.timeRemaining()), ms)),
      {
        timeout: 0,
        context: true,
      },
    );
    assert.equal(await (await nap(30)).get(), Infinity);
  });

  it("refuses a negative or too long timeout at declaration and at call time, naming the task and the value", async () => {
    const huey = new MemoryHuey({ logger: silent });
    for (const timeout of [-1, -0.001, NaN, 3e6]) {
      assert.throws(
        () => huey.task(`t${names++}`, () => 1, { timeout }),
        (error: Error) =>
          error instanceof ConfigurationError &&
          /^Cannot use task t\d+ timeout: /.test(error.message) &&
          error.message.endsWith(`: ${timeout}`),
        String(timeout),
      );
    }
    const ok = huey.task("ok", () => 1);
    for (const timeout of [-1, NaN]) {
      assert.throws(
        () => ok.schedule([], { timeout }),
        (error: Error) =>
          error instanceof ConfigurationError &&
          error.message ===
            `Cannot use schedule of ok timeout: expected a number of seconds from 0 (none) to 2147483: ${timeout}`,
      );
    }
    const r = await ok();
    await assert.rejects(() => r.reschedule({ timeout: -5 }), ConfigurationError);
    assert.equal(await huey.storage.queueSize(), 1);
  });

  it("reschedule() keeps the timeout, or takes a new one", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const t = huey.task("t", () => 1, { timeout: 5 });
    const r = await t.schedule([], { timeout: 7 });
    assert.equal((await r.reschedule({ delay: 10 })).task.timeout, 7);
    assert.equal((await r.reschedule({ delay: 10, timeout: 0 })).task.timeout, 0);
  });

  it("TaskTimeout is a HueyError carrying the limit and the task", () => {
    const error = new TaskTimeout(30, { id: "abc", name: "report" });
    assert.ok(error instanceof HueyError);
    assert.equal(error.name, "TaskTimeout");
    assert.equal(error.timeout, 30);
    assert.equal(error.taskId, "abc");
    assert.equal(error.taskName, "report");
    assert.equal(error.message, "Task report (abc) timed out after 30s");
  });
});

describe("the task's deadline, cooperatively", () => {
  it("ctx.signal aborts with the TaskTimeout", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    let reason: unknown;
    const wait = huey.task(
      "wait",
      (ctx: TaskContext) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(reason = ctx.signal.reason))
        ),
      { timeout: 0.05, context: true },
    );
    const r = await wait();
    assert.ok(reason instanceof TaskTimeout);
    assert.equal(reason.timeout, 0.05);
    await assert.rejects(() => r.get(), (error) => assertTimedOut(error, "wait", 0.05));
  });

  it("timeRemaining() counts down from the timeout; Infinity without one", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const read = huey.task("read", async (ctx: TaskContext) => {
      const first = ctx.timeRemaining();
      await new Promise((r) => setTimeout(r, 50));
      return [first, ctx.timeRemaining(), ctx.isTimedOut()];
    }, { timeout: 10, context: true });
    const [first, second, timedOut] = await (await read()).get() as number[];
    assert.ok(first <= 10 && first > 9.9, `${first}`);
    assert.ok(second <= first - 0.04, `${second}`);
    assert.equal(timedOut, false);

    const free = huey.task("free", (ctx: TaskContext) => [
      ctx.timeRemaining(),
      ctx.isTimedOut(),
      currentTask()?.timeRemaining(),
    ], { context: true });
    assert.deepEqual(await (await free()).get(), [Infinity, false, Infinity]);
    assert.deepEqual(
      await free.callLocal(),
      [Infinity, false, undefined],
      "callLocal gives the methods too (and runs outside any task)",
    );
  });

  it("checkTimeout() ends a busy loop the timer cannot interrupt, as a TaskTimeout with the timeout signal", async () => {
    const { worker, tasks: crunch } = producerAndWorker((h) =>
      h.task("crunch", (ctx: TaskContext) => {
        // A synchronous loop: the event loop (and the hard timeout) waits for it.
        for (let rounds = 0; rounds < 1e10; rounds++) ctx.checkTimeout();
        return "never timed out";
      }, { timeout: 0.1, context: true })
    );
    const seen: [SignalName, unknown][] = [];
    worker.signal((signal, _task, error) => void seen.push([signal, error]));
    const r = await crunch();
    const started = performance.now();
    const outcome = await worker.executeNext();
    const took = (performance.now() - started) / 1000;
    assert.equal(outcome?.status, "timeout");
    assert.ok(took >= 0.1 && took < 5, `took ${took}s`);
    assert.deepEqual(seen.map(([s]) => s), [SIGNAL_EXECUTING, SIGNAL_TIMEOUT]);
    assert.ok(seen[1][1] instanceof TaskTimeout, "the handler receives the TaskTimeout");
    await assert.rejects(() => r.get(), (error) => assertTimedOut(error, "crunch", 0.1));
  });
});

describe("per-call options on a built invocation (withOptions)", () => {
  it("withOptions({ timeout }).s() sets a pipeline member's timeout; the others keep theirs", async () => {
    const { worker, tasks } = producerAndWorker((h) => ({
      add: h.task("add", (a: number, b: number) => a + b),
      nap: h.task(
        "nap",
        (x: number, ms: number) => new Promise((r) => setTimeout(() => r(x), ms)),
        { timeout: 5 },
      ),
    }));
    const pipeline = tasks.add.s(1, 2).then(tasks.nap.withOptions({ timeout: 0.05 }), 200);
    assert.equal(pipeline.onComplete?.timeout, 0.05);
    const group = await worker.enqueue(pipeline);
    assert.deepEqual(await drain(worker), ["complete", "timeout"]);
    const [sum, napped] = [...group];
    assert.equal(await sum.get(), 3);
    await assert.rejects(() => napped.get(), (error) => assertTimedOut(error, "nap", 0.05));
    assert.equal(tasks.nap.s(1, 1).timeout, 5, "s() keeps the declared timeout");
    assert.equal(tasks.nap.withOptions({ timeout: 0 }).s(1, 1).timeout, 0);
  });

  it("takes the other per-call settings too, and refuses bad ones where it is called", () => {
    const huey = new MemoryHuey({ logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b, { retries: 1 });
    const task = add.withOptions({ retries: 3, retryBackoff: 2, priority: 9, delay: 60 }).s(1, 2);
    assert.deepEqual([task.retries, task.retryBackoff, task.priority], [3, 2, 9]);
    assert.ok(task.eta, "delay counts from now");
    assert.throws(
      () => add.withOptions({ timeout: -1 }),
      (error: Error) =>
        error instanceof ConfigurationError &&
        error.message.startsWith("Cannot use withOptions of add timeout: ") &&
        error.message.endsWith(": -1"),
    );
    assert.throws(() => add.withOptions({ retryBackoff: 0.5 }), ConfigurationError);
  });
});
