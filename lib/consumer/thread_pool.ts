/**
 * `worker` workers: one worker thread per worker, each importing the app
 * module and running the worker loop, so CPU-bound tasks run in parallel.
 *
 * @module
 */
import { within } from "../_util.ts";
import type { Huey } from "../huey.ts";
import { startWorkerThread } from "../runtime.ts";
import type { WorkerThread } from "../runtime.ts";
import type { AppSpec } from "./app.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import { TaskSlot } from "./task_slot.ts";
import { CancelWatch } from "./cancel_watch.ts";
import { BasePool } from "./pool.ts";
import type { PoolWorker, WorkerConfig, WorkerFault } from "./pool.ts";

/** What the main thread sends a worker thread. */
export type ToWorker = { type: "stop" } | { type: "abort" };
/** What a worker thread sends the main thread. */
export type FromWorker =
  | { type: "ready" }
  | { type: "task-start"; id: string; name: string; timeout?: number; started: number }
  | { type: "task-end" }
  | { type: "retired" }
  | { type: "done" }
  | { type: "failed"; message: string };

interface ThreadWorker extends PoolWorker {
  thread: WorkerThread;
  /** Which task it runs, readable while its thread is blocked. */
  slot: TaskSlot;
  /** Why it must go: it ignored a cancel past the grace period. */
  ignoredCancel?: string;
  /** The task it runs, if that task has a timeout (the others are not reported). */
  running?: { id: string; name: string; timeout?: number; started: number };
  dead: boolean;
}

/** Seconds past a task's timeout before its worker counts as hung. */
const HANG_GRACE = 5;
/** Seconds an aborted thread has to end before it is terminated. */
const KILL_GRACE = 5;

const entry = new URL(
  import.meta.url.endsWith(".ts") ? "./worker_entry.ts" : "./worker_entry.js",
  import.meta.url,
);

/**
 * Runs each worker in a worker thread. A worker that dies, or is stuck in a
 * task past its `timeout`, is replaced at the next health check; its message
 * goes back to the queue when its lease runs out.
 *
 * @example
 * ```ts
 * import { SqliteHuey } from "../../mod.ts";
 * import { parseAppSpec } from "./app.ts";
 * import { resolveConsumerOptions } from "./options.ts";
 * import { ThreadPool } from "./thread_pool.ts";
 * // app.ts exports the Huey; each thread imports it again.
 * const huey = new SqliteHuey({ filename: "app.db" });
 * const options = resolveConsumerOptions({ workers: 2, workerType: "worker" });
 * const pool = new ThreadPool(huey, parseAppSpec("app.ts"), options);
 * ```
 */
export class ThreadPool extends BasePool<ThreadWorker> {
  readonly #app: AppSpec;
  #cancels?: CancelWatch<ThreadWorker>;

  /** A pool of `options.workers` threads, each importing `app` (whose Huey is `huey`). */
  constructor(huey: Huey, app: AppSpec, options: ResolvedConsumerOptions) {
    super(huey, options);
    this.#app = app;
  }

  override async start(): Promise<void> {
    await super.start();
    this.#cancels = new CancelWatch(
      this.huey,
      this.options.cancelGrace,
      () => this.workers,
      async (w) => {
        w.ignoredCancel = `Worker ${w.index} ignored the cancel of its task ${w.slot.read()?.id} ` +
          `for ${this.options.cancelGrace}s: terminating it; a new thread takes its place`;
        await this.checkHealth(this.huey.now());
        // A health check already under way may have looked at it before: one more.
        if (this.workers.includes(w)) await this.checkHealth(this.huey.now());
      },
    );
    // Hear cancels from the start (pub/sub keeps nothing for late subscribers);
    // a subscription that hangs leaves the mark's polling to find them.
    await within(this.huey.executor.cancellations.ready(), 5);
  }

  override async stop(graceful: boolean): Promise<void> {
    this.#cancels?.stop();
    await super.stop(graceful);
  }

  protected async spawn(index: number): Promise<ThreadWorker> {
    const buffer = TaskSlot.buffer();
    const data: WorkerConfig = { app: this.#app, index, options: this.options, slot: buffer };
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
      slot: new TaskSlot(buffer),
      dead: false,
      stopping: false,
      done: new Promise<void>((resolve) => {
        thread.onExit((code, error) => {
          worker.dead = true;
          worker.retired = retiring;
          if (!worker.stopping) {
            this.huey.logger.error(`Worker ${index} exited with code ${code}`, error ?? "");
            failed(new Error(`worker ${index} exited with code ${code}`));
          }
          resolve();
        });
      }),
    };
    // Told by the thread before it ends; the pool replaces it once it has.
    let retiring = false;
    thread.onMessage((raw) => {
      const message = raw as FromWorker;
      if (message.type === "ready") ready();
      else if (message.type === "retired") retiring = true;
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

  protected requestStop(worker: ThreadWorker): void {
    worker.thread.postMessage({ type: "stop" } satisfies ToWorker);
  }

  protected requestAbort(worker: ThreadWorker): void {
    worker.thread.postMessage({ type: "abort" } satisfies ToWorker);
  }

  protected override killGrace(): number {
    return KILL_GRACE;
  }

  protected override kill(worker: ThreadWorker): Promise<void> {
    return worker.thread.terminate();
  }

  protected diagnose(worker: ThreadWorker, now: number): WorkerFault | undefined {
    if (worker.ignoredCancel) return { hung: true, message: worker.ignoredCancel };
    const running = worker.running;
    if (
      running?.timeout !== undefined &&
      now - running.started > (running.timeout + HANG_GRACE) * 1000
    ) {
      return {
        hung: true,
        message:
          `Worker ${worker.index} is stuck in ${running.name}: ${running.id} past its ${running.timeout}s timeout; replacing it (the task runs again when its lease ends)`,
      };
    }
    return worker.dead
      ? { message: `Replacing worker ${worker.index}, which died`, hung: false }
      : undefined;
  }
}
