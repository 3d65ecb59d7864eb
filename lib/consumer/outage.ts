/**
 * Storage outages as the consumer reports them: one line when the storage
 * stops answering, one when it answers again, and quiet (DEBUG) retries in
 * between, however many worker loops and schedulers of the process retry.
 *
 * @module
 */
import { describeError, sleep } from "../_util.ts";
import type { Huey } from "../huey.ts";
import type { Storage } from "../storage/types.ts";

/** The storage as log lines name it: class, name and where its data lives (never a password). */
export function describeStorage(storage: Storage): string {
  const where = storage.location ? ` at ${storage.location}` : "";
  return `${storage.constructor.name} "${storage.name}"${where}`;
}

/**
 * Whether one Huey's storage answers, shared by every worker loop and the
 * scheduler of a process (see {@link outageOf}). The first failure is
 * logged at ERROR and emitted as a `storage_error` event; later ones, until
 * a call succeeds, at DEBUG; the first success after that logs "storage
 * reachable again" at INFO. A success costs a field read: it is called on
 * the hot path (after every dequeue).
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { outageOf } from "./outage.ts";
 * const huey = new MemoryHuey();
 * outageOf(huey).failed("Cannot read from the queue", new Error("ECONNREFUSED"));
 * outageOf(huey).answered(); // logs "Storage reachable again ..."
 * ```
 */
export class StorageOutage {
  readonly #huey: Huey;
  /** When the current outage began (ms), or undefined while the storage answers. */
  #since?: number;
  #failures = 0;
  /**
   * Log at DEBUG only, and emit nothing: set in worker threads and child
   * processes, whose consumer's scheduler (polling the same storage every
   * few seconds) reports the outage once for all of them.
   */
  quiet = false;

  constructor(huey: Huey) {
    this.#huey = huey;
  }

  /** True while the storage has not answered since its last failure. */
  get down(): boolean {
    return this.#since !== undefined;
  }

  /** A storage call failed while doing `what`. */
  failed(what: string, error: unknown): void {
    const huey = this.#huey;
    const reason = describeError(error);
    this.#failures++;
    if (this.#since !== undefined || this.quiet) {
      this.#since ??= huey.now();
      huey.logger.debug(
        `${what} (storage still unreachable, attempt ${this.#failures}): ${reason}`,
      );
      return;
    }
    this.#since = huey.now();
    huey.logger.error(
      `${what}: ${reason}; retrying with backoff, quiet until ${
        describeStorage(huey.storage)
      } answers`,
    );
    huey.executor.events.publish({
      signal: "storage_error",
      id: "",
      name: "",
      time: huey.now(),
      error: reason,
    });
  }

  /** A storage call succeeded. */
  answered(): void {
    if (this.#since === undefined) return;
    const huey = this.#huey;
    const seconds = (huey.now() - this.#since) / 1000;
    const line = `Storage reachable again: ${describeStorage(huey.storage)}, after ${
      seconds.toFixed(1)
    }s and ${this.#failures} failed attempt(s)`;
    if (this.quiet) huey.logger.debug(line);
    else huey.logger.info(line);
    this.#since = undefined;
    this.#failures = 0;
  }
}

const outages = new WeakMap<Huey, StorageOutage>();

/** The {@link StorageOutage} of `huey` in this process (one per Huey, made on first use). */
export function outageOf(huey: Huey): StorageOutage {
  let outage = outages.get(huey);
  if (!outage) outages.set(huey, outage = new StorageOutage(huey));
  return outage;
}

/**
 * The next wait after a failed storage call: doubles from `first` up to
 * `max` seconds, so a storage that is down is asked a few times a minute,
 * not several times a second.
 */
export function nextOutageDelay(previous: number | undefined, first: number, max: number): number {
  return Math.min(previous === undefined ? first : previous * 2, max);
}

/**
 * Ask the storage a cheap question (its queue size) until it answers, with
 * the outage backoff between attempts (one log line, then DEBUG); true once
 * it answered, false when `signal` aborted first.
 */
export async function waitForStorage(
  huey: Huey,
  options: { initialDelay: number; maxDelay: number },
  signal: AbortSignal,
): Promise<boolean> {
  const outage = outageOf(huey);
  let delay: number | undefined;
  while (!signal.aborted) {
    try {
      await huey.storage.queueSize();
      outage.answered();
      return true;
    } catch (error) {
      outage.failed("Cannot start consumer: the storage does not answer", error);
      delay = nextOutageDelay(delay, Math.max(options.initialDelay, 0.5), options.maxDelay);
      await sleep(delay, signal);
    }
  }
  return false;
}
