/**
 * The hot path of PostgresStorage: taking messages under leases and
 * storing results with their acknowledgements, each batched with the
 * concurrent calls of the same process (one statement for all the workers
 * that ask together), and the messages a consumer's finishes take ahead
 * for the dequeues that follow them.
 *
 * A consumer's worker stores a result and acknowledges (`putDataAndAck`),
 * then asks for its next message at once. So while a worker of a consumer
 * loop is finishing, the finish statement also leases one message per
 * finishing worker (`finishAndTake` in sql.ts), and the dequeue that comes
 * next is served from here without a round trip: one statement per task
 * instead of two. A message taken ahead is leased like any other (its lease
 * runs on the server's clock, and a killed consumer's messages come back by
 * lease recovery); one that no dequeue asks for within {@link HOLD_MS} (the
 * workers stopped or retired) is given back to its place in the queue, with
 * its delivery uncounted, and so is every one left at `close()`.
 *
 * @module
 */
import { unrefTimer } from "../../runtime.ts";
import { Batcher } from "../batcher.ts";
import type { Delivery, DequeueOptions } from "../types.ts";
import type { Row } from "./client.ts";
import type { PostgresNames } from "./names.ts";
import { fromColumn, parseReceipt, toColumn } from "./sql.ts";
import type { Statements } from "./sql.ts";

/** One dequeue's share of a batched take: its lease (ms) and peek key. */
export type TakeRequest = Pick<DequeueOptions, "peekKey"> & { leaseMs: number };

/** One putDataAndAck's share of a batched finish: its arguments. */
export type FinishRequest = Record<"key" | "value" | "receipt", string>;

/**
 * How long (ms) a message taken ahead waits for a dequeue before it is
 * given back. The dequeue it was taken for comes within microseconds; past
 * this the revocation marker read with it would be stale too.
 */
export const HOLD_MS = 50;

/** What {@link PgDeliveries} runs on: the storage's statements and its waiters. */
export interface PgDeliveryHost {
  /** The Huey name (`$1` of every statement). */
  readonly name: string;
  readonly names: PostgresNames;
  readonly sql: Statements;
  /** Run one statement on the pool; failures name `action`. */
  query(action: string, text: string, params: readonly unknown[]): Promise<Row[]>;
  /** Wake this process's waiters on the (stored form of the) key. */
  wakeData(key: string): void;
}

/** A message taken ahead: for a dequeue with this peek key and lease. */
interface Ahead extends TakeRequest {
  delivery: Delivery;
  /** When it was taken (`performance.now()`). */
  at: number;
}

/** The Delivery of a taken row under `token`, with its peeked value when asked for. */
function delivery(row: Row, token: string, peekKey: string | undefined): Delivery {
  const out: Delivery = {
    data: fromColumn(row.data),
    receipt: `${row.id}.${token}`,
    deliveries: Number(row.deliveries),
  };
  if (peekKey !== undefined) out.peeked = row.peeked == null ? null : fromColumn(row.peeked);
  return out;
}

/**
 * Batched takes and finishes of one PostgresStorage, and the messages
 * taken ahead (see the module doc).
 *
 * @example Take and finish through the storage (which holds one)
 * ```ts
 * import { PostgresStorage } from "./storage.ts";
 * const storage = new PostgresStorage({ name: "app", url: "postgres://postgres@127.0.0.1/postgres" });
 * const delivery = await storage.dequeue({ now: Date.now(), leaseSeconds: 30 });
 * if (delivery) await storage.putDataAndAck("task-id", "result", delivery.receipt);
 * await storage.close();
 * ```
 */
export class PgDeliveries {
  readonly #host: PgDeliveryHost;
  readonly #takes = new Batcher<TakeRequest, Delivery | undefined>((r) => this.#takeBatch(r));
  readonly #finishes = new Batcher<FinishRequest, boolean>((r) => this.#finishBatch(r));
  #ahead: Ahead[] = [];
  /** What a consumer loop's last dequeue asked for; unset when the last dequeue did not wait. */
  #loop?: TakeRequest & { signal?: AbortSignal };
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /** Takes and finishes on `host`. */
  constructor(host: PgDeliveryHost) {
    this.#host = host;
  }

  /**
   * The next message for `request`: one taken ahead for it, or from a take
   * shared with concurrent calls. `loop` (a dequeue that waits, as a
   * consumer's workers do) lets the next finishes take ahead for it.
   */
  take(request: TakeRequest, loop?: { signal?: AbortSignal }): Promise<Delivery | undefined> {
    this.#loop = loop ? { ...request, signal: loop.signal } : undefined;
    const now = performance.now();
    const i = this.#ahead.findIndex((a) =>
      a.peekKey === request.peekKey && a.leaseMs === request.leaseMs && now - a.at <= HOLD_MS
    );
    if (i >= 0) return Promise.resolve(this.#ahead.splice(i, 1)[0].delivery);
    return this.#takes.add(request);
  }

  /** Store the result and acknowledge, fenced by the lease, in one statement shared with concurrent calls. */
  finish(request: FinishRequest): Promise<boolean> {
    return this.#finishes.add(request);
  }

  /** Take one message per request (fewer when the queue runs dry): one statement per peek key. */
  async #takeBatch(requests: TakeRequest[]): Promise<(Delivery | undefined)[]> {
    const { sql, name } = this.#host;
    const groups = Map.groupBy(requests.keys(), (i) => requests[i].peekKey);
    const out: (Delivery | undefined)[] = new Array(requests.length).fill(undefined);
    await Promise.all([...groups].map(async ([peekKey, indexes]) => {
      const token = crypto.randomUUID();
      const params = [name, indexes.length, token, indexes.map((i) => requests[i].leaseMs)];
      const rows = peekKey === undefined
        ? await this.#host.query("dequeue", sql.take, params)
        : await this.#host.query("dequeue", sql.takeAndPeek, [...params, toColumn(peekKey)]);
      for (const row of rows) out[indexes[Number(row.n) - 1]] = delivery(row, token, peekKey);
    }));
    return out;
  }

  /** How many messages the finish of `count` leases takes ahead: none outside a consumer loop. */
  #wanted(count: number): number {
    if (this.#closed || !this.#loop || this.#loop.signal?.aborted) return 0;
    return Math.max(0, count - this.#ahead.length);
  }

  async #finishBatch(requests: FinishRequest[]): Promise<boolean[]> {
    const { sql, names, name } = this.#host;
    const leases = requests.map((request) => parseReceipt(request.receipt));
    const valid = requests.flatMap((request, i) =>
      leases[i] ? [{ request, lease: leases[i], i }] : []
    );
    const done = new Array<boolean>(requests.length).fill(false);
    if (!valid.length) return done;
    const params = [
      name,
      valid.map((v) => v.lease.id),
      valid.map((v) => v.lease.token),
      valid.map((v) => toColumn(v.request.key)),
      valid.map((v) => toColumn(v.request.value)),
      names.dataChannel,
    ];
    const want = this.#wanted(valid.length);
    const loop = this.#loop;
    const action = "store a result and acknowledge its message";
    const token = crypto.randomUUID();
    const rows = want > 0 && loop
      ? await this.#host.query(action, sql.finishAndTake, [
        ...params,
        want,
        token,
        loop.leaseMs,
        loop.peekKey === undefined ? null : toColumn(loop.peekKey),
      ])
      : await this.#host.query(action, sql.finish, params);
    const taken: Ahead[] = [];
    for (const row of rows) {
      if (row.id != null) {
        const { peekKey, leaseMs } = loop!;
        taken[Number(row.n) - 1] = {
          delivery: delivery(row, token, peekKey),
          peekKey,
          leaseMs,
          at: performance.now(),
        };
        continue;
      }
      const { request, i } = valid[Number(row.n) - 1];
      done[i] = true;
      this.#host.wakeData(toColumn(request.key));
    }
    if (taken.length) this.#keep(taken.filter(Boolean));
    return done;
  }

  /** Hold `taken` for the next dequeues; give them back after {@link HOLD_MS} if none comes. */
  #keep(taken: Ahead[]): void {
    if (this.#closed) {
      void this.#release(taken).catch(() => {});
      return;
    }
    this.#ahead.push(...taken);
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = performance.now();
      const stale = this.#ahead.filter((a) => now - a.at > HOLD_MS);
      this.#ahead = this.#ahead.filter((a) => now - a.at <= HOLD_MS);
      if (this.#ahead.length) this.#keep([]);
      // A failed give-back leaves the leases to run out: lease recovery brings them back.
      if (stale.length) void this.#release(stale).catch(() => {});
    }, HOLD_MS + 1);
    unrefTimer(this.#timer);
  }

  /** Give `ahead` back to the queue, each to its place (one statement). */
  async #release(ahead: readonly Ahead[]): Promise<void> {
    if (!ahead.length) return;
    const leases = ahead.map((a) => parseReceipt(a.delivery.receipt)!);
    const { sql, names, name } = this.#host;
    await this.#host.query("give back messages taken ahead", sql.release, [
      name,
      leases.map((l) => l.id),
      leases.map((l) => l.token),
      names.queueChannel,
    ]);
  }

  /**
   * Stop taking ahead and give back every message taken ahead (before the
   * storage closes its connections). A failure leaves them to lease
   * recovery.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const ahead = this.#ahead;
    this.#ahead = [];
    await this.#release(ahead).catch(() => {});
  }
}
