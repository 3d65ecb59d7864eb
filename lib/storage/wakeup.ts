/**
 * In-process wake-ups for storages that other processes can only poll:
 * a consumer or a blocked `get()` in the process that wrote the data need
 * not wait for its next poll.
 *
 * @module
 */

/**
 * Sleeps that end early at the next {@link notify}.
 *
 * @example Wake a sleeper
 * ```ts
 * import { Wakeup } from "./wakeup.ts";
 * const wakeup = new Wakeup();
 * const sleeping = wakeup.wait(10_000);
 * wakeup.notify();
 * await sleeping; // at once, not after 10 s
 * ```
 */
export class Wakeup {
  readonly #sleepers = new Set<() => void>();

  /** Resolve after `ms` milliseconds, when `signal` aborts, or at the next `notify()`. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
      this.#sleepers.add(done);
    });
  }

  /** End every current sleep. */
  notify(): void {
    if (this.#sleepers.size === 0) return;
    for (const done of [...this.#sleepers]) done();
  }
}
