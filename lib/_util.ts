/**
 * Small private helpers shared across the library (not exported from
 * mod.ts): waiting, bounding a wait, letting the event loop turn, and
 * turning an error into text.
 *
 * @module
 */
import { setImmediate } from "node:timers";

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
 * Longest stretch, in ms, of synchronous storage work chained on microtasks
 * before {@link turnIfDue} makes the next call wait for a turn of the event
 * loop. A turn costs 5-25 µs (a setImmediate, in a busy SQLite consumer;
 * Node and Bun less than Deno), so at most about 1%. Short, because on Deno
 * a turn is not a full one: busy, its Tokio runtime looks for I/O and
 * signals only every few dozen turns, so 10 ms here let a SIGINT wait up to
 * 400 ms, 2 ms about 40.
 */
const TURN_MS = 2;
/** When a call last waited for a turn of the event loop (`performance.now()`). */
let lastTurn = -Infinity;

/**
 * A promise that resolves on the next turn of the event loop (a
 * setImmediate: after due timers, I/O and signal handlers, with no 1 ms
 * clamp) when the last such turn was 2 ms ago or more; otherwise
 * `undefined`, so the caller goes on without even a microtask.
 *
 * For storages whose calls are synchronous underneath (SQLite, files):
 * their promises resolve on microtasks, and a consumer's workers make
 * their next calls on microtasks too, which all run before any timer, I/O
 * callback or signal handler. On a deep queue the event loop would never
 * turn: SIGINT, timers and lease renewals would wait until it is empty.
 *
 * @example
 * ```ts
 * import { turnIfDue } from "./_util.ts";
 * for (let i = 0; i < 1000; i++) {
 *   const turn = turnIfDue();
 *   if (turn) await turn; // timers and signals get their turn every 2 ms
 * }
 * ```
 */
export function turnIfDue(): Promise<void> | undefined {
  if (performance.now() - lastTurn < TURN_MS) return undefined;
  return new Promise((resolve) =>
    setImmediate(() => {
      lastTurn = performance.now();
      resolve();
    })
  );
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
