/**
 * Small private helpers shared across the library (not exported from
 * mod.ts): waiting, bounding a wait, and turning an error into text.
 *
 * @module
 */

/**
 * Resolve after `seconds`, or at once when `signal` aborts (never rejects).
 *
 * @example
 * ```ts
 * import { sleep } from "./_util.ts";
 * await sleep(0.01);
 * ```
 */
export function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, seconds * 1000);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Wait for `promise`, but no longer than `seconds`; true if it settled
 * (resolved or rejected) in time.
 *
 * @example
 * ```ts
 * import { within } from "./_util.ts";
 * console.log(await within(Promise.resolve(), 1)); // true
 * ```
 */
export async function within(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), seconds * 1000);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `text` cut to `max` characters, with how much was left out: names and
 * other text from a message are shown this way, so a hostile 16 MB task
 * name gives a short log line.
 *
 * @example
 * ```ts
 * import { truncate } from "./_util.ts";
 * console.log(truncate("x".repeat(250))); // 200 x's, then "… (50 more)"
 * ```
 */
export function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more)` : text;
}

/**
 * `name: message` of an error (or the value as text), for log lines,
 * events and the error store.
 *
 * @example
 * ```ts
 * import { describeError } from "./_util.ts";
 * console.log(describeError(new RangeError("too big"))); // "RangeError: too big"
 * ```
 */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The message of an error (or the value as text), without its name.
 *
 * @example
 * ```ts
 * import { errorMessage } from "./_util.ts";
 * console.log(errorMessage(new Error("disk full"))); // "disk full"
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
