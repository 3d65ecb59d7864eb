/**
 * Gathers concurrent calls into batches: the workers of a consumer that
 * finish together take their next messages, and store their results, in one
 * storage operation (one Redis script, one SQLite transaction) instead of
 * one each.
 *
 * @module
 */
import { turnIfDue } from "../_util.ts";

/** Largest batch handed to the flush function; more calls go in the next one. */
const MAX_BATCH = 256;

interface Pending<Request, Response> {
  request: Request;
  resolve(response: Response): void;
  reject(error: unknown): void;
}

/**
 * Sends a call at once when no batch is in flight; calls made while one is
 * in flight wait for it and then go together as the next batch (group
 * commit). A lone caller waits for nothing but (see below) at most one
 * turn of the event loop, and concurrent callers share one storage
 * operation per round trip.
 *
 * When the event loop has not turned for 2 ms, a batch first waits for
 * one turn ({@link turnIfDue}). A synchronous flush (SQLite) resolves its
 * callers on microtasks, and a consumer's workers go on to their next calls
 * on microtasks too, which all run before any timer, I/O callback or signal
 * handler: on a deep queue the loop never turned (SIGINT acted after 10 s,
 * timers and lease renewals fired seconds late).
 *
 * @example Double the numbers of concurrent calls in one flush
 * ```ts
 * import { Batcher } from "./batcher.ts";
 * const batcher = new Batcher(async (numbers: number[]) => numbers.map((n) => n * 2));
 * console.log(await Promise.all([batcher.add(1), batcher.add(2)])); // [2, 4]
 * ```
 */
export class Batcher<Request, Response> {
  readonly #flush: (requests: Request[]) => Promise<Response[]>;
  #pending: Pending<Request, Response>[] = [];
  #busy = false;

  /**
   * @param flush Runs one batch; returns one response per request, in order.
   * If it rejects, every request of the batch rejects with that error.
   */
  constructor(flush: (requests: Request[]) => Promise<Response[]>) {
    this.#flush = flush;
  }

  /** Queue `request` for the next batch; resolves to its response. */
  add(request: Request): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ request, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        // A microtask: calls made in the same synchronous run join this batch.
        queueMicrotask(() => this.#run());
      }
    });
  }

  async #run(): Promise<void> {
    while (this.#pending.length > 0) {
      const turn = turnIfDue();
      if (turn) await turn;
      const batch = this.#pending.splice(0, MAX_BATCH);
      try {
        const responses = await this.#flush(batch.map((item) => item.request));
        batch.forEach((item, i) => item.resolve(responses[i]));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.#busy = false;
  }
}
