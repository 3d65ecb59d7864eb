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
import { within } from "../_util.ts";
import type { WorkerPool } from "./pool.ts";

const cli = new URL(
  import.meta.url.endsWith(".ts") ? "../../cli.ts" : "../../cli.js",
  import.meta.url,
);

interface ProcessWorker {
  index: number;
  child: ChildProcess;
  done: Promise<void>;
  dead: boolean;
  stopping: boolean;
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

/** Runs each worker as a child process; a child that exits is replaced at the next health check. */
export class ProcessPool implements WorkerPool {
  readonly #huey: Huey;
  readonly #app: AppSpec;
  readonly #options: ResolvedConsumerOptions;
  #workers: ProcessWorker[] = [];

  constructor(huey: Huey, app: AppSpec, options: ResolvedConsumerOptions) {
    this.#huey = huey;
    this.#app = app;
    this.#options = options;
  }

  #spawn(index: number): ProcessWorker {
    const { command, args } = scriptCommand(
      fileURLToPath(cli),
      childArgs(this.#app, this.#options),
    );
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
    const worker: ProcessWorker = {
      index,
      child,
      dead: false,
      stopping: false,
      done: new Promise<void>((resolve) => {
        child.on("exit", (code, signal) => {
          worker.dead = true;
          if (!worker.stopping) {
            this.#huey.logger.error(`Worker process ${index} exited (${signal ?? code})`);
          }
          resolve();
        });
        child.on("error", (error) => {
          worker.dead = true;
          this.#huey.logger.error(`Cannot start worker process ${index}`, error);
          resolve();
        });
      }),
    };
    return worker;
  }

  start(): Promise<void> {
    this.#workers = Array.from({ length: this.#options.workers }, (_, i) => this.#spawn(i));
    return Promise.resolve();
  }

  async stop(graceful: boolean): Promise<void> {
    for (const worker of this.#workers) {
      worker.stopping = true;
      if (!worker.dead) worker.child.kill(graceful ? "SIGINT" : "SIGTERM");
    }
    const all = Promise.all(this.#workers.map((w) => w.done));
    if (!(await within(all, graceful ? this.#options.shutdownTimeout + 5 : 10))) {
      for (const worker of this.#workers) if (!worker.dead) worker.child.kill("SIGKILL");
    }
    await all;
    this.#workers = [];
  }

  checkHealth(): Promise<number> {
    let replaced = 0;
    this.#workers = this.#workers.map((worker) => {
      if (!worker.dead || worker.stopping) return worker;
      replaced++;
      this.#huey.logger.warn(`Replacing worker process ${worker.index}`);
      return this.#spawn(worker.index);
    });
    return Promise.resolve(replaced);
  }
}
