/**
 * Consumer heartbeats: each consumer registers itself in the storage's
 * record store (id, host, pid, workers, worker type, start time) and
 * renews the record every few seconds, so `huey.consumers()` shows who is
 * alive from any process. A consumer whose last beat is more than
 * {@link MISSED_BEATS} intervals old is shown `alive: false`; its record
 * expires after {@link PRUNE_BEATS} intervals (at least 5 minutes); an
 * orderly stop removes it at once.
 *
 * @module
 */
import { hostname } from "node:os";
import { describeError } from "./_util.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Logger } from "./logger.ts";
import { pid, unrefTimer } from "./runtime.ts";
import type { Storage } from "./storage/types.ts";

/** One consumer, as `huey.consumers()` lists it. */
export interface ConsumerInfo {
  /** The consumer's id (what `huey.status(id).consumer` names). */
  id: string;
  /** The host it runs on. */
  host: string;
  /** Its process id. */
  pid: number;
  /** How many workers it runs. */
  workers: number;
  /** `async`, `worker` or `process`. */
  workerType: string;
  /** When it started, ms since the epoch. */
  startedAt: number;
  /** When it last beat, ms since the epoch (its clock). */
  lastBeat: number;
  /** False once it has missed more than 3 beats (it was killed, or hangs). */
  alive: boolean;
}

/** What a consumer's record holds: its info, and the interval it promised to beat at. */
interface Registration extends Omit<ConsumerInfo, "alive"> {
  /** Seconds between beats. */
  interval: number;
}

/** Beats a consumer may miss before it is shown dead. */
export const MISSED_BEATS = 3;
/** Beats after which a silent consumer's record is gone. */
export const PRUNE_BEATS = 20;

/** What a {@link Heartbeat} needs from its Huey. */
export interface HeartbeatHost {
  /** The storage in use. */
  readonly storage: Storage;
  /** Where a failed beat is logged. */
  readonly logger: Logger;
  /** The current time, ms since the epoch. */
  now(): number;
}

/** The seconds a record of a consumer beating every `interval` seconds is kept. */
function keptFor(interval: number): number {
  return Math.max(interval * PRUNE_BEATS, 300);
}

/**
 * One consumer's registration and beat.
 *
 * @example
 * ```ts
 * import { Heartbeat, listConsumers } from "./heartbeat.ts";
 * import { createLogger } from "./logger.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * const host = { storage: new MemoryStorage(), logger: createLogger(), now: Date.now };
 * const beat = new Heartbeat(host, { id: "c1", workers: 2, workerType: "async" }, 5);
 * await beat.start();
 * console.log((await listConsumers(host))[0].alive); // true
 * await beat.stop();
 * ```
 */
export class Heartbeat {
  readonly #host: HeartbeatHost;
  readonly #registration: Registration;
  #timer?: ReturnType<typeof setInterval>;

  /** A heartbeat for consumer `info.id`, every `interval` seconds. */
  constructor(
    host: HeartbeatHost,
    info: { id: string; workers: number; workerType: string },
    interval: number,
  ) {
    if (!(typeof interval === "number" && interval > 0 && interval <= 3600)) {
      throw new RangeError(
        `Cannot start the consumer heartbeat: the interval must be a number of seconds above 0, at most 3600: ${
          String(interval)
        }`,
      );
    }
    this.#host = host;
    const now = host.now();
    this.#registration = {
      ...info,
      host: hostname(),
      pid: pid(),
      startedAt: now,
      lastBeat: now,
      interval,
    };
  }

  /** The consumer's id. */
  get id(): string {
    return this.#registration.id;
  }

  /** Register (the first beat, awaited: a storage that is down says so at start), then beat on a timer. */
  async start(): Promise<void> {
    await this.beat();
    const interval = this.#registration.interval;
    this.#timer = setInterval(() => {
      this.beat().catch((error) => {
        this.#host.logger.warn(`Cannot renew the consumer heartbeat: ${describeError(error)}`);
      });
    }, interval * 1000);
    unrefTimer(this.#timer);
  }

  /** Write the record with the current time as the last beat. */
  async beat(): Promise<void> {
    const host = this.#host;
    const registration = this.#registration;
    registration.lastBeat = host.now();
    await host.storage.putRecord(
      OWN_KEYS.consumer(registration.id),
      JSON.stringify(registration),
      keptFor(registration.interval),
      registration.lastBeat,
    );
  }

  /** Stop beating and remove the record (an orderly stop). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#host.storage.deleteRecord(OWN_KEYS.consumer(this.#registration.id));
  }
}

/**
 * Every consumer registered on `host`'s storage, oldest first; `alive`
 * judged on `host`'s clock against each consumer's promised interval.
 *
 * @example
 * ```ts
 * import { listConsumers } from "./heartbeat.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * console.log(await listConsumers({ storage: new MemoryStorage(), now: Date.now })); // []
 * ```
 */
export async function listConsumers(
  host: { readonly storage: Storage; now(): number },
): Promise<ConsumerInfo[]> {
  const now = host.now();
  const records = await host.storage.recordItems(OWN_KEYS.consumer(""), now);
  const consumers: ConsumerInfo[] = [];
  for (const text of records.values()) {
    let registration: Registration;
    try {
      registration = JSON.parse(text) as Registration;
    } catch {
      continue; // not written by a heartbeat of ours: nothing to show
    }
    const { interval, ...info } = registration;
    consumers.push({ ...info, alive: now - info.lastBeat <= MISSED_BEATS * interval * 1000 });
  }
  return consumers.sort((a, b) => a.startedAt - b.startedAt);
}
