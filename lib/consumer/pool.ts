/**
 * Worker pools: how the consumer's workers run. Every pool runs the same
 * worker loop; they differ in where (this event loop, Web Workers, child
 * processes).
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import { within } from "../_util.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import { runWorkerLoop } from "./worker_loop.ts";

/** A set of workers the consumer starts, stops and checks. */
export interface WorkerPool {
  /** Start every worker (each runs the startup hooks first). */
  start(): Promise<void>;
  /**
   * Stop every worker. Graceful: running tasks finish (up to
   * `shutdownTimeout`, then they are aborted). Hard: running tasks are
   * aborted at once and their messages go back to the queue.
   */
  stop(graceful: boolean): Promise<void>;
  /** Replace workers that died or hang past their task's timeout; returns how many. */
  checkHealth(now: number): Promise<number>;
}

interface AsyncWorker {
  stop: AbortController;
  abort: AbortController;
  done: Promise<void>;
  crashed: boolean;
}

/**
 * `async` workers: loops on this event loop, so `-w 64` overlaps 64 tasks
 * that await IO. CPU-bound tasks block each other here; use `worker`.
 */
export class AsyncPool implements WorkerPool {
  readonly #huey: Huey;
  readonly #options: ResolvedConsumerOptions;
  #workers: AsyncWorker[] = [];

  constructor(huey: Huey, options: ResolvedConsumerOptions) {
    this.#huey = huey;
    this.#options = options;
  }

  #spawn(index: number): AsyncWorker {
    const worker: AsyncWorker = {
      stop: new AbortController(),
      abort: new AbortController(),
      done: Promise.resolve(),
      crashed: false,
    };
    worker.done = (async () => {
      await this.#huey.runStartupHooks();
      try {
        await runWorkerLoop(this.#huey, {
          ...this.#options,
          stop: worker.stop.signal,
          abort: worker.abort.signal,
        });
      } catch (error) {
        worker.crashed = true;
        this.#huey.logger.error(`Worker ${index} died`, error);
      } finally {
        await this.#huey.runShutdownHooks();
      }
    })();
    return worker;
  }

  start(): Promise<void> {
    this.#workers = Array.from({ length: this.#options.workers }, (_, i) => this.#spawn(i));
    return Promise.resolve();
  }

  async stop(graceful: boolean): Promise<void> {
    for (const worker of this.#workers) {
      worker.stop.abort();
      if (!graceful) worker.abort.abort(new Error("consumer stopped (SIGTERM)"));
    }
    const all = Promise.all(this.#workers.map((w) => w.done));
    if (graceful && !(await within(all, this.#options.shutdownTimeout))) {
      this.#huey.logger.warn(
        `Running tasks did not finish within ${this.#options.shutdownTimeout}s; aborting them`,
      );
      for (const worker of this.#workers) worker.abort.abort(new Error("shutdown timeout"));
    }
    await all;
    this.#workers = [];
  }

  checkHealth(): Promise<number> {
    let replaced = 0;
    this.#workers = this.#workers.map((worker, i) => {
      if (!worker.crashed) return worker;
      replaced++;
      this.#huey.logger.warn(`Replacing worker ${i}`);
      return this.#spawn(i);
    });
    return Promise.resolve(replaced);
  }
}
