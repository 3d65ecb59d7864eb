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

/** The longest error description {@link describeError} gives: a few KB. */
const MAX_DESCRIPTION = 4096;

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
 * events and the error store's reasons; cut to 4096 characters (see
 * {@link truncate}), since a message can put anything in an error.
 *
 * @example
 * ```ts
 * import { describeError } from "./_util.ts";
 * console.log(describeError(new RangeError("too big"))); // "RangeError: too big"
 * ```
 */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return truncate(text, MAX_DESCRIPTION);
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

/** A scheme and `//`, where a URL's user name and password would follow. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** Credentials of a URL inside other text: `scheme://` up to an `@` in the same word. */
const CREDENTIALS_IN_TEXT = /([a-z][a-z0-9+.-]*:\/\/)[^\s'"<>`]*@/gi;

/**
 * `url` without its credentials: `redis://***@host:6379` for
 * `redis://user:secret@host:6379`, for error messages and logs. A URL that
 * does not parse loses everything between its scheme and its last `@`.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./_util.ts";
 * console.log(redactUrl("redis://app:s3cret@10.0.0.5:6379/2")); // "redis://***@10.0.0.5:6379/2"
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.password = "";
    parsed.username = "***";
    return parsed.href;
  } catch {
    const at = url.lastIndexOf("@");
    return at < 0 ? url : `${SCHEME.exec(url)?.[0] ?? ""}***${url.slice(at)}`;
  }
}

/**
 * `text` with every one of `secrets` (non-empty ones) and the credentials
 * of any URL in it replaced by `***`: for messages that quote what another
 * library said, which may echo a URL or a password.
 *
 * @example
 * ```ts
 * import { redactText } from "./_util.ts";
 * console.log(redactText("Invalid URL: 'redis://u:pw@h:x'", [])); // "Invalid URL: 'redis://***@h:x'"
 * ```
 */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out.replace(CREDENTIALS_IN_TEXT, "$1***@");
}
