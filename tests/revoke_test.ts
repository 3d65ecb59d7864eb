/**
 * Revoking and restoring tasks: single invocations (Result), every
 * invocation of a task (TaskWrapper, huey.revokeAll), by id, once, until a
 * time, and what the worker does with revoked messages.
 */
import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger, crontab, Huey, MemoryHuey, MemoryStorage, SIGNAL_REVOKED } from "../mod.ts";
import type { SignalName } from "../mod.ts";

const logger = createLogger({ level: "silent" });
const START = Date.UTC(2024, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

/** A producer and a worker on one storage, both reading the same fake clock. */
function setup() {
  const clock = { now: START };
  const storage = new MemoryStorage();
  const producer = new Huey({ storage, logger, clock: () => clock.now });
  const worker = new Huey({ storage, logger, clock: () => clock.now });
  const calls: number[][] = [];
  const declare = (huey: Huey) =>
    huey.task("add", (a: number, b: number) => {
      calls.push([a, b]);
      return a + b;
    });
  return { clock, storage, producer, worker, calls, add: declare(producer), declare };
}

describe("Result.revoke / restore / isRevoked", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
    env.declare(env.worker);
  });

  it("a revoked invocation is skipped by the worker and leaves no result", async () => {
    const { add, worker, calls } = env;
    const r = await add(1, 2);
    await r.revoke();
    assert.equal(await r.isRevoked(), true);

    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "revoked");
    assert.equal(outcome?.task?.id, r.id);
    assert.deepEqual(calls, []);
    assert.equal(await r.get(), undefined);
    assert.equal(await worker.executeNext(), undefined, "the message is gone from the queue");
  });

  it("revoking one invocation leaves the others alone", async () => {
    const { add, worker, calls } = env;
    const r1 = await add(1, 2);
    const r2 = await add(3, 4);
    await r1.revoke();
    assert.equal(await r2.isRevoked(), false);

    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.deepEqual(calls, [[3, 4]]);
    assert.equal(await r2.get(), 7);
  });

  it("a restored invocation runs normally", async () => {
    const { add, worker } = env;
    const r = await add(1, 2);
    await r.revoke();
    assert.equal(await r.restore(), true);
    assert.equal(await r.isRevoked(), false);
    assert.equal(await r.restore(), false, "nothing left to restore");

    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), 3);
  });

  it("a task scheduled for later can be revoked and restored before it is due", async () => {
    const { add, producer } = env;
    const r = await add.schedule([1, 2], { delay: 60 });
    assert.equal((await producer.scheduled()).length, 1);
    await r.revoke();
    assert.equal(await r.isRevoked(), true);
    await r.restore();
    assert.equal(await r.isRevoked(), false);
  });
});

describe("TaskWrapper.revoke / restore / isRevoked", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
    env.declare(env.worker);
  });

  it("revoking the task skips every instance until it is restored", async () => {
    const { add, worker, calls } = env;
    await add.revoke();
    assert.equal(await add.isRevoked(), true);
    const r1 = await add(1, 2);
    const r2 = await add(3, 4);
    assert.equal(await r1.isRevoked(), true);
    assert.equal(await r2.isRevoked(), true);

    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.deepEqual(calls, []);

    assert.equal(await add.restore(), true);
    assert.equal(await add.isRevoked(), false);
    const r3 = await add(5, 6);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r3.get(), 11);
  });

  it("a revocation made through the producer's wrapper is seen by the worker's wrapper", async () => {
    const { add, declare } = env;
    const other = setup();
    const elsewhere = other.add;
    const workerAdd = declare(new Huey({ storage: env.storage, logger }));
    await add.revoke();
    assert.equal(await workerAdd.isRevoked(), true);
    assert.equal(await elsewhere.isRevoked(), false, "another storage is not affected");
    assert.equal(await workerAdd.restore(), true);
    assert.equal(await add.isRevoked(), false);
  });

  it("restore() is false when the task was not revoked", async () => {
    assert.equal(await env.add.restore(), false);
  });
});

describe("revokeOnce", () => {
  it("skips exactly one call in immediate mode, then restores itself (guide shell session)", async () => {
    const huey = new MemoryHuey({ immediate: true, logger });
    const add = huey.task("add", (a: number, b: number) => a + b);

    const result = await add(1, 2);
    assert.equal(await result.get(), 3);

    await add.revoke({ revokeOnce: true });
    const skipped = await add(2, 3);
    assert.equal(await skipped.get(), undefined);

    assert.equal(await (await add(3, 4)).get(), 7);
    assert.equal(await add.isRevoked(), false);
  });

  it("revokeOnce on one invocation id skips it and is then consumed", async () => {
    const { add, worker, producer, declare } = setup();
    declare(worker);
    const r = await add(1, 2);
    await producer.revokeById(r.id, { revokeOnce: true });
    assert.equal(await producer.isRevoked(r.id), true);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await producer.isRevoked(r.id), false);
  });

  it("checking isRevoked does not consume a revokeOnce", async () => {
    const { add, worker, declare } = setup();
    declare(worker);
    await add.revoke({ revokeOnce: true });
    assert.equal(await add.isRevoked(), true);
    assert.equal(await add.isRevoked(), true);
    await add(1, 2);
    assert.equal((await worker.executeNext())?.status, "revoked");
  });
});

describe("revokeUntil", () => {
  it("revokes until the given time, then the task runs again", async () => {
    const { add, worker, clock, calls, declare } = setup();
    declare(worker);
    const until = new Date(START + 3 * HOUR);
    await add.revoke({ revokeUntil: until });

    assert.equal(await add.isRevoked(), true);
    assert.equal(await add.isRevoked(new Date(START + 2 * HOUR)), true);
    assert.equal(await add.isRevoked(new Date(START + 4 * HOUR)), false);

    await add(1, 2);
    assert.equal((await worker.executeNext())?.status, "revoked");

    clock.now = START + 2 * HOUR;
    await add(2, 3);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.deepEqual(calls, []);

    clock.now = START + 3 * HOUR + 1;
    assert.equal(await add.isRevoked(), false);
    const r = await add(3, 4);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), 7);
    assert.deepEqual(calls, [[3, 4]]);
  });

  it("revokeUntil on a single invocation expires with the clock", async () => {
    const { add, worker, clock, declare } = setup();
    declare(worker);
    const r = await add(1, 2);
    await r.revoke({ revokeUntil: new Date(START + HOUR) });
    assert.equal(await r.isRevoked(), true);
    assert.equal(await r.isRevoked(new Date(START + 2 * HOUR)), false);

    clock.now = START + 2 * HOUR;
    assert.equal(await r.isRevoked(), false);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), 3);
  });

  it("a later revoke supersedes the earlier settings", async () => {
    const { add, clock } = setup();
    await add.revoke();
    await add.revoke({ revokeUntil: new Date(START + HOUR) });
    clock.now = START + 2 * HOUR;
    assert.equal(await add.isRevoked(), false);
  });

  it("rejects an invalid revokeUntil", async () => {
    const { add } = setup();
    await assert.rejects(add.revoke({ revokeUntil: new Date(NaN) }), TypeError);
    assert.equal(await add.isRevoked(), false);
  });
});

describe("huey.revokeById / restoreById / revokeAll / restoreAll / isRevoked", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
    env.declare(env.worker);
  });

  it("revokeById and restoreById act on one invocation", async () => {
    const { add, producer, worker } = env;
    const r1 = await add(1, 2);
    const r2 = await add(3, 4);
    await producer.revokeById(r1.id);

    assert.equal(await producer.isRevoked(r1.id), true);
    assert.equal(await producer.isRevoked(r1.task), true);
    assert.equal(await producer.isRevoked(r2.id), false);
    assert.equal(
      await producer.isRevoked(add),
      false,
      "the task as a whole is not revoked",
    );
    assert.equal(await r1.isRevoked(), true);

    assert.equal(await producer.restoreById(r1.id), true);
    assert.equal(await producer.restoreById(r1.id), false);
    assert.equal(await producer.isRevoked(r1.id), false);

    await producer.revokeById(r2.id);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await r1.get(), 3);
    assert.equal(await r2.get(), undefined);
  });

  it("revokeAll by wrapper or by name revokes every instance; restoreAll undoes it", async () => {
    const { add, producer, worker } = env;
    await producer.revokeAll(add);
    assert.equal(await producer.isRevoked(add), true);
    assert.equal(await add.isRevoked(), true);
    const r = await add(1, 2);
    assert.equal(
      await producer.isRevoked(r.task),
      true,
      "an instance of a revoked task is revoked",
    );
    assert.equal((await worker.executeNext())?.status, "revoked");

    assert.equal(await producer.restoreAll("add"), true);
    assert.equal(await producer.restoreAll("add"), false);
    assert.equal(await add.isRevoked(), false);

    await producer.revokeAll("add");
    assert.equal(await add.isRevoked(), true);
    assert.equal(await producer.restoreAll(add), true);
    assert.equal(await add.isRevoked(), false);
  });

  it("isRevoked takes a date for task, id and wrapper", async () => {
    const { add, producer } = env;
    const r = await add(1, 2);
    await producer.revokeById(r.id, { revokeUntil: new Date(START + HOUR) });
    await producer.revokeAll(add, { revokeUntil: new Date(START + 2 * HOUR) });

    const before = new Date(START + HOUR / 2);
    const between = new Date(START + 1.5 * HOUR);
    const after = new Date(START + 3 * HOUR);

    assert.equal(await producer.isRevoked(r.id, before), true);
    assert.equal(await producer.isRevoked(r.id, between), false);
    assert.equal(await producer.isRevoked(add, between), true);
    assert.equal(await producer.isRevoked(r.task, between), true, "its task is still revoked");
    assert.equal(await producer.isRevoked(r.task, after), false);
    assert.equal(await producer.isRevoked(add, after), false);
  });

  it("restoring an instance does not un-revoke a revoked task class", async () => {
    const { add, worker, calls } = env;
    await add.revoke();
    const r = await add(1, 2);
    await r.revoke();
    await r.restore();
    assert.equal(await r.isRevoked(), true);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.deepEqual(calls, []);
  });

  it("restoring the task class does not restore an individually revoked instance", async () => {
    const { add, worker } = env;
    const r1 = await add(1, 2);
    const r2 = await add(3, 4);
    await r1.revoke();
    await add.revoke();
    await add.restore();
    assert.equal(await r1.isRevoked(), true);
    assert.equal(await r2.isRevoked(), false);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r2.get(), 7);
  });
});

describe("revoked scheduled and periodic tasks", () => {
  it("a revoked scheduled task is skipped once the schedule is read and it is executed", async () => {
    const { add, worker, clock, calls, declare } = setup();
    declare(worker);
    const revoked = await add.schedule([1, 2], { delay: 60 });
    const kept = await add.schedule([3, 4], { delay: 60 });
    await revoked.revoke();

    assert.deepEqual(await worker.readSchedule(), [], "nothing is due yet");
    clock.now = START + 61_000;
    const due = await worker.readSchedule();
    assert.equal(due.length, 2);

    const outcomes = [await worker.executeNext(), await worker.executeNext()];
    assert.deepEqual(
      outcomes.map((o) => [o?.task?.id, o?.status]),
      [[revoked.id, "revoked"], [kept.id, "complete"]],
    );
    assert.deepEqual(calls, [[3, 4]]);
    assert.equal(await revoked.get(), undefined);
    assert.equal(await kept.get(), 7);
    assert.equal((await worker.scheduled()).length, 0);
  });

  it("revokeOnce on a periodic task skips only its next run", async () => {
    const storage = new MemoryStorage();
    const runs: string[] = [];
    const declare = (huey: Huey) =>
      huey.periodicTask("mail", crontab({ minute: "0" }), () => {
        runs.push("mail");
      });
    const producer = new Huey({ storage, logger });
    const worker = new Huey({ storage, logger });
    const mail = declare(producer);
    declare(worker);

    await mail.revoke({ revokeOnce: true });
    assert.equal(await mail.isRevoked(), true);

    const statuses: string[] = [];
    for (let hour = 0; hour < 3; hour++) {
      const tick = new Date(Date.UTC(2024, 0, 15, hour, 0));
      const due = worker.readPeriodic(tick);
      assert.deepEqual(due.map((t) => t.name), ["mail"]);
      for (const task of due) await worker.enqueue(task);
      statuses.push((await worker.executeNext())?.status ?? "none");
    }
    assert.deepEqual(worker.readPeriodic(new Date(Date.UTC(2024, 0, 15, 3, 30))), []);
    assert.deepEqual(statuses, ["revoked", "complete", "complete"]);
    assert.deepEqual(runs, ["mail", "mail"]);
    assert.equal(await mail.isRevoked(), false);
  });

  it("revokeUntil on a periodic task pauses it until that time", async () => {
    const storage = new MemoryStorage();
    const clock = { now: Date.UTC(2024, 0, 15, 0, 0) };
    const runs: number[] = [];
    const declare = (huey: Huey) =>
      huey.periodicTask("mail", crontab({ minute: "0" }), () => {
        runs.push(clock.now);
      });
    const producer = new Huey({ storage, logger, clock: () => clock.now });
    const worker = new Huey({ storage, logger, clock: () => clock.now });
    const mail = declare(producer);
    declare(worker);
    await mail.revoke({ revokeUntil: new Date(Date.UTC(2024, 0, 15, 2, 0)) });

    const statuses: string[] = [];
    for (let hour = 0; hour < 4; hour++) {
      clock.now = Date.UTC(2024, 0, 15, hour, 0);
      for (const task of worker.readPeriodic(new Date(clock.now))) await worker.enqueue(task);
      statuses.push((await worker.executeNext())?.status ?? "none");
    }
    assert.deepEqual(statuses, ["revoked", "revoked", "complete", "complete"]);
    assert.equal(runs.length, 2);
  });
});

describe("revocation signals and rescheduling", () => {
  it("SIGNAL_REVOKED fires with the skipped task", async () => {
    const { add, worker, declare } = setup();
    declare(worker);
    const seen: [SignalName, string][] = [];
    worker.signal((signal, task) => {
      seen.push([signal, task.id]);
    }, SIGNAL_REVOKED);
    const r1 = await add(1, 2);
    const r2 = await add(3, 4);
    await r1.revoke();
    await worker.executeNext();
    await worker.executeNext();
    assert.deepEqual(seen, [[SIGNAL_REVOKED, r1.id]]);
    assert.equal(await r2.get(), 7);
  });

  it("Result.reschedule revokes the original and enqueues a copy with a new id", async () => {
    const { add, producer, worker, clock, calls, declare } = setup();
    declare(worker);
    const original = await add(1, 2);
    const copy = await original.reschedule({ delay: 30 });

    assert.notEqual(copy.id, original.id);
    assert.equal(await original.isRevoked(), true);
    assert.equal(await copy.isRevoked(), false);
    const scheduled = await producer.scheduled();
    assert.deepEqual(scheduled.map((t) => t.id), [copy.id]);
    assert.deepEqual(scheduled[0].args, [1, 2]);
    assert.equal(scheduled[0].eta?.getTime(), START + 30_000);

    assert.equal((await worker.executeNext())?.status, "revoked", "the original is skipped");
    assert.deepEqual(calls, []);

    clock.now = START + 31_000;
    assert.deepEqual((await worker.readSchedule()).map((t) => t.id), [copy.id]);
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "complete");
    assert.equal(outcome?.task?.id, copy.id);
    assert.equal(await copy.get(), 3);
    assert.equal(await original.get(), undefined);
    assert.deepEqual(calls, [[1, 2]]);
  });

  it("Result.reschedule with an eta and no delay", async () => {
    const { add, producer, worker, clock, declare } = setup();
    declare(worker);
    const original = await add.schedule([2, 2], { delay: 10 });
    const eta = new Date(START + HOUR);
    const copy = await original.reschedule({ eta });
    const scheduled = await producer.scheduled();
    assert.deepEqual(
      scheduled.map((t) => [t.id, t.eta?.getTime()]),
      [[original.id, START + 10_000], [copy.id, eta.getTime()]],
    );
    clock.now = START + HOUR;
    await worker.readSchedule();
    const statuses = [(await worker.executeNext())?.status, (await worker.executeNext())?.status];
    assert.deepEqual(statuses, ["revoked", "complete"]);
    assert.equal(await copy.get(), 4);
  });
});

describe("the revocations marker", () => {
  /** A real MemoryStorage that counts reads of the result store. */
  class CountingStorage extends MemoryStorage {
    reads = 0;
    override peekData(key: string): Promise<string | undefined> {
      this.reads++;
      return super.peekData(key);
    }
  }

  it("skips revocation reads until something is revoked, then honours revocations", async () => {
    const storage = new CountingStorage();
    const producer = new Huey({ storage, logger });
    const worker = new Huey({ storage, logger });
    const add = producer.task("add", (a: number, b: number) => a + b);
    worker.task("add", (a: number, b: number) => a + b);

    await add(1, 2);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(storage.reads, 0, "nothing revoked: the dequeue's peek was enough");

    const revoked = await add(3, 4);
    await revoked.revoke();
    const kept = await add(5, 6);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.ok(storage.reads >= 2, "with the marker set, the worker reads revocations");
    assert.equal(await kept.get(), 11);
  });
});

describe("revoking once (huey's revoke_once for an instance)", () => {
  let env: ReturnType<typeof setup>;
  beforeEach(() => {
    env = setup();
    env.declare(env.worker);
  });

  it("Result.revoke() revokes once: once skipped, isRevoked() is false and a copy with the same id runs", async () => {
    const { add, producer, worker, calls } = env;
    const r = await add.schedule([1, 2], { id: "job-1" });
    await r.revoke();
    assert.equal(await r.isRevoked(), true);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await r.isRevoked(), false, "the revoke key went with the skipped run");
    assert.equal(await producer.isRevoked(r.id), false);

    const again = await add.schedule([3, 4], { id: "job-1" });
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await again.get(), 7);
    assert.deepEqual(calls, [[3, 4]]);
  });

  it("Result.revoke({ revokeOnce: false }) stays until restored", async () => {
    const { add, worker } = env;
    const r = await add.schedule([1, 2], { id: "job-2" });
    await r.revoke({ revokeOnce: false });
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await r.isRevoked(), true);
    await add.schedule([1, 2], { id: "job-2" });
    assert.equal((await worker.executeNext())?.status, "revoked");
  });

  it("huey.revokeById(), huey.revokeAll() and the wrapper's revoke() stay persistent by default", async () => {
    const { add, producer, worker } = env;
    const r = await add.schedule([1, 2], { id: "job-3" });
    await producer.revokeById(r.id);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await producer.isRevoked(r.id), true);
    await add.schedule([1, 2], { id: "job-3" });
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await producer.restoreById(r.id), true);

    for (const revoke of [() => add.revoke(), () => producer.revokeAll(add)]) {
      await revoke();
      await add(1, 1);
      await add(2, 2);
      assert.deepEqual(
        [(await worker.executeNext())?.status, (await worker.executeNext())?.status],
        ["revoked", "revoked"],
      );
      assert.equal(await add.isRevoked(), true);
      assert.equal(await add.restore(), true);
    }
  });

  it("a rescheduled task leaves nothing of the original in the result store", async () => {
    const { add, producer, worker, clock } = env;
    const original = await add(1, 2);
    const copy = await original.reschedule({ delay: 5 });
    assert.equal((await worker.executeNext())?.status, "revoked");
    clock.now = START + 6_000;
    await worker.readSchedule();
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await original.isRevoked(), false);
    const keys = [...(await producer.allResults()).keys()];
    // The revocations marker stays (see "Revoking and restoring" in the README).
    assert.deepEqual(keys.filter((key) => key !== "%revocations"), [copy.id]);
    assert.equal(await copy.get(), 3);
    assert.deepEqual([...(await producer.allResults()).keys()], ["%revocations"]);
  });

  it("reschedule() carries retries, retryDelay, retryBackoff and timeout, and takes expires and priority", async () => {
    const { producer, worker } = env;
    const slow = producer.task("slow", (n: number) => n, { timeout: 9, retries: 1 });
    worker.task("slow", (n: number) => n, { timeout: 9, retries: 1 });
    const original = await slow.schedule([1], {
      retries: 3,
      retryDelay: 5,
      retryBackoff: 2,
      priority: 2,
      expires: 60,
      delay: 100,
    });
    const copy = await original.reschedule({ priority: 7, expires: 30 });
    const [task] = await producer.pending();
    assert.equal(task.id, copy.id);
    assert.deepEqual(
      [task.args, task.retries, task.retryDelay, task.retryBackoff, task.timeout],
      [[1], 3, 5, 2, 9],
    );
    assert.deepEqual([task.priority, task.expires], [7, 30]);
    const kept = await (await producer.scheduled())[0].id;
    assert.equal(kept, original.id);
    const plain = await copy.reschedule();
    const again = (await producer.pending()).find((t) => t.id === plain.id)!;
    assert.deepEqual([again.priority, again.expires, again.retries], [7, 30, 3]);
  });

  it("huey.isRevoked(result) reads the invocation's revocation", async () => {
    const { add, producer } = env;
    const r = await add(1, 2);
    assert.equal(await producer.isRevoked(r), false);
    await r.revoke();
    assert.equal(await producer.isRevoked(r), true);
    await r.restore();
    await add.revoke();
    assert.equal(await producer.isRevoked(r), true, "its task as a whole is revoked");
  });
});
