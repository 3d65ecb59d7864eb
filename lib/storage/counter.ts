/**
 * What every driver checks before it touches a counter (see
 * `Storage.incr`), so that bad input is refused the same way everywhere,
 * before any write.
 *
 * @module
 */
import type { CounterOptions } from "./types.ts";

/** The longest counter lifetime, in seconds (about 317 years, as task durations). */
const MAX_TTL = 1e10;

/** An increment, checked: its amount, and its `ttl` in ms when it has one. */
export interface Increment {
  /** The amount to add: a safe integer. */
  amount: number;
  /** The lifetime of a counter this increment creates, in ms; unset: none. */
  ttlMs?: number;
  /** The caller's time (or `Date.now()`), for drivers on the caller's clock. */
  now: number;
}

/**
 * The increment `incr(key, amount, options)` asks for, or a TypeError (a
 * key that is not a string) or RangeError (an amount that is not a safe
 * integer, a ttl that is not a positive number of seconds) naming the
 * counter and `where` (the storage).
 *
 * @example
 * ```ts
 * import { checkIncrement } from "./counter.ts";
 * console.log(checkIncrement("hits", 1, { ttl: 60, now: 0 }, "MemoryStorage")); // { amount: 1, ttlMs: 60000, now: 0 }
 * ```
 */
export function checkIncrement(
  key: unknown,
  amount: unknown,
  options: CounterOptions | undefined,
  where: string,
): Increment {
  if (typeof key !== "string") {
    throw new TypeError(
      `Cannot increment a counter of ${where}: the key must be a string: ${typeof key}`,
    );
  }
  const counter = `counter ${JSON.stringify(key.slice(0, 100))} of ${where}`;
  if (typeof amount !== "number" || !Number.isSafeInteger(amount)) {
    throw new RangeError(
      `Cannot increment ${counter}: the amount must be a safe integer: ${String(amount)}`,
    );
  }
  const ttl = options?.ttl;
  if (ttl !== undefined && !(typeof ttl === "number" && ttl > 0 && ttl <= MAX_TTL)) {
    throw new RangeError(
      `Cannot increment ${counter}: ttl must be a number of seconds above 0, at most ${MAX_TTL}: ${
        String(ttl)
      }`,
    );
  }
  const now = options?.now ?? Date.now();
  if (typeof now !== "number" || !Number.isFinite(now)) {
    throw new RangeError(`Cannot increment ${counter}: now must be a time in ms: ${String(now)}`);
  }
  // At least a millisecond: a counter that expires as it is made would never count.
  const ttlMs = ttl === undefined ? undefined : Math.max(1, Math.round(ttl * 1000));
  return ttlMs === undefined ? { amount, now } : { amount, ttlMs, now };
}

/**
 * `key` checked as a counter key (a string), for `deleteCounter`.
 *
 * @example
 * ```ts
 * import { checkCounterKey } from "./counter.ts";
 * console.log(checkCounterKey("hits", "MemoryStorage")); // "hits"
 * ```
 */
export function checkCounterKey(key: unknown, where: string): string {
  if (typeof key !== "string") {
    throw new TypeError(
      `Cannot delete a counter of ${where}: the key must be a string: ${typeof key}`,
    );
  }
  return key;
}
