/**
 * `async` workers: worker loops on the consumer's own event loop.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import { within } from "../_util.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import type { WorkerPool } from "./pool.ts";
import { runWorkerLoop } from "./worker_loop.ts";

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
