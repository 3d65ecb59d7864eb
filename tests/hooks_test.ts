/**
 * Pre-execute, post-execute, startup and shutdown hooks.
 */
import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelExecution,
  createLogger,
  Huey,
  MemoryStorage,
  SIGNAL_CANCELED,
  TaskError,
} from "../mod.ts";
import type { LogLevel, SignalName, Task } from "../mod.ts";

const logger = createLogger({ level: "silent" });

/** A producer and a worker on one storage with `add` and `fail` declared on both. */
function setup(options: { retries?: number } = {}) {
  const storage = new MemoryStorage();
  const lines: [LogLevel, string][] = [];
  const producer = new Huey({ storage, logger });
  const worker = new Huey({
    storage,
    logger: createLogger({ level: "debug", write: (line, level) => lines.push([level, line]) }),
  });
  const calls: string[] = [];
  const declare = (huey: Huey) => ({
    add: huey.task("add", (a: number, b: number) => {
      calls.push(`add(${a}, ${b})`);
      return a + b;
    }, options),
    fail: huey.task("fail", (message: string) => {
      calls.push(`fail(${message})`);
      throw new RangeError(message);
    }, options),
  });
  const tasks = declare(producer);
  declare(worker);
  const errors = () => lines.filter(([level]) => level === "error").map(([, line]) => line);
  return { producer, worker, calls, lines, errors, ...tasks };
}

describe("pre-execute hooks", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
  });

  it("run in registration order before each task, with the task about to run", async () => {
    const { worker, add, calls } = env;
    worker.registerPreExecute("first", (task) => {
      calls.push(`first:${task.name}:${task.args.join(",")}`);
    });
    worker.registerPreExecute("second", (task) => {
      calls.push(`second:${task.name}`);
    });
    const r1 = await add(1, 2);
    const r2 = await add(3, 4);
    await worker.executeNext();
    await worker.executeNext();
    assert.deepEqual(calls, [
      "first:add:1,2",
      "second:add",
      "add(1, 2)",
      "first:add:3,4",
      "second:add",
      "add(3, 4)",
    ]);
    assert.equal(await r1.get(), 3);
    assert.equal(await r2.get(), 7);
  });

  it("receive the task's id", async () => {
    const { worker, add } = env;
    const ids: string[] = [];
    worker.preExecute((task: Task) => {
      ids.push(task.id);
    });
    const r = await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(ids, [r.id]);
  });

  it("async hooks are awaited before the task runs", async () => {
    const { worker, add, calls } = env;
    worker.preExecute(async function slow() {
      await new Promise((resolve) => setTimeout(resolve, 2));
      calls.push("hook done");
    });
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["hook done", "add(1, 2)"]);
  });

  it("CancelExecution cancels the task: canceled signal, function not called, no result", async () => {
    const { worker, add, calls } = env;
    const signals: SignalName[] = [];
    worker.signal((signal) => {
      signals.push(signal);
    });
    worker.preExecute(function maintenance() {
      throw new CancelExecution();
    });
    const r = await add(1, 2);
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "canceled");
    assert.equal(outcome?.task?.id, r.id);
    assert.ok(outcome?.error instanceof CancelExecution);
    assert.deepEqual(calls, []);
    assert.deepEqual(signals, [SIGNAL_CANCELED]);
    assert.equal(await r.get(), undefined);
    assert.equal(await worker.executeNext(), undefined, "not put back in the queue");
  });

  it("a canceling hook stops the hooks after it", async () => {
    const { worker, add, calls } = env;
    worker.registerPreExecute("cancel", () => {
      throw new CancelExecution();
    });
    worker.registerPreExecute("later", () => {
      calls.push("later");
    });
    await add(1, 2);
    assert.equal((await worker.executeNext())?.status, "canceled");
    assert.deepEqual(calls, []);
  });

  it("a hook can cancel some tasks and let others run", async () => {
    const { worker, add, calls } = env;
    worker.preExecute((task) => {
      if (task.args[0] === 0) throw new CancelExecution();
    });
    const skipped = await add(0, 1);
    const ran = await add(2, 3);
    const statuses = [(await worker.executeNext())?.status, (await worker.executeNext())?.status];
    assert.deepEqual(statuses, ["canceled", "complete"]);
    assert.deepEqual(calls, ["add(2, 3)"]);
    assert.equal(await skipped.get(), undefined);
    assert.equal(await ran.get(), 5);
  });

  it("a hook throwing another error is logged and the task still runs", async () => {
    const { worker, add, calls, errors } = env;
    worker.registerPreExecute("broken", () => {
      throw new TypeError("hook exploded");
    });
    worker.registerPreExecute("fine", () => {
      calls.push("fine");
    });
    const r = await add(1, 2);
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "complete");
    assert.deepEqual(calls, ["fine", "add(1, 2)"]);
    assert.equal(await r.get(), 3);
    const logged = errors().filter((line) => line.includes("hook exploded"));
    assert.equal(logged.length, 1, `error lines: ${errors().join("\n")}`);
    assert.match(logged[0], /broken/);
  });

  it("hooks registered on the producer do not run in the worker", async () => {
    const { producer, worker, add, calls } = env;
    producer.preExecute(() => {
      calls.push("producer hook");
    });
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["add(1, 2)"]);
  });
});

describe("post-execute hooks", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
  });

  it("receive (task, value, undefined) after a success", async () => {
    const { worker, add } = env;
    const seen: [string, unknown, unknown][] = [];
    worker.postExecute((task, value, error) => {
      seen.push([task.id, value, error]);
    });
    const r = await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(seen, [[r.id, 3, undefined]]);
  });

  it("receive (task, undefined, error) after a failure", async () => {
    const { worker, fail } = env;
    const seen: [string, unknown, unknown][] = [];
    worker.postExecute((task, value, error) => {
      seen.push([task.id, value, error]);
    });
    const r = await fail("bad input");
    await worker.executeNext();
    assert.equal(seen.length, 1);
    const [id, value, error] = seen[0];
    assert.equal(id, r.id);
    assert.equal(value, undefined);
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, "bad input");
    await assert.rejects(
      r.get(),
      (err) => err instanceof TaskError && err.remoteName === "RangeError",
    );
  });

  it("run in registration order after the task, and after its result is stored", async () => {
    const { worker, add, calls } = env;
    worker.registerPostExecute("one", async (task) => {
      const stored = await worker.get<{ value: unknown }>(task.id, { peek: true });
      calls.push(`one:${JSON.stringify(stored)}`);
    });
    worker.registerPostExecute("two", () => {
      calls.push("two");
    });
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["add(1, 2)", 'one:{"value":3}', "two"]);
  });

  it("a throwing post-execute hook is logged and does not change the outcome", async () => {
    const { worker, add, errors } = env;
    worker.registerPostExecute("broken", () => {
      throw new Error("post hook failed");
    });
    const r = await add(1, 2);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), 3);
    assert.ok(errors().some((line) => line.includes("post hook failed")));
  });

  it("are not called for a task canceled by a pre-execute hook", async () => {
    const { worker, add } = env;
    let called = false;
    worker.preExecute(() => {
      throw new CancelExecution();
    });
    worker.postExecute(() => {
      called = true;
    });
    await add(1, 2);
    await worker.executeNext();
    assert.equal(called, false);
  });
});

describe("register* / unregister* forms", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
  });

  it("unregisterPreExecute removes a hook by name and reports whether it existed", async () => {
    const { worker, add, calls } = env;
    worker.registerPreExecute("audit", () => {
      calls.push("audit");
    });
    assert.equal(worker.unregisterPreExecute("audit"), true);
    assert.equal(worker.unregisterPreExecute("audit"), false);
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["add(1, 2)"]);
  });

  it("unregisterPostExecute removes a hook by name and reports whether it existed", async () => {
    const { worker, add, calls } = env;
    worker.registerPostExecute("audit", () => {
      calls.push("audit");
    });
    assert.equal(worker.unregisterPostExecute("audit"), true);
    assert.equal(worker.unregisterPostExecute("audit"), false);
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["add(1, 2)"]);
  });

  it("registering a second hook under the same name replaces the first", async () => {
    const { worker, add, calls } = env;
    worker.registerPreExecute("audit", () => {
      calls.push("old");
    });
    worker.registerPreExecute("audit", () => {
      calls.push("new");
    });
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["new", "add(1, 2)"]);
  });

  it("preExecute/postExecute return the hook and register it under the function's name", async () => {
    const { worker, add, calls } = env;
    const before = function before() {
      calls.push("before");
    };
    const after = function after() {
      calls.push("after");
    };
    assert.equal(worker.preExecute(before), before);
    assert.equal(worker.postExecute(after), after);
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(calls, ["before", "add(1, 2)", "after"]);

    assert.equal(worker.unregisterPreExecute("before"), true);
    assert.equal(worker.unregisterPostExecute("after"), true);
    await add(3, 4);
    await worker.executeNext();
    assert.deepEqual(calls.slice(3), ["add(3, 4)"]);
  });

  it("preExecute takes an explicit name", () => {
    const { worker } = env;
    worker.preExecute(() => {}, "named");
    assert.equal(worker.unregisterPreExecute("named"), true);
  });
});

describe("startup and shutdown hooks", () => {
  it("run in registration order", async () => {
    const huey = new Huey({ logger });
    const order: string[] = [];
    huey.onStartup(function openDb() {
      order.push("startup:openDb");
    });
    huey.registerOnStartup("warmCache", async () => {
      await Promise.resolve();
      order.push("startup:warmCache");
    });
    huey.onShutdown(function closeDb() {
      order.push("shutdown:closeDb");
    });
    huey.registerOnShutdown("flush", () => {
      order.push("shutdown:flush");
    });

    await huey.runStartupHooks();
    assert.deepEqual(order, ["startup:openDb", "startup:warmCache"]);
    await huey.runShutdownHooks();
    assert.deepEqual(order.slice(2), ["shutdown:closeDb", "shutdown:flush"]);
  });

  it("one failing hook is logged and does not stop the others", async () => {
    const lines: string[] = [];
    const huey = new Huey({
      logger: createLogger({ level: "debug", write: (line) => lines.push(line) }),
    });
    const order: string[] = [];
    huey.registerOnStartup("a", () => {
      order.push("a");
    });
    huey.registerOnStartup("b", () => {
      throw new Error("startup b failed");
    });
    huey.registerOnStartup("c", () => {
      order.push("c");
    });
    huey.registerOnShutdown("x", async () => {
      await Promise.resolve();
      throw new Error("shutdown x failed");
    });
    huey.registerOnShutdown("y", () => {
      order.push("y");
    });

    await huey.runStartupHooks();
    await huey.runShutdownHooks();
    assert.deepEqual(order, ["a", "c", "y"]);
    assert.ok(lines.some((line) => line.includes("startup b failed")), lines.join("\n"));
    assert.ok(lines.some((line) => line.includes("shutdown x failed")), lines.join("\n"));
  });

  it("unregisterOnStartup and unregisterOnShutdown remove hooks by name", async () => {
    const huey = new Huey({ logger });
    const order: string[] = [];
    const boot = huey.onStartup(function boot() {
      order.push("boot");
    });
    assert.equal(typeof boot, "function");
    huey.onShutdown(function bye() {
      order.push("bye");
    });
    assert.equal(huey.unregisterOnStartup("boot"), true);
    assert.equal(huey.unregisterOnShutdown("bye"), true);
    assert.equal(huey.unregisterOnShutdown("bye"), false);
    await huey.runStartupHooks();
    await huey.runShutdownHooks();
    assert.deepEqual(order, []);
  });
});
