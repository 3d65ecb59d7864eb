/**
 * The few Redis operations the Redis storages use, behind one small
 * interface ({@link RedisConnection}), whatever the client library
 * underneath: node-redis (node_redis.ts, on every runtime) or Bun's built-in
 * client (bun_redis.ts). Here: options and URL parsing, error wrapping,
 * reply normalization, scripts (`EVALSHA` with the `NOSCRIPT` fallback),
 * blocking calls that a signal ends, shared subscriptions.
 *
 * Every error a connection throws is a {@link HueyError} that names the
 * address and the owner (e.g. `storage "app"`):
 * `Cannot connect to Redis at 127.0.0.1:6390 for storage "app": ...` when the
 * server cannot be reached, `Cannot run HSET on Redis at ... : <reply>` when
 * the server answers with an error.
 *
 * Redis Cluster (`cluster: { rootNodes }`, or an application's node-redis
 * cluster client): node_redis_cluster.ts, node-redis on every runtime, every
 * command routed to the master of the `slotKey`'s slot.
 *
 * Reconnection: a connection never queues commands while it is offline (they
 * fail at once with the error above). The first connection attempt fails fast
 * (it does not retry); once a connection has been established it is restored
 * in the background (node-redis: its `reconnectStrategy`, capped at
 * `maxReconnectDelay`; Bun: on the next command, and at once for a connection
 * with subscriptions), and subscriptions are renewed.
 *
 * @module
 */
import { redactText, redactUrl } from "../../_util.ts";
import { ConfigurationError, HueyError } from "../../errors.ts";
import { redisClientKind } from "../../runtime.ts";
import type { RedisClientKind } from "../../runtime.ts";
import { messageOf } from "./adapter.ts";
import type { AdoptedClient, RawClient, RedisTarget } from "./adapter.ts";
import { adoptBunRedis, connectBunRedis } from "./bun_redis.ts";
import { adoptNodeRedis, connectNodeRedis } from "./node_redis.ts";
import {
  adoptNodeRedisCluster,
  connectNodeRedisCluster,
  isNodeRedisCluster,
  rootNodeUrls,
} from "./node_redis_cluster.ts";

/**
 * A reply as the storages see it: strings, integers, nil and arrays of those
 * (RESP3 maps arrive flattened to `[key, value, ...]`).
 *
 * @example Read a list reply
 * ```ts
 * import type { RedisReply } from "./connection.ts";
 * const reply: RedisReply = ["a", "b"];
 * const items = Array.isArray(reply) ? reply.map(String) : [];
 * ```
 */
export type RedisReply = string | number | null | RedisReply[];

/**
 * A reply of {@link RedisConnection.runForBytes}: as {@link RedisReply},
 * with bulk strings as bytes where the client library can hand them out so.
 *
 * @example Read a message that may be bytes
 * ```ts
 * import type { RedisBytesReply } from "./connection.ts";
 * const text = (item: RedisBytesReply) =>
 *   item instanceof Uint8Array ? new TextDecoder("utf-8", { fatal: true }).decode(item) : String(item);
 * ```
 */
export type RedisBytesReply = string | number | null | Uint8Array | RedisBytesReply[];

export type { RedisClientKind };

/**
 * Where and how to connect.
 *
 * @example Connect to database 2 of a local server
 * ```ts
 * import type { RedisConnectionOptions } from "./connection.ts";
 * const options: RedisConnectionOptions = { url: "redis://127.0.0.1:6379/2", owner: 'storage "app"' };
 * ```
 */
export interface RedisConnectionOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS).
   * The fields below override its parts.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /** Server host name or address. @default "127.0.0.1" */
  host?: string;
  /** Server port. @default 6379 */
  port?: number;
  /** Database number. @default 0 */
  db?: number;
  /** ACL user name. @default none */
  username?: string;
  /** Password (`AUTH`). @default none */
  password?: string;
  /** Seconds to wait for a TCP connection before the attempt fails. @default 5 */
  connectTimeout?: number;
  /** Longest pause between two reconnection attempts, in seconds. @default 1 */
  maxReconnectDelay?: number;
  /** Who uses the connection, for error messages. @default "huey" */
  owner?: string;
  /**
   * A Redis Cluster instead of one server: its root nodes (the client
   * discovers the rest). `url`, `host` and `port` are then unused; `db` must
   * be 0 (a cluster has one database); `username` and `password` apply to
   * every node.
   * @default none: one server
   */
  cluster?: RedisClusterOptions;
  /**
   * On a cluster, a key of the slot every command goes to (a storage's keys
   * all hash to one slot).
   * @default "huey"
   */
  slotKey?: string;
}

/**
 * Where a Redis Cluster is.
 *
 * @example Three root nodes
 * ```ts
 * import type { RedisClusterOptions } from "./connection.ts";
 * const cluster: RedisClusterOptions = {
 *   rootNodes: ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000", { url: "redis://10.0.0.3:7000" }],
 * };
 * ```
 */
export interface RedisClusterOptions {
  /**
   * Some nodes of the cluster, as `redis://[[user]:password@]host:port`
   * URLs or `{ url }` (node-redis's form); three or more, so that one down
   * node does not stop a consumer from starting.
   */
  rootNodes: readonly (string | { url: string })[];
}

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` on `NOSCRIPT`.
 * Create one per script source with {@link defineScript}.
 *
 * @example A script object
 * ```ts
 * import { defineScript } from "./connection.ts";
 * const incr = defineScript("return redis.call('INCR', KEYS[1])");
 * console.log(incr.source.length > 0);
 * ```
 */
export interface RedisScript {
  /** The Lua source. */
  readonly source: string;
  /** SHA-1 of the source in hex, computed on first use. */
  sha?: string;
}

/**
 * A Lua script for {@link RedisConnection.run}.
 *
 * @example Define a script once, run it many times
 * ```ts
 * import { defineScript } from "./connection.ts";
 * const pop = defineScript("return redis.call('RPOP', KEYS[1])");
 * ```
 */
export function defineScript(source: string): RedisScript {
  return { source };
}

/**
 * A running blocking command: its reply (`undefined` when the wait was
 * aborted) and when the connection is free again.
 *
 * @example Wait for a blocking command
 * ```ts
 * import type { BlockingCall } from "./connection.ts";
 * async function wait(call: BlockingCall) {
 *   const reply = await call.reply;
 *   await call.settled; // the connection can take the next command
 *   return reply;
 * }
 * ```
 */
export interface BlockingCall {
  /** The command's reply, or `undefined` as soon as the signal aborts. */
  reply: Promise<RedisReply | undefined>;
  /** Resolves (never rejects) once the server has answered or the connection dropped. */
  settled: Promise<void>;
}

/**
 * One connection to a Redis server, as the storages use it.
 *
 * @example Send commands
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * const redis = await connectRedis({ url: "redis://127.0.0.1:6379", owner: "example" });
 * await redis.send(["SET", "greeting", "hello"]);
 * console.log(await redis.send(["GET", "greeting"])); // "hello"
 * await redis.close();
 * ```
 */
export interface RedisConnection {
  /** The client library underneath. */
  readonly kind: RedisClientKind;
  /** `host:port` (or the socket path) for messages; never the password. */
  readonly address: string;
  /** Send one command. Commands sent in the same tick share a round trip. */
  send(args: readonly string[]): Promise<RedisReply>;
  /** Run a Lua script (`EVALSHA`, then `EVAL` on `NOSCRIPT`). */
  run(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<RedisReply>;
  /**
   * True when {@link runForBytes} hands out bulk strings as bytes
   * (node-redis), false when it decodes them as UTF-8 like `run` (Bun).
   */
  readonly readsBytes: boolean;
  /** As {@link run}, with the reply's bulk strings as bytes where {@link readsBytes}. */
  runForBytes(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<RedisBytesReply>;
  /**
   * Run a blocking command (`BLMOVE`, `BZPOPMIN`, ...) on this connection,
   * which must be dedicated to it. When `signal` aborts, the reply resolves
   * to `undefined` at once and the server-side wait is ended with
   * `CLIENT UNBLOCK` sent from the connection this one was duplicated from.
   */
  block(args: readonly string[], signal?: AbortSignal): BlockingCall;
  /** A new connection to the same server with the same settings, connected. */
  duplicate(): Promise<RedisConnection>;
  /**
   * Subscribe to `channel` (this connection should be dedicated to
   * subscriptions). Resolves once the subscription is active, to a function
   * that ends it.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => void>;
  /**
   * Close the connection: `force` drops it at once (pending commands fail),
   * otherwise pending commands finish first. Later calls reject.
   */
  close(force?: boolean): Promise<void>;
}

/**
 * A client the application created and connected itself: a node-redis
 * client (npm `redis` or `@redis/client`) or Bun's `RedisClient`.
 *
 * @example Tell the two kinds apart
 * ```ts
 * import type { RedisClientLike } from "./connection.ts";
 * function library(client: RedisClientLike): string {
 *   return "sendCommand" in client ? "node-redis" : "bun";
 * }
 * ```
 */
export type RedisClientLike =
  | { sendCommand(args: string[]): Promise<unknown>; duplicate(): unknown }
  | { sendCommand(...args: never[]): Promise<unknown>; getNodeClientForKey(key: string): unknown }
  | { send(command: string, args: string[]): Promise<unknown>; duplicate(): unknown };

/**
 * The strings of an array reply; `[]` for any other reply.
 *
 * @example Members of a list
 * ```ts
 * import { replyStrings } from "./connection.ts";
 * console.log(replyStrings(["a", 1])); // ["a", "1"]
 * console.log(replyStrings(null)); // []
 * ```
 */
export function replyStrings(reply: RedisReply): string[] {
  return Array.isArray(reply) ? reply.map((item) => String(item)) : [];
}

/**
 * The passwords `options` holds, in the forms a message could show them:
 * the `password` option, and what sits between `://` and the last `@` of
 * the URL (all of it, and the part after its first `:`), raw and decoded,
 * whether or not the URL parses.
 */
function secretsOf(options: RedisConnectionOptions): string[] {
  const secrets: string[] = [];
  const both = (text: string) => {
    secrets.push(text);
    try {
      secrets.push(decodeURIComponent(text), encodeURIComponent(text));
    } catch {
      // not percent-encoded: the raw form is enough
    }
  };
  if (options.password) both(options.password);
  const url = options.url ?? "";
  const start = url.indexOf("://");
  const at = url.lastIndexOf("@");
  if (start >= 0 && at > start + 3) {
    const userinfo = url.slice(start + 3, at);
    const colon = userinfo.indexOf(":");
    both(colon < 0 ? userinfo : userinfo.slice(colon + 1));
  }
  // Longest first, so a password is not left half-replaced by a shorter form of it.
  return secrets.filter(Boolean).sort((a, b) => b.length - a.length);
}

/**
 * Throw a {@link HueyError} (a ConfigurationError) if `options` cannot be
 * connected with: a URL that does not parse or is not `redis://` or
 * `rediss://`, a bad timeout. The message never shows a password. Storages
 * call it when they are made, so bad settings fail at start-up.
 *
 * @example
 * ```ts
 * import { checkRedisOptions } from "./connection.ts";
 * checkRedisOptions({ url: "redis://127.0.0.1:6379/1", owner: 'storage "app"' });
 * ```
 */
export function checkRedisOptions(options: RedisConnectionOptions): void {
  if (options.cluster) clusterTargets(options);
  else target(options);
}

/** The targets of the root nodes of `options.cluster`, checked. */
function clusterTargets(options: RedisConnectionOptions): RedisTarget[] {
  const owner = options.owner ?? "huey";
  if (options.db !== undefined && options.db !== 0) {
    throw new ConfigurationError(
      `Cannot connect to Redis Cluster for ${owner}: a cluster has only database 0: db ${options.db}`,
    );
  }
  return rootNodeUrls(options.cluster?.rootNodes, owner).map((url) => {
    const node = target({ ...options, url, host: undefined, port: undefined, db: undefined });
    if (!/^\/?0?$/.test(new URL(node.url).pathname)) {
      throw new ConfigurationError(
        `Cannot connect to Redis Cluster for ${owner}: a cluster has only database 0: ${
          redactUrl(url)
        }`,
      );
    }
    return node;
  });
}

/** The target of `options`, checked. */
function target(options: RedisConnectionOptions): RedisTarget {
  const owner = options.owner ?? "huey";
  let url: URL;
  try {
    url = new URL(options.url ?? "redis://127.0.0.1:6379");
  } catch (cause) {
    // Without the cause: its message quotes the URL, password and all.
    const why = messageOf(cause).split(":")[0];
    throw new ConfigurationError(
      `Cannot connect to Redis for ${owner}: bad url (${why}): ${redactUrl(String(options.url))}`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigurationError(
      `Cannot connect to Redis for ${owner}: url must start with redis:// or rediss://: ${
        redactUrl(url.href)
      }`,
    );
  }
  if (options.host !== undefined) {
    url.hostname = options.host.includes(":") ? `[${options.host}]` : options.host;
  }
  if (options.port !== undefined) url.port = String(options.port);
  if (options.db !== undefined) url.pathname = `/${options.db}`;
  if (options.username !== undefined) url.username = encodeURIComponent(options.username);
  if (options.password !== undefined) url.password = encodeURIComponent(options.password);
  const seconds = (value: number | undefined, fallback: number, name: string) => {
    const s = value ?? fallback;
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new ConfigurationError(
        `Cannot connect to Redis for ${owner}: ${name} must be a positive number of seconds: ${value}`,
      );
    }
    return Math.round(s * 1000);
  };
  return {
    url: url.href,
    address: `${url.hostname || "127.0.0.1"}:${url.port || "6379"}`,
    connectTimeoutMs: seconds(options.connectTimeout, 5, "connectTimeout"),
    maxReconnectDelayMs: seconds(options.maxReconnectDelay, 1, "maxReconnectDelay"),
    owner,
  };
}

/** Turn RESP3 maps, booleans and doubles into the plain {@link RedisReply} shapes. */
function normalize(reply: unknown): RedisReply {
  return normalizeReply(reply, false) as RedisReply;
}

/** As {@link normalize}; with `bytes`, bulk strings that came as bytes stay bytes. */
function normalizeReply(reply: unknown, bytes: boolean): RedisBytesReply {
  if (reply === undefined || reply === null) return null;
  if (typeof reply === "string" || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => normalizeReply(item, bytes));
  if (typeof reply === "boolean") return reply ? 1 : 0;
  if (typeof reply === "bigint") return Number(reply);
  if (reply instanceof Uint8Array) return bytes ? reply : new TextDecoder().decode(reply);
  if (reply instanceof Map) {
    return [...reply].flatMap(([k, v]) => [normalizeReply(k, bytes), normalizeReply(v, bytes)]);
  }
  if (typeof reply === "object") {
    return Object.entries(reply).flatMap(([k, v]) => [k, normalizeReply(v, bytes)]);
  }
  return String(reply);
}

async function sha1(source: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(source));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

class Connection implements RedisConnection {
  readonly kind: RedisClientKind;
  readonly address: string;
  readonly #raw: RawClient;
  readonly #owner: string;
  readonly #parent?: Connection;
  /** Takes the passwords out of a client library's message. */
  readonly #redact: (text: string) => string;
  #closed = false;
  /** channel -> listeners; the raw client holds one subscription per channel. */
  readonly #channels = new Map<
    string,
    { listeners: Set<(m: string) => void>; ready: Promise<void> }
  >();

  constructor(
    kind: RedisClientKind,
    raw: RawClient,
    address: string,
    owner: string,
    redact: (text: string) => string,
    parent?: Connection,
  ) {
    this.kind = kind;
    this.#raw = raw;
    this.address = address;
    this.#owner = owner;
    this.#parent = parent;
    this.#redact = redact;
  }

  /** The HueyError for `error` raised by `command`. */
  #wrap(error: unknown, command: string): HueyError {
    if (error instanceof HueyError) return error;
    const where = `Redis at ${this.address} for ${this.#owner}`;
    if (this.#closed) {
      return new HueyError(`Cannot run ${command} on ${where}: connection closed`, {
        cause: error,
      });
    }
    const why = this.#redact(messageOf(error));
    if (this.#raw.isConnectionError(error)) {
      return new HueyError(`Cannot connect to ${where}: ${why}`, { cause: error });
    }
    return new HueyError(`Cannot run ${command} on ${where}: ${why}`, { cause: error });
  }

  send(args: readonly string[]): Promise<RedisReply> {
    if (this.#closed) return Promise.reject(this.#wrap(new Error("closed"), args[0]));
    return this.#raw.send(args).then(normalize, (error) => {
      throw this.#wrap(error, args[0]);
    });
  }

  run(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<RedisReply> {
    return this.#evaluate(script, keys, args, false) as Promise<RedisReply>;
  }

  get readsBytes(): boolean {
    return this.#raw.sendForBytes !== undefined;
  }

  runForBytes(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<RedisBytesReply> {
    return this.#evaluate(script, keys, args, this.readsBytes);
  }

  async #evaluate(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
    bytes: boolean,
  ): Promise<RedisBytesReply> {
    const sha = script.sha ??= await sha1(script.source);
    const tail = [String(keys.length), ...keys, ...args];
    const send = (command: string[]) =>
      bytes ? this.#raw.sendForBytes!(command) : this.#raw.send(command);
    try {
      return normalizeReply(await send(["EVALSHA", sha, ...tail]), bytes);
    } catch (error) {
      if (this.#closed || !/^NOSCRIPT\b/.test(messageOf(error))) throw this.#wrap(error, "EVALSHA");
    }
    try {
      return normalizeReply(await send(["EVAL", script.source, ...tail]), bytes);
    } catch (error) {
      throw this.#wrap(error, "EVAL");
    }
  }

  block(args: readonly string[], signal?: AbortSignal): BlockingCall {
    if (signal?.aborted) return { reply: Promise.resolve(undefined), settled: Promise.resolve() };
    // CLIENT ID goes in the same round trip, just ahead of the blocking command,
    // so it is current even after a reconnection.
    const id = this.send(["CLIENT", "ID"]);
    const pending = this.send(args);
    const settled = pending.then(() => {}, () => {});
    id.catch(() => {});
    if (!signal) return { reply: pending, settled };
    const reply = new Promise<RedisReply | undefined>((resolve, reject) => {
      const onAbort = () => {
        resolve(undefined);
        id.then((clientId) => this.#parent?.send(["CLIENT", "UNBLOCK", String(clientId)]))
          .catch(() => {});
      };
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then((value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      }, (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      });
    });
    return { reply, settled };
  }

  async duplicate(): Promise<RedisConnection> {
    if (this.#closed) throw this.#wrap(new Error("closed"), "connect");
    try {
      return new Connection(
        this.kind,
        await this.#raw.duplicate(),
        this.address,
        this.#owner,
        this.#redact,
        this,
      );
    } catch (error) {
      throw this.#wrap(error, "connect");
    }
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => void> {
    if (this.#closed) throw this.#wrap(new Error("closed"), "SUBSCRIBE");
    let entry = this.#channels.get(channel);
    if (!entry) {
      const listeners = new Set<(m: string) => void>();
      const dispatch = (message: string) => {
        for (const listener of [...listeners]) {
          try {
            listener(message);
          } catch {
            // A listener's own error must not end the subscription for the others.
          }
        }
      };
      const ready = this.#raw.subscribe(channel, dispatch);
      entry = { listeners, ready };
      this.#channels.set(channel, entry);
      ready.catch(() => {
        if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
      });
    }
    entry.listeners.add(onMessage);
    const current = entry;
    try {
      await current.ready;
    } catch (error) {
      current.listeners.delete(onMessage);
      throw this.#wrap(error, "SUBSCRIBE");
    }
    return () => {
      if (!current.listeners.delete(onMessage) || current.listeners.size > 0) return;
      if (this.#channels.get(channel) === current) this.#channels.delete(channel);
      if (!this.#closed) this.#raw.unsubscribe(channel).catch(() => {});
    };
  }

  async close(force = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.clear();
    await this.#raw.close(force).catch(() => {});
  }
}

/**
 * Open a connection with the client library chosen by `kind` (by default
 * {@link redisClientKind}). Fails fast with a HueyError naming the address
 * when the server cannot be reached.
 *
 * @example Connect for a storage
 * ```ts
 * import { connectRedis } from "./connection.ts";
 * const redis = await connectRedis({ port: 6379, owner: 'storage "app"' });
 * await redis.close();
 * ```
 */
export async function connectRedis(
  options: RedisConnectionOptions = {},
  kind: RedisClientKind = redisClientKind(),
): Promise<RedisConnection> {
  if (options.cluster) return await connectCluster(options);
  const t = target(options);
  const secrets = secretsOf(options);
  const redact = (text: string) => redactText(text, secrets);
  try {
    const raw = kind === "bun" ? await connectBunRedis(t) : await connectNodeRedis(t);
    return new Connection(kind, raw, t.address, t.owner, redact);
  } catch (error) {
    if (error instanceof HueyError) throw error;
    throw new HueyError(
      `Cannot connect to Redis at ${t.address} for ${t.owner}: ${redact(messageOf(error))}`,
      { cause: error },
    );
  }
}

/** {@link connectRedis} for `options.cluster`: node-redis on every runtime. */
async function connectCluster(options: RedisConnectionOptions): Promise<RedisConnection> {
  const targets = clusterTargets(options);
  const address = `cluster ${targets.map((t) => t.address).join(",")}`;
  const secrets = targets.flatMap((t) => secretsOf({ ...options, url: t.url }));
  const redact = (text: string) => redactText(text, secrets);
  const owner = targets[0].owner;
  try {
    const raw = await connectNodeRedisCluster(targets, options.slotKey ?? "huey");
    return new Connection("node-redis", raw, address, owner, redact);
  } catch (error) {
    if (error instanceof HueyError) throw error;
    throw new HueyError(
      `Cannot connect to Redis at ${address} for ${owner}: ${redact(messageOf(error))}`,
      { cause: error },
    );
  }
}

/**
 * Use a client the application connected itself. The connection's `close()`
 * leaves that client open; connections made with `duplicate()` are closed.
 * A node-redis cluster client (`createCluster`) sends every command to the
 * master of `slotKey`'s slot.
 *
 * @example Wrap an application's client
 * ```ts
 * import { wrapRedisClient } from "./connection.ts";
 * import type { RedisClientLike } from "./connection.ts";
 * async function useClient(client: RedisClientLike) {
 *   const redis = wrapRedisClient(client, "example");
 *   console.log(await redis.send(["PING"])); // "PONG"
 *   await redis.close(); // client stays open
 * }
 * ```
 */
export function wrapRedisClient(
  client: RedisClientLike,
  owner = "huey",
  slotKey = "huey",
): RedisConnection {
  if (isNodeRedisCluster(client)) {
    const adopted = adoptNodeRedisCluster(client, slotKey);
    return new Connection(
      "node-redis",
      adopted.raw,
      adopted.address,
      owner,
      (t) => redactText(t, []),
    );
  }
  if (
    "masters" in client || "slots" in client || "idleClients" in client || "getMasterNode" in client
  ) {
    throw new TypeError(
      "Cannot use Redis client: expected a single-server or node-redis cluster client, not a pool or sentinel client: " +
        client.constructor?.name,
    );
  }
  let kind: RedisClientKind;
  let adopted: AdoptedClient;
  if ("sendCommand" in client && typeof client.sendCommand === "function") {
    kind = "node-redis";
    adopted = adoptNodeRedis(client);
  } else if ("send" in client && typeof client.send === "function") {
    kind = "bun";
    adopted = adoptBunRedis(client);
  } else {
    throw new TypeError(
      "Cannot use Redis client: expected a node-redis client or Bun's RedisClient: " +
        typeof client,
    );
  }
  return new Connection(kind, adopted.raw, adopted.address, owner, (text) => redactText(text, []));
}
