/**
 * Storage on a Redis server (or Valkey, or one shard of a Redis Cluster):
 * huey's `RedisStorage`, `PriorityRedisStorage`, `RedisExpireStorage` and
 * `PriorityRedisExpireStorage`.
 *
 * Every key of one Huey name lives in one hash slot, through the `{name}`
 * hash tag (`huey.{app}.queue`, `huey.{app}.schedule`, ...), so every
 * multi-key operation is a Lua script that also runs on Redis Cluster.
 *
 * Key layout for the name `app`:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `huey.{app}.queue` | list (`RedisStorage`) or sorted set (priority) | waiting messages |
 * | `huey.{app}.wake` | list of at most one element (priority only) | non-empty while the queue is: what blocking consumers wait on |
 * | `huey.{app}.leases` | hash receipt -> message | messages handed out and not yet acknowledged |
 * | `huey.{app}.leased` | sorted set receipt -> lease end (ms) | when each lease runs out |
 * | `huey.{app}.seq` | integer | the sequence that orders equal priorities and equal etas |
 * | `huey.{app}.schedule` | sorted set eta (ms) -> seq + message | scheduled messages |
 * | `huey.{app}.results` | hash (`RedisStorage`, `PriorityRedisStorage`) | results, revocations, locks, user data |
 * | `huey.{app}.r.<key>` | string with an expiry (expire variants) | the same, one key each |
 * | `huey.{app}.errors` | list of JSON | messages that could not be run |
 *
 * Channels: `huey.{app}.events` (consumer events: those of the same
 * millisecond in one message, each preceded by U+001E when there are
 * several) and `huey.{app}.data.<key>` (published by every write to `<key>`,
 * so `waitForData` wakes at once).
 *
 * @module
 */
import { ConfigurationError, HueyError } from "../errors.ts";
import { Batcher } from "./batcher.ts";
import { connectRedis, wrapRedisClient } from "./redis/connection.ts";
import type {
  RedisClientLike,
  RedisConnection,
  RedisReply,
  RedisScript,
} from "./redis/connection.ts";
import { RedisKeys } from "./redis/keys.ts";
import {
  ACK,
  ADD_TO_SCHEDULE,
  ALL_FIELDS,
  DEQUEUE_LIST,
  DEQUEUE_PRIORITY,
  ENQUEUE_PRIORITY,
  EXTEND_LEASE,
  POP_FIELD,
  PUT_AND_ACK,
  READ_SCHEDULE,
  RECOVER_LIST,
  RECOVER_PRIORITY,
  SEQ_WIDTH,
} from "./redis/scripts.ts";
import type { Delivery, DequeueOptions, ErrorItem, Storage } from "./types.ts";

/**
 * Options of {@link RedisStorage} and {@link PriorityRedisStorage}.
 *
 * @example Connect to a server by parts
 * ```ts
 * import type { RedisStorageOptions } from "./redis.ts";
 * const options: RedisStorageOptions = { name: "app", host: "10.0.0.5", port: 6380, db: 1 };
 * ```
 */
export interface RedisStorageOptions {
  /** The Huey name: every key is `huey.{<name>}.<what>`. No `{` or `}`. @default "huey" */
  name?: string;
  /**
   * Server URL, `redis://[[user]:password@]host[:port][/db]` (`rediss://`
   * for TLS); `host`, `port`, `db` and `password` override its parts.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /** Server host. @default "127.0.0.1" */
  host?: string;
  /** Server port. @default 6379 */
  port?: number;
  /** Database number. @default 0 */
  db?: number;
  /** Password. @default none */
  password?: string;
  /**
   * A client the application created and connected (node-redis or Bun's
   * `RedisClient`). The storage sends its commands on it and opens its own
   * connections for blocking pops and subscriptions from it (`duplicate()`);
   * `close()` leaves it open. `url`, `host`, `port`, `db` and `password` are
   * then ignored.
   * @default none: the storage connects itself
   */
  client?: RedisClientLike;
  /** `dequeue({ wait })` blocks on the server until a message arrives. @default true */
  blocking?: boolean;
  /**
   * Longest single blocking pop, in seconds: a blocked `dequeue` looks at
   * its wait, its signal and `close()` at least this often.
   * @default 1
   */
  readTimeout?: number;
  /** Seconds to wait for a TCP connection before a call fails. @default 5 */
  connectTimeout?: number;
}

/**
 * Options of {@link RedisExpireStorage} and {@link PriorityRedisExpireStorage}.
 *
 * @example Keep results for an hour
 * ```ts
 * import type { RedisExpireStorageOptions } from "./redis.ts";
 * const options: RedisExpireStorageOptions = { name: "app", expireTime: 3600 };
 * ```
 */
export interface RedisExpireStorageOptions extends RedisStorageOptions {
  /** Seconds a stored result (or lock, or revocation) is kept. @default 86400 */
  expireTime?: number;
}

/** One dequeue's share of a batched take. */
interface TakeRequest {
  until: number;
  peekKey?: string;
}

/** One putDataAndAck's share of a batched script. */
interface FinishRequest {
  key: string;
  value: string;
  receipt: string;
}

/** How a subclass lays out its data; passed under a private symbol. */
interface Layout {
  className: string;
  priority: boolean;
  expire: boolean;
}

const LAYOUT: unique symbol = Symbol("huey.redis.layout");
type WithLayout<T> = T & { [LAYOUT]?: Layout };

/** How long an event may wait to share its PUBLISH with the next ones, in ms. */
const EVENT_BATCH_MS = 10;

/** Starts and separates the events of a batched event message (ASCII record separator). */
const EVENT_SEPARATOR = "\u001e";

/** Messages per command in enqueueMany. */
const BATCH = 5000;

// -- helpers -------------------------------------------------------------------

function strings(reply: RedisReply): string[] {
  return Array.isArray(reply) ? reply.map((item) => String(item)) : [];
}

/** Escape `*?[]\` for a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** Abort when either signal aborts; `dispose` removes the listeners. */
function linkSignals(a: AbortSignal, b?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  if (!b) return { signal: a, dispose() {} };
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener("abort", abort, { once: true });
  b.addEventListener("abort", abort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      a.removeEventListener("abort", abort);
      b.removeEventListener("abort", abort);
    },
  };
}

// -- the storage ---------------------------------------------------------------

/**
 * Huey's Redis storage: the queue is a list (FIFO, priorities ignored, as in
 * huey), the schedule a sorted set, results a hash. Blocking dequeue waits on
 * the server; results wake blocked `get()` calls through pub/sub; consumer
 * events go to every process through pub/sub.
 *
 * Delivery is at-least-once: `dequeue` moves the message into a lease (one
 * Lua script), `ack` forgets it, and `recoverLeases` puts a message whose
 * lease ran out back at the front, exactly once.
 *
 * @example Enqueue, take and acknowledge
 * ```ts
 * import { RedisStorage } from "./redis.ts";
 * const storage = new RedisStorage({ name: "app", url: "redis://127.0.0.1:6379" });
 * await storage.enqueue("message", 0);
 * const delivery = await storage.dequeue({ now: Date.now(), leaseSeconds: 30 });
 * if (delivery) await storage.ack(delivery.receipt);
 * await storage.close();
 * ```
 */
export class RedisStorage implements Storage {
  readonly name: string;
  readonly blocking: boolean;
  readonly priority: boolean;

  readonly #keys: RedisKeys;
  readonly #className: string;
  readonly #expireMs?: number;
  readonly #readTimeout: number;
  readonly #options: RedisStorageOptions;
  readonly #owner: string;
  #main?: Promise<RedisConnection>;
  #live?: RedisConnection;
  #subscriber?: Promise<RedisConnection>;
  readonly #blockers = new Set<RedisConnection>();
  #idleBlockers: RedisConnection[] = [];
  readonly #closing = new AbortController();
  #closed = false;
  readonly #takes = new Batcher<TakeRequest, Delivery | undefined>((r) => this.#takeBatch(r));
  readonly #finishes = new Batcher<FinishRequest, boolean>((r) => this.#finishBatch(r));
  /** Events waiting for the next PUBLISH (see {@link publishEvent}). */
  #eventBatch?: { events: string[]; sent: Promise<void> };

  constructor(options: RedisStorageOptions = {}) {
    const layout = (options as WithLayout<RedisStorageOptions>)[LAYOUT] ??
      { className: "RedisStorage", priority: false, expire: false };
    const name = options.name ?? "huey";
    if (typeof name !== "string" || name === "" || /[{}]/.test(name)) {
      throw new ConfigurationError(
        `Cannot create ${layout.className}: name must be a non-empty string without { or }: ${
          JSON.stringify(name)
        }`,
      );
    }
    const readTimeout = options.readTimeout ?? 1;
    if (!(readTimeout > 0) || !Number.isFinite(readTimeout)) {
      throw new ConfigurationError(
        `Cannot create ${layout.className}: readTimeout must be a positive number of seconds: ${readTimeout}`,
      );
    }
    if (layout.expire) {
      const expireTime = (options as RedisExpireStorageOptions).expireTime ?? 86400;
      if (!(expireTime > 0) || !Number.isFinite(expireTime)) {
        throw new ConfigurationError(
          `Cannot create ${layout.className}: expireTime must be a positive number of seconds: ${expireTime}`,
        );
      }
      this.#expireMs = Math.max(1, Math.round(expireTime * 1000));
    }
    this.name = name;
    this.blocking = options.blocking ?? true;
    this.priority = layout.priority;
    this.#className = layout.className;
    this.#readTimeout = readTimeout;
    this.#options = options;
    this.#owner = `storage "${name}"`;
    this.#keys = new RedisKeys(name);
    if (options.client) {
      this.#live = wrapRedisClient(options.client, this.#owner);
      this.#main = Promise.resolve(this.#live);
    }
  }

  // -- connections ---------------------------------------------------------------

  #open(): void {
    if (this.#closed) {
      throw new HueyError(`Cannot use storage: closed: ${this.#className} "${this.name}"`);
    }
  }

  /** The main connection, opened on first use and again after a failed attempt. */
  #conn(): Promise<RedisConnection> {
    this.#open();
    if (this.#live) return Promise.resolve(this.#live);
    if (!this.#main) {
      const options = this.#options;
      const attempt = connectRedis({
        url: options.url,
        host: options.host,
        port: options.port,
        db: options.db,
        password: options.password,
        connectTimeout: options.connectTimeout,
        owner: this.#owner,
      });
      this.#main = attempt;
      attempt.then((conn) => {
        if (this.#main === attempt) this.#live = conn;
      }, () => {
        if (this.#main === attempt) this.#main = undefined;
      });
    }
    return this.#main;
  }

  async #send(args: readonly string[]): Promise<RedisReply> {
    const conn = this.#live ?? await this.#conn();
    this.#open();
    return await conn.send(args);
  }

  async #run(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<RedisReply> {
    const conn = this.#live ?? await this.#conn();
    this.#open();
    return await conn.run(script, keys, args);
  }

  /** The connection that carries this storage's subscriptions. */
  #subscriptions(): Promise<RedisConnection> {
    this.#open();
    if (!this.#subscriber) {
      const attempt = this.#conn().then((main) => main.duplicate());
      this.#subscriber = attempt;
      attempt.then((conn) => {
        if (this.#closed) conn.close(true);
      }, () => {
        if (this.#subscriber === attempt) this.#subscriber = undefined;
      });
    }
    return this.#subscriber;
  }

  /**
   * Wait on the server (at most `seconds`) until the queue is not empty,
   * without taking anything: `BLMOVE key key RIGHT RIGHT` moves the next
   * element onto itself. Runs on a dedicated connection from a small pool, so
   * other commands never queue behind it. True when woken by data.
   */
  async #waitForQueue(seconds: number, signal: AbortSignal): Promise<boolean> {
    const main = await this.#conn();
    let conn = this.#idleBlockers.pop();
    if (!conn) {
      conn = await main.duplicate();
      if (this.#closed) {
        await conn.close(true);
        this.#open();
      }
      this.#blockers.add(conn);
    }
    const key = this.priority ? this.#keys.wake : this.#keys.queue;
    const call = conn.block(
      ["BLMOVE", key, key, "RIGHT", "RIGHT", Math.max(seconds, 0.01).toFixed(3)],
      signal,
    );
    let failed = false;
    try {
      const reply = await call.reply;
      return reply !== undefined && reply !== null;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      const used = conn;
      call.settled.then(() => {
        if (failed || this.#closed || !this.#blockers.has(used)) {
          this.#blockers.delete(used);
          used.close(true);
        } else this.#idleBlockers.push(used);
      });
    }
  }

  /** Resolve after `seconds`, when `signal` aborts, on close, or when `wake` resolves. */
  #sleep(seconds: number, signal: AbortSignal | undefined, wake: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const link = linkSignals(this.#closing.signal, signal);
      const done = () => {
        clearTimeout(timer);
        link.dispose();
        link.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, seconds * 1000));
      link.signal.addEventListener("abort", done, { once: true });
      if (link.signal.aborted) done();
      wake.then(done);
    });
  }

  // -- queue -----------------------------------------------------------------------

  #score(priority: number): string {
    if (!Number.isFinite(priority)) {
      throw new RangeError(`Cannot enqueue: priority must be a finite number: ${priority}`);
    }
    return String(-priority);
  }

  async enqueue(data: string, priority: number): Promise<void> {
    if (!this.priority) {
      await this.#send(["LPUSH", this.#keys.queue, data]);
      return;
    }
    const k = this.#keys;
    await this.#run(ENQUEUE_PRIORITY, [k.queue, k.seq, k.wake], [this.#score(priority), data]);
  }

  async enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void> {
    this.#open();
    const k = this.#keys;
    for (let start = 0; start < items.length; start += BATCH) {
      const batch = items.slice(start, start + BATCH);
      if (!this.priority) {
        await this.#send(["LPUSH", k.queue, ...batch.map((item) => item.data)]);
      } else {
        const args = batch.flatMap((item) => [this.#score(item.priority), item.data]);
        await this.#run(ENQUEUE_PRIORITY, [k.queue, k.seq, k.wake], args);
      }
    }
  }

  /** Take one message per request (fewer when the queue runs dry), in one script. */
  async #takeBatch(requests: TakeRequest[]): Promise<(Delivery | undefined)[]> {
    // Requests with different peek keys go in separate scripts.
    const groups = new Map<string | undefined, number[]>();
    requests.forEach((request, i) => {
      const group = groups.get(request.peekKey);
      if (group) group.push(i);
      else groups.set(request.peekKey, [i]);
    });
    const out: (Delivery | undefined)[] = new Array(requests.length).fill(undefined);
    await Promise.all([...groups].map(async ([peekKey, indexes]) => {
      const k = this.#keys;
      let peek = k.results;
      let head = ["", ""];
      if (peekKey !== undefined) {
        if (this.#expireMs === undefined) head = ["h", peekKey];
        else {
          peek = k.result(peekKey);
          head = ["k", ""];
        }
      }
      const receipts = indexes.map(() => crypto.randomUUID());
      const untils = indexes.map((i) => String(requests[i].until));
      const args = [...head, ...receipts, ...untils];
      const reply = this.priority
        ? await this.#run(DEQUEUE_PRIORITY, [k.queue, k.leases, k.leased, k.wake, peek], args)
        : await this.#run(DEQUEUE_LIST, [k.queue, k.leases, k.leased, peek], args);
      if (!Array.isArray(reply) || reply.length === 0) return;
      const peeked = reply[0] === null || reply[0] === undefined ? null : String(reply[0]);
      for (let j = 1; j < reply.length; j++) {
        const delivery: Delivery = { data: String(reply[j]), receipt: receipts[j - 1] };
        if (peekKey !== undefined) delivery.peeked = peeked;
        out[indexes[j - 1]] = delivery;
      }
    }));
    return out;
  }

  /** Move the next message into a lease and read `peekKey`, batched with concurrent takes. */
  #take(
    now: number,
    leaseSeconds: number,
    peekKey: string | undefined,
  ): Promise<Delivery | undefined> {
    return this.#takes.add({ until: now + leaseSeconds * 1000, peekKey });
  }

  /**
   * Take the next message under a lease. With `wait` on a blocking storage,
   * wait on the server (in steps of at most `readTimeout`) until a message
   * arrives, `wait` runs out or `signal` aborts, then take it with the same
   * script as a non-blocking dequeue. The lease starts at `now` plus the time
   * spent waiting.
   */
  async dequeue(options: DequeueOptions): Promise<Delivery | undefined> {
    this.#open();
    const started = performance.now();
    const delivery = await this.#take(options.now, options.leaseSeconds, options.peekKey);
    const wait = options.wait ?? 0;
    if (delivery || !this.blocking || !(wait > 0)) return delivery;
    const deadline = started + wait * 1000;
    const link = linkSignals(this.#closing.signal, options.signal);
    try {
      for (;;) {
        const left = (deadline - performance.now()) / 1000;
        if (link.signal.aborted || left <= 0) break;
        const woken = await this.#waitForQueue(Math.min(left, this.#readTimeout), link.signal);
        if (link.signal.aborted) break;
        if (woken) {
          const now = options.now + (performance.now() - started);
          const taken = await this.#take(now, options.leaseSeconds, options.peekKey);
          if (taken) return taken;
        }
      }
    } finally {
      link.dispose();
    }
    this.#open();
    return undefined;
  }

  async ack(receipt: string): Promise<boolean> {
    const k = this.#keys;
    return (await this.#run(ACK, [k.leases, k.leased], [receipt])) === 1;
  }

  /** Store the result and acknowledge, batched with concurrent calls into one script. */
  async putDataAndAck(key: string, value: string, receipt: string): Promise<boolean> {
    this.#open();
    return await this.#finishes.add({ key, value, receipt });
  }

  async #finishBatch(requests: FinishRequest[]): Promise<boolean[]> {
    const k = this.#keys;
    const expire = this.#expireMs === undefined ? "" : String(this.#expireMs);
    const keys = [k.leases, k.leased];
    const args = [expire];
    for (const { key, value, receipt } of requests) {
      keys.push(this.#expireMs === undefined ? k.results : k.result(key));
      args.push(key, value, receipt, k.dataChannel(key));
    }
    const reply = await this.#run(PUT_AND_ACK, keys, args);
    return requests.map((_, i) => Array.isArray(reply) && reply[i] === 1);
  }

  async extendLease(receipt: string, now: number, leaseSeconds: number): Promise<boolean> {
    const k = this.#keys;
    const until = String(now + leaseSeconds * 1000);
    return (await this.#run(EXTEND_LEASE, [k.leases, k.leased], [receipt, until])) === 1;
  }

  async recoverLeases(now: number): Promise<string[]> {
    const k = this.#keys;
    const reply = this.priority
      ? await this.#run(RECOVER_PRIORITY, [k.queue, k.leases, k.leased, k.wake], [String(now)])
      : await this.#run(RECOVER_LIST, [k.queue, k.leases, k.leased], [String(now)]);
    return strings(reply);
  }

  async queueSize(): Promise<number> {
    return Number(await this.#send([this.priority ? "ZCARD" : "LLEN", this.#keys.queue]));
  }

  async enqueuedItems(limit?: number): Promise<string[]> {
    this.#open();
    if (limit !== undefined && limit <= 0) return [];
    const queue = this.#keys.queue;
    if (this.priority) {
      const stop = limit === undefined ? "-1" : String(limit - 1);
      return strings(await this.#send(["ZRANGE", queue, "0", stop])).map((m) => m.slice(SEQ_WIDTH));
    }
    // Dequeued from the right: the last `limit` elements, reversed.
    const start = limit === undefined ? "0" : String(-limit);
    return strings(await this.#send(["LRANGE", queue, start, "-1"])).reverse();
  }

  async leasedSize(): Promise<number> {
    return Number(await this.#send(["HLEN", this.#keys.leases]));
  }

  async flushQueue(): Promise<void> {
    const k = this.#keys;
    await this.#send(["DEL", k.queue, k.wake, k.leases, k.leased]);
  }

  // -- schedule --------------------------------------------------------------------

  async addToSchedule(data: string, eta: number): Promise<void> {
    const k = this.#keys;
    await this.#run(ADD_TO_SCHEDULE, [k.schedule, k.seq], [String(eta), data]);
  }

  async readSchedule(now: number): Promise<string[]> {
    return strings(await this.#run(READ_SCHEDULE, [this.#keys.schedule], [String(now)]));
  }

  async scheduleSize(): Promise<number> {
    return Number(await this.#send(["ZCARD", this.#keys.schedule]));
  }

  async scheduledItems(limit?: number): Promise<string[]> {
    this.#open();
    if (limit !== undefined && limit <= 0) return [];
    const stop = limit === undefined ? "-1" : String(limit - 1);
    return strings(await this.#send(["ZRANGE", this.#keys.schedule, "0", stop]))
      .map((member) => member.slice(SEQ_WIDTH));
  }

  async flushSchedule(): Promise<void> {
    await this.#send(["DEL", this.#keys.schedule]);
  }

  // -- result store ------------------------------------------------------------------

  /** Announce a write to `key` to `waitForData` callers, in the same round trip. */
  #announce(key: string): Promise<RedisReply> {
    return this.#send(["PUBLISH", this.#keys.dataChannel(key), "1"]);
  }

  async putData(key: string, value: string): Promise<void> {
    const k = this.#keys;
    const write = this.#expireMs === undefined
      ? this.#send(["HSET", k.results, key, value])
      : this.#send(["SET", k.result(key), value, "PX", String(this.#expireMs)]);
    await Promise.all([write, this.#announce(key)]);
  }

  async peekData(key: string): Promise<string | undefined> {
    const k = this.#keys;
    const reply = this.#expireMs === undefined
      ? await this.#send(["HGET", k.results, key])
      : await this.#send(["GET", k.result(key)]);
    return reply === null ? undefined : String(reply);
  }

  async popData(key: string): Promise<string | undefined> {
    const k = this.#keys;
    const reply = this.#expireMs === undefined
      ? await this.#run(POP_FIELD, [k.results], [key])
      : await this.#send(["GETDEL", k.result(key)]);
    return reply === null ? undefined : String(reply);
  }

  async hasDataForKey(key: string): Promise<boolean> {
    const k = this.#keys;
    const reply = this.#expireMs === undefined
      ? await this.#send(["HEXISTS", k.results, key])
      : await this.#send(["EXISTS", k.result(key)]);
    return reply === 1;
  }

  async putIfEmpty(key: string, value: string): Promise<boolean> {
    const k = this.#keys;
    const write = this.#expireMs === undefined
      ? this.#send(["HSETNX", k.results, key, value])
      : this.#send(["SET", k.result(key), value, "NX", "PX", String(this.#expireMs)]);
    const [stored] = await Promise.all([write, this.#announce(key)]);
    return stored === 1 || stored === "OK";
  }

  async deleteData(key: string): Promise<boolean> {
    const k = this.#keys;
    const reply = this.#expireMs === undefined
      ? await this.#send(["HDEL", k.results, key])
      : await this.#send(["DEL", k.result(key)]);
    return reply === 1;
  }

  /** Every per-result key of the expire variants, page by page. */
  async *#resultKeys(): AsyncGenerator<string[]> {
    const pattern = globEscape(this.#keys.resultPrefix) + "*";
    let cursor = "0";
    do {
      const reply = await this.#send(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"]);
      const [next, keys] = Array.isArray(reply) ? reply : ["0", []];
      cursor = String(next);
      const page = strings(keys ?? []);
      if (page.length) yield page;
    } while (cursor !== "0");
  }

  async resultStoreSize(): Promise<number> {
    if (this.#expireMs === undefined) return Number(await this.#send(["HLEN", this.#keys.results]));
    const seen = new Set<string>();
    for await (const page of this.#resultKeys()) for (const key of page) seen.add(key);
    return seen.size;
  }

  async resultItems(): Promise<Map<string, string>> {
    const items = new Map<string, string>();
    if (this.#expireMs === undefined) {
      const flat = strings(await this.#run(ALL_FIELDS, [this.#keys.results], []));
      for (let i = 0; i + 1 < flat.length; i += 2) items.set(flat[i], flat[i + 1]);
      return items;
    }
    const cut = this.#keys.resultPrefix.length;
    for await (const page of this.#resultKeys()) {
      const values = await this.#send(["MGET", ...page]);
      page.forEach((key, i) => {
        const value = Array.isArray(values) ? values[i] : null;
        // A key may expire between SCAN and MGET.
        if (value !== null && value !== undefined) items.set(key.slice(cut), String(value));
      });
    }
    return items;
  }

  async flushResults(): Promise<void> {
    if (this.#expireMs === undefined) {
      await this.#send(["DEL", this.#keys.results]);
      return;
    }
    for await (const page of this.#resultKeys()) await this.#send(["UNLINK", ...page]);
  }

  /**
   * Wait until `key` holds a value: subscribes to the key's channel (which
   * every write to the key publishes on), then checks the key, then waits
   * for a message, the timeout, `signal` or `close()`. True when the key
   * holds a value or a write to it was announced (the value may be gone
   * again by the time the caller reads it).
   */
  async waitForData(key: string, timeout: number, signal?: AbortSignal): Promise<boolean> {
    const subscriber = await this.#subscriptions();
    let wake!: () => void;
    let written = false;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const unsubscribe = await subscriber.subscribe(this.#keys.dataChannel(key), () => {
      written = true;
      wake();
    });
    try {
      if (await this.hasDataForKey(key)) return true;
      await this.#sleep(timeout, signal, woken);
      this.#open();
      // A write was announced: the caller reads the key next anyway (a read
      // here would cost a round trip on every blocking get()).
      if (written) return true;
      return await this.hasDataForKey(key);
    } finally {
      unsubscribe();
    }
  }

  // -- error store -----------------------------------------------------------------

  async putError(data: string, reason: string, now: number): Promise<void> {
    await this.#send(["RPUSH", this.#keys.errors, JSON.stringify({ data, reason, time: now })]);
  }

  async errorItems(limit?: number): Promise<ErrorItem[]> {
    this.#open();
    if (limit !== undefined && limit <= 0) return [];
    const stop = limit === undefined ? "-1" : String(limit - 1);
    return strings(await this.#send(["LRANGE", this.#keys.errors, "0", stop])).map((text) => {
      const item = JSON.parse(text) as ErrorItem;
      return { data: item.data, reason: item.reason, time: item.time };
    });
  }

  async flushErrors(): Promise<void> {
    await this.#send(["DEL", this.#keys.errors]);
  }

  // -- events --------------------------------------------------------------------------

  /** Publish `event` on `huey.{name}.events` to every subscriber (pub/sub, at most once). */
  publishEvent(event: string): Promise<void> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    // The events of the next EVENT_BATCH_MS go out as one PUBLISH: a busy
    // producer or consumer emits several per task, and each command costs
    // more on the client than the PUBLISH costs the server.
    let batch = this.#eventBatch;
    if (!batch) {
      const events: string[] = [];
      const sent = new Promise<void>((resolve) => setTimeout(resolve, EVENT_BATCH_MS)).then(() => {
        this.#eventBatch = undefined;
        return this.#publishBatch(events);
      });
      batch = this.#eventBatch = { events, sent };
    }
    batch.events.push(event);
    return batch.sent;
  }

  /**
   * One event as it is; several as one message, each preceded by the
   * record separator U+001E (which subscribeEvents splits on), unless one of
   * them contains it: then one message each.
   */
  async #publishBatch(events: string[]): Promise<void> {
    const channel = this.#keys.events;
    if (events.length === 1) {
      await this.#send(["PUBLISH", channel, events[0]]);
    } else if (events.some((event) => event.includes(EVENT_SEPARATOR))) {
      await Promise.all(events.map((event) => this.#send(["PUBLISH", channel, event])));
    } else {
      await this.#send(["PUBLISH", channel, EVENT_SEPARATOR + events.join(EVENT_SEPARATOR)]);
    }
  }

  /** Receive every event published on `huey.{name}.events` until `signal` aborts or close(). */
  async subscribeEvents(onEvent: (event: string) => void, signal: AbortSignal): Promise<void> {
    this.#open();
    if (signal.aborted) return;
    const subscriber = await this.#subscriptions();
    const unsubscribe = await subscriber.subscribe(this.#keys.events, (message) => {
      if (signal.aborted) return;
      if (!message.startsWith(EVENT_SEPARATOR)) return onEvent(message);
      for (const event of message.slice(1).split(EVENT_SEPARATOR)) {
        if (!signal.aborted) onEvent(event);
      }
    });
    const link = linkSignals(this.#closing.signal, signal);
    const end = () => {
      link.dispose();
      unsubscribe();
    };
    if (link.signal.aborted) end();
    else link.signal.addEventListener("abort", end, { once: true });
  }

  // -- lifecycle -----------------------------------------------------------------------

  async flushAll(): Promise<void> {
    await this.#send(["DEL", ...this.#keys.all()]);
    if (this.#expireMs !== undefined) await this.flushResults();
  }

  /**
   * Close every connection this storage opened (an application's `client`
   * stays open). Blocked `dequeue` and `waitForData` calls end at once and
   * reject with a HueyError, as does every later call.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    // Events already handed to publishEvent still go out.
    await this.#eventBatch?.sent.catch(() => {});
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    const blockers = [...this.#blockers];
    this.#blockers.clear();
    this.#idleBlockers = [];
    const subscriber = this.#subscriber;
    const main = this.#main;
    this.#subscriber = this.#main = this.#live = undefined;
    await Promise.all(blockers.map((conn) => conn.close(true)));
    await subscriber?.then((conn) => conn.close(true), () => {});
    await main?.then((conn) => conn.close(false), () => {});
  }
}

/**
 * Redis storage with task priorities: the queue is a sorted set scored by
 * `-priority`; within one priority, members are prefixed with a zero-padded
 * sequence number, so equal scores are taken in the order they came
 * (FIFO, exact for 2^53 messages) and no precision is shared between
 * priority and order.
 *
 * @example Higher priorities first
 * ```ts
 * import { PriorityRedisStorage } from "./redis.ts";
 * const storage = new PriorityRedisStorage({ name: "app" });
 * await storage.enqueue("later", 0);
 * await storage.enqueue("first", 10);
 * console.log(await storage.enqueuedItems()); // ["first", "later"]
 * await storage.close();
 * ```
 */
export class PriorityRedisStorage extends RedisStorage {
  constructor(options: RedisStorageOptions = {}) {
    super({
      ...options,
      [LAYOUT]: { className: "PriorityRedisStorage", priority: true, expire: false },
    } as WithLayout<RedisStorageOptions>);
  }
}

/**
 * Redis storage whose results (and locks and revocations) are top-level
 * keys that expire after `expireTime` seconds, so results nobody reads do
 * not pile up.
 *
 * @example Results that expire after an hour
 * ```ts
 * import { RedisExpireStorage } from "./redis.ts";
 * const storage = new RedisExpireStorage({ name: "app", expireTime: 3600 });
 * await storage.putData("result-id", "42"); // gone after an hour
 * await storage.close();
 * ```
 */
export class RedisExpireStorage extends RedisStorage {
  constructor(options: RedisExpireStorageOptions = {}) {
    super({
      ...options,
      [LAYOUT]: { className: "RedisExpireStorage", priority: false, expire: true },
    } as WithLayout<RedisExpireStorageOptions>);
  }
}

/**
 * {@link PriorityRedisStorage}'s queue with {@link RedisExpireStorage}'s
 * expiring results.
 *
 * @example Priorities and expiring results
 * ```ts
 * import { PriorityRedisExpireStorage } from "./redis.ts";
 * const storage = new PriorityRedisExpireStorage({ name: "app", expireTime: 600 });
 * await storage.enqueue("urgent", 100);
 * await storage.close();
 * ```
 */
export class PriorityRedisExpireStorage extends RedisStorage {
  constructor(options: RedisExpireStorageOptions = {}) {
    super({
      ...options,
      [LAYOUT]: { className: "PriorityRedisExpireStorage", priority: true, expire: true },
    } as WithLayout<RedisExpireStorageOptions>);
  }
}
