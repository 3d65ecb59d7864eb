import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CancelExecution, currentTask, MemoryHuey, RetryTask, TaskError } from "../mod.ts";
import type { TaskContext } from "../mod.ts";
import { drain, fakeClock, producerAndWorker, silent } from "./helpers.ts";

describe("retries", () => {
  it("follows the guide's flaky_task story: error stored, retried, reset() reads the new value", async () => {
    let calls = 0;
    const { producer, worker, tasks: flaky } = producerAndWorker((h) =>
      h.task("flaky_task", () => {
        if (++calls === 1) throw new Error("failing!");
        return "OK";
      }, { retries: 2 })
    );
    const r = await flaky();
    const first = await worker.executeNext();
    assert.equal(first?.status, "error");
    assert.equal(first?.retrying, true);
    await assert.rejects(() => r.get(), (err: unknown) => {
      assert.ok(err instanceof TaskError);
      assert.equal(err.remoteMessage, "failing!");
      assert.equal(err.retries, 2);
      return true;
    });
    const [requeued] = await producer.pending();
    assert.equal(requeued.id, r.id, "the same invocation is retried");
    assert.equal(requeued.retries, 1);
    await worker.executeNext();
    r.reset();
    assert.equal(await r.get(), "OK");
    assert.equal(calls, 2);
  });

  it("retries immediately up to `retries` times, then keeps the last error", async () => {
    let calls = 0;
    const { worker, tasks: fails } = producerAndWorker((h) =>
      h.task("fails", () => {
        calls++;
        throw new Error(`attempt ${calls}`);
      }, { retries: 2 })
    );
    const r = await fails();
    assert.deepEqual(await drain(worker), ["error", "error", "error"]);
    assert.equal(calls, 3);
    await assert.rejects(() => r.get(), /attempt 3/);
  });

  it("waits retryDelay seconds between attempts", async () => {
    const clock = fakeClock();
    let calls = 0;
    const { producer, worker, tasks: flaky } = producerAndWorker(
      (h) =>
        h.task("flaky", () => {
          if (++calls < 3) throw new Error("not yet");
          return calls;
        }, { retries: 2, retryDelay: 10 }),
      { clock },
    );
    const r = await flaky();
    await worker.executeNext();
    assert.equal(await producer.storage.queueSize(), 0);
    const [scheduled] = await producer.scheduled();
    assert.equal(scheduled.eta?.getTime(), clock.now + 10_000);
    assert.deepEqual(await worker.readSchedule(clock.now + 9_999), []);
    clock.advance(10);
    await worker.readSchedule();
    await worker.executeNext();
    clock.advance(10);
    await worker.readSchedule();
    await worker.executeNext();
    assert.equal(await r.get(), 3);
  });

  it("RetryTask retries a task declared without retries, and does not use up its retries", async () => {
    const clock = fakeClock();
    let calls = 0;
    const { producer, worker, tasks } = producerAndWorker(
      (h) => ({
        fetch: h.task("fetch", () => {
          if (++calls === 1) throw new RetryTask({ delay: 60 });
          return "data";
        }),
        counted: h.task("counted", (ctx: TaskContext) => {
          if (ctx.retries === 3 && calls++ < 10) throw new RetryTask();
          return ctx.retries;
        }, { retries: 3, context: true }),
      }),
      { clock },
    );
    const r = await tasks.fetch();
    await worker.executeNext();
    const [scheduled] = await producer.scheduled();
    assert.equal(scheduled.eta?.getTime(), clock.now + 60_000);
    assert.equal(scheduled.retries, 0);
    clock.advance(60);
    await worker.readSchedule();
    await worker.executeNext();
    assert.equal(await r.get(), "data");

    calls = 0;
    const c = await tasks.counted();
    await drain(worker);
    assert.equal(calls, 11, "RetryTask retried ten times, each keeping retries at 3");
    assert.equal(await c.get(), 3);
  });

  it("CancelExecution retries only when told to, or when retries remain", async () => {
    const calls = { yes: 0, no: 0, maybe: 0, none: 0 };
    const { worker, tasks } = producerAndWorker((h) => ({
      yes: h.task("yes", () => {
        if (++calls.yes === 1) throw new CancelExecution({ retry: true });
        return "retried";
      }),
      no: h.task("no", () => {
        calls.no++;
        throw new CancelExecution({ retry: false });
      }, { retries: 2 }),
      maybe: h.task("maybe", () => {
        if (++calls.maybe === 1) throw new CancelExecution();
        return "retried";
      }, { retries: 1 }),
      none: h.task("none", () => {
        calls.none++;
        throw new CancelExecution();
      }),
    }));
    const yes = await tasks.yes();
    await tasks.no();
    const maybe = await tasks.maybe();
    await tasks.none();
    const statuses = await drain(worker);
    assert.deepEqual(statuses.filter((s) => s === "canceled").length, 4);
    assert.deepEqual(calls, { yes: 2, no: 1, maybe: 2, none: 1 });
    assert.equal(await yes.get(), "retried");
    assert.equal(await maybe.get(), "retried");
  });

  it("a task can change its own retry delay through the context (exponential backoff)", async () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const { producer, worker, tasks: backoff } = producerAndWorker(
      (h) =>
        h.task("backoff", (ctx: TaskContext) => {
          seen.push(clock.now);
          ctx.task.retryDelay *= 2;
          throw new Error("forcing retry");
        }, { retries: 3, retryDelay: 1, context: true }),
      { clock },
    );
    const start = clock.now;
    await backoff();
    await worker.executeNext();
    for (let i = 0; i < 3; i++) {
      const [next] = await producer.scheduled();
      clock.now = next.eta!.getTime();
      await worker.readSchedule();
      await worker.executeNext();
    }
    assert.deepEqual(seen.map((t) => (t - start) / 1000), [0, 2, 6, 14]);
  });
});

describe("task context", () => {
  it("passes { id, name, retries, signal, task } as the last argument with context: true", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const ctxTask = huey.task("ctx", (x: number, ctx: TaskContext) => ({
      x,
      id: ctx.id,
      name: ctx.name,
      retries: ctx.retries,
      aborted: ctx.signal.aborted,
      same: ctx.task.id === ctx.id,
    }), { context: true, retries: 2 });
    const r = await ctxTask(5);
    assert.deepEqual(await r.get(), {
      x: 5,
      id: r.id,
      name: "ctx",
      retries: 2,
      aborted: false,
      same: true,
    });
  });

  it("currentTask() returns the running task's context, also across awaits", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const inner = async () => {
      await new Promise((r) => setTimeout(r, 1));
      return currentTask()?.name;
    };
    const who = huey.task("who", async () => [currentTask()?.id, await inner()]);
    const r = await who();
    assert.deepEqual(await r.get(), [r.id, "who"]);
    assert.equal(currentTask(), undefined);
  });

  it("callLocal gives a context-taking task a fresh context", () => {
    const huey = new MemoryHuey();
    const named = huey.task("named", (ctx: TaskContext) => ctx.name, { context: true });
    assert.equal(named.callLocal(), "named");
  });
});

describe("timeouts and interruption", () => {
  it("aborts the task's signal after `timeout` seconds and counts the run as an error", async () => {
    let sawAbort = false;
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const slow = huey.task("slow", (ctx: TaskContext) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve("too late"), 5000);
        ctx.signal.addEventListener("abort", () => {
          sawAbort = true;
          clearTimeout(timer);
        });
      }), { timeout: 0.05, context: true });
    const r = await slow();
    assert.equal(sawAbort, true);
    await assert.rejects(
      () => r.get(),
      (err: unknown) =>
        err instanceof TaskError && err.remoteName === "TaskTimeout" &&
        /timed out after 0.05s/.test(err.remoteMessage),
    );
  });

  it("retries a timed-out task that has retries, even if it ignores its signal", async () => {
    let calls = 0;
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const stubborn = huey.task("stubborn", () => {
      calls++;
      return new Promise((resolve) => setTimeout(() => resolve(calls), calls === 1 ? 300 : 0));
    }, { timeout: 0.05, retries: 1 });
    const r = await stubborn();
    assert.equal(calls, 2);
    assert.equal(await r.get(), 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  it("a hard stop interrupts the task: no result, message not acknowledged", async () => {
    const { producer, worker, tasks: wait } = producerAndWorker((h) =>
      h.task("wait", (ctx: TaskContext) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, 5000);
          ctx.signal.addEventListener("abort", () => clearTimeout(timer));
        }), { context: true })
    );
    const r = await wait();
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error("SIGTERM")), 20);
    const outcome = await worker.executeNext({ signal: stop.signal });
    assert.equal(outcome?.status, "interrupted");
    assert.equal(await r.get(), undefined);
    assert.equal(await producer.storage.leasedSize(), 1, "left for redelivery");
    const recovered = await producer.storage.recoverLeases(Date.now() + 3600_000);
    assert.equal(producer.decodeTask(recovered[0]).id, r.id);
  });

  it("each task gets a signal of its own that the hard stop aborts", async () => {
    const seen: AbortSignal[] = [];
    const { worker, tasks: peek } = producerAndWorker((h) =>
      h.task("peek", (ctx: TaskContext) => {
        seen.push(ctx.signal);
        // A listener the task never removes stays on its own signal.
        ctx.signal.addEventListener("abort", () => {});
        return 1;
      }, { context: true })
    );
    await peek();
    await peek();
    const stop = new AbortController();
    await worker.executeNext({ signal: stop.signal });
    await worker.executeNext({ signal: stop.signal });
    assert.equal(seen.length, 2);
    assert.notEqual(seen[0], stop.signal);
    assert.notEqual(seen[0], seen[1]);
    stop.abort(new Error("SIGTERM"));
    assert.ok(seen.every((signal) => signal.aborted), "the hard stop reaches every task's signal");
  });
});

describe("delivery limit", () => {
  it("sets a message aside once its lease has run out maxDeliveries times, and acknowledges it", async () => {
    const clock = fakeClock();
    let runs = 0;
    const { producer, worker, tasks: stuck } = producerAndWorker(
      (h) => h.task("stuck", () => ++runs),
      { clock, leaseTimeout: 10, maxDeliveries: 3 },
    );
    const r = await stuck();
    // Three consumers take it and die before finishing.
    for (let i = 1; i <= 3; i++) {
      const delivery = await worker.executor.dequeue();
      assert.equal(delivery?.deliveries, i);
      clock.advance(11);
      assert.equal((await producer.storage.recoverLeases(clock.now)).length, 1);
    }
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "invalid");
    assert.equal(runs, 0, "never run a fourth time");
    const [kept] = await producer.storage.errorItems();
    assert.match(kept.reason, /^DeliveryLimitExceeded: delivered 4 times without finishing/);
    assert.equal(producer.decodeTask(kept.data).id, r.id);
    assert.equal(await producer.storage.leasedSize(), 0, "acknowledged");
    assert.equal(await producer.storage.queueSize(), 0);
  });

  it("runs a message normally up to maxDeliveries", async () => {
    const clock = fakeClock();
    const { producer, worker, tasks: add } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { clock, leaseTimeout: 10, maxDeliveries: 2 },
    );
    const r = await add(1, 2);
    await worker.executor.dequeue();
    clock.advance(11);
    await producer.storage.recoverLeases(clock.now);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), 3);
  });

  it("rejects a maxDeliveries that is not an integer >= 1", () => {
    assert.throws(
      () => new MemoryHuey({ maxDeliveries: 0 }),
      /maxDeliveries: expected an integer >= 1: 0/,
    );
  });
});
