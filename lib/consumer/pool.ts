/**
 * Worker pools: how the consumer's workers run, and the skeleton the three
 * kinds share. Every pool runs the same worker loop; they differ in where
 * (this event loop, worker threads, child processes), and so in how one
 * worker is started, asked to stop, killed, and found dead or hung.
 * {@link BasePool} writes the rest once: start N workers, stop them with
 * escalation, replace the dead and the hung.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import { within } from "../_util.ts";
import { loadApp } from "./app.ts";
import type { AppSpec } from "./app.ts";
import { consumerLogger } from "./logging.ts";
import type { ResolvedConsumerOptions } from "./options.ts";

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
  /**
   * Called, when set, instead of replacing a worker that retired after
   * `maxTasks` tasks: the consumer of a `process` pool's child stops, so
   * the child exits and its parent starts a fresh process.
   */
  onRetired?: () => void;
}

/** One worker as {@link BasePool} tracks it; each pool adds its handle (thread, child...). */
export interface PoolWorker {
  /** Its position in the pool; its replacement takes the same. */
  readonly index: number;
  /** Settles once the worker has ended. */
  done: Promise<void>;
  /** The pool asked it to end: its end is expected, not a death to report. */
  stopping: boolean;
  /** It ended by itself after `maxTasks` tasks (`-M`): replaced at once, not reported. */
  retired?: boolean;
}

/** Why a worker must be replaced, as {@link BasePool.diagnose} finds it. */
export interface WorkerFault {
  /** The log line (a warning for a dead worker, an error for a hung one). */
  message: string;
  /** It is alive but stuck: it is killed before it is replaced. */
  hung: boolean;
}

/**
 * The start / stop / health skeleton of a {@link WorkerPool}, parameterised
 * by how one worker is spawned, asked to stop (gracefully or hard), killed,
 * and diagnosed.
 *
 * `stop(true)` asks every worker to stop and waits up to `shutdownTimeout`
 * seconds, then asks those still running to abort. `stop(false)` asks them
 * to abort at once and waits {@link BasePool.killGrace} seconds instead: a
 * hard stop is a graceful one whose tasks are aborted from the start. A
 * pool whose workers can be killed then kills those still running
 * `killGrace` seconds later; the others are waited for.
 *
 * @example A pool of workers that only wait to be stopped
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { BasePool } from "./pool.ts";
 * import type { PoolWorker, WorkerFault } from "./pool.ts";
 * import { resolveConsumerOptions } from "./options.ts";
 *
 * interface Idle extends PoolWorker {
 *   end: () => void;
 * }
 *
 * class IdlePool extends BasePool<Idle> {
 *   protected spawn(index: number): Idle {
 *     const worker: Idle = { index, stopping: false, end: () => {}, done: Promise.resolve() };
 *     worker.done = new Promise((resolve) => (worker.end = resolve));
 *     return worker;
 *   }
 *   protected requestStop(worker: Idle): void {
 *     worker.end();
 *   }
 *   protected requestAbort(worker: Idle): void {
 *     worker.end();
 *   }
 *   protected diagnose(): WorkerFault | undefined {
 *     return undefined;
 *   }
 * }
 *
 * const pool = new IdlePool(new MemoryHuey(), resolveConsumerOptions({ workers: 2 }));
 * await pool.start();
 * await pool.stop(true);
 * ```
 */
export abstract class BasePool<W extends PoolWorker> implements WorkerPool {
  /** The Huey whose tasks the workers run (its logger gets the pool's lines). */
  protected readonly huey: Huey;
  /** The consumer's options (`workers`, `shutdownTimeout`, the worker loop's). */
  protected readonly options: ResolvedConsumerOptions;
  #workers: W[] = [];
  #stopping = false;
  #checking?: Promise<number>;
  /** A worker retired while a check ran: the check goes over the workers again. */
  #retiredSince = false;
  /** See {@link WorkerPool.onRetired}. */
  onRetired?: () => void;

  /** A pool of `options.workers` workers for `huey`; none runs before {@link start}. */
  constructor(huey: Huey, options: ResolvedConsumerOptions) {
    this.huey = huey;
    this.options = options;
  }

  /** Start worker `index`; resolves once it runs (rejects if it cannot start). */
  protected abstract spawn(index: number): W | Promise<W>;
  /** Ask a worker to stop after its running task. */
  protected abstract requestStop(worker: W): void;
  /** Ask a worker to abort its running task and stop (`reason` is the task signal's). */
  protected abstract requestAbort(worker: W, reason: Error): void;
  /** Why `worker` must be replaced at time `now` (ms), or `undefined` if it is fine. */
  protected abstract diagnose(worker: W, now: number): WorkerFault | undefined;

  /**
   * Seconds stop() gives aborted workers to end before {@link kill} (twice
   * that for a hard stop, see {@link BasePool}). `undefined` (the default)
   * for workers that cannot be killed: stop() waits for them.
   */
  protected killGrace(): number | undefined {
    return undefined;
  }

  /** End a worker at once; only called when {@link killGrace} is set. */
  protected kill(_worker: W): Promise<void> | void {}

  /** Start every worker (in parallel). */
  /** The workers running now (a cancel watch looks for the one running a task). */
  protected get workers(): readonly W[] {
    return this.#workers;
  }

  async start(): Promise<void> {
    this.#stopping = false;
    this.#workers = await Promise.all(
      Array.from({ length: this.options.workers }, (_, i) => this.#start(i)),
    );
  }

  /** Spawn worker `index` and watch for its retirement. */
  async #start(index: number): Promise<W> {
    const worker = await this.spawn(index);
    void worker.done.then(() => {
      if (worker.retired && !this.#stopping) this.#retire(worker);
    });
    return worker;
  }

  /**
   * `worker` ran its `maxTasks` tasks and ended: start its replacement now
   * (through the health check's replacement, so the two never both replace
   * it), or tell {@link onRetired}.
   */
  #retire(worker: W): void {
    if (this.onRetired) return this.onRetired();
    this.huey.logger.info(
      `Worker ${worker.index} ran ${this.options.maxTasks} tasks (--max-tasks); replacing it`,
    );
    this.#retiredSince = true;
    this.checkHealth(this.huey.now()).catch((error) => {
      this.huey.logger.error(`Cannot replace worker ${worker.index}`, error);
    });
  }

  /** Stop every worker, escalating from stop to abort to kill (see {@link BasePool}). */
  async stop(graceful: boolean): Promise<void> {
    this.#stopping = true;
    // A replacement being spawned by a health check joins the pool first, so
    // that it is stopped with the others instead of outliving the pool. Its
    // failure was reported to the health check's caller.
    await this.#checking?.catch(() => 0);
    const workers = this.#workers;
    for (const worker of workers) {
      worker.stopping = true;
      if (graceful) this.requestStop(worker);
      else this.requestAbort(worker, new Error("consumer stopped (SIGTERM)"));
    }
    const all = Promise.all(workers.map((w) => w.done));
    const { shutdownTimeout } = this.options;
    const grace = this.killGrace();
    const wait = graceful ? shutdownTimeout : grace;
    if (wait !== undefined && !(await within(all, wait))) {
      if (graceful) {
        this.huey.logger.warn(
          `Running tasks did not finish within ${shutdownTimeout}s; aborting them`,
        );
        for (const worker of workers) this.requestAbort(worker, new Error("shutdown timeout"));
      }
      if (grace !== undefined && !(await within(all, grace))) {
        await Promise.all(workers.map((w) => this.kill(w)));
      }
    }
    await all;
    this.#workers = [];
  }

  /**
   * Replace the workers {@link diagnose} finds dead or hung (a hung one is
   * killed first). A check asked for while one runs gets that one's answer:
   * two would both replace the same dead worker.
   */
  checkHealth(now: number): Promise<number> {
    if (this.#stopping) return Promise.resolve(0);
    this.#checking ??= this.#check(now).finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(now: number): Promise<number> {
    let replaced = 0;
    do {
      this.#retiredSince = false;
      for (const [i, worker] of this.#workers.entries()) {
        if (this.#stopping) break;
        // A retired worker is replaced without a word (its retirement was logged).
        const fault = worker.retired ? undefined : this.diagnose(worker, now);
        if (!fault && !worker.retired) continue;
        if (fault?.hung) {
          this.huey.logger.error(fault.message);
          worker.stopping = true;
          await this.kill(worker);
        } else if (fault) {
          this.huey.logger.warn(fault.message);
        }
        try {
          this.#workers[i] = await this.#start(worker.index);
          replaced++;
        } catch (error) {
          this.huey.logger.error(`Cannot replace worker ${worker.index}`, error);
        }
      }
    } while (this.#retiredSince && !this.#stopping);
    return replaced;
  }
}

/** What a worker in a thread or a child process is given: the app to import, its index, the options. */
export interface WorkerConfig {
  /** The app module the worker imports (it declares the tasks). */
  app: AppSpec;
  /** The worker's position in its pool (named in its log lines). */
  index: number;
  /** The options of the worker's loop (or of the child's consumer). */
  options: ResolvedConsumerOptions;
  /** A worker thread's task slot (see task_slot.ts). */
  slot?: SharedArrayBuffer;
}

/**
 * Import the app of a worker thread or child process and give its Huey the
 * consumer's logger, the one its options ask for, with lines prefixed by
 * `source` (e.g. `worker 2`).
 */
export async function loadWorkerApp(config: WorkerConfig, source: string): Promise<Huey> {
  const huey = await loadApp(config.app);
  huey.logger = consumerLogger({
    level: config.options.logLevel,
    logfile: config.options.logfile,
    simple: config.options.simpleLog,
    source,
  });
  return huey;
}
