/**
 * How a stale run is reported: a run that finished after its lease ran out
 * while its message was delivered again (see `Executor`'s store step).
 *
 * @module
 */
import type { Logger } from "./logger.ts";
import type { Delivery, Storage } from "./storage/types.ts";
import type { Task } from "./task.ts";

/**
 * Log at WARN that `task` finished after its lease ran out, what of its
 * outcome was `dropped`, and both runs: this stale one and, where the
 * storage can tell, the one that holds the message now.
 *
 * @example
 * ```ts
 * import { reportStale } from "./stale.ts";
 * import { createLogger } from "./logger.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * import { Task } from "./task.ts";
 * const task = new Task({ id: "1", name: "t", args: [], retries: 0, retryDelay: 0, priority: 0 });
 * const delivery = { data: "m", receipt: "r", deliveries: 1 };
 * await reportStale(new MemoryStorage(), createLogger({ level: "error" }), task, delivery, "x");
 * ```
 */
export async function reportStale(
  storage: Storage,
  logger: Logger,
  task: Task,
  delivery: Delivery,
  dropped: string,
): Promise<void> {
  let current = "unknown (the storage cannot tell)";
  if (storage.currentLease) {
    const lease = await storage.currentLease(delivery.data).catch(() => null);
    if (lease) current = `receipt ${lease.receipt}, delivery ${lease.deliveries}`;
    else if (lease === undefined) current = "none now (it has finished, or waits in the queue)";
  }
  logger.warn(
    `${task} finished after its lease ran out (its message went back to the queue for ` +
      `another run): ${dropped} ` +
      `(stale run: receipt ${delivery.receipt}, delivery ${delivery.deliveries}; ` +
      `current run: ${current})`,
  );
}
