/**
 * Mini-Huey: tasks, schedules and periodic tasks inside a program's own
 * process, with nothing to run beside it (huey's `huey.contrib.mini`).
 * A Huey on its own memory storage plus an embedded consumer: the same
 * execution path as every other Huey, without persistence.
 *
 * @module
 */
import { Consumer } from "./consumer/consumer.ts";
import { Huey } from "./huey.ts";
import type { HueyOptions } from "./huey.ts";
import { MemoryStorage } from "./storage/memory.ts";

/** Options of {@link MiniHuey}. */
export interface MiniHueyOptions extends Omit<HueyOptions, "storage" | "immediate"> {
  /** Seconds between scheduler runs (scheduled and periodic tasks), 1 to 60. @default 1 */
  interval?: number;
  /** Tasks that may run at the same time (huey's `pool_size`). @default 16 */
  poolSize?: number;
}

/**
 * A Huey for one process: declare tasks with `task()` / `periodicTask()`,
 * `start()` it, call and schedule tasks as with any Huey, `stop()` it.
 * Nothing survives the process; use a `SqliteHuey` for that.
 *
 * @example
 * ```ts
 * import { MiniHuey } from "./mini.ts";
 * const mini = new MiniHuey();
 * const add = mini.task("add", (a: number, b: number) => a + b);
 * await mini.start();
 * const result = await add(1, 2);
 * console.log(await result.get({ blocking: true, timeout: 5 })); // 3
 * await mini.stop();
 * ```
 */
export class MiniHuey extends Huey {
  readonly #interval: number;
  readonly #poolSize: number;
  #consumer?: Consumer;

  /** A MiniHuey with `options` (a Huey's, less the storage). */
  constructor(options: MiniHueyOptions = {}) {
    const { interval = 1, poolSize = 16, ...huey } = options;
    super({ ...huey, storage: new MemoryStorage({ name: huey.name ?? "huey" }) });
    this.#interval = interval;
    this.#poolSize = poolSize;
  }

  /**
   * True between `start()` and `stop()` (`isRunning`: `running()` is every
   * Huey's list of running tasks).
   */
  get isRunning(): boolean {
    return this.#consumer !== undefined;
  }

  /**
   * Start the workers and the scheduler in this process (tasks called
   * before wait in memory until then). Resolves once they run.
   */
  async start(): Promise<void> {
    if (this.#consumer) return;
    const consumer = new Consumer(this, {
      workers: this.#poolSize,
      schedulerInterval: this.#interval,
    });
    await consumer.start();
    this.#consumer = consumer;
  }

  /**
   * Stop: running tasks finish (`graceful`, the default) or are aborted.
   * Waiting tasks stay in memory; a later `start()` runs them.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.stop(options);
  }
}
