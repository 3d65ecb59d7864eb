/**
 * The consumer: a scheduler and a pool of workers around one Huey, with
 * health checks and the OS-signal behaviour of huey's consumer.
 *
 * @module
 */
import { hostname } from "node:os";
import { ConfigurationError } from "../errors.ts";
import { Heartbeat } from "../heartbeat.ts";
import type { Huey } from "../huey.ts";
import { onSignal, pid, unrefTimer } from "../runtime.ts";
import { MemoryStorage } from "../storage/memory.ts";
import type { AppSpec } from "./app.ts";
import { resolveConsumerOptions } from "./options.ts";
import type { ConsumerOptions, ResolvedConsumerOptions } from "./options.ts";
import { AsyncPool } from "./async_pool.ts";
import type { WorkerPool } from "./pool.ts";
import { ProcessPool } from "./process_pool.ts";
import { Scheduler } from "./scheduler.ts";
import { ThreadPool } from "./thread_pool.ts";

/** Extra settings of a {@link Consumer} beyond the CLI options. */
export interface ConsumerSetup {
  /**
   * The app module the Huey came from. Required by the `worker` and
   * `process` worker types, which import it again in each worker.
   */
  app?: AppSpec;
  /** Run workers only, no scheduler (the children of a `process` pool). @default false */
  workerOnly?: boolean;
}

/**
 * Runs tasks from a Huey's storage: a scheduler (due scheduled tasks,
 * periodic tasks, expired leases) and `workers` workers.
 *
 * `start()`/`stop()` for programs that embed a consumer; `run()` for the
 * CLI: it also handles SIGINT (graceful stop), SIGTERM (hard stop) and
 * SIGHUP (graceful restart of the workers), and closes the storage at the end.
 *
 * @example Embed a consumer
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { Consumer } from "./consumer.ts";
 * const huey = new MemoryHuey();
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const consumer = new Consumer(huey, { workers: 4 });
 * await consumer.start();
 * const r = await add(1, 2);
 * console.log(await r.get({ blocking: true, timeout: 5 })); // 3
 * await consumer.stop();
 * ```
 */
export class Consumer {
  /** The Huey whose tasks this consumer runs. */
  readonly huey: Huey;
  /** The options in force, defaults filled in. */
  readonly options: ResolvedConsumerOptions;
  readonly #setup: ConsumerSetup;
  #pool?: WorkerPool;
  #schedulerStop?: AbortController;
  #schedulerDone?: Promise<void>;
  #healthTimer?: ReturnType<typeof setInterval>;
  #heartbeat?: Heartbeat;
  #stopping?: Promise<void>;
  #stopped!: () => void;
  /** Resolves once the consumer has stopped. */
  readonly stopped: Promise<void>;

  /**
   * A consumer of `huey`'s tasks with `options` (the CLI flags' defaults
   * for what is unset); `setup.app` is needed by the `worker` and `process`
   * worker types.
   */
  constructor(huey: Huey, options: ConsumerOptions = {}, setup: ConsumerSetup = {}) {
    this.huey = huey;
    this.options = resolveConsumerOptions(options);
    // Workers (threads, child processes) are given the id, so their status records name it.
    this.options.consumerId ??= `${hostname()}.${pid()}.${crypto.randomUUID().slice(0, 8)}`;
    this.#setup = setup;
    if (this.options.workerType !== "async" && !setup.app) {
      throw new ConfigurationError(
        `Cannot start consumer: worker type ${this.options.workerType} needs the app module (run it with cli.ts)`,
      );
    }
    this.stopped = new Promise((resolve) => (this.#stopped = resolve));
  }

  #newPool(): WorkerPool {
    const { workerType } = this.options;
    if (workerType === "worker") return new ThreadPool(this.huey, this.#setup.app!, this.options);
    if (workerType === "process") return new ProcessPool(this.huey, this.#setup.app!, this.options);
    const pool = new AsyncPool(this.huey, this.options);
    // A process pool's child is one worker: when it retires (-M) the child
    // ends, and its parent starts a fresh process.
    if (this.#setup.workerOnly) {
      pool.onRetired = () => {
        this.huey.logger.info(
          `Ran ${this.options.maxTasks} tasks (--max-tasks); this process ends`,
        );
        void this.stop();
      };
    }
    return pool;
  }

  /** Start the scheduler, the workers and the health checks. */
  async start(): Promise<void> {
    const { huey, options } = this;
    const storage = huey.storage;
    if (options.workerType !== "async" && storage instanceof MemoryStorage) {
      throw new ConfigurationError(
        `Cannot start consumer: worker type ${options.workerType} needs storage that threads or processes can share (SQLite, Redis, file), not memory`,
      );
    }
    if (options.flushLocks || options.extraLocks.length) {
      const flushed = await huey.flushLocks(...options.extraLocks);
      if (flushed.length) huey.logger.info(`Flushed locks: ${flushed.join(", ")}`);
    }
    if (!this.#setup.workerOnly) {
      // Registered first: a storage that is down says so before any worker starts.
      const { consumerId, workers, workerType, heartbeatInterval } = options;
      const info = { id: consumerId!, workers, workerType };
      this.#heartbeat = new Heartbeat(huey, info, heartbeatInterval);
      await this.#heartbeat.start();
    }
    this.#pool = this.#newPool();
    await this.#pool.start();
    if (!this.#setup.workerOnly) {
      const scheduler = new Scheduler(huey, {
        interval: options.schedulerInterval,
        periodic: options.periodic,
        utc: options.utc,
      });
      this.#schedulerStop = new AbortController();
      this.#schedulerDone = scheduler.run(this.#schedulerStop.signal);
    }
    if (options.checkWorkerHealth) {
      this.#healthTimer = setInterval(() => {
        this.#pool?.checkHealth(huey.now()).catch((error) => {
          huey.logger.error("Health check failed", error);
        });
      }, options.healthCheckInterval * 1000);
      unrefTimer(this.#healthTimer);
    }
    huey.logger.info(
      `Consumer started: ${options.workers} ${options.workerType} worker(s), storage ${storage.constructor.name} "${storage.name}", periodic tasks ${
        options.periodic && !this.#setup.workerOnly ? "on" : "off"
      }, tasks: ${huey.taskNames().join(", ") || "none"}`,
    );
    huey.executor.events.publish({ signal: "started", id: "", name: "", time: huey.now() });
  }

  /**
   * Stop. Graceful (the default, SIGINT): running tasks finish, up to
   * `shutdownTimeout` seconds. Hard (SIGTERM): running tasks' signals abort
   * at once and their messages go back to the queue.
   */
  stop(options: { graceful?: boolean } = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.graceful ?? true);
    return this.#stopping;
  }

  async #stop(graceful: boolean): Promise<void> {
    const { huey } = this;
    huey.logger.info(
      graceful ? "Stopping: waiting for running tasks" : "Stopping now: aborting running tasks",
    );
    clearInterval(this.#healthTimer);
    this.#schedulerStop?.abort();
    await this.#schedulerDone;
    await this.#pool?.stop(graceful);
    await this.#heartbeat?.stop().catch((error) => {
      huey.logger.warn(`Cannot remove the consumer's heartbeat record: ${error}`);
    });
    huey.executor.events.publish({ signal: "stopped", id: "", name: "", time: huey.now() });
    huey.logger.info("Consumer stopped");
    this.#stopped();
  }

  /** Restart the workers gracefully (SIGHUP): running tasks finish, then new workers start. */
  async restart(): Promise<void> {
    if (this.#stopping || !this.#pool) return;
    this.huey.logger.info("Restarting workers");
    await this.#pool.stop(true);
    this.#pool = this.#newPool();
    await this.#pool.start();
  }

  /** Replace dead or hung workers now; returns how many were replaced. */
  checkHealth(): Promise<number> {
    return this.#pool?.checkHealth(this.huey.now()) ?? Promise.resolve(0);
  }

  /**
   * Start, handle SIGINT/SIGTERM/SIGHUP until stopped, then close the
   * storage. A second SIGINT during a graceful stop makes it a hard stop.
   */
  async run(): Promise<void> {
    const offs = [
      onSignal("SIGINT", () => {
        if (this.#stopping) void this.#pool?.stop(false);
        else void this.stop({ graceful: true });
      }),
      onSignal("SIGTERM", () => void this.stop({ graceful: false })),
      onSignal("SIGHUP", () => void this.restart()),
    ];
    try {
      await this.start();
      await this.stopped;
    } finally {
      for (const off of offs) off();
      await this.huey.close();
    }
  }
}
