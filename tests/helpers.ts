/** Shared set-up for behaviour tests. */
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
