/**
 * BlackHoleStorage keeps nothing, so it cannot pass the shared conformance
 * suite; these tests pin down what it does instead.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HueyError } from "../lib/errors.ts";
import { BlackHoleStorage } from "../lib/storage/blackhole.ts";
import type { Storage } from "../lib/storage/types.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("BlackHoleStorage", () => {
  it("accepts messages and never hands any out", async () => {
    const storage = new BlackHoleStorage({ name: "void" });
    assert.equal(storage.name, "void");
    assert.equal(storage.blocking, false);
    await storage.enqueue("a", 0);
    await storage.enqueueMany([{ data: "b", priority: 5 }]);
    assert.equal(await storage.queueSize(), 0);
    assert.deepEqual(await storage.enqueuedItems(), []);
    assert.equal(await storage.dequeue({ now: T0, leaseSeconds: 30 }), undefined);
    assert.equal(await storage.leasedSize(), 0);
    assert.deepEqual(await storage.recoverLeases(T0 + 3600_000), []);
  });

  it("returns at once from a dequeue with a wait", async () => {
    const storage = new BlackHoleStorage();
    const start = performance.now();
    assert.equal(await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 5 }), undefined);
    assert.ok(performance.now() - start < 1000);
  });

  it("reports every receipt as lost", async () => {
    const storage = new BlackHoleStorage();
    assert.equal(await storage.ack("anything"), false);
    assert.equal(await storage.extendLease("anything", T0, 30), false);
  });

  it("keeps an empty schedule", async () => {
    const storage = new BlackHoleStorage();
    await storage.addToSchedule("later", T0);
    assert.equal(await storage.scheduleSize(), 0);
    assert.deepEqual(await storage.scheduledItems(), []);
    assert.deepEqual(await storage.readSchedule(T0 + 3600_000), []);
  });

  it("stores no data, and putIfEmpty always succeeds so locks never block", async () => {
    const storage = new BlackHoleStorage();
    await storage.putData("k", "v");
    assert.equal(await storage.peekData("k"), undefined);
    assert.equal(await storage.popData("k"), undefined);
    assert.equal(await storage.hasDataForKey("k"), false);
    assert.equal(await storage.putIfEmpty("lock", "1"), true);
    assert.equal(await storage.putIfEmpty("lock", "2"), true);
    assert.equal(await storage.deleteData("lock"), false);
    assert.equal(await storage.resultStoreSize(), 0);
    assert.deepEqual(await storage.resultItems(), new Map());
    assert.equal((storage as Storage).waitForData, undefined, "results are polled, never awaited");
  });

  it("keeps no counters: every increment finds a new one, so it returns the amount", async () => {
    const storage = new BlackHoleStorage();
    assert.equal(await storage.incr("hits"), 1);
    assert.equal(await storage.incr("hits"), 1);
    assert.equal(await storage.incr("hits", 5, { ttl: 60 }), 5);
    assert.equal(await storage.incr("hits", -2), -2);
    assert.equal(await storage.incr("hits", 0), 0);
    assert.equal(await storage.deleteCounter("hits"), false);
    await storage.flushCounters();
    await assert.rejects(() => storage.incr("hits", 1.5), RangeError);
    await assert.rejects(() => storage.incr("hits", 1, { ttl: 0 }), RangeError);
    await assert.rejects(() => storage.deleteCounter(1 as unknown as string), TypeError);
  });

  it("keeps no errors", async () => {
    const storage = new BlackHoleStorage();
    await storage.putError("bad", "why", T0);
    assert.deepEqual(await storage.errorItems(), []);
  });

  it("flushes without complaint", async () => {
    const storage = new BlackHoleStorage();
    await storage.flushQueue();
    await storage.flushSchedule();
    await storage.flushResults();
    await storage.flushErrors();
    await storage.flushCounters();
    await storage.flushAll();
  });

  it("rejects every call after close with a HueyError naming the storage", async () => {
    const storage = new BlackHoleStorage({ name: "void" });
    await storage.close();
    await assert.rejects(() => storage.enqueue("x", 0), HueyError);
    await assert.rejects(() => storage.dequeue({ now: T0, leaseSeconds: 1 }), HueyError);
    await assert.rejects(() => storage.readSchedule(T0), HueyError);
    await assert.rejects(() => storage.incr("k"), HueyError);
    await assert.rejects(() => storage.putIfEmpty("k", "v"), {
      name: "HueyError",
      message: 'Cannot store data: the storage is closed: BlackHoleStorage "void"',
    });
  });
});
