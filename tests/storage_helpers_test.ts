/**
 * The helpers the storage drivers share: Batcher (group commit of concurrent
 * calls) and Wakeup (in-process wake-ups for polling storages).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Batcher } from "../lib/storage/batcher.ts";
import { Wakeup } from "../lib/storage/wakeup.ts";

describe("Batcher", () => {
  it("sends a lone call without waiting for company and gathers the calls made while a batch is in flight", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher(async (requests: number[]) => {
      batches.push(requests);
      if (batches.length === 1) await gate;
      return requests.map((n) => n * 10);
    });
    const first = batcher.add(1);
    // It goes within a turn of the event loop (the Batcher lets the loop turn every few ms).
    for (let waited = 0; batches.length === 0 && waited < 1000; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(batches, [[1]], "the first call did not wait for company");
    const later = [batcher.add(2), batcher.add(3), batcher.add(4)];
    release();
    assert.deepEqual(await Promise.all([first, ...later]), [10, 20, 30, 40]);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
  });

  it("rejects every call of a failed batch and keeps serving later ones", async () => {
    let fail = true;
    const batcher = new Batcher(async (requests: string[]) => {
      if (fail) throw new Error("storage down");
      return requests.map((r) => r.toUpperCase());
    });
    const results = await Promise.allSettled([batcher.add("a"), batcher.add("b")]);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
    fail = false;
    assert.equal(await batcher.add("c"), "C");
  });
});

describe("Wakeup", () => {
  it("ends every current sleep at notify(), and a sleep nobody ends runs its course", async () => {
    const wakeup = new Wakeup();
    const start = performance.now();
    const sleeps = [wakeup.wait(60_000), wakeup.wait(60_000)];
    wakeup.notify();
    await Promise.all(sleeps);
    assert.ok(performance.now() - start < 30_000);
    const short = performance.now();
    await wakeup.wait(30);
    assert.ok(performance.now() - short >= 25);
  });

  it("ends a sleep when its signal aborts", async () => {
    const controller = new AbortController();
    const sleeping = new Wakeup().wait(60_000, controller.signal);
    controller.abort();
    await sleeping;
    await new Wakeup().wait(60_000, controller.signal); // already aborted: at once
  });
});
