/** Shared set-up for behaviour tests. */
import assert from "node:assert/strict";
import { createLogger, Huey, MemoryStorage } from "../mod.ts";
import type { HueyOptions, Storage } from "../mod.ts";

/** A logger that drops everything: for tests that provoke errors on purpose. */
export const silent = createLogger({ level: "silent" });

/** A clock the test moves by hand. */
export interface FakeClock {
  now: number;
  (): number;
  advance(seconds: number): number;
}

/** A fake clock starting at `start` (ms since the epoch). */
export function fakeClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)): FakeClock {
  const clock = (() => clock.now) as FakeClock;
  clock.now = start;
  clock.advance = (seconds: number) => (clock.now += seconds * 1000);
  return clock;
}

/**
 * A producer and a worker: two Huey instances on one storage, as an app and
 * its consumer would be in two processes. `declare` registers the same tasks
 * on both and returns the producer's wrappers.
 */
export function producerAndWorker<T>(
  declare: (huey: Huey) => T,
  options: Omit<HueyOptions, "storage"> & { storage?: Storage } = {},
): { producer: Huey; worker: Huey; tasks: T; workerTasks: T; storage: Storage } {
  const storage = options.storage ?? new MemoryStorage();
  const producer = new Huey({ logger: silent, ...options, storage });
  const worker = new Huey({ logger: silent, ...options, storage });
  return { producer, worker, tasks: declare(producer), workerTasks: declare(worker), storage };
}

/** Run queued tasks on `worker` until the queue is empty; returns the statuses. */
export async function drain(worker: Huey, now?: number): Promise<string[]> {
  const statuses: string[] = [];
  for (;;) {
    const outcome = await worker.executeNext(now === undefined ? {} : { now });
    if (!outcome) return statuses;
    statuses.push(outcome.status);
  }
}

/** A message whose "é" (C3 A9) lost its second byte: not valid UTF-8. */
export function notUtf8Bytes(): Uint8Array {
  const bytes = new TextEncoder().encode('{"args":["caf\u00e9"]}');
  bytes[bytes.indexOf(0xa9)] = 0x28;
  return bytes;
}

/**
 * After `bad` was written straight into `storage`'s queue ahead of "next"
 * and into its schedule ahead of "due" (due at `now`): neither bad copy is
 * handed out, both are in the error store with every byte (in base64) and
 * a reason naming `where` (e.g. `SqliteStorage "app"`), and the good
 * messages are handed out.
 */
export async function assertNotUtf8SetAside(
  storage: Storage,
  bad: Uint8Array,
  where: string,
  now: number,
): Promise<void> {
  const delivery = await storage.dequeue({ now, leaseSeconds: 30 });
  assert.equal(delivery?.data, "next");
  assert.equal(delivery.deliveries, 1);
  assert.equal(await storage.dequeue({ now, leaseSeconds: 30 }), undefined);
  assert.deepEqual(await storage.readSchedule(now), ["due"]);
  const kept = await storage.errorItems();
  assert.equal(kept.length, 2);
  for (const [i, from] of ["queue", "schedule"].entries()) {
    const bytes = Uint8Array.from(atob(kept[i].data), (c) => c.charCodeAt(0));
    assert.deepEqual(bytes, bad, "every byte kept");
    assert.equal(kept[i].time, now);
    assert.ok(
      kept[i].reason.startsWith(
        `SerializationError: Cannot decode a message from the ${from} of ${where} at `,
      ),
      kept[i].reason,
    );
    assert.match(kept[i].reason, new RegExp(`: its ${bad.length} bytes are not valid UTF-8`));
  }
  assert.equal(await storage.queueSize(), 0);
  assert.equal(await storage.scheduleSize(), 0);
}
