/**
 * What a failed attempt leaves behind: the error stored for its Result
 * (on every attempt, or only the last with `storeIntermediateErrors:
 * false`), the error a nested task's failure is stored as, and the fields
 * a Huey's `buildErrorResult()` adds.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryHuey, SIGNAL_ERROR, SIGNAL_RETRYING, TaskError } from "../mod.ts";
import type { SignalName } from "../mod.ts";
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
    const huey = new MemoryHuey({ immediate: true, logger: silent, storeIntermediateErrors: false });
    const flaky = huey.task("flaky", () => {
      if (++calls < 3) throw new Error("not yet");
      return calls;
    }, { retries: 2 });
    assert.equal(await (await flaky()).get(), 3);
  });
});
