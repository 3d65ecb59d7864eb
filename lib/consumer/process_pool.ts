/**
 * `process` workers: one child process per worker, each running
 * `process_entry.ts`: a single-worker consumer of the same app without a
 * scheduler.
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import type { Huey } from "../huey.ts";
import { scriptCommand, signalProcess } from "../runtime.ts";
import type { ChildSignal } from "../runtime.ts";
import type { AppSpec } from "./app.ts";
import { resolveConsumerOptions } from "./options.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import { BasePool } from "./pool.ts";
import type { PoolWorker, WorkerConfig, WorkerFault } from "./pool.ts";

const entry = new URL(
  import.meta.url.endsWith(".ts") ? "./process_entry.ts" : "./process_entry.js",
  import.meta.url,
);

/** Seconds an aborted child has to end (and close its storage) before SIGKILL. */
const KILL_GRACE = 5;

interface ProcessWorker extends PoolWorker {
  child: ChildProcess;
  dead: boolean;
  /** It was sent SIGINT (a graceful stop). */
  interrupted: boolean;
}

/**
 * The options of a child's consumer: one async worker that polls, logs and
 * stops like this consumer's workers. The rest stays with this consumer:
 * it schedules and flushes the locks (a child flushing them would release
 * the locks of tasks running in its siblings); the child checks its own
 * worker's health at the default interval.
 */
function childOptions(options: ResolvedConsumerOptions): ResolvedConsumerOptions {
  return resolveConsumerOptions({
    workers: 1,
    workerType: "async",
    initialDelay: options.initialDelay,
    maxDelay: options.maxDelay,
    backoff: options.backoff,
    shutdownTimeout: options.shutdownTimeout,
    logLevel: options.logLevel,
    simpleLog: options.simpleLog,
    logfile: options.logfile,
    maxTasks: options.maxTasks,
    consumerId: options.consumerId,
  });
}

/**
 * Runs each worker as a child process; a child that exits is replaced at
 * the next health check.
 *
 * @example
 * ```ts
 * import { SqliteHuey } from "../../mod.ts";
 * import { parseAppSpec } from "./app.ts";
 * import { resolveConsumerOptions } from "./options.ts";
 * import { ProcessPool } from "./process_pool.ts";
 * // app.ts exports the Huey; each child imports it again.
 * const huey = new SqliteHuey({ filename: "app.db" });
 * const options = resolveConsumerOptions({ workers: 2, workerType: "process" });
 * const pool = new ProcessPool(huey, parseAppSpec("app.ts"), options);
 * ```
 */
export class ProcessPool extends BasePool<ProcessWorker> {
  readonly #app: AppSpec;
  readonly #childOptions: ResolvedConsumerOptions;

  /** A pool of `options.workers` child processes, each importing `app` (whose Huey is `huey`). */
  constructor(huey: Huey, app: AppSpec, options: ResolvedConsumerOptions) {
    super(huey, options);
    this.#app = app;
    this.#childOptions = childOptions(options);
  }

  protected spawn(index: number): ProcessWorker {
    const config: WorkerConfig = { app: this.#app, index, options: this.#childOptions };
    // The config travels as the child's one argument: no file to clean up,
    // and unlike the environment it is not inherited by what a task spawns.
    const { command, args } = scriptCommand(entry, [JSON.stringify(config)]);
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
    const worker: ProcessWorker = {
      index,
      child,
      dead: false,
      stopping: false,
      interrupted: false,
      done: new Promise<void>((resolve) => {
        child.on("exit", (code, signal) => {
          worker.dead = true;
          // A child ends by itself with 0 only when its worker retired (-M).
          worker.retired = !worker.stopping && code === 0 && this.options.maxTasks !== undefined;
          if (!worker.stopping && !worker.retired) {
            this.huey.logger.error(`Worker process ${index} exited (${signal ?? code})`);
          }
          resolve();
        });
        child.on("error", (error) => {
          worker.dead = true;
          this.huey.logger.error(`Cannot start worker process ${index}`, error);
          resolve();
        });
      }),
    };
    return worker;
  }

  protected requestStop(worker: ProcessWorker): void {
    this.#signal(worker, "SIGINT");
    worker.interrupted = true;
  }

  protected requestAbort(worker: ProcessWorker): void {
    // A child stopping gracefully ignores SIGTERM (Consumer.run: a stop is
    // already under way) but takes a second SIGINT as the hard stop.
    this.#signal(worker, worker.interrupted ? "SIGINT" : "SIGTERM");
  }

  #signal(worker: ProcessWorker, signal: ChildSignal): void {
    if (!worker.dead && worker.child.pid !== undefined) signalProcess(worker.child.pid, signal);
  }

  protected override killGrace(): number {
    return KILL_GRACE;
  }

  protected override kill(worker: ProcessWorker): void {
    this.#signal(worker, "SIGKILL");
  }

  protected diagnose(worker: ProcessWorker): WorkerFault | undefined {
    if (!worker.dead || worker.stopping) return undefined;
    return { message: `Replacing worker process ${worker.index}`, hung: false };
  }
}
