/**
 * Rate limits on the storage's counters (huey 3.3's `rate_limit`): at most
 * `limit` calls per `per` seconds, shared by every process on the storage.
 *
 * @module
 */
import { ConfigurationError, RateLimitExceeded } from "./errors.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Storage } from "./storage/types.ts";
import { shown, TASK_LIMITS } from "./task.ts";

/** Options of `huey.rateLimit()`. */
export interface RateLimitOptions {
  /**
   * A task stopped by the limit is retried when the window resets (after
   * its `retryDelay` instead, when it has one), whatever its `retries`,
   * and without using one up. With `false` it is retried only if it has
   * retries left, using one (at the reset, or after `retryDelay`); without
   * any left it fails with the {@link RateLimitExceeded} stored as its error.
   * @default true
   */
  retry?: boolean;
  /**
   * Count the last `per` seconds instead of fixed windows: no `per`-long
   * interval ever sees more than `limit` calls, where a fixed window lets a
   * burst at the end of one window and another at the start of the next
   * through (twice the limit within moments). The window is kept in
   * {@link SLIDING_BUCKETS} buckets, counted whole, so a call may be
   * refused up to `per / 10` seconds early. Each call reads the 11 buckets
   * (one operation each, sent together) where a fixed window makes one.
   * @default false
   */
  sliding?: boolean;
}

/** What a {@link RateLimit} needs from its Huey: the storage and the clock. */
export interface RateLimitHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** The current time, ms since the epoch: windows start and end on it. */
  now(): number;
}

/**
 * A call a rate limit let through. A rate limit counts calls, not
 * concurrency: nothing is given back when an `await using` block ends.
 */
export interface RatePermit extends AsyncDisposable {
  /** Calls counted in the window, this one included. */
  readonly usage: number;
  /** Calls the window still lets through. */
  readonly remaining: number;
}

/**
 * `huey.rateLimit(name, limit, per, options)`: the rate limit `name`, at
 * most `limit` calls every `per` seconds. Throws a ConfigurationError for
 * a `limit` or `per` that is not above 0.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * huey.task("data_sync", huey.rateLimit("data-sync", 10, 60).wrap(() => "synced"));
 * ```
 */
export type RateLimitDeclaration = (
  name: string,
  limit: number,
  per: number,
  options?: RateLimitOptions,
) => RateLimit;

/** How many buckets a sliding window is kept in. */
export const SLIDING_BUCKETS = 10;

/** A ConfigurationError unless `value` is a boolean or unset; returns it or `fallback`. */
function flag(value: unknown, fallback: boolean, what: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new ConfigurationError(`Cannot declare ${what}: expected true or false: ${shown(value)}`);
  }
  return value;
}

/**
 * At most `limit` calls every `per` seconds, counted in the storage, so
 * every process on it shares them: a fixed window by default (huey's),
 * or a sliding one. A call past the limit throws {@link RateLimitExceeded},
 * which the consumer reports as the `rate-limited` signal and retries (see
 * {@link RateLimitOptions.retry}).
 *
 * Windows start at multiples of `per` since the epoch, on the Huey's clock
 * (as schedule times do): keep the clocks of the processes that share a
 * limit in step. A call that is refused is not counted.
 *
 * @example Three ways to use one
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const limiter = huey.rateLimit("data-sync", 10, 60);
 * await limiter.run(() => console.log("synced"));
 * const sync = huey.task("data_sync", limiter.wrap((data: string) => data.length));
 * {
 *   await using permit = await limiter.acquire();
 *   console.log(permit.remaining); // 8
 * }
 * console.log(await limiter.currentUsage()); // 2
 * ```
 */
export class RateLimit {
  /** The limit's name: limits of one name share their calls. */
  readonly name: string;
  /** Calls let through per window. */
  readonly limit: number;
  /** The window, in seconds. */
  readonly per: number;
  /** See {@link RateLimitOptions.retry}. */
  readonly retry: boolean;
  /** See {@link RateLimitOptions.sliding}. */
  readonly sliding: boolean;
  readonly #host: RateLimitHost;
  /** Window (or bucket) length, in ms. */
  readonly #span: number;
  /** What the counters' keys say of the windows. */
  readonly #spanKey: string;

  /**
   * The limit `name` over `host`'s storage and clock. Throws a
   * ConfigurationError naming it for a `limit` that is not an integer above
   * 0, a `per` that is not a number of seconds above 0, or a bad option.
   */
  constructor(
    host: RateLimitHost,
    name: string,
    limit: number,
    per: number,
    options: RateLimitOptions = {},
  ) {
    if (typeof name !== "string" || name === "") {
      throw new ConfigurationError(
        `Cannot declare rate limit: name must be a non-empty string: ${shown(name)}`,
      );
    }
    const what = `rate limit ${JSON.stringify(name)}`;
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new ConfigurationError(
        `Cannot declare ${what}: limit must be an integer above 0: ${shown(limit)}`,
      );
    }
    if (typeof per !== "number" || !(per > 0 && per <= TASK_LIMITS.seconds)) {
      throw new ConfigurationError(
        `Cannot declare ${what}: per must be a number of seconds above 0, at most ${TASK_LIMITS.seconds}: ${
          shown(per)
        }`,
      );
    }
    this.#host = host;
    this.name = name;
    this.limit = limit;
    this.per = per;
    this.retry = flag(options.retry, true, `${what}: retry`);
    this.sliding = flag(options.sliding, false, `${what}: sliding`);
    this.#span = this.sliding ? (per * 1000) / SLIDING_BUCKETS : per * 1000;
    this.#spanKey = this.sliding ? `${per}/${SLIDING_BUCKETS}` : String(per);
  }

  /**
   * Count a call, or throw {@link RateLimitExceeded} (counting nothing)
   * when the window has no room for it.
   */
  async acquire(): Promise<RatePermit> {
    const storage = this.#host.storage;
    const now = this.#host.now();
    const current = Math.floor(now / this.#span);
    const key = this.#key(current);
    // A counter lives until no window that counts it is open any more.
    const ttl = this.sliding ? this.per + this.#span / 1000 : this.per;
    const older = this.sliding ? this.#olderBuckets(current) : [];
    const [mine, ...before] = await Promise.all([
      storage.incr(key, 1, { ttl, now }),
      ...older.map((index) => storage.incr(this.#key(index), 0, { now })),
    ]);
    const usage = before.reduce((sum, n) => sum + n, mine);
    if (usage <= this.limit) {
      return { usage, remaining: this.limit - usage, [Symbol.asyncDispose]: async () => {} };
    }
    // Give the slot back: only calls let through count (the ttl in case it
    // expired meanwhile, so a lone -1 cannot stay for good).
    await storage.incr(key, -1, { ttl, now });
    const free = this.sliding ? this.#slidingFree(now, older, before, usage) : (current + 1);
    const delay = Math.min(this.per, Math.max(0.001, (free * this.#span - now) / 1000));
    throw new RateLimitExceeded(key, Number(delay.toFixed(3)), this.retry, this.name);
  }

  /** Run `fn` if the limit lets the call through (else throw {@link RateLimitExceeded}). */
  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.acquire();
    return await fn();
  }

  /** `fn`, counting every call against the limit: use it as a task function. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
    return (...args: A) => this.run(() => fn(...args));
  }

  /**
   * Calls counted in the current window (0 when none): for a sliding
   * window, in the last `per` seconds (rounded out to whole buckets).
   */
  async currentUsage(): Promise<number> {
    const storage = this.#host.storage;
    const now = this.#host.now();
    const current = Math.floor(now / this.#span);
    const indexes = [current, ...(this.sliding ? this.#olderBuckets(current) : [])];
    const counts = await Promise.all(indexes.map((i) => storage.incr(this.#key(i), 0, { now })));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Clear the current window (every bucket of a sliding one): the next call starts afresh. */
  async reset(): Promise<void> {
    const storage = this.#host.storage;
    const current = Math.floor(this.#host.now() / this.#span);
    const indexes = [current, ...(this.sliding ? this.#olderBuckets(current) : [])];
    await Promise.all(indexes.map((i) => storage.deleteCounter(this.#key(i))));
  }

  #key(index: number): string {
    return OWN_KEYS.rate(this.name, this.#spanKey, index);
  }

  /**
   * The buckets before `current` that overlap the last `per` seconds,
   * oldest first: the one that holds `now - per` and every one after it.
   */
  #olderBuckets(current: number): number[] {
    return Array.from({ length: SLIDING_BUCKETS }, (_, i) => current - SLIDING_BUCKETS + i);
  }

  /**
   * The bucket boundary (as an index) from which a refused call fits:
   * bucket `i` stops counting once bucket `i + SLIDING_BUCKETS + 1` starts,
   * so the oldest buckets go first, until `usage - limit` calls are gone.
   * When the current bucket itself must go, that is past `per` (the caller
   * caps the delay at `per`; a retry then may wait once more).
   */
  #slidingFree(now: number, older: number[], counts: number[], usage: number): number {
    let excess = usage - this.limit;
    for (const [i, index] of older.entries()) {
      excess -= counts[i];
      if (excess <= 0) return index + SLIDING_BUCKETS + 1;
    }
    return Math.floor(now / this.#span) + SLIDING_BUCKETS + 1;
  }
}
