import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryHuey, ResultGroup, ResultTimeout, TaskError } from "../mod.ts";
import type { TaskErrorInfo } from "../mod.ts";
import { drain, producerAndWorker, silent } from "./helpers.ts";

describe("pipelines", () => {
  it("passes each result to the next task: the guide's add pipeline gives [3, 6, 10, 15]", async () => {
    const { producer, worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const pipeline = add.s(1, 2).then(add, 3).then(add, 4).then(add, 5);
    const group = await producer.enqueue(pipeline);
    assert.ok(group instanceof ResultGroup);
    assert.equal(group.length, 4);
    assert.equal(await producer.storage.queueSize(), 1, "only the first task is queued");
    assert.deepEqual(await drain(worker), ["complete", "complete", "complete", "complete"]);
    assert.deepEqual(await group.get({ blocking: true }), [3, 6, 10, 15]);
  });

  it("then(taskInstance, ...args) and error(taskInstance, ...args) keep the extra arguments (huey's extend_data)", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const product = huey.task(
      "product",
      (...factors: number[]) => factors.reduce((result, factor) => result * factor, 1),
    );
    const seen: unknown[][] = [];
    const note = huey.task("note", (...args: unknown[]) => void seen.push(args));
    const fails = huey.task("fails", () => {
      throw new Error("no");
    });
    // product.s() builds an invocation with no arguments yet: the parent's
    // result goes in front, the extra arguments after its own.
    const group = await huey.enqueue(add.s(1, 2).then(product.s(), 4).then(product.s(2), 5));
    assert.deepEqual(await group.get({ blocking: true }), [3, 12, 120], "3 * 4, then 12 * 2 * 5");
    await huey.enqueue(fails.s().error(note.s("first"), "second"));
    assert.equal(seen.length, 1);
    assert.equal((seen[0][0] as TaskErrorInfo).message, "no");
    assert.deepEqual(seen[0].slice(1), ["first", "second"]);
  });

  it("a Task is not a promise: awaiting or returning one fails with a TypeError that says what to do", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const task = add.s(1, 2);
    const asPromise = task as unknown as PromiseLike<unknown>;
    await assert.rejects(async () => await asPromise, (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.match(
        err.message,
        /Cannot then task add: .*a Task is not a promise: enqueue it with huey.enqueue\(task\)/,
      );
      return true;
    });
    const returning = async () => asPromise;
    await assert.rejects(returning, TypeError);
    assert.equal(task.onComplete, undefined, "nothing was chained onto it");
    assert.throws(() => task.then(42 as never), /expected a task wrapper or a Task, got number/);
  });

  it("ResultGroup.asCompleted() yields results in completion order, not group order", async () => {
    const { producer, worker, tasks: echo } = producerAndWorker((h) =>
      h.task("echo", (value: string) => value)
    );
    const group = await echo.map([["a"], ["b"], ["c"]]);
    const order: string[] = [];
    const reading = (async () => {
      for await (const result of group.asCompleted({ timeout: 10 })) {
        order.push((await result.get()) as string);
      }
    })();
    // Run them last first: take all three, then finish c, b, a.
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push((await worker.executor.dequeue())!);
    for (const delivery of taken.reverse()) {
      await worker.executor.executeDelivery(delivery);
      await new Promise((r) => setTimeout(r, 20));
    }
    await reading;
    assert.deepEqual(order, ["c", "b", "a"]);
    assert.equal(await producer.storage.resultStoreSize(), 0, "each value read once");
  });

  it("asCompleted() gives up with ResultTimeout after its timeout", async () => {
    const huey = new MemoryHuey();
    const echo = huey.task("echo", (value: string) => value);
    const group = await echo.map([["a"]]);
    await assert.rejects(async () => {
      for await (const _ of group.asCompleted({ timeout: 0.05 })) { /* nothing completes */ }
    }, ResultTimeout);
  });

  it("can be iterated result by result", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const group = await huey.enqueue(add.s(1, 2).then(add, 3));
    const values: (number | undefined)[] = [];
    for (const result of group) values.push(await result.get({ blocking: true }));
    assert.deepEqual(values, [3, 6]);
    assert.equal(group.at(-1)?.task.args[0], 3);
  });

  it("spreads an array result into the next task's arguments: the guide's fib chain", async () => {
    const { producer, worker, tasks: fib } = producerAndWorker((h) =>
      h.task("fib", (a: number, b = 1): [number, number] => [a + b, a])
    );
    const results = await producer.enqueue(fib.s(1).then(fib).then(fib).then(fib));
    await drain(worker);
    assert.deepEqual(await results.get({ blocking: true }), [[2, 1], [3, 2], [5, 3], [8, 5]]);
  });

  it("does not run the rest of the pipeline when a task fails", async () => {
    const { producer, worker, tasks } = producerAndWorker((h) => ({
      boom: h.task("boom", (_x: number): number => {
        throw new Error("boom");
      }),
      add: h.task("add", (a: number, b: number) => a + b),
    }));
    const group = await producer.enqueue(tasks.boom.s(1).then(tasks.add, 2));
    assert.deepEqual(await drain(worker), ["error"]);
    await assert.rejects(() => group.at(0)!.get(), TaskError);
    assert.equal(await group.at(1)!.get(), undefined);
  });

  it("runs an error handler after every failed attempt, each with that attempt's error (huey's default)", async () => {
    const handled: [TaskErrorInfo, string][] = [];
    let attempts = 0;
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const flaky = huey.task("flaky", () => {
      attempts++;
      throw new RangeError(`attempt ${attempts}`);
    }, { retries: 2 });
    const onError = huey.task("on_error", (info: TaskErrorInfo, tag: string) => {
      handled.push([info, tag]);
    });
    const r = await huey.enqueue(flaky.s().error(onError, "alert"));
    assert.equal(attempts, 3);
    assert.deepEqual(handled.map(([info]) => [info.message, info.retries]), [
      ["attempt 1", 2],
      ["attempt 2", 1],
      ["attempt 3", 0],
    ]);
    for (const [info, tag] of handled) {
      assert.equal(tag, "alert", "one error in front of the handler's own arguments, never more");
      assert.equal(info.name, "RangeError");
      assert.equal(info.taskId, r.id);
      assert.equal(info.taskName, "flaky");
    }
  });

  it("runs the error handler once, after the last attempt, with storeIntermediateErrors: false", async () => {
    const handled: string[] = [];
    let attempts = 0;
    const huey = new MemoryHuey({
      immediate: true,
      logger: silent,
      storeIntermediateErrors: false,
    });
    const flaky = huey.task("flaky", () => {
      throw new RangeError(`attempt ${++attempts}`);
    }, { retries: 2 });
    const onError = huey.task("on_error", (info: TaskErrorInfo) => void handled.push(info.message));
    await huey.enqueue(flaky.s().error(onError));
    assert.equal(attempts, 3);
    assert.deepEqual(handled, ["attempt 3"]);
  });

  it("accepts an invocation built with s() as the next step", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const nothing = huey.task("nothing", () => {});
    const group = await huey.enqueue(nothing.s().then(add.s(2, 3)).then(add, 100));
    assert.deepEqual(await group.get(), [undefined, 5, 105]);
  });

  it("a task returning undefined passes no value on", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const nothing = huey.task("nothing", () => {});
    const add = huey.task("add", (a: number, b: number) => a + b);
    const group = await huey.enqueue(nothing.s().then(add, 1, 2));
    assert.deepEqual(await group.get(), [undefined, 3]);
  });
});
