/**
 * The two independent choices of how a Redis storage lays out its data, one
 * class per option, so that each storage class is one pair (storage.ts):
 *
 * | | {@link HashResults} | {@link ExpiringResults} |
 * |---|---|---|
 * | {@link ListQueue} | `RedisStorage` | `RedisExpireStorage` |
 * | {@link PriorityQueue} | `PriorityRedisStorage` | `PriorityRedisExpireStorage` |
 *
 * A layout only says which commands and scripts its choice takes; the
 * storage interprets the replies, and owns what both options share (leases,
 * schedule, error store, pub/sub).
 *
 * @module
 */
import { ConfigurationError } from "../../errors.ts";
import { replyStrings } from "./connection.ts";
import type { RedisBytesReply, RedisConnection, RedisReply } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";
import {
  ALL_FIELDS,
  DEQUEUE_LIST,
  DEQUEUE_PRIORITY,
  ENQUEUE_PRIORITY,
  POP_FIELD,
  RECOVER_LIST,
  RECOVER_PRIORITY,
  SEQ_WIDTH,
  WAKE,
} from "./scripts.ts";

/**
 * The commands a layout sends: the storage's, which connect on first use
 * and reject once the storage is closed.
 *
 * @example A storage's commands over one connection
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * import type { RedisCommands } from "./layouts.ts";
 * const redis: RedisCommands = await connectRedis();
 * ```
 */
export type RedisCommands = Pick<RedisConnection, "send" | "run" | "runForBytes">;

/** One message of {@link QueueLayout.enqueueBatch}. */
export interface QueueItem {
  /** The message. */
  data: string;
  /** Its priority (ignored by {@link ListQueue}). */
  priority: number;
}

/**
 * How waiting messages are kept.
 *
 * @example Count what waits, whatever the layout
 * ```ts
 * import type { QueueLayout } from "./layouts.ts";
 * const waiting = (queue: QueueLayout) => queue.size();
 * ```
 */
export interface QueueLayout {
  /** True when `enqueue`'s priority orders the queue. */
  readonly priority: boolean;
  /**
   * The list a blocking consumer waits on (`BLMOVE key key RIGHT RIGHT`,
   * which takes nothing): non-empty exactly while the queue is.
   */
  readonly wakeKey: string;
  /** Add one message. */
  enqueue(data: string, priority: number): Promise<void>;
  /** Add messages in one command: all of them, or none when the server rejects it. */
  enqueueBatch(items: readonly QueueItem[]): Promise<void>;
  /**
   * Run the dequeue script of this layout, with `peek` as the key to read
   * (see {@link DEQUEUE_LIST} for `args` and the reply), the messages as
   * bytes where the client can hand them out so.
   */
  take(peek: string, args: readonly string[]): Promise<RedisBytesReply>;
  /** Put the messages whose lease ended by the server's time back; returns them. */
  recover(): Promise<string[]>;
  /** How many messages wait. */
  size(): Promise<number>;
  /** The first `limit` (all when undefined; else more than 0) in the order they will be taken. */
  items(limit: number | undefined): Promise<string[]>;
}

/**
 * Members of the sorted set `key` from the lowest score, without their
 * sequence prefix: the first `limit` (all when undefined; else more than 0).
 *
 * @example The next ten scheduled messages
 * ```ts
 * import { sequencedMembers } from "./layouts.ts";
 * import type { RedisCommands } from "./layouts.ts";
 * const next = (redis: RedisCommands) => sequencedMembers(redis, "huey.{app}.schedule", 10);
 * ```
 */
export async function sequencedMembers(
  redis: RedisCommands,
  key: string,
  limit: number | undefined,
): Promise<string[]> {
  const stop = limit === undefined ? "-1" : String(limit - 1);
  return replyStrings(await redis.send(["ZRANGE", key, "0", stop])).map((m) => m.slice(SEQ_WIDTH));
}

/**
 * What every layout is made of: the key names of one Huey name and the
 * storage's commands.
 *
 * @example A layout of one's own
 * ```ts
 * import { KeyedLayout } from "./layouts.ts";
 * class Counter extends KeyedLayout {
 *   count = async () => Number(await this.redis.send(["LLEN", this.keys.queue]));
 * }
 * ```
 */
export abstract class KeyedLayout {
  /** The key names. */
  protected readonly keys: RedisKeys;
  /** The storage's commands. */
  protected readonly redis: RedisCommands;

  /** A layout over `keys`, sending with `redis`. */
  constructor(keys: RedisKeys, redis: RedisCommands) {
    this.keys = keys;
    this.redis = redis;
  }
}

/**
 * Huey's queue: a list, FIFO, priorities ignored. Pushed on the left, taken
 * from the right.
 *
 * @example A storage's queue
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * import { RedisKeys } from "./keys.ts";
 * import { ListQueue } from "./layouts.ts";
 * const redis = await connectRedis();
 * const queue = new ListQueue(new RedisKeys("app"), redis);
 * await queue.enqueue("message", 0);
 * await redis.close();
 * ```
 */
export class ListQueue extends KeyedLayout implements QueueLayout {
  /** Always false. */
  readonly priority = false;
  /** The queue itself: a list is empty exactly when it is. */
  readonly wakeKey: string = this.keys.queue;

  /** `LPUSH`; the priority is ignored, as in huey. */
  async enqueue(data: string, _priority: number): Promise<void> {
    await this.redis.send(["LPUSH", this.keys.queue, data]);
  }

  /** One `LPUSH`. */
  async enqueueBatch(items: readonly QueueItem[]): Promise<void> {
    await this.redis.send(["LPUSH", this.keys.queue, ...items.map((item) => item.data)]);
  }

  /** {@link DEQUEUE_LIST}. */
  take(peek: string, args: readonly string[]): Promise<RedisBytesReply> {
    const k = this.keys;
    const keys = [k.queue, k.leases, k.leased, k.recoveries, peek];
    return this.redis.runForBytes(DEQUEUE_LIST, keys, args);
  }

  /** {@link RECOVER_LIST}. */
  async recover(): Promise<string[]> {
    const k = this.keys;
    const keys = [k.queue, k.leases, k.leased, k.recoveries];
    return replyStrings(await this.redis.run(RECOVER_LIST, keys, []));
  }

  /** `LLEN`. */
  async size(): Promise<number> {
    return Number(await this.redis.send(["LLEN", this.keys.queue]));
  }

  /** The right end of the list, reversed. */
  async items(limit: number | undefined): Promise<string[]> {
    const start = limit === undefined ? "0" : String(-limit);
    return replyStrings(await this.redis.send(["LRANGE", this.keys.queue, start, "-1"]))
      .reverse();
  }
}

/**
 * The queue with priorities: a sorted set scored by `-priority`; within one
 * priority, members are prefixed with a zero-padded sequence number, so
 * equal scores are taken in the order they came (FIFO, exact for 2^53
 * messages) and no precision is shared between priority and order. A sorted
 * set has no blocking pop that leaves it alone, so a one-element wake list
 * stands beside it.
 *
 * @example A storage's queue
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * import { RedisKeys } from "./keys.ts";
 * import { PriorityQueue } from "./layouts.ts";
 * const redis = await connectRedis();
 * const queue = new PriorityQueue(new RedisKeys("app"), redis);
 * await queue.enqueue("urgent", 100);
 * await redis.close();
 * ```
 */
export class PriorityQueue extends KeyedLayout implements QueueLayout {
  /** Always true. */
  readonly priority = true;
  /** The wake list. */
  readonly wakeKey: string = this.keys.wake;

  #score(priority: number): string {
    if (!Number.isFinite(priority)) {
      throw new RangeError(`Cannot enqueue: priority must be a finite number: ${priority}`);
    }
    return String(-priority);
  }

  /** {@link ENQUEUE_PRIORITY}; rejects with a RangeError for a priority that is not finite. */
  async enqueue(data: string, priority: number): Promise<void> {
    const k = this.keys;
    await this.redis.run(ENQUEUE_PRIORITY, [k.queue, k.seq, k.wake], [
      this.#score(priority),
      data,
    ]);
  }

  /**
   * Reserve the messages' sequence numbers (`INCRBY`), then add them all
   * in one `ZADD`, which the server runs whole or rejects whole, and fill
   * the wake list ({@link WAKE}). Not {@link ENQUEUE_PRIORITY}: building the
   * members in Lua holds the server four times as long (6.5 s per million
   * messages, against 1.5 s), past the 5 s after which other clients get
   * BUSY replies. A sequence number reserved by a rejected call is skipped.
   */
  async enqueueBatch(items: readonly QueueItem[]): Promise<void> {
    const k = this.keys;
    const scores = items.map((item) => this.#score(item.priority));
    const last = Number(await this.redis.send(["INCRBY", k.seq, String(items.length)]));
    const first = last - items.length + 1;
    const args = ["ZADD", k.queue];
    items.forEach((item, i) => {
      args.push(scores[i], String(first + i).padStart(SEQ_WIDTH, "0") + item.data);
    });
    // One connection runs its commands in order: the wake-up follows the
    // ZADD in the same round trip (after a rejected ZADD it wakes in vain).
    await Promise.all([this.redis.send(args), this.redis.run(WAKE, [k.wake], [])]);
  }

  /** {@link DEQUEUE_PRIORITY}. */
  take(peek: string, args: readonly string[]): Promise<RedisBytesReply> {
    const k = this.keys;
    const keys = [k.queue, k.leases, k.leased, k.wake, k.recoveries, peek];
    return this.redis.runForBytes(DEQUEUE_PRIORITY, keys, args);
  }

  /** {@link RECOVER_PRIORITY}. */
  async recover(): Promise<string[]> {
    const k = this.keys;
    const keys = [k.queue, k.leases, k.leased, k.wake, k.recoveries];
    return replyStrings(await this.redis.run(RECOVER_PRIORITY, keys, []));
  }

  /** `ZCARD`. */
  async size(): Promise<number> {
    return Number(await this.redis.send(["ZCARD", this.keys.queue]));
  }

  /** From the highest priority. */
  items(limit: number | undefined): Promise<string[]> {
    return sequencedMembers(this.redis, this.keys.queue, limit);
  }
}

/** What a result layout reads from the storage's options. */
export interface ResultLayoutOptions {
  /** Seconds a task's result is kept, where the layout expires results. @default 86400 */
  expireTime?: number;
}

/**
 * How results (and locks, revocations and user data) are kept. Replies are
 * the server's: the storage reads them. Only task results may expire
 * (`write(key, value, true)` and the finish of `PUT_AND_ACK`): huey's own
 * keys and the app's are kept until deleted.
 *
 * @example Read a value, whatever the layout
 * ```ts
 * import type { ResultLayout } from "./layouts.ts";
 * const read = async (results: ResultLayout, key: string) => {
 *   const reply = await results.read(key);
 *   return reply === null ? undefined : String(reply);
 * };
 * ```
 */
export interface ResultLayout {
  /** The `expiry` argument of `PUT_AND_ACK`: '' or milliseconds. */
  readonly finishExpiry: string;
  /** The key `PUT_AND_ACK` writes `key` to. */
  finishTarget(key: string): string;
  /** The peek key and the peek mode and field of a dequeue script that reads `key`. */
  peekArgs(key: string): [target: string, mode: string, field: string];
  /** Store `value` (a task's result when `result`); the reply is not used. */
  write(key: string, value: string, result: boolean): Promise<RedisReply>;
  /** Store `value` unless `key` holds one (a lock, a marker): 1 or "OK" when stored. */
  writeIfEmpty(key: string, value: string): Promise<RedisReply>;
  /** The value or null. */
  read(key: string): Promise<RedisReply>;
  /** The value or null, deleted in the same step where the layout deletes on read. */
  take(key: string): Promise<RedisReply>;
  /** 1 when `key` holds a value. */
  exists(key: string): Promise<RedisReply>;
  /** 1 when a value was deleted. */
  remove(key: string): Promise<RedisReply>;
  /** How many keys hold a value. */
  size(): Promise<number>;
  /** Every key and value. */
  items(): Promise<Map<string, string>>;
  /** Delete every value. */
  flush(): Promise<void>;
  /** Delete what `DEL` of the fixed keys ({@link RedisKeys.all}) leaves. */
  flushLooseKeys(): Promise<void>;
}

/**
 * Huey's result store: one hash, `huey.{name}.results`; values never expire.
 *
 * @example A storage's results
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * import { RedisKeys } from "./keys.ts";
 * import { HashResults } from "./layouts.ts";
 * const redis = await connectRedis();
 * const results = new HashResults(new RedisKeys("app"), redis);
 * await results.write("id-1", "42", true);
 * await redis.close();
 * ```
 */
export class HashResults extends KeyedLayout implements ResultLayout {
  /** '': `HSET`, no expiry. */
  readonly finishExpiry = "";

  /** The hash, whatever the key. */
  finishTarget(_key: string): string {
    return this.keys.results;
  }

  /** `HGET` of the field `key`. */
  peekArgs(key: string): [string, string, string] {
    return [this.keys.results, "h", key];
  }

  /** `HSET`, whatever the value is. */
  write(key: string, value: string, _result: boolean): Promise<RedisReply> {
    return this.redis.send(["HSET", this.keys.results, key, value]);
  }

  /** `HSETNX`. */
  writeIfEmpty(key: string, value: string): Promise<RedisReply> {
    return this.redis.send(["HSETNX", this.keys.results, key, value]);
  }

  /** `HGET`. */
  read(key: string): Promise<RedisReply> {
    return this.redis.send(["HGET", this.keys.results, key]);
  }

  /** {@link POP_FIELD}. */
  take(key: string): Promise<RedisReply> {
    return this.redis.run(POP_FIELD, [this.keys.results], [key]);
  }

  /** `HEXISTS`. */
  exists(key: string): Promise<RedisReply> {
    return this.redis.send(["HEXISTS", this.keys.results, key]);
  }

  /** `HDEL`. */
  remove(key: string): Promise<RedisReply> {
    return this.redis.send(["HDEL", this.keys.results, key]);
  }

  /** `HLEN`. */
  async size(): Promise<number> {
    return Number(await this.redis.send(["HLEN", this.keys.results]));
  }

  /** {@link ALL_FIELDS}. */
  async items(): Promise<Map<string, string>> {
    const items = new Map<string, string>();
    const flat = replyStrings(await this.redis.run(ALL_FIELDS, [this.keys.results], []));
    for (let i = 0; i + 1 < flat.length; i += 2) items.set(flat[i], flat[i + 1]);
    return items;
  }

  /** `DEL` of the hash. */
  async flush(): Promise<void> {
    await this.redis.send(["DEL", this.keys.results]);
  }

  /** Nothing: the hash is one of the fixed keys. */
  async flushLooseKeys(): Promise<void> {}
}

/** Escape `*?[]\` for a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * Huey's expiring result store: one key per value, `huey.{name}.r.<key>`.
 * A task's result expires `expireTime` seconds after it was written, so
 * results nobody reads do not pile up, and reading one does not delete it
 * (huey's `pop_data` is a peek here): any number of readers may read it
 * until it expires. Everything else (locks, revocations, periodic markers,
 * the app's `put()` keys) is kept until deleted, as huey keeps it: a lock
 * must not vanish while it is held. Listing them takes a SCAN.
 *
 * @example Results kept for an hour
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * import { RedisKeys } from "./keys.ts";
 * import { ExpiringResults } from "./layouts.ts";
 * const redis = await connectRedis();
 * const keys = new RedisKeys("app");
 * const results = new ExpiringResults(keys, redis, { expireTime: 3600 }, "RedisExpireStorage");
 * await results.write("id-1", "42", true);
 * await redis.close();
 * ```
 */
export class ExpiringResults extends KeyedLayout implements ResultLayout {
  /** The expiry in ms. */
  readonly finishExpiry: string;
  readonly #expireMs: string;

  /**
   * Keep the results of `keys` with `redis`. Throws a ConfigurationError
   * naming `className` when `expireTime` is not a positive number.
   */
  constructor(
    keys: RedisKeys,
    redis: RedisCommands,
    options: ResultLayoutOptions,
    className: string,
  ) {
    const expireTime = options.expireTime ?? 86400;
    if (!(expireTime > 0) || !Number.isFinite(expireTime)) {
      throw new ConfigurationError(
        `Cannot create ${className}: expireTime must be a positive number of seconds: ${expireTime}`,
      );
    }
    super(keys, redis);
    this.#expireMs = this.finishExpiry = String(Math.max(1, Math.round(expireTime * 1000)));
  }

  /** The key of `key`. */
  finishTarget(key: string): string {
    return this.keys.result(key);
  }

  /** `GET` of the key of `key`. */
  peekArgs(key: string): [string, string, string] {
    return [this.keys.result(key), "k", ""];
  }

  /** `SET PX` for a result, `SET` for anything else. */
  write(key: string, value: string, result: boolean): Promise<RedisReply> {
    const target = this.keys.result(key);
    return this.redis.send(
      result ? ["SET", target, value, "PX", this.#expireMs] : ["SET", target, value],
    );
  }

  /** `SET NX`: locks and markers, never results, so no expiry. */
  writeIfEmpty(key: string, value: string): Promise<RedisReply> {
    return this.redis.send(["SET", this.keys.result(key), value, "NX"]);
  }

  /** `GET`. */
  read(key: string): Promise<RedisReply> {
    return this.redis.send(["GET", this.keys.result(key)]);
  }

  /** `GET`: reads do not delete here (the values expire, or are deleted). */
  take(key: string): Promise<RedisReply> {
    return this.read(key);
  }

  /** `EXISTS`. */
  exists(key: string): Promise<RedisReply> {
    return this.redis.send(["EXISTS", this.keys.result(key)]);
  }

  /** `DEL`. */
  remove(key: string): Promise<RedisReply> {
    return this.redis.send(["DEL", this.keys.result(key)]);
  }

  /** Every per-result key, page by page. */
  async *#resultKeys(): AsyncGenerator<string[]> {
    const pattern = globEscape(this.keys.resultPrefix) + "*";
    let cursor = "0";
    do {
      const reply = await this.redis.send(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"]);
      const [next, keys] = Array.isArray(reply) ? reply : ["0", []];
      cursor = String(next);
      const page = replyStrings(keys ?? []);
      if (page.length) yield page;
    } while (cursor !== "0");
  }

  /** The keys SCAN finds, each counted once (SCAN may return a key twice). */
  async size(): Promise<number> {
    const seen = new Set<string>();
    for await (const page of this.#resultKeys()) for (const key of page) seen.add(key);
    return seen.size;
  }

  /** SCAN, then `MGET` a page at a time. */
  async items(): Promise<Map<string, string>> {
    const items = new Map<string, string>();
    const cut = this.keys.resultPrefix.length;
    for await (const page of this.#resultKeys()) {
      const values = await this.redis.send(["MGET", ...page]);
      page.forEach((key, i) => {
        const value = Array.isArray(values) ? values[i] : null;
        // A key may expire between SCAN and MGET.
        if (value !== null && value !== undefined) items.set(key.slice(cut), String(value));
      });
    }
    return items;
  }

  /** SCAN, then `UNLINK` a page at a time. */
  async flush(): Promise<void> {
    for await (const page of this.#resultKeys()) await this.redis.send(["UNLINK", ...page]);
  }

  /** The per-result keys. */
  flushLooseKeys(): Promise<void> {
    return this.flush();
  }
}
