/**
 * `process` workers: one child process per worker, each a single-worker
 * consumer of the same app without a scheduler (`--worker-only`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Huey } from "../huey.ts";
import { scriptCommand } from "../runtime.ts";
import type { AppSpec } from "./app.ts";
import type { ResolvedConsumerOptions } from "./options.ts";
import { BasePool } from "./pool.ts";
import type { PoolWorker, WorkerFault } from "./pool.ts";

const cli = new URL(
  import.meta.url.endsWith(".ts") ? "../../cli.ts" : "../../cli.js",
  import.meta.url,
);

/** Seconds an aborted child has to end (and close its storage) before SIGKILL. */
const KILL_GRACE = 10;

interface ProcessWorker extends PoolWorker {
  child: ChildProcess;
  dead: boolean;
  /** It was sent SIGINT (a graceful stop). */
  interrupted: boolean;
}

/** The command-line flags that make a child consumer behave like this one's worker. */
function childArgs(app: AppSpec, options: ResolvedConsumerOptions): string[] {
  const args = [
    app.exportName ? `${app.module}:${app.exportName}` : app.module,
    "--worker-only",
    "-w",
    "1",
    "-k",
    "async",
    "-d",
    String(options.initialDelay),
    "-m",
    String(options.maxDelay),
    "-b",
    String(options.backoff),
    "--shutdown-timeout",
    String(options.shutdownTimeout),
  ];
  if (options.logLevel === "debug") args.push("-v");
  if (options.logLevel === "error") args.push("-q");
  if (options.simpleLog) args.push("-S");
  if (options.logfile) args.push("-l", options.logfile);
  return args;
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

  /** A pool of `options.workers` child processes, each importing `app` (whose Huey is `huey`). */
  constructor(huey: Huey, app: AppSpec, options: ResolvedConsumerOptions) {
    super(huey, options);
    this.#app = app;
  }

  protected spawn(index: number): ProcessWorker {
    const { command, args } = scriptCommand(
      fileURLToPath(cli),
      childArgs(this.#app, this.options),
    );
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
          if (!worker.stopping) {
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
    if (!worker.dead) worker.child.kill("SIGINT");
    worker.interrupted = true;
  }

  protected requestAbort(worker: ProcessWorker): void {
    // A child's consumer takes a second SIGINT as the hard stop of a graceful
    // stop under way; it would ignore SIGTERM then (the stop is under way).
    if (!worker.dead) worker.child.kill(worker.interrupted ? "SIGINT" : "SIGTERM");
  }

  protected override killGrace(): number {
    return KILL_GRACE;
  }

  protected override kill(worker: ProcessWorker): void {
    if (!worker.dead) worker.child.kill("SIGKILL");
  }

  protected diagnose(worker: ProcessWorker): WorkerFault | undefined {
    if (!worker.dead || worker.stopping) return undefined;
    return { message: `Replacing worker process ${worker.index}`, hung: false };
  }
}
