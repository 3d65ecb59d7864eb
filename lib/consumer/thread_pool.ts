/**
 * `worker` workers: one worker thread per worker, each importing the app
 * module and running the worker loop, so CPU-bound tasks run in parallel.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import { startWorkerThread } from "../runtime.ts";
import type { WorkerThread } from "../runtime.ts";
import type { AppSpec } from "./app.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import { within } from "../_util.ts";
import type { WorkerPool } from "./pool.ts";

/** What the main thread sends a worker thread. */
export type ToWorker = { type: "stop" } | { type: "abort" };
/** What a worker thread sends the main thread. */
export type FromWorker =
  | { type: "ready" }
  | { type: "task-start"; id: string; name: string; timeout?: number; started: number }
  | { type: "task-end" }
  | { type: "done" }
  | { type: "failed"; message: string };

/** The `workerData` of a worker thread. */
export interface WorkerThreadData {
  app: AppSpec;
  index: number;
  options: ResolvedConsumerOptions;
}

interface ThreadWorker {
  index: number;
  thread: WorkerThread;
  done: Promise<void>;
  running?: { id: string; name: string; timeout?: number; started: number };
  dead: boolean;
  stopping: boolean;
}

/** Seconds past a task's timeout before its worker counts as hung. */
const HANG_GRACE = 5;

const entry = new URL(
  import.meta.url.endsWith(".ts") ? "./worker_entry.ts" : "./worker_entry.js",
  import.meta.url,
);

/**
 * Runs each worker in a worker thread. A worker that dies, or is stuck in a
 * task past its `timeout`, is replaced at the next health check; its message
 * goes back to the queue when its lease runs out.
 */
export class ThreadPool implements WorkerPool {
  readonly #huey: Huey;
  readonly #app: AppSpec;
  readonly #options: ResolvedConsumerOptions;
  #workers: ThreadWorker[] = [];

  constructor(huey: Huey, app: AppSpec, options: ResolvedConsumerOptions) {
    this.#huey = huey;
    this.#app = app;
    this.#options = options;
  }

  async #spawn(index: number): Promise<ThreadWorker> {
    const data: WorkerThreadData = { app: this.#app, index, options: this.#options };
    const thread = await startWorkerThread(entry, data);
    let ready!: () => void;
    let failed!: (error: Error) => void;
    const started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    const worker: ThreadWorker = {
      index,
      thread,
      dead: false,
      stopping: false,
      done: new Promise<void>((resolve) => {
        thread.onExit((code, error) => {
          worker.dead = true;
          if (!worker.stopping) {
            this.#huey.logger.error(`Worker ${index} exited with code ${code}`, error ?? "");
            failed(new Error(`worker ${index} exited with code ${code}`));
          }
          resolve();
        });
      }),
    };
    thread.onMessage((raw) => {
      const message = raw as FromWorker;
      if (message.type === "ready") ready();
      else if (message.type === "failed") failed(new Error(message.message));
      else if (message.type === "task-start") worker.running = message;
      else if (message.type === "task-end") worker.running = undefined;
      else if (message.type === "done") {
        worker.stopping = true;
        void thread.terminate();
      }
    });
    await started;
    return worker;
  }

  async start(): Promise<void> {
    this.#workers = await Promise.all(
      Array.from({ length: this.#options.workers }, (_, i) => this.#spawn(i)),
    );
  }

  async stop(graceful: boolean): Promise<void> {
    for (const worker of this.#workers) {
      worker.stopping = true;
      worker.thread.postMessage({ type: graceful ? "stop" : "abort" } satisfies ToWorker);
    }
    const all = Promise.all(this.#workers.map((w) => w.done));
    const limit = graceful ? this.#options.shutdownTimeout : 5;
    if (!(await within(all, limit))) {
      if (graceful) {
        this.#huey.logger.warn(`Running tasks did not finish within ${limit}s; aborting them`);
        for (const w of this.#workers) w.thread.postMessage({ type: "abort" } satisfies ToWorker);
      }
      if (!(await within(all, 5))) {
        for (const w of this.#workers) await w.thread.terminate();
      }
    }
    await all;
    this.#workers = [];
  }

  async checkHealth(now: number): Promise<number> {
    let replaced = 0;
    for (const [i, worker] of this.#workers.entries()) {
      const running = worker.running;
      const hung = running?.timeout !== undefined &&
        now - running.started > (running.timeout + HANG_GRACE) * 1000;
      if (!worker.dead && !hung) continue;
      if (hung) {
        this.#huey.logger.error(
          `Worker ${worker.index} is stuck in ${running!.name}: ${running!.id} past its ${
            running!.timeout
          }s timeout; replacing it (the task runs again when its lease ends)`,
        );
        worker.stopping = true;
        await worker.thread.terminate();
      } else {
        this.#huey.logger.warn(`Replacing worker ${worker.index}, which died`);
      }
      try {
        this.#workers[i] = await this.#spawn(worker.index);
        replaced++;
      } catch (error) {
        this.#huey.logger.error(`Cannot replace worker ${worker.index}`, error);
      }
    }
    return replaced;
  }
}
