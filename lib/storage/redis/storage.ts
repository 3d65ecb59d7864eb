/**
 * Storage on a Redis server (or Valkey, or a Redis Cluster):
 * huey's `RedisStorage`, `PriorityRedisStorage`, `RedisExpireStorage` and
 * `PriorityRedisExpireStorage`. One driver, {@link RedisStorage}; each class
 * chooses a queue layout and a result layout (layouts.ts), under the key
 * names of keys.ts, with the scripts of scripts.ts.
 *
 * Every key of one Huey name lives in one hash slot, through the `{name}`
 * hash tag, so every multi-key operation is a Lua script that also runs on
 * Redis Cluster (`cluster: { rootNodes }`, or a node-redis cluster client:
 * node_redis_cluster.ts).
 *
 * Leases are measured on the Redis server's clock (`TIME` inside the
 * scripts), so consumers whose clocks disagree agree on when a lease ends:
 * `dequeue`, `extendLease` and `recoverLeases` ignore the caller's `now`
 * (only `leaseSeconds` counts). The schedule still uses the caller's times
 * (an eta is the producer's, `readSchedule(now)` the consumer's).
 *
 * Consumer events go out on `huey.{app}.events`: events published close
 * together share one message, each preceded by U+001E.
 *
 * @module
 */
import { ConfigurationError } from "../../errors.ts";
import { Batcher } from "../batcher.ts";
import { checkCounterKey, checkIncrement } from "../counter.ts";
import type {
  CounterOptions,
  Delivery,
  DequeueOptions,
  PutDataOptions,
  Storage,
} from "../types.ts";
import { replyStrings } from "./connection.ts";
import type { RedisClientLike, RedisClusterOptions, RedisReply } from "./connection.ts";
import { RedisErrors } from "./errors.ts";
import { RedisKeys } from "./keys.ts";
import {
  ExpiringResults,
  HashResults,
  ListQueue,
  PriorityQueue,
  sequencedMembers,
} from "./layouts.ts";
import type { QueueLayout, RedisCommands, ResultLayout, ResultLayoutOptions } from "./layouts.ts";
import { RedisLink } from "./link.ts";
import { RedisRecords } from "./records.ts";
import { handedOut, text } from "./text.ts";
import {
  ACK,
  ADD_TO_SCHEDULE,
  CURRENT_LEASE,
  DELETE_COUNTER,
  EXTEND_LEASE,
  INCR_COUNTER,
  PUT_AND_ACK,
  READ_SCHEDULE,
  SEQ_WIDTH,
} from "./scripts.ts";

/**
 * Options of {@link RedisStorage} and {@link PriorityRedisStorage}.
 *
 * @example Connect to a server by parts
 * ```ts
 * import type { RedisStorageOptions } from "./storage.ts";
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
  /**
   * A Redis Cluster instead of one server: `{ rootNodes: ["redis://10.0.0.1:7000", ...] }`
   * (some of its nodes; the rest are discovered). Every key of one name is
   * in one hash slot, so the storage talks to that slot's master, following
   * the cluster's redirects when the slot moves. Through node-redis on every
   * runtime (Bun's built-in client has no cluster support). `url`, `host`
   * and `port` are then unused, `db` must be 0. An application's cluster
   * client (`createCluster`) can be passed as `client` instead.
   * @default none: one server
   */
  cluster?: RedisClusterOptions;
}

/**
 * Options of {@link RedisExpireStorage} and {@link PriorityRedisExpireStorage}.
 *
 * @example Keep results for an hour
 * ```ts
 * import type { RedisExpireStorageOptions } from "./storage.ts";
 * const options: RedisExpireStorageOptions = { name: "app", expireTime: 3600 };
 * ```
 */
export interface RedisExpireStorageOptions extends RedisStorageOptions {
  /** Seconds a task's result is kept (nothing else expires). @default 86400 */
  expireTime?: number;
}

/**
 * What one storage class is built from: a queue layout and a result layout
 * (layouts.ts), and the class name for messages.
 */
interface Layout {
  className: string;
  queue: new (keys: RedisKeys, redis: RedisCommands) => QueueLayout;
  results: new (
    keys: RedisKeys,
    redis: RedisCommands,
    options: ResultLayoutOptions,
    className: string,
  ) => ResultLayout;
}

/** One dequeue's share of a batched take. */
interface TakeRequest {
  /** The lease's duration, from the server's time of the take. */
  leaseMs: number;
  peekKey?: string;
}

/** One putDataAndAck's share of a batched script. */
interface FinishRequest {
  key: string;
  value: string;
  receipt: string;
}

/** How long an event may wait to share its PUBLISH with the next ones, in ms. */
const EVENT_BATCH_MS = 10;

/** Starts and separates the events of a batched event message (ASCII record separator). */
const EVENT_SEPARATOR = "\u001e";

/**
 * Huey's Redis storage: the queue is a list (FIFO, priorities ignored, as in
 * huey; {@link ListQueue}), the schedule a sorted set, results a hash
 * ({@link HashResults}). Blocking dequeue waits on the server; results wake
 * blocked `get()` calls through pub/sub; consumer events go to every process
 * through pub/sub.
 *
 * Delivery is at-least-once: `dequeue` moves the message into a lease (one
 * Lua script), `ack` forgets it, and `recoverLeases` puts a message whose
 * lease ran out back at the front, exactly once.
 *
 * @example Enqueue, take and acknowledge
 * ```ts
 * import { RedisStorage } from "./storage.ts";
 * const storage = new RedisStorage({ name: "app", url: "redis://127.0.0.1:6379" });
 * await storage.enqueue("message", 0);
 * const delivery = await storage.dequeue({ now: Date.now(), leaseSeconds: 30 });
 * if (delivery) await storage.ack(delivery.receipt);
 * await storage.close();
 * ```
 */
export class RedisStorage implements Storage {
  /** The queue layout and result layout this class is built from; each subclass names its own. */
  protected static readonly layout: Layout = {
    className: "RedisStorage",
    queue: ListQueue,
    results: HashResults,
  };

  readonly name: string;
  readonly blocking: boolean;
  readonly priority: boolean;

  readonly #keys: RedisKeys;
  readonly #queue: QueueLayout;
  readonly #errors: RedisErrors;
  readonly #results: ResultLayout;
  readonly #link: RedisLink;
  /**
   * The link's commands, for the layouts: the link is made last, once every
   * option has been checked, and the layouts send nothing before then.
   */
  readonly #commands: RedisCommands = {
    send: (args) => this.#link.send(args),
    run: (script, keys, args) => this.#link.run(script, keys, args),
    runForBytes: (script, keys, args) => this.#link.runForBytes(script, keys, args),
  };
  readonly #readTimeout: number;
  /** This storage in messages: `RedisStorage "app"`. */
  readonly #label: string;
  readonly #records: RedisRecords;
  readonly #takes = new Batcher<TakeRequest, Delivery | undefined>((r) => this.#takeBatch(r));
  readonly #finishes = new Batcher<FinishRequest, boolean>((r) => this.#finishBatch(r));
  /** Events waiting for the next PUBLISH (see {@link publishEvent}). */
  #eventBatch?: { events: string[]; sent: Promise<void> };

  /**
   * A storage for `options.name`; it connects on first use. Throws a
   * ConfigurationError for a bad name, duration or cluster, a TypeError for
   * a client that is not a node-redis client (single-server or cluster) or
   * Bun's RedisClient.
   */
  constructor(options: RedisStorageOptions = {}) {
    // A static field, not a constructor argument: every class keeps taking
    // its options alone, and the subclasses stay RedisStorages.
    const layout = new.target.layout;
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
    this.#keys = new RedisKeys(name);
    this.#queue = new layout.queue(this.#keys, this.#commands);
    // Only the expire classes take expireTime; for the others it is undefined.
    const resultOptions = options as RedisExpireStorageOptions;
    this.#results = new layout.results(this.#keys, this.#commands, resultOptions, layout.className);
    this.name = name;
    this.blocking = options.blocking ?? true;
    this.priority = this.#queue.priority;
    this.#readTimeout = readTimeout;
    const owner = `storage "${name}"`;
    const { url, host, port, db, password, connectTimeout, cluster } = options;
    this.#label = `${layout.className} "${name}"`;
    // On a cluster, every command goes to the master of the name's one slot.
    const slotKey = this.#keys.queue;
    this.#link = new RedisLink(
      { url, host, port, db, password, connectTimeout, owner, cluster, slotKey },
      this.#label,
      options.client,
    );
    this.#errors = new RedisErrors(this.#link, this.#keys, this.priority);
    this.#records = new RedisRecords(this.#link, this.#keys, this.#label);
  }

  // -- queue -----------------------------------------------------------------------

  enqueue(data: string, priority: number): Promise<void> {
    return this.#queue.enqueue(data, priority);
  }

  /**
   * All or nothing: every message in one command (`LPUSH`, or one script
   * with priorities), which the server runs whole or rejects whole (e.g.
   * `OOM` at `maxmemory` with `noeviction`: it checks before the command's
   * first write). So a rejected call can be retried without duplicates. A
   * very large call holds the server for its duration (about 100 ms per
   * million messages).
   */
  async enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void> {
    this.#link.assertOpen();
    if (items.length > 0) await this.#queue.enqueueBatch(items);
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
      const [peek, mode, field] = peekKey === undefined
        ? [this.#keys.results, "", ""]
        : this.#results.peekArgs(peekKey);
      const receipts = indexes.map(() => crypto.randomUUID());
      const durations = indexes.map((i) => String(requests[i].leaseMs));
      // A client that hands out bytes checks them here; Bun's needs the script to.
      const check = this.#link.readsBytes ? "" : "u";
      const args = [check, mode, field, ...receipts, ...durations];
      const reply = await this.#queue.take(peek, args);
      if (!Array.isArray(reply) || reply.length === 0) return;
      const peeked = reply[0] === null || reply[0] === undefined ? null : text(reply[0]);
      // {peeked, k messages, their k delivery numbers}
      const taken = (reply.length - 1) / 2;
      for (let j = 0; j < taken; j++) {
        const delivery: Delivery = {
          ...handedOut(reply[1 + j]),
          receipt: receipts[j],
          deliveries: Number(reply[1 + taken + j]),
        };
        if (peekKey !== undefined) delivery.peeked = peeked;
        out[indexes[j]] = delivery;
      }
    }));
    return out;
  }

  /** Move the next message into a lease and read `peekKey`, batched with concurrent takes. */
  #take(leaseSeconds: number, peekKey: string | undefined): Promise<Delivery | undefined> {
    return this.#takes.add({ leaseMs: leaseSeconds * 1000, peekKey });
  }

  /**
   * Take the next message under a lease. With `wait` on a blocking storage,
   * wait on the server (in steps of at most `readTimeout`) until a message
   * arrives, `wait` runs out or `signal` aborts, then take it with the same
   * script as a non-blocking dequeue. The lease ends `leaseSeconds` after
   * the server's time of the take; `now` is not used.
   */
  async dequeue(options: DequeueOptions): Promise<Delivery | undefined> {
    this.#link.assertOpen();
    const started = performance.now();
    const delivery = await this.#take(options.leaseSeconds, options.peekKey);
    const wait = options.wait ?? 0;
    if (delivery || !this.blocking || !(wait > 0)) return delivery;
    const deadline = started + wait * 1000;
    const scope = this.#link.untilClosed(options.signal);
    try {
      for (;;) {
        const left = (deadline - performance.now()) / 1000;
        if (scope.signal.aborted || left <= 0) break;
        const seconds = Math.min(left, this.#readTimeout);
        const woken = await this.#link.waitForList(this.#queue.wakeKey, seconds, scope.signal);
        if (scope.signal.aborted) break;
        if (woken) {
          const taken = await this.#take(options.leaseSeconds, options.peekKey);
          if (taken) return taken;
        }
      }
    } finally {
      scope.dispose();
    }
    this.#link.assertOpen();
    return undefined;
  }

  async ack(receipt: string): Promise<boolean> {
    const k = this.#keys;
    return (await this.#link.run(ACK, [k.leases, k.leased, k.recoveries], [receipt])) === 1;
  }

  /** Store the result and acknowledge, batched with concurrent calls into one script. */
  async putDataAndAck(key: string, value: string, receipt: string): Promise<boolean> {
    this.#link.assertOpen();
    return await this.#finishes.add({ key, value, receipt });
  }

  async #finishBatch(requests: FinishRequest[]): Promise<boolean[]> {
    const k = this.#keys;
    const results = this.#results;
    const keys = [k.leases, k.leased, k.recoveries];
    const args = [results.finishExpiry];
    for (const { key, value, receipt } of requests) {
      keys.push(results.finishTarget(key));
      args.push(key, value, receipt, k.dataChannel(key));
    }
    const reply = await this.#link.run(PUT_AND_ACK, keys, args);
    return requests.map((_, i) => Array.isArray(reply) && reply[i] === 1);
  }

  async currentLease(data: string): Promise<{ receipt: string; deliveries: number } | undefined> {
    const k = this.#keys;
    const layout = this.priority ? "1" : "";
    const reply = await this.#link.run(CURRENT_LEASE, [k.leases, k.recoveries], [data, layout]);
    if (!Array.isArray(reply) || reply.length < 2) return undefined;
    return { receipt: String(reply[0]), deliveries: Number(reply[1]) };
  }

  /** Move the lease's end to `leaseSeconds` after the server's time; `now` is not used. */
  async extendLease(receipt: string, _now: number, leaseSeconds: number): Promise<boolean> {
    const k = this.#keys;
    const duration = String(leaseSeconds * 1000);
    return (await this.#link.run(EXTEND_LEASE, [k.leases, k.leased], [receipt, duration])) === 1;
  }

  /** Put back what ran out by the server's time; `now` is not used. */
  recoverLeases(_now: number): Promise<string[]> {
    return this.#queue.recover();
  }

  queueSize(): Promise<number> {
    return this.#queue.size();
  }

  async enqueuedItems(limit?: number): Promise<string[]> {
    this.#link.assertOpen();
    if (limit !== undefined && limit <= 0) return [];
    return await this.#queue.items(limit);
  }

  async leasedSize(): Promise<number> {
    return Number(await this.#link.send(["HLEN", this.#keys.leases]));
  }

  /** `HVALS` of the leases; a priority layout's records (`score|seq message`) are unwrapped. */
  async leasedItems(limit?: number): Promise<string[]> {
    const records = replyStrings(await this.#link.send(["HVALS", this.#keys.leases]));
    const messages = this.priority
      ? records.map((record) => record.slice(record.indexOf("|") + 1 + SEQ_WIDTH))
      : records;
    return messages.slice(0, limit === undefined ? undefined : Math.max(0, limit));
  }

  async flushQueue(): Promise<void> {
    const k = this.#keys;
    await this.#link.send(["DEL", k.queue, k.wake, k.leases, k.leased, k.recoveries]);
  }

  // -- schedule --------------------------------------------------------------------

  async addToSchedule(data: string, eta: number): Promise<void> {
    const k = this.#keys;
    await this.#link.run(ADD_TO_SCHEDULE, [k.schedule, k.seq], [String(eta), data]);
  }

  async readSchedule(now: number): Promise<string[]> {
    return replyStrings(await this.#link.run(READ_SCHEDULE, [this.#keys.schedule], [String(now)]));
  }

  async scheduleSize(): Promise<number> {
    return Number(await this.#link.send(["ZCARD", this.#keys.schedule]));
  }

  async scheduledItems(limit?: number): Promise<string[]> {
    this.#link.assertOpen();
    if (limit !== undefined && limit <= 0) return [];
    return await sequencedMembers(this.#link, this.#keys.schedule, limit);
  }

  async flushSchedule(): Promise<void> {
    await this.#link.send(["DEL", this.#keys.schedule]);
  }

  // -- result store ------------------------------------------------------------------

  /** Announce a write to `key` to `waitForData` callers, in the same round trip. */
  #announce(key: string): Promise<RedisReply> {
    return this.#link.send(["PUBLISH", this.#keys.dataChannel(key), "1"]);
  }

  async putData(key: string, value: string, options?: PutDataOptions): Promise<void> {
    const write = this.#results.write(key, value, options?.result ?? false);
    await Promise.all([write, this.#announce(key)]);
  }

  async peekData(key: string): Promise<string | undefined> {
    const reply = await this.#results.read(key);
    return reply === null ? undefined : String(reply);
  }

  async popData(key: string): Promise<string | undefined> {
    const reply = await this.#results.take(key);
    return reply === null ? undefined : String(reply);
  }

  async hasDataForKey(key: string): Promise<boolean> {
    return (await this.#results.exists(key)) === 1;
  }

  async putIfEmpty(key: string, value: string): Promise<boolean> {
    const write = this.#results.writeIfEmpty(key, value);
    const [stored] = await Promise.all([write, this.#announce(key)]);
    return stored === 1 || stored === "OK";
  }

  async deleteData(key: string): Promise<boolean> {
    return (await this.#results.remove(key)) === 1;
  }

  resultStoreSize(): Promise<number> {
    return this.#results.size();
  }

  resultItems(): Promise<Map<string, string>> {
    return this.#results.items();
  }

  flushResults(): Promise<void> {
    return this.#results.flush();
  }

  /**
   * Wait until `key` holds a value: subscribes to the key's channel (which
   * every write to the key publishes on), then checks the key, then waits
   * for a message, the timeout, `signal` or `close()`. True when the key
   * holds a value or a write to it was announced (the value may be gone
   * again by the time the caller reads it).
   */
  async waitForData(key: string, timeout: number, signal?: AbortSignal): Promise<boolean> {
    const subscriber = await this.#link.subscriptions();
    let wake!: () => void;
    let written = false;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const unsubscribe = await subscriber.subscribe(this.#keys.dataChannel(key), () => {
      written = true;
      wake();
    });
    try {
      if (await this.hasDataForKey(key)) return true;
      await this.#link.sleep(timeout, signal, woken);
      this.#link.assertOpen();
      // A write was announced: the caller reads the key next anyway (a read
      // here would cost a round trip on every blocking get()).
      if (written) return true;
      return await this.hasDataForKey(key);
    } finally {
      unsubscribe();
    }
  }

  // -- counters --------------------------------------------------------------------

  /**
   * One script ({@link INCR_COUNTER}): a field of the counters hash, its
   * expiry on the server's clock (`options.now` is not used).
   */
  async incr(key: string, amount = 1, options?: CounterOptions): Promise<number> {
    const { ttlMs } = checkIncrement(key, amount, options, this.#label);
    const k = this.#keys;
    const args = [key, String(amount), ttlMs === undefined ? "" : String(ttlMs)];
    return Number(await this.#link.run(INCR_COUNTER, [k.counters, k.counterExpiries], args));
  }

  async deleteCounter(key: string): Promise<boolean> {
    checkCounterKey(key, this.#label);
    const k = this.#keys;
    return (await this.#link.run(DELETE_COUNTER, [k.counters, k.counterExpiries], [key])) === 1;
  }

  async flushCounters(): Promise<void> {
    await this.#link.send(["DEL", this.#keys.counters, this.#keys.counterExpiries]);
  }

  // -- records (records.ts) --------------------------------------------------------
  readonly putRecord: Storage["putRecord"] = (key, value, ttl) =>
    this.#records.put(key, value, ttl);
  readonly getRecord: Storage["getRecord"] = (key) => this.#records.get(key);
  readonly recordItems: Storage["recordItems"] = (...args) => this.#records.items(...args);
  readonly deleteRecord: Storage["deleteRecord"] = (key) => this.#records.delete(key);
  readonly flushRecords: Storage["flushRecords"] = () => this.#records.flush();

  // -- error store (errors.ts) -------------------------------------------------------
  readonly putError: Storage["putError"] = (...args) => this.#errors.put(...args);
  readonly errorItems: Storage["errorItems"] = (limit) => this.#errors.items(limit);
  readonly deleteError: Storage["deleteError"] = (id) => this.#errors.delete(id);
  readonly requeueError: Storage["requeueError"] = (...args) => this.#errors.requeue(...args);
  readonly flushErrors: Storage["flushErrors"] = () => this.#errors.flush();

  // -- events --------------------------------------------------------------------------

  /** Publish `event` on `huey.{name}.events` to every subscriber (pub/sub, at most once). */
  publishEvent(event: string): Promise<void> {
    try {
      this.#link.assertOpen();
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
      await this.#link.send(["PUBLISH", channel, events[0]]);
    } else if (events.some((event) => event.includes(EVENT_SEPARATOR))) {
      await Promise.all(events.map((event) => this.#link.send(["PUBLISH", channel, event])));
    } else {
      await this.#link.send(["PUBLISH", channel, EVENT_SEPARATOR + events.join(EVENT_SEPARATOR)]);
    }
  }

  /** Receive every event published on `huey.{name}.events` until `signal` aborts or close(). */
  subscribeEvents(onEvent: (event: string) => void, signal: AbortSignal): Promise<void> {
    return this.#subscribe(this.#keys.events, (message) => {
      if (!message.startsWith(EVENT_SEPARATOR)) return onEvent(message);
      for (const event of message.slice(1).split(EVENT_SEPARATOR)) {
        if (!signal.aborted) onEvent(event);
      }
    }, signal);
  }

  /** `PUBLISH` the id on `huey.{name}.cancels`. */
  async publishCancel(id: string): Promise<void> {
    await this.#link.send(["PUBLISH", this.#keys.cancels, id]);
  }

  /** Receive every id published on `huey.{name}.cancels` until `signal` aborts or close(). */
  subscribeCancels(onCancel: (id: string) => void, signal: AbortSignal): Promise<void> {
    return this.#subscribe(this.#keys.cancels, onCancel, signal);
  }

  /** Call `onMessage` for every message on `channel` until `signal` aborts or close(). */
  async #subscribe(
    channel: string,
    onMessage: (message: string) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.#link.assertOpen();
    if (signal.aborted) return;
    const subscriber = await this.#link.subscriptions();
    const unsubscribe = await subscriber.subscribe(channel, (message) => {
      if (!signal.aborted) onMessage(message);
    });
    const scope = this.#link.untilClosed(signal);
    const end = () => {
      scope.dispose();
      unsubscribe();
    };
    if (scope.signal.aborted) end();
    else scope.signal.addEventListener("abort", end, { once: true });
  }

  // -- lifecycle -----------------------------------------------------------------------

  async flushAll(): Promise<void> {
    await this.#link.send(["DEL", ...this.#keys.all()]);
    await this.#results.flushLooseKeys();
  }

  /**
   * Close every connection this storage opened (an application's `client`
   * stays open). Blocked `dequeue` and `waitForData` calls end at once and
   * reject with a HueyError, as does every later call.
   */
  async close(): Promise<void> {
    if (this.#link.closed) return;
    // Events already handed to publishEvent still go out.
    await this.#eventBatch?.sent.catch(() => {});
    await this.#link.close();
  }
}

/**
 * Redis storage with task priorities ({@link PriorityQueue}): higher
 * priorities first, FIFO within one priority.
 *
 * @example Higher priorities first
 * ```ts
 * import { PriorityRedisStorage } from "./storage.ts";
 * const storage = new PriorityRedisStorage({ name: "app" });
 * await storage.enqueue("later", 0);
 * await storage.enqueue("first", 10);
 * console.log(await storage.enqueuedItems()); // ["first", "later"]
 * await storage.close();
 * ```
 */
export class PriorityRedisStorage extends RedisStorage {
  /** The priority queue and the results hash. */
  protected static override readonly layout: Layout = {
    className: "PriorityRedisStorage",
    queue: PriorityQueue,
    results: HashResults,
  };
}

/**
 * huey's `RedisExpireStorage`: task results are top-level keys that expire
 * `expireTime` seconds after they are stored ({@link ExpiringResults}), so
 * results nobody reads do not pile up, and reading one does not remove it.
 * Locks, revocations and the app's keys do not expire.
 *
 * @example Results that expire after an hour
 * ```ts
 * import { RedisExpireStorage } from "./storage.ts";
 * const storage = new RedisExpireStorage({ name: "app", expireTime: 3600 });
 * await storage.putData("result-id", "42", { result: true }); // gone after an hour
 * await storage.close();
 * ```
 */
export class RedisExpireStorage extends RedisStorage {
  /** The list queue and one expiring key per result. */
  protected static override readonly layout: Layout = {
    className: "RedisExpireStorage",
    queue: ListQueue,
    results: ExpiringResults,
  };

  /** As {@link RedisStorage}'s, and a ConfigurationError for a bad `expireTime`. */
  constructor(options: RedisExpireStorageOptions = {}) {
    super(options);
  }
}

/**
 * {@link PriorityRedisStorage}'s queue with {@link RedisExpireStorage}'s
 * expiring results.
 *
 * @example Priorities and expiring results
 * ```ts
 * import { PriorityRedisExpireStorage } from "./storage.ts";
 * const storage = new PriorityRedisExpireStorage({ name: "app", expireTime: 600 });
 * await storage.enqueue("urgent", 100);
 * await storage.close();
 * ```
 */
export class PriorityRedisExpireStorage extends RedisStorage {
  /** The priority queue and one expiring key per result. */
  protected static override readonly layout: Layout = {
    className: "PriorityRedisExpireStorage",
    queue: PriorityQueue,
    results: ExpiringResults,
  };

  /** As {@link RedisStorage}'s, and a ConfigurationError for a bad `expireTime`. */
  constructor(options: RedisExpireStorageOptions = {}) {
    super(options);
  }
}
