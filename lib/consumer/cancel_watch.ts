/**
 * The main thread's side of cancelling a task in a worker thread
 * (`-k worker`). The thread aborts the task's signal itself when it hears
 * the cancel; but a task that ignores its signal, or blocks its thread so
 * that nothing there runs, would hold the thread for ever. So the main
 * thread hears cancel requests too (the event feed where it crosses
 * processes; a read of each running task's mark every lease-renewal period
 * everywhere), finds the thread that runs the task (its task slot), and if
 * that thread still runs it after the grace period, ends the task's lease
 * (so its message comes back at once, and is skipped as cancelled) and has
 * the pool terminate and replace the thread.
 *
 * @module
 */
import { describeError } from "../_util.ts";
import type { Huey } from "../huey.ts";
import { unrefTimer } from "../runtime.ts";
import type { TaskSlot } from "./task_slot.ts";

/** What the watch needs of a pool's worker. */
export interface SlottedWorker {
  /** Its position in the pool. */
  readonly index: number;
  /** Which task it runs. */
  readonly slot: TaskSlot;
}

/**
 * Watches the workers of one pool for cancelled tasks that outstay their grace.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { CancelWatch } from "./cancel_watch.ts";
 * const huey = new MemoryHuey();
 * const watch = new CancelWatch(huey, 5, () => [], async () => {});
 * watch.stop();
 * ```
 */
export class CancelWatch<W extends SlottedWorker> {
  readonly #huey: Huey;
  readonly #grace: number;
  readonly #workers: () => readonly W[];
  readonly #terminate: (worker: W) => Promise<unknown>;
  /** The ids whose grace is running. */
  readonly #pending = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #poll: ReturnType<typeof setInterval>;
  readonly #stops: (() => void)[];

  /**
   * Watch the workers `workers()` of `huey`'s pool; one that still runs a
   * cancelled task `grace` seconds after the cancel is handed to `terminate`.
   */
  constructor(
    huey: Huey,
    grace: number,
    workers: () => readonly W[],
    terminate: (worker: W) => Promise<unknown>,
  ) {
    this.#huey = huey;
    this.#grace = grace;
    this.#workers = workers;
    this.#terminate = terminate;
    const cancels = huey.executor.cancellations;
    this.#stops = [cancels.listen(), cancels.onRequest((id) => this.#requested(id))];
    this.#poll = setInterval(() => {
      for (const worker of this.#workers()) {
        const id = worker.slot.read()?.id;
        if (id === undefined || this.#pending.has(id)) continue;
        cancels.isCancelled(id).then(
          (cancelled) => {
            if (cancelled) this.#requested(id);
          },
          (error) =>
            huey.logger.warn(`Cannot read whether ${id} was cancelled: ${describeError(error)}`),
        );
      }
    }, Math.max(huey.leaseTimeout / 3, 0.05) * 1000);
    unrefTimer(this.#poll);
  }

  /** The task `id` was cancelled: if one of the workers runs it, start its grace. */
  #requested(id: string): void {
    if (this.#pending.has(id)) return;
    const worker = this.#workers().find((w) => w.slot.read()?.id === id);
    if (!worker) return;
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      void this.#outstayed(id, worker);
    }, this.#grace * 1000);
    unrefTimer(timer);
    this.#pending.set(id, timer);
  }

  /** The grace of `id` is over: if `worker` still runs it, end its lease and have it replaced. */
  async #outstayed(id: string, worker: W): Promise<void> {
    const running = worker.slot.read();
    if (running?.id !== id || !this.#workers().includes(worker)) return;
    const huey = this.#huey;
    try {
      // Back at once rather than after its lease: the next run skips it as cancelled.
      if (running.receipt) await huey.storage.extendLease(running.receipt, huey.now(), 0);
      await this.#terminate(worker);
    } catch (error) {
      huey.logger.error(`Cannot replace worker ${worker.index} after a cancel`, error);
    }
  }

  /** Stop watching. */
  stop(): void {
    clearInterval(this.#poll);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    for (const stop of this.#stops) stop();
  }
}
