/**
 * Task locks (huey's lock_task): run(), wrap() as a task function, `await
 * using`, and the lock bookkeeping on the Huey instance.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  createLogger,
  Huey,
  MemoryHuey,
  MemoryStorage,
  SIGNAL_ERROR,
  SIGNAL_LOCKED,
  TaskError,
  TaskLockedError,
} from "../mod.ts";
import type { SignalName } from "../mod.ts";

const logger = createLogger({ level: "silent" });

/** A promise that a test resolves by hand. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A producer and a worker on one storage. */
function pair() {
  const storage = new MemoryStorage();
  return {
    storage,
    producer: new Huey({ storage, logger }),
    worker: new Huey({ storage, logger }),
  };
}

describe("TaskLock.run", () => {
  it("returns the function's value and holds the lock only while it runs", async () => {
    const huey = new MemoryHuey({ logger });
    const lock = huey.lockTask("db-backup");
    let heldInside: boolean | undefined;
    const value = await lock.run(async () => {
      heldInside = await huey.isLocked("db-backup");
      return "backed up";
    });
    assert.equal(value, "backed up");
    assert.equal(heldInside, true);
    assert.equal(await lock.isLocked(), false);
    assert.equal(await huey.isLocked("db-backup"), false);
  });

  it("refuses a second holder with TaskLockedError naming the lock", async () => {
    const huey = new MemoryHuey({ logger });
    const lock = huey.lockTask("reports");
    let inner: unknown;
    await lock.run(async () => {
      inner = await huey.lockTask("reports").run(() => "never").catch((err) => err);
    });
    assert.ok(inner instanceof TaskLockedError);
    assert.equal(inner.lockName, "reports");
    assert.equal(inner.name, "TaskLockedError");
    assert.equal(await lock.isLocked(), false);
  });

  it("releases the lock when the function throws", async () => {
    const huey = new MemoryHuey({ logger });
    const lock = huey.lockTask("flaky");
    await assert.rejects(
      lock.run(() => {
        throw new RangeError("disk full");
      }),
      { name: "RangeError", message: "disk full" },
    );
    assert.equal(await lock.isLocked(), false);
    assert.equal(await lock.run(() => 42), 42, "the lock can be taken again");
  });

  it("different lock names do not block each other", async () => {
    const huey = new MemoryHuey({ logger });
    const value = await huey.lockTask("a").run(() => huey.lockTask("b").run(() => "both"));
    assert.equal(value, "both");
  });

  it("is shared by every Huey on the same storage", async () => {
    const { producer, worker } = pair();
    await producer.lockTask("shared").run(async () => {
      assert.equal(await worker.isLocked("shared"), true);
      await assert.rejects(worker.lockTask("shared").run(() => 1), TaskLockedError);
    });
    assert.equal(await worker.isLocked("shared"), false);
  });
});

describe("TaskLock.wrap as a task function", () => {
  /** `report` holds the lock "reports" until the test opens `release`. */
  function setup(retries = 0) {
    const { producer, worker } = pair();
    const started = gate();
    const release = gate();
    const calls: string[] = [];
    const declare = (huey: Huey) =>
      huey.task(
        "report",
        huey.lockTask("reports").wrap(async (day: string) => {
          calls.push(day);
          started.open();
          await release.promise;
          return `report for ${day}`;
        }),
        { retries },
      );
    const report = declare(producer);
    declare(worker);
    return { producer, worker, report, started, release, calls };
  }

  it("a second concurrent invocation fails with TaskLockedError stored as its error", async () => {
    const { worker, report, started, release, calls } = setup();
    const first = await report("monday");
    const second = await report("tuesday");

    const running = worker.executeNext();
    await started.promise;
    const locked = await worker.executeNext();
    assert.equal(locked?.status, "locked");
    assert.equal(locked?.task?.id, second.id);
    assert.ok(locked?.error instanceof TaskLockedError);
    assert.equal(locked?.retrying, false);

    release.open();
    assert.equal((await running)?.status, "complete");
    assert.deepEqual(calls, ["monday"]);
    assert.equal(await first.get(), "report for monday");

    const err = await second.get().catch((e) => e);
    assert.ok(err instanceof TaskError, `expected TaskError, got ${err}`);
    assert.equal(err.remoteName, "TaskLockedError");
    assert.match(err.remoteMessage, /reports/);
    assert.equal(err.taskId, second.id);
    assert.equal(await worker.isLocked("reports"), false);
  });

  it("sends SIGNAL_LOCKED with the lock error, and not SIGNAL_ERROR", async () => {
    const { worker, report, started, release } = setup();
    const seen: [SignalName, string, unknown][] = [];
    worker.signal(
      (signal, task, error) => {
        seen.push([signal, task.id, error]);
      },
      SIGNAL_LOCKED,
      SIGNAL_ERROR,
    );
    await report("monday");
    const second = await report("tuesday");

    const running = worker.executeNext();
    await started.promise;
    await worker.executeNext();
    release.open();
    await running;

    assert.equal(seen.length, 1);
    const [signal, id, error] = seen[0];
    assert.equal(signal, SIGNAL_LOCKED);
    assert.equal(id, second.id);
    assert.ok(error instanceof TaskLockedError);
    assert.equal(error.lockName, "reports");
  });

  it("a locked invocation is retried when the task has retries", async () => {
    const { producer, worker, report, started, release, calls } = setup(1);
    await report("monday");
    const second = await report("tuesday");

    const running = worker.executeNext();
    await started.promise;
    const locked = await worker.executeNext();
    assert.equal(locked?.status, "locked");
    assert.equal(locked?.retrying, true);
    const pending = await producer.pending();
    assert.deepEqual(pending.map((t) => [t.id, t.retries]), [[second.id, 0]]);

    release.open();
    await running;
    const retried = await worker.executeNext();
    assert.equal(retried?.status, "complete");
    assert.deepEqual(calls, ["monday", "tuesday"]);
    assert.equal(await second.get(), "report for tuesday");
  });

  it("the lock is released when the wrapped task throws, so the next run proceeds", async () => {
    const { producer, worker } = pair();
    let fail = true;
    const declare = (huey: Huey) =>
      huey.task(
        "sync",
        huey.lockTask("sync-lock").wrap(() => {
          if (fail) throw new Error("remote down");
          return "synced";
        }),
      );
    const sync = declare(producer);
    declare(worker);

    const r1 = await sync();
    assert.equal((await worker.executeNext())?.status, "error");
    await assert.rejects(r1.get(), (err) => err instanceof TaskError && err.remoteName === "Error");
    assert.equal(await worker.isLocked("sync-lock"), false);

    fail = false;
    const r2 = await sync();
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r2.get(), "synced");
  });

  it("wrap passes the arguments through and works in immediate mode", async () => {
    const huey = new MemoryHuey({ immediate: true, logger });
    const add = huey.task("add", huey.lockTask("add-lock").wrap((a: number, b: number) => a + b));
    assert.equal(await (await add(1, 2)).get(), 3);
    assert.equal(await huey.isLocked("add-lock"), false);
  });
});

describe("await using", () => {
  it("an acquired lock is released at the end of the block", async () => {
    const huey = new MemoryHuey({ logger });
    const lock = huey.lockTask("nightly");
    {
      await using _held = await lock.acquire();
      assert.equal(await lock.isLocked(), true);
      await assert.rejects(lock.acquire(), TaskLockedError);
    }
    assert.equal(await lock.isLocked(), false);
  });

  it("the lock is released when the block throws", async () => {
    const huey = new MemoryHuey({ logger });
    const lock = huey.lockTask("nightly");
    await assert.rejects(async () => {
      await using _held = await lock.acquire();
      throw new Error("inside");
    }, { message: "inside" });
    assert.equal(await lock.isLocked(), false);
  });

  it("release() is true once, then false", async () => {
    const huey = new MemoryHuey({ logger });
    const held = await huey.lockTask("x").acquire();
    assert.equal(await held.release(), true);
    assert.equal(await held.release(), false);
    assert.equal(await huey.isLocked("x"), false);
  });
});

describe("huey.isLocked / flushLocks / lock.clear", () => {
  it("isLocked reflects the lock state by name", async () => {
    const huey = new MemoryHuey({ logger });
    assert.equal(await huey.isLocked("never-declared"), false);
    const held = await huey.lockTask("exports").acquire();
    assert.equal(await huey.isLocked("exports"), true);
    await held.release();
    assert.equal(await huey.isLocked("exports"), false);
  });

  it("flushLocks releases the declared locks and returns the names that were held", async () => {
    const huey = new MemoryHuey({ logger });
    const a = huey.lockTask("a");
    huey.lockTask("b");
    const c = huey.lockTask("c");
    await a.acquire();
    await c.acquire();

    const flushed = await huey.flushLocks();
    assert.deepEqual([...flushed].sort(), ["a", "c"]);
    assert.equal(await huey.isLocked("a"), false);
    assert.equal(await huey.isLocked("c"), false);
    assert.deepEqual(await huey.flushLocks(), []);
  });

  it("flushLocks also releases locks named explicitly, e.g. held by another process", async () => {
    const { producer, worker } = pair();
    await producer.lockTask("left-over").acquire();
    assert.deepEqual(await worker.flushLocks(), []);
    assert.deepEqual(await worker.flushLocks("left-over", "not-held"), ["left-over"]);
    assert.equal(await producer.isLocked("left-over"), false);
  });

  it("clear() releases the lock whoever holds it", async () => {
    const { producer, worker } = pair();
    await producer.lockTask("stuck").acquire();
    const lock = worker.lockTask("stuck");
    assert.equal(await lock.isLocked(), true);
    assert.equal(await lock.clear(), true);
    assert.equal(await lock.isLocked(), false);
    assert.equal(await lock.clear(), false);
    assert.equal(await lock.run(() => "ok"), "ok");
  });
});
