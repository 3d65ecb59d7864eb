/**
 * Signed messages and replays (documented in lib/serializer.ts, "Replay"):
 * a captured signed message put back in the queue verifies and runs again
 * under the same task id, as a redelivery does; what the signature stops
 * is any change to it, the id included. So a task that is idempotent by
 * its task id is safe from both.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Huey, MemoryStorage } from "../mod.ts";
import type { TaskContext } from "../mod.ts";
import { drain, silent } from "./helpers.ts";

function signedPair() {
  const storage = new MemoryStorage();
  const done = new Set<string>();
  const effects: string[] = [];
  const declare = (huey: Huey) =>
    huey.task("pay", (amount: number, ctx: TaskContext) => {
      // Idempotent by task id: the payment is made once whatever runs it again.
      if (done.has(ctx.id)) return "already paid";
      done.add(ctx.id);
      effects.push(`paid ${amount}`);
      return "paid";
    }, { context: true });
  const producer = new Huey({ storage, signingKey: "k3y", logger: silent });
  const worker = new Huey({ storage, signingKey: "k3y", logger: silent });
  declare(worker);
  return { storage, worker, pay: declare(producer), effects };
}

describe("signed messages replayed", () => {
  it("run again under the same id, so a task idempotent by id acts once", async () => {
    const { storage, worker, pay, effects } = signedPair();
    const r = await pay(10);
    const [captured] = await storage.enqueuedItems();
    assert.deepEqual(await drain(worker), ["complete"]);
    for (let i = 0; i < 3; i++) await storage.enqueue(captured, 0);
    const replays = [];
    for (let i = 0; i < 3; i++) replays.push(await worker.executeNext());
    assert.deepEqual(replays.map((o) => [o?.status, o?.task?.id, o?.value]), [
      ["complete", r.id, "already paid"],
      ["complete", r.id, "already paid"],
      ["complete", r.id, "already paid"],
    ]);
    assert.deepEqual(effects, ["paid 10"]);
  });

  it("cannot change the id (or anything else) without the key: it is set aside", async () => {
    const { storage, worker, pay, effects } = signedPair();
    const r = await pay(10);
    const [captured] = await storage.enqueuedItems();
    await drain(worker);
    await storage.enqueue(captured.replace(r.id, "fresh-id-1"), 0);
    await storage.enqueue(captured.replace('"args":[10]', '"args":[1000]'), 0);
    assert.deepEqual(await drain(worker), ["invalid", "invalid"]);
    const reasons = (await storage.errorItems()).map((item) => item.reason);
    assert.deepEqual(reasons.map((reason) => /bad signature: HMAC does not match/.test(reason)), [
      true,
      true,
    ]);
    assert.deepEqual(effects, ["paid 10"]);
  });
});
