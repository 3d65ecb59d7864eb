/**
 * The consumer's scheduler: puts expired leases back, moves due scheduled
 * tasks to the queue, and enqueues periodic tasks once a minute.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import { sleep } from "../_util.ts";
import { OWN_KEYS } from "../keys.ts";
import { nextOutageDelay, outageOf } from "./outage.ts";
import { reportStorageError } from "./worker_loop.ts";

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /** Seconds between runs (1 to 60). @default 1 */
  interval?: number;
  /** Enqueue periodic tasks. @default true */
  periodic?: boolean;
  /** Read periodic schedules in UTC. @default the Huey's `utc` */
  utc?: boolean;
}

const MINUTE = 60_000;
/** The longest wait between passes while the storage does not answer, seconds. */
const MAX_FAILED_DELAY = 10;
/**
 * How long a periodic marker is kept: consumers whose clocks disagree by
 * less than this still see each other's markers (a consumer running two
 * minutes ahead must not remove the marker of a minute that another has
 * yet to reach).
 */
const MARKER_RETENTION = 60 * MINUTE;

/** The result-store key that makes one consumer the one to enqueue `name` for `minute`. */
const periodicKey = OWN_KEYS.periodic;

/**
 * Drives a Huey's time-based work. `tick(now)` does one pass and is what
 * tests call with a fake clock; `run(signal)` loops on the Huey's clock.
 *
 * @example One pass at a chosen time
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { Scheduler } from "./scheduler.ts";
 * const huey = new MemoryHuey();
 * const scheduler = new Scheduler(huey, { interval: 1 });
 * await scheduler.tick(Date.UTC(2026, 10, 23, 9, 0));
 * ```
 */
export class Scheduler {
  readonly #huey: Huey;
  readonly #interval: number;
  readonly #periodic: boolean;
  readonly #utc: boolean;
  #lastMinute?: number;
  /** The wait after a pass that failed, while the storage does not answer (seconds). */
  #failedDelay?: number;

  constructor(huey: Huey, options: SchedulerOptions = {}) {
    this.#huey = huey;
    this.#interval = options.interval ?? 1;
    this.#periodic = options.periodic ?? true;
    this.#utc = options.utc ?? huey.utc;
  }

  /** One pass at time `now` (ms since the epoch). Storage errors are logged, not thrown. */
  async tick(now: number = this.#huey.now()): Promise<void> {
    const huey = this.#huey;
    const { executor } = huey;
    try {
      for (const data of await huey.storage.recoverLeases(now)) await this.#recovered(data, now);
      for (const task of await executor.readSchedule(now)) {
        huey.logger.debug(`Enqueued scheduled task ${task}`);
      }
      const minute = Math.floor(now / MINUTE) * MINUTE;
      if (this.#periodic && minute !== this.#lastMinute) {
        // Marked done only once enqueued, so a storage error retries this minute next run.
        await this.#enqueuePeriodic(minute, now);
        await this.#forgetMarkers(minute);
        this.#lastMinute = minute;
      }
      this.#failedDelay = undefined;
      outageOf(huey).answered();
    } catch (error) {
      reportStorageError(huey, "Scheduler: cannot reach the storage", error);
      this.#failedDelay = nextOutageDelay(this.#failedDelay, this.#interval, MAX_FAILED_DELAY);
    }
  }

  /**
   * Report a message whose lease was ended and that is back in the queue:
   * released by a consumer that stopped at once (SIGTERM left a marker,
   * removed here), or left by a consumer that died.
   */
  async #recovered(data: string, now: number): Promise<void> {
    const huey = this.#huey;
    const { executor } = huey;
    let task;
    try {
      task = executor.codec.decode(data);
    } catch {
      // Undecodable: the consumer that takes it sets it aside.
    }
    executor.events.publish({
      signal: "recovered",
      id: task?.id ?? "",
      name: task?.name ?? "",
      time: now,
    });
    // deleteData, not popData: an expiring storage's popData keeps the key.
    const released = task && await huey.storage.deleteData(OWN_KEYS.released(task.id)).catch(() => {
      return false;
    });
    if (released) {
      huey.logger.info(`${task} was interrupted by a consumer's stop (SIGTERM); back in the queue`);
      return;
    }
    huey.logger.warn(
      `Lease of ${task ?? "a message"} ran out (its consumer died?); it is back in the queue`,
    );
  }

  /**
   * Enqueue the periodic tasks due at `minute`. A `putIfEmpty` key per task
   * and minute lets exactly one of several consumers on one storage do it.
   */
  async #enqueuePeriodic(minute: number, now: number): Promise<void> {
    const huey = this.#huey;
    for (const task of huey.executor.readPeriodic(new Date(minute), this.#utc)) {
      if (!(await huey.storage.putIfEmpty(periodicKey(task.name, minute), String(now)))) continue;
      await huey.enqueue(task);
      huey.logger.info(`Enqueued periodic task ${task}`);
      huey.executor.events.publish({ signal: "periodic", id: task.id, name: task.name, time: now });
    }
  }

  /**
   * Remove the periodic markers that have passed their retention at
   * `minute`: of every periodic task, due or not (an hourly task's marker
   * must go too), and of the minutes this scheduler skipped since its last
   * pass (at most one retention's worth). One delete per periodic task a
   * minute; markers written in the last hour before every consumer stopped
   * stay until the result store is flushed.
   */
  async #forgetMarkers(minute: number): Promise<void> {
    const last = this.#lastMinute;
    const first = last !== undefined && last < minute
      ? Math.max(last + MINUTE, minute - MARKER_RETENTION)
      : minute;
    const names = this.#huey.executor.registry.periodicNames();
    const storage = this.#huey.storage;
    const deletes: Promise<boolean>[] = [];
    for (let m = first; m <= minute; m += MINUTE) {
      for (const name of names) {
        deletes.push(storage.deleteData(periodicKey(name, m - MARKER_RETENTION)));
      }
    }
    // Together: one round trip on pipelining storages.
    await Promise.all(deletes);
  }

  /**
   * Run passes every `interval` seconds until `signal` aborts, aligned so a
   * pass falls right after each minute boundary of the Huey's clock.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.tick();
      if (this.#failedDelay !== undefined) {
        await sleep(this.#failedDelay, signal);
        continue;
      }
      const now = this.#huey.now();
      const step = this.#interval * 1000;
      const next = Math.floor(now / step) * step + step;
      await sleep((next - now) / 1000, signal);
    }
  }
}
