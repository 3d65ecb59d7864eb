/**
 * Dead letters in one process, on every storage: what goes in (a task that
 * failed for good, an unknown task, an undecodable message, one past
 * maxDeliveries), what a producer blocking on it sees, requeue and purge.
 * The consumer-process tests are in dead_letters_process_test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crontab, DeadLetterError, Huey, TaskError, UnknownTaskError } from "../mod.ts";
import type { Storage } from "../mod.ts";
import { Task } from "../lib/task.ts";
import { onEachStorage } from "./each_storage.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A Huey on `storage` with an injected clock, and a task that fails until `cured`. */
function app(storage: Storage, options: { maxDeliveries?: number } = {}) {
  let now = T0;
  const huey = new Huey({ storage, clock: () => now, maxDeliveries: options.maxDeliveries });
  const state = { cured: false };
  const fragile = huey.task("fragile", (n: number) => {
    if (!state.cured) throw new RangeError(`not yet ${n}`);
    return n * 2;
  }, { retries: 2, retryDelay: 0 });
  const advance = (ms: number) => (now += ms);
  return { huey, fragile, state, advance };
}

/** A message of a task named `name` with id `id`, as a producer of another app would write it. */
function foreign(huey: Huey, name: string, id: string): string {
  return huey.encodeTask(new Task({ id, name, args: [], retries: 0, retryDelay: 0, priority: 3 }));
}

await onEachStorage("dead letters", (open) => {
  it("keeps a task that failed for good, with its attempts and last error; its error stays stored", async () => {
    const { huey, fragile } = app(open());
    const r = await fragile(7);
    for (let i = 0; i < 3; i++) await huey.executeNext();
    assert.equal(await huey.executeNext(), undefined, "no retry left");
    const [letter] = await huey.deadLetters();
    assert.equal(letter.kind, "failed");
    assert.equal(letter.taskId, r.id);
    assert.equal(letter.taskName, "fragile");
    assert.equal(letter.attempts, 3);
    assert.equal(letter.lastError, "RangeError: not yet 7");
    assert.match(letter.reason, /^failed after 3 attempts: RangeError: not yet 7$/);
    assert.equal(letter.time, T0);
    await assert.rejects(r.get({ blocking: true, timeout: 5 }), (err: unknown) => {
      assert.ok(err instanceof TaskError);
      assert.equal(err.remoteName, "RangeError");
      return true;
    });
  });

  it("requeue(id) runs it again once the cause is fixed; the dead letter goes", async () => {
    const { huey, fragile, state } = app(open());
    const r = await fragile(4);
    for (let i = 0; i < 3; i++) await huey.executeNext();
    const [letter] = await huey.deadLetters({ limit: 10 });
    state.cured = true;
    assert.equal(await huey.requeue(letter.id), 1);
    assert.deepEqual(await huey.deadLetters(), []);
    assert.equal(await huey.requeue(letter.id), 0, "nothing left to requeue");
    const outcome = await huey.executeNext();
    assert.equal(outcome?.status, "complete");
    assert.equal(await r.get({ blocking: true, timeout: 5 }), 8, "the old error was dropped");
  });

  it("an unknown task is kept, and a producer blocking on it gets UnknownTaskError at once", async () => {
    const { huey } = app(open());
    await huey.storage.enqueue(foreign(huey, "resize", "img-1"), 0);
    assert.equal((await huey.executeNext())?.status, "invalid");
    const started = performance.now();
    await assert.rejects(huey.result("img-1", { blocking: true, timeout: 30 }), (err: unknown) => {
      assert.ok(err instanceof UnknownTaskError);
      assert.equal(err.taskName, "resize");
      assert.deepEqual(err.registered, ["fragile"]);
      return true;
    });
    assert.ok(performance.now() - started < 5000, "not a timeout");
    const [letter] = await huey.deadLetters();
    assert.equal(letter.kind, "unknown-task");
    assert.equal(letter.taskId, "img-1");
    assert.equal((await huey.status("img-1")).state, "dead");
    assert.equal(letter.taskName, "resize");
    assert.equal(letter.attempts, 0);
  });

  it("a message past maxDeliveries is kept, and a blocking get throws DeadLetterError naming requeue", async () => {
    const { huey, fragile, state, advance } = app(open(), { maxDeliveries: 2 });
    state.cured = true;
    const r = await fragile(5);
    // Three deliveries whose consumer never finished (killed): leases run out.
    for (let i = 0; i < 3; i++) {
      const taken = await huey.executor.dequeue({ now: huey.now() });
      assert.ok(taken);
      await huey.storage.extendLease(taken.receipt, huey.now(), 0);
      advance(1000);
      assert.equal((await huey.storage.recoverLeases(huey.now())).length, 1);
    }
    const delivery = await huey.executor.dequeue({ now: huey.now() });
    assert.equal(delivery?.deliveries, 4);
    const outcome = await huey.executor.executeDelivery(delivery!);
    assert.equal(outcome.status, "invalid");
    await huey.storage.ack(delivery!.receipt);
    await assert.rejects(r.get({ blocking: true, timeout: 30 }), (err: unknown) => {
      assert.ok(err instanceof DeadLetterError);
      assert.equal(err.taskId, r.id);
      assert.equal(err.taskName, "fragile");
      assert.match(err.reason, /^DeliveryLimitExceeded: delivered 4 times/);
      assert.match(err.message, new RegExp(`huey\\.requeue\\("${r.id}"\\)`));
      return true;
    });
    const [letter] = await huey.deadLetters();
    assert.equal(letter.kind, "delivery-limit");
    assert.equal(letter.attempts, 3);
    assert.equal((await huey.status(r.id)).state, "dead");
    // Requeued by task id: a fresh message, its delivery count starts again.
    assert.equal(await huey.requeue(r.id), 1);
    assert.equal((await huey.status(r.id)).state, "queued");
    const again = await huey.executor.dequeue({ now: huey.now() });
    assert.equal(again?.deliveries, 1);
    assert.equal((await huey.executor.executeDelivery(again!)).status, "complete");
    r.reset();
    assert.equal(await r.get({ blocking: true, timeout: 5 }), 10);
  });

  it("an undecodable message is kept with its reason; requeue('all') and purge count what they did", async () => {
    const { huey } = app(open());
    await huey.storage.enqueue("not a message", 0);
    await huey.storage.enqueue(foreign(huey, "gone", "g-1"), 0);
    await huey.executeNext();
    await huey.executeNext();
    const letters = await huey.deadLetters();
    assert.deepEqual(letters.map((l) => l.kind), ["undecodable", "unknown-task"]);
    assert.equal(letters[0].taskId, undefined);
    assert.match(letters[0].reason, /SerializationError/);
    assert.equal(await huey.requeue("all"), 2);
    assert.equal(await huey.storage.queueSize(), 2);
    assert.deepEqual(
      (await huey.storage.enqueuedItems()).includes(foreign(huey, "gone", "g-1")),
      true,
      "the message goes back as it was kept",
    );
    await huey.executeNext();
    await huey.executeNext();
    assert.equal(await huey.purgeDeadLetters(), 2);
    assert.deepEqual(await huey.deadLetters(), []);
    assert.equal(await huey.purgeDeadLetters(), 0);
  });

  it("a message whose fields are bad but whose id reads is kept, and its producer gets DeadLetterError", async () => {
    const { huey } = app(open());
    // The frame decodes, the eta does not: what no producer of ours writes.
    const bad = JSON.stringify({
      v: 1,
      id: "bad-eta-1",
      name: "fragile",
      args: [1],
      retries: 0,
      retryDelay: 0,
      priority: 0,
      eta: "soon",
    });
    await huey.storage.enqueue(bad, 0);
    assert.equal((await huey.executeNext())?.status, "invalid");
    await assert.rejects(
      huey.result("bad-eta-1", { blocking: true, timeout: 30 }),
      (err: unknown) => {
        assert.ok(err instanceof DeadLetterError, String(err));
        assert.equal(err.taskId, "bad-eta-1");
        assert.equal(err.taskName, "fragile");
        assert.match(err.reason, /SerializationError: .*eta/);
        return true;
      },
    );
    const [letter] = await huey.deadLetters();
    assert.equal(letter.kind, "undecodable");
    assert.equal(letter.data, bad, "kept whole");
  });

  it("requeue rejects what cannot be an id with a TypeError", async () => {
    const { huey } = app(open());
    await assert.rejects(huey.requeue(""), TypeError);
    await assert.rejects(huey.requeue(7 as unknown as string), /expected a dead letter's id/);
  });
});

describe("dead letters", () => {
  it("keeps no periodic task that fails (its next run comes anyway)", async () => {
    const huey = new Huey({ clock: () => T0 });
    huey.periodicTask("nightly", crontab({ minute: "*" }), () => {
      throw new Error("down");
    });
    const [task] = huey.readPeriodic(new Date(T0));
    assert.equal((await huey.executor.execute(task)).status, "error");
    assert.deepEqual(await huey.deadLetters(), []);
  });
});
