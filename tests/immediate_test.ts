import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Huey, MemoryHuey, MemoryStorage, TaskError } from "../mod.ts";
import { silent } from "./helpers.ts";

describe("immediate mode", () => {
  it("replays the guide's shell session", async () => {
    const huey = new MemoryHuey();
    huey.immediate = true;
    const add = huey.task("add", (a: number, b: number) => a + b);

    const result = await add(1, 2);
    assert.equal(await result.get(), 3);

    await add.revoke({ revokeOnce: true });
    const revoked = await add(2, 3);
    assert.equal(await revoked.get(), undefined);

    assert.equal(await (await add(3, 4)).get(), 7, "restored automatically");

    const scheduled = await add.schedule([4, 5], { delay: 60 });
    assert.equal(await scheduled.get(), undefined, "scheduled tasks are not run");
    const [pending] = await huey.scheduled();
    assert.equal(pending.id, scheduled.id);
    assert.match(String(pending), /^add: [0-9a-f-]{36} @\d{4}-\d\d-\d\dT/);
  });

  it("is enabled by the constructor option or the property, and can be turned off", async () => {
    const huey = new MemoryHuey({ immediate: true });
    assert.equal(huey.immediate, true);
    const add = huey.task("add", (a: number, b: number) => a + b);
    assert.equal(await (await add(1, 1)).get(), 2);
    huey.immediate = false;
    const queued = await add(2, 2);
    assert.equal(await queued.get(), undefined);
    assert.equal(await huey.storage.queueSize(), 1);
  });

  it("switches to private memory storage so live storage is never touched", async () => {
    const live = new MemoryStorage();
    const huey = new Huey({ storage: live, immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    await add.schedule([1, 2], { delay: 60 });
    await add(1, 2);
    assert.notEqual(huey.storage, live);
    assert.equal(await live.scheduleSize(), 0);
    assert.equal(await live.resultStoreSize(), 0);
    huey.immediate = false;
    assert.equal(huey.storage, live);
  });

  it("uses the live storage with immediateUseMemory: false", async () => {
    const live = new MemoryStorage();
    const huey = new Huey({ storage: live, immediate: true, immediateUseMemory: false });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const r = await add(1, 2);
    assert.equal(huey.storage, live);
    assert.equal(await live.resultStoreSize(), 1);
    assert.equal(await r.get(), 3);
  });

  it("logs a task's error instead of throwing it, and get() raises TaskError", async () => {
    const lines: string[] = [];
    const huey = new MemoryHuey({
      immediate: true,
      logger: { ...silent, error: (message: string) => void lines.push(message) },
    });
    const add = huey.task("add", (a: number, b: number | null) => {
      if (b === null) throw new TypeError("b is null");
      return a + b;
    });
    const r = await add(3, null);
    await assert.rejects(() => r.get(), TaskError);
    assert.throws(() => add.callLocal(3, null), TypeError);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /Unhandled error in add/);
  });

  it("runs retries right away when they have no delay", async () => {
    let calls = 0;
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const flaky = huey.task("flaky", () => {
      if (++calls < 3) throw new Error("again");
      return calls;
    }, { retries: 5 });
    assert.equal(await (await flaky()).get(), 3);
  });
});
