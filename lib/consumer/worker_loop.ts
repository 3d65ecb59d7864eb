/**
 * One worker: take a message, run it through the Huey's executor, keep its
 * lease alive while it runs, acknowledge it once its result is stored.
 * Every worker type runs this loop (in this thread, a Web Worker or a child
 * process).
 *
 * @module
 */
import { sleep, within } from "../_util.ts";
import type { Huey } from "../huey.ts";
import { CancelScope } from "../cancel.ts";
import { recorderOf } from "../metrics_recorder.ts";
import type { Delivery, Storage } from "../storage/types.ts";
import { OWN_KEYS } from "../keys.ts";
import { nextOutageDelay, outageOf } from "./outage.ts";
import type { TaskSlot } from "./task_slot.ts";

/** What a worker reports while it runs (for health checks). */
export interface WorkerActivity {
  /** A task started: its id, name, timeout (seconds) and start time (ms). */
  onTaskStart?(task: { id: string; name: string; timeout?: number; started: number }): void;
  /** The task ended. */
  onTaskEnd?(): void;
  /** Where a worker thread shows the main thread which task it runs (see task_slot.ts). */
  slot?: TaskSlot;
  /** The id of the consumer this worker belongs to, named in task status records. */
  consumerId?: string;
}

/** Options of {@link runWorkerLoop}. */
export interface WorkerLoopOptions extends WorkerActivity {
  /** First polling delay (non-blocking storages), seconds. */
  initialDelay: number;
  /** Longest polling delay, seconds. */
  maxDelay: number;
  /** Polling delay growth factor. */
  backoff: number;
  /** Graceful stop: finish the running task, take no new one. */
  stop: AbortSignal;
  /** Hard stop: abort the running task's signal; its message goes back to the queue. */
  abort: AbortSignal;
  /** Seconds a blocking dequeue waits before checking `stop` again. @default 1 */
  blockingWait?: number;
  /** End the loop once it has run this many messages (`-M`). @default no limit */
  maxTasks?: number;
}

/** Why a worker loop ended: told to stop, or retired after `maxTasks` messages. */
export type LoopEnd = "stopped" | "retired";

/**
 * Report a storage failure as `what: error`: logged (once per outage, see
 * outage.ts) and emitted as a `storage_error` event.
 */
export function reportStorageError(huey: Huey, what: string, error: unknown): void {
  outageOf(huey).failed(what, error);
}

/** A lease being renewed (see {@link LeaseRenewal.add}). */
export interface Renewed {
  /** The storage that leased the message. */
  readonly storage: Storage;
  /** The lease's receipt. */
  readonly receipt: string;
  /** The running task's id, once it started. */
  id?: string;
  /** Stop renewing it. */
  readonly done: () => void;
}

/**
 * Keeps the leases of running messages alive with one timer for a whole
 * worker loop (every `leaseTimeout / 3` seconds) instead of one per message:
 * arming and clearing a timer per message cost a no-op task 15-20% of its
 * throughput on Deno (scripts/bench.ts, W2).
 */
export class LeaseRenewal {
  readonly #huey: Huey;
  readonly #running = new Set<Renewed>();
  #timer?: ReturnType<typeof setInterval>;

  constructor(huey: Huey) {
    this.#huey = huey;
  }

  /**
   * Renew `receipt`'s lease until the returned function is called; once
   * the entry's `id` is set (its task started), each renewal also asks
   * whether that task was cancelled (one read per running task and renewal:
   * how a cancel reaches a consumer on storages without pub/sub).
   */
  add(storage: Storage, receipt: string): Renewed {
    const huey = this.#huey;
    this.#timer ??= setInterval(() => {
      for (const { storage, receipt, id } of this.#running) {
        storage.extendLease(receipt, huey.now(), huey.leaseTimeout).catch((error) => {
          reportStorageError(huey, "Cannot extend a running task's lease", error);
        });
        if (id === undefined) continue;
        huey.executor.cancellations.check(id).catch((error) => {
          reportStorageError(huey, `Cannot read whether ${id} was cancelled`, error);
        });
      }
    }, Math.max(huey.leaseTimeout / 3, 0.05) * 1000);
    const entry: Renewed = { storage, receipt, done: () => this.#running.delete(entry) };
    this.#running.add(entry);
    return entry;
  }

  /** Stop the timer (the worker loop has ended). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#running.clear();
  }
}

/**
 * Run one message: execute it with lease renewal, then acknowledge it (or
 * release it at once when a hard stop interrupted it). If storing the
 * outcome fails, the message is neither acknowledged nor released: its lease
 * runs out and another attempt follows (at-least-once).
 */
export async function processDelivery(
  huey: Huey,
  delivery: Delivery,
  abort: AbortSignal,
  activity: WorkerActivity = {},
  renewal?: LeaseRenewal,
  scope: CancelScope = new CancelScope(abort),
): Promise<void> {
  const storage = huey.storage;
  const own = renewal ? undefined : new LeaseRenewal(huey);
  const renewed = (renewal ?? own!).add(storage, delivery.receipt);
  const cancels = huey.executor.cancellations;
  let running: (() => void) | undefined;
  try {
    // The scope's signal is the hard stop's, or a cancel of this task's.
    const outcome = await huey.executor.executeDelivery(delivery, {
      signal: scope.signal,
      onStart: (task) => {
        renewed.id = task.id;
        running = cancels.running(task.id, scope);
        activity.slot?.write(task.id, delivery.receipt);
        activity.onTaskStart?.(task);
      },
      consumer: activity.consumerId,
    });
    running?.();
    if (scope.fired && outcome.status === "canceled") await cancels.ended(outcome.task!, true);
    // In memory only: the loop's recorder flushes to the storage every few seconds.
    recorderOf(huey).record(outcome);
    if (outcome.status === "interrupted") {
      // Marked first: the scheduler that puts it back then reports a release, not a death.
      if (outcome.task) await storage.putData(OWN_KEYS.released(outcome.task.id), "SIGTERM");
      await storage.extendLease(delivery.receipt, huey.now(), 0);
    } else if (outcome.acknowledged === undefined && !(await storage.ack(delivery.receipt))) {
      // (acknowledged false: the executor found the run stale and reported it.)
      huey.logger.warn(
        `${outcome.task ?? "message"} finished after its lease ran out; it may run again elsewhere`,
      );
    }
  } catch (error) {
    reportStorageError(
      huey,
      "Cannot finish a message; it will be delivered again when its lease ends",
      error,
    );
  } finally {
    running?.();
    activity.slot?.clear();
    scope.reset();
    renewed.done();
    own?.stop();
    activity.onTaskEnd?.();
  }
}

/**
 * Take and run messages until `stop` aborts ("stopped"), or until
 * `maxTasks` messages have run ("retired"). Non-blocking storages are
 * polled with a growing delay (`initialDelay` × `backoff` up to `maxDelay`),
 * reset when a message arrives; blocking storages wait in `dequeue`.
 * Storage errors are reported once per outage (see outage.ts)
 * and retried after a wait that doubles from `initialDelay` up to `maxDelay`.
 */
export async function runWorkerLoop(huey: Huey, options: WorkerLoopOptions): Promise<LoopEnd> {
  const renewal = new LeaseRenewal(huey);
  const metrics = recorderOf(huey);
  metrics.acquire();
  // Cancel requests from other processes, heard while the loop runs.
  const deaf = huey.executor.cancellations.listen();
  try {
    // Subscribed before the first task: pub/sub keeps nothing for late subscribers.
    await within(huey.executor.cancellations.ready(), 5);
    return await loop(huey, options, renewal);
  } finally {
    deaf();
    renewal.stop();
    await metrics.release();
  }
}

async function loop(
  huey: Huey,
  options: WorkerLoopOptions,
  renewal: LeaseRenewal,
): Promise<LoopEnd> {
  let delay = options.initialDelay;
  /** The wait after a failed dequeue, while the storage does not answer. */
  let failedDelay: number | undefined;
  const outage = outageOf(huey);
  let ran = 0;
  const scope = new CancelScope(options.abort);
  const backOff = async () => {
    const storage = huey.storage;
    if (storage.waitForEnqueue) await storage.waitForEnqueue(delay, options.stop);
    else await sleep(delay, options.stop);
    delay = Math.min(delay * options.backoff, options.maxDelay);
  };
  while (!options.stop.aborted) {
    const storage = huey.storage;
    let delivery: Delivery | undefined;
    try {
      delivery = await huey.executor.dequeue({
        wait: storage.blocking ? options.blockingWait ?? 1 : 0,
        signal: options.stop,
      });
    } catch (error) {
      if (options.stop.aborted) break;
      reportStorageError(huey, "Cannot read from the queue", error);
      failedDelay = nextOutageDelay(failedDelay, options.initialDelay, options.maxDelay);
      await sleep(failedDelay, options.stop);
      continue;
    }
    failedDelay = undefined;
    // Whatever failed before (a read, a finish, a lease renewal), the storage answers now.
    if (outage.down) outage.answered();
    if (!delivery) {
      if (!storage.blocking) await backOff();
      continue;
    }
    delay = options.initialDelay;
    await processDelivery(huey, delivery, options.abort, options, renewal, scope);
    if (options.maxTasks !== undefined && ++ran >= options.maxTasks) return "retired";
  }
  return "stopped";
}
