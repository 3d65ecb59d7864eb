/**
 * What a failed attempt leaves behind: the error stored for its Result
 * (on every attempt, or only the last with `storeIntermediateErrors:
 * false`), the error a nested task's failure is stored as, and the fields
 * a Huey's `buildErrorResult()` adds.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Huey,
  MemoryHuey,
  MemoryStorage,
  SIGNAL_ERROR,
  SIGNAL_RETRYING,
  SqliteHuey,
  TaskError,
} from "../mod.ts";
import type { SignalName, Task, TaskErrorInfo } from "../mod.ts";
import { tempDir } from "./process_helpers.ts";
import { drain, producerAndWorker, silent } from "./helpers.ts";

/** A task that fails `failures` times, then returns "OK"; `calls` counts its runs. */
function flakyApp(failures: number, storeIntermediateErrors?: boolean) {
  let calls = 0;
  const env = producerAndWorker(
    (h) =>
      h.task("flaky", () => {
        if (++calls <= failures) throw new Error(`failure ${calls}`);
        return "OK";
      }, { retries: 2 }),
    { storeIntermediateErrors },
  );
  return { ...env, calls: () => calls };
}

describe("storeIntermediateErrors", () => {
  it("is true by default, as in huey: a failed attempt with retries left stores its error", async () => {
    const { worker, tasks: flaky } = flakyApp(1);
    const r = await flaky();
    assert.equal((await worker.executeNext())?.status, "error");
    await assert.rejects(() => r.get(), /failure 1/);
    assert.equal(worker.storeIntermediateErrors, true);
  });

  it("false: a failed attempt with retries left stores nothing, and a later success is read without reset()", async () => {
    const { worker, tasks: flaky } = flakyApp(1, false);
    const r = await flaky();
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "error");
    assert.equal(outcome?.retrying, true);
    assert.equal(await r.isReady(), false);
    assert.equal(await r.get(), undefined);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), "OK", "no reset() needed: nothing was read before");
  });

  it("false: a blocking get() waits for the final outcome", async () => {
    const { worker, tasks: flaky, calls } = flakyApp(2, false);
    const r = await flaky();
    const value = r.get({ blocking: true, timeout: 10 });
    assert.deepEqual(await drain(worker), ["error", "error", "complete"]);
    assert.equal(await value, "OK");
    assert.equal(calls(), 3);
  });

  it("false: the last attempt's error is stored once no retry is left", async () => {
    const { worker, tasks: flaky } = flakyApp(5, false);
    const r = await flaky();
    const failed = r.get({ blocking: true, timeout: 10 });
    assert.deepEqual(await drain(worker), ["error", "error", "error"]);
    await assert.rejects(failed, (err: unknown) => {
      assert.ok(err instanceof TaskError);
      assert.equal(err.remoteMessage, "failure 3");
      assert.equal(err.retries, 0);
      return true;
    });
  });

  it("false: the error and retrying signals still fire on every attempt", async () => {
    const { worker, tasks: flaky } = flakyApp(2, false);
    const seen: SignalName[] = [];
    worker.signal((signal) => void seen.push(signal), SIGNAL_ERROR, SIGNAL_RETRYING);
    await flaky();
    await drain(worker);
    assert.deepEqual(seen, [SIGNAL_ERROR, SIGNAL_RETRYING, SIGNAL_ERROR, SIGNAL_RETRYING]);
  });

  it("false in immediate mode too", async () => {
    let calls = 0;
    const huey = new MemoryHuey({
      immediate: true,
      logger: silent,
      storeIntermediateErrors: false,
    });
    const flaky = huey.task("flaky", () => {
      if (++calls < 3) throw new Error("not yet");
      return calls;
    }, { retries: 2 });
    assert.equal(await (await flaky()).get(), 3);
  });
});

describe("stored errors", () => {
  it("a task that rethrows another task's TaskError stores the original error's name and message", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const inner = huey.task("inner", () => {
      throw new RangeError("out of range");
    });
    const outer = huey.task("outer", async () => await (await inner()).get());
    const r = await outer();
    await assert.rejects(() => r.get(), (err: unknown) => {
      assert.ok(err instanceof TaskError);
      assert.equal(err.taskName, "outer");
      assert.equal(err.remoteName, "RangeError");
      assert.equal(err.remoteMessage, "out of range");
      assert.match(err.message, /^Task outer \(.+\) failed: RangeError: out of range$/);
      return true;
    });
  });

  /** A SqliteHuey whose stored errors also carry the task's arguments and a host name. */
  class AnnotatingHuey extends SqliteHuey {
    override buildErrorResult(task: Task, error: unknown): TaskErrorInfo {
      return { ...super.buildErrorResult(task, error), taskArgs: task.args, host: "worker-1" };
    }
  }

  it("buildErrorResult(), overridden on a Huey subclass, adds fields to the stored error", async () => {
    const filename = `${tempDir("huey-errors-")}/app.db`;
    const producer = new AnnotatingHuey({ filename, logger: silent });
    const worker = new AnnotatingHuey({ filename, logger: silent });
    const handled: unknown[] = [];
    const declare = (huey: Huey) => ({
      div: huey.task("div", (a: number, b: number) => {
        if (b === 0) throw new RangeError("division by zero");
        return a / b;
      }),
      onError: huey.task("onError", (info: TaskErrorInfo) => void handled.push(info.taskArgs)),
    });
    const { div, onError } = declare(producer);
    declare(worker);
    try {
      const r = await producer.enqueue(div.s(1, 0).error(onError));
      assert.deepEqual(await drain(worker), ["error", "complete"]);
      await assert.rejects(() => r.get(), (err: unknown) => {
        assert.ok(err instanceof TaskError);
        assert.equal(err.remoteMessage, "division by zero");
        assert.deepEqual(err.metadata.taskArgs, [1, 0]);
        assert.equal(err.metadata.host, "worker-1");
        assert.equal(err.metadata.name, "RangeError");
        return true;
      });
      assert.deepEqual(handled, [[1, 0]], "the error handler gets the same fields");
    } finally {
      await producer.close();
      await worker.close();
    }
  });

  it("a buildErrorResult() that throws, or returns what cannot be stored, falls back to the default, logged", async () => {
    const extras = [() => ({ fn: () => 1 }), () => ({ cycle: globalThis }), () => {
      throw new Error("broken override");
    }];
    for (const extra of extras) {
      const logged: string[] = [];
      const logger = { ...silent, error: (message: string) => void logged.push(message) };
      class Broken extends Huey {
        override buildErrorResult(task: Task, error: unknown) {
          return { ...super.buildErrorResult(task, error), ...extra() };
        }
      }
      const huey = new Broken({ storage: new MemoryStorage(), logger });
      const fails = huey.task("fails", () => {
        throw new Error("task failed");
      });
      const r = await fails();
      assert.equal((await huey.executeNext())?.status, "error");
      await assert.rejects(() => r.get(), (err: unknown) => {
        assert.ok(err instanceof TaskError);
        assert.equal(err.remoteMessage, "task failed");
        assert.equal(err.metadata.fn, undefined);
        return true;
      });
      assert.ok(
        logged.some((line) => line.startsWith("Cannot build the error result of fails: ")),
        logged.join("\n"),
      );
      assert.equal(await huey.executeNext(), undefined, "acknowledged, nothing left");
    }
  });
});
