/**
 * `async` workers: worker loops on the consumer's own event loop.
 *
 * @module
 */
import { BasePool } from "./pool.ts";
import type { PoolWorker, WorkerFault } from "./pool.ts";
import { runWorkerLoop } from "./worker_loop.ts";
import type { LoopEnd } from "./worker_loop.ts";

interface AsyncWorker extends PoolWorker {
  stop: AbortController;
  abort: AbortController;
  crashed: boolean;
}

/**
 * `async` workers: loops on this event loop, so `-w 64` overlaps 64 tasks
 * that await IO. CPU-bound tasks block each other here; use `worker`.
 * A worker whose loop throws is replaced at the next health check. Such a
 * worker cannot be killed: a hard stop aborts its task's signal and waits.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { AsyncPool } from "./async_pool.ts";
 * import { resolveConsumerOptions } from "./options.ts";
 * const pool = new AsyncPool(new MemoryHuey(), resolveConsumerOptions({ workers: 4 }));
 * await pool.start();
 * await pool.stop(true);
 * ```
 */
export class AsyncPool extends BasePool<AsyncWorker> {
  protected spawn(index: number): AsyncWorker {
    const worker: AsyncWorker = {
      index,
      stop: new AbortController(),
      abort: new AbortController(),
      done: Promise.resolve(),
      crashed: false,
      stopping: false,
    };
    worker.done = this.#run(worker);
    return worker;
  }

  async #run(worker: AsyncWorker): Promise<void> {
    await this.huey.runStartupHooks();
    let end: LoopEnd | undefined;
    try {
      end = await runWorkerLoop(this.huey, {
        ...this.options,
        stop: worker.stop.signal,
        abort: worker.abort.signal,
      });
    } catch (error) {
      worker.crashed = true;
      this.huey.logger.error(`Worker ${worker.index} died`, error);
    } finally {
      await this.huey.runShutdownHooks();
    }
    // Only now, its shutdown hooks done: the pool replaces it once it has ended.
    worker.retired = end === "retired";
  }

  protected requestStop(worker: AsyncWorker): void {
    worker.stop.abort();
  }

  protected requestAbort(worker: AsyncWorker, reason: Error): void {
    worker.stop.abort();
    worker.abort.abort(reason);
  }

  protected diagnose(worker: AsyncWorker): WorkerFault | undefined {
    return worker.crashed
      ? { message: `Replacing worker ${worker.index}`, hung: false }
      : undefined;
  }
}
