/**
 * The few Redis operations the Redis storages use, behind one small
 * interface ({@link RedisConnection}), with two implementations: npm
 * `@redis/client` (node-redis's core, on every runtime) and Bun's built-in
 * client (`RedisClient` from `"bun"`).
 *
 * Every error a connection throws is a {@link HueyError} that names the
 * address and the owner (e.g. `storage "app"`):
 * `Cannot connect to Redis at 127.0.0.1:6390 for storage "app": ...` when the
 * server cannot be reached, `Cannot run HSET on Redis at ... : <reply>` when
 * the server answers with an error.
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
import { HueyError } from "../errors.ts";
import { redisClientKind, unrefTimer } from "../runtime.ts";
import type { RedisClientKind } from "../runtime.ts";

/**
 * A reply as the storages see it: strings, integers, nil and arrays of those
 * (RESP3 maps arrive flattened to `[key, value, ...]`).
 *
 * @example Read a list reply
 * ```ts
 * import type { RedisReply } from "./redis_client.ts";
 * const reply: RedisReply = ["a", "b"];
 * const items = Array.isArray(reply) ? reply.map(String) : [];
 * ```
 */
export type RedisReply = string | number | null | RedisReply[];

export type { RedisClientKind };

/**
 * Where and how to connect.
 *
 * @example Connect to database 2 of a local server
 * ```ts
 * import type { RedisConnectionOptions } from "./redis_client.ts";
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
}

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` on `NOSCRIPT`.
 * Create one per script source with {@link defineScript}.
 *
 * @example A script object
 * ```ts
 * import { defineScript } from "./redis_client.ts";
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
 * import { defineScript } from "./redis_client.ts";
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
 * import type { BlockingCall } from "./redis_client.ts";
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
 * import { connectRedis } from "./redis_client.ts";
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
 * @example A node-redis client
 * ```ts
 * import type { RedisClientLike } from "./redis_client.ts";
 * import { createClient } from "@redis/client";
 * const client: RedisClientLike = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * ```
 */
export type RedisClientLike =
  | { sendCommand(args: string[]): Promise<unknown>; duplicate(): unknown }
  | { send(command: string, args: string[]): Promise<unknown>; duplicate(): unknown };

// -- targets -----------------------------------------------------------------

interface Target {
  url: string;
  address: string;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
  owner: string;
}

function target(options: RedisConnectionOptions): Target {
  const owner = options.owner ?? "huey";
  let url: URL;
  try {
    url = new URL(options.url ?? "redis://127.0.0.1:6379");
  } catch (cause) {
    throw new HueyError(`Cannot connect to Redis for ${owner}: bad url: ${options.url}`, { cause });
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new HueyError(
      `Cannot connect to Redis for ${owner}: url must start with redis:// or rediss://: ${url.protocol}`,
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
      throw new HueyError(
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

// -- the shared wrapper --------------------------------------------------------

/** What each client library must provide; errors are thrown raw. */
interface RawClient {
  send(args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  duplicate(): Promise<RawClient>;
  close(force: boolean): Promise<void>;
  /** True for "the server could not be reached", false for an error reply. */
  isConnectionError(error: unknown): boolean;
}

/** Turn RESP3 maps, booleans and doubles into the plain {@link RedisReply} shapes. */
function normalize(reply: unknown): RedisReply {
  if (reply === undefined || reply === null) return null;
  if (typeof reply === "string" || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map(normalize);
  if (typeof reply === "boolean") return reply ? 1 : 0;
  if (typeof reply === "bigint") return Number(reply);
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply);
  if (reply instanceof Map) return [...reply].flatMap(([k, v]) => [normalize(k), normalize(v)]);
  if (typeof reply === "object") {
    return Object.entries(reply).flatMap(([k, v]) => [k, normalize(v)]);
  }
  return String(reply);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const inner = (error as { originalError?: unknown }).originalError ?? error.cause;
    const own = error.message || error.name;
    if (inner instanceof Error && inner.message && !own.includes(inner.message)) {
      return `${own}: ${inner.message}`;
    }
    return own;
  }
  return String(error);
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
    parent?: Connection,
  ) {
    this.kind = kind;
    this.#raw = raw;
    this.address = address;
    this.#owner = owner;
    this.#parent = parent;
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
    if (this.#raw.isConnectionError(error)) {
      return new HueyError(`Cannot connect to ${where}: ${messageOf(error)}`, { cause: error });
    }
    return new HueyError(`Cannot run ${command} on ${where}: ${messageOf(error)}`, {
      cause: error,
    });
  }

  send(args: readonly string[]): Promise<RedisReply> {
    if (this.#closed) return Promise.reject(this.#wrap(new Error("closed"), args[0]));
    return this.#raw.send(args).then(normalize, (error) => {
      throw this.#wrap(error, args[0]);
    });
  }

  async run(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<RedisReply> {
    const sha = script.sha ??= await sha1(script.source);
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return normalize(await this.#raw.send(["EVALSHA", sha, ...tail]));
    } catch (error) {
      if (!this.#closed && /^NOSCRIPT\b/.test(messageOf(error))) {
        return await this.send(["EVAL", script.source, ...tail]);
      }
      throw this.#wrap(error, "EVALSHA");
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

// -- node-redis ----------------------------------------------------------------

/** The part of a node-redis client used here. */
interface NodeRedisClient {
  sendCommand(args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  duplicate(overrides?: { disableOfflineQueue?: boolean }): NodeRedisClient;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isOpen: boolean;
}

type NodeRedisModule = typeof import("@redis/client");

function isNodeRedisReplyError(mod: NodeRedisModule | undefined, error: unknown): boolean {
  if (mod && error instanceof mod.ErrorReply) return true;
  // A reply error from a client library instance other than ours.
  return error instanceof Error &&
    /^(SimpleError|BlobError|ErrorReply)$/.test(error.constructor.name);
}

function nodeRedisRaw(
  client: NodeRedisClient,
  mod: NodeRedisModule | undefined,
  reconnect: () => Promise<RawClient>,
  owned: boolean,
): RawClient {
  return {
    send: (args) => client.sendCommand(args),
    subscribe: (channel, onMessage) => client.subscribe(channel, (message) => onMessage(message)),
    unsubscribe: (channel) => client.unsubscribe(channel),
    duplicate: reconnect,
    close: async (force) => {
      if (!owned) return;
      if (force || !client.isOpen) client.destroy();
      else await client.close();
    },
    isConnectionError: (error) => !isNodeRedisReplyError(mod, error),
  };
}

async function connectNodeRedis(t: Target): Promise<RawClient> {
  let mod: NodeRedisModule;
  try {
    mod = await import("@redis/client");
  } catch (cause) {
    throw new HueyError(
      `Cannot connect to Redis for ${t.owner}: cannot load the npm package @redis/client: ${
        messageOf(cause)
      }`,
      { cause },
    );
  }
  let ready = false;
  const client = mod.createClient({
    url: t.url,
    // Offline commands fail at once instead of waiting for a reconnection.
    disableOfflineQueue: true,
    // No per-command timer (node-redis 5+ arms a 5 s AbortSignal.timeout for
    // every command by default): it costs 25-55% of the commands per second at
    // concurrency 8 (scripts/bench.ts), and a timed-out dequeue would drop a
    // reply the server did act on. A lost connection still fails every
    // pending command at once; ioredis (BullMQ's client) has no default
    // command timeout either.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: t.connectTimeoutMs,
      // The first connection fails fast; an established one is restored
      // forever, backing off up to maxReconnectDelay.
      reconnectStrategy: (retries: number, cause: Error) =>
        ready ? Math.min(50 * 2 ** Math.min(retries, 10), t.maxReconnectDelayMs) : cause,
    },
  }) as unknown as NodeRedisClient;
  // An 'error' event without a listener would crash the process; the error
  // also reaches the caller of the failing command.
  client.on("error", () => {});
  client.on("ready", () => {
    ready = true;
  });
  try {
    await client.connect();
  } catch (error) {
    try {
      client.destroy();
    } catch {
      // already closed by the failed attempt
    }
    throw error;
  }
  return nodeRedisRaw(client, mod, () => connectNodeRedis(t), true);
}

function wrapNodeRedis(client: NodeRedisClient, owned: boolean): RawClient {
  const duplicate = async (): Promise<RawClient> => {
    // Our own connections never queue commands while offline, whatever the
    // application chose for its client: a blocking pop must not wait for a
    // reconnection.
    const copy = client.duplicate({ disableOfflineQueue: true });
    copy.on("error", () => {});
    await copy.connect();
    return wrapNodeRedis(copy, true);
  };
  return nodeRedisRaw(client, undefined, duplicate, owned);
}

// -- Bun -----------------------------------------------------------------------

/** The part of Bun's `RedisClient` used here. */
interface BunRedisClient {
  send(command: string, args: string[]): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: string, channel: string) => void,
  ): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  duplicate(): Promise<BunRedisClient>;
  connect(): Promise<void>;
  close(): void;
  readonly connected: boolean;
  onclose: ((error: Error) => void) | null;
}

/** A variable, so Deno and Node never try to resolve Bun's module. */
const BUN_MODULE = "bun";

function isBunConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code !== "ERR_REDIS_SERVER_ERROR";
}

/**
 * Bun's client with `autoReconnect` off (with it on, a first connection to
 * a dead server never settles): a lost connection is replaced on the next
 * command, at once when it carries subscriptions.
 */
class BunRaw implements RawClient {
  readonly #open: () => Promise<BunRedisClient>;
  /** False while the client is the application's own; a replacement is ours. */
  #owned: boolean;
  readonly #maxDelayMs: number;
  #client: BunRedisClient;
  #reconnecting?: Promise<BunRedisClient>;
  #closed = false;
  #retry?: ReturnType<typeof setTimeout>;
  #retries = 0;
  readonly #channels = new Map<string, (message: string) => void>();

  constructor(
    client: BunRedisClient,
    open: () => Promise<BunRedisClient>,
    owned: boolean,
    maxDelayMs: number,
  ) {
    this.#client = client;
    this.#open = open;
    this.#owned = owned;
    this.#maxDelayMs = maxDelayMs;
    if (owned) this.#watch(client);
  }

  /** Renew subscriptions as soon as `client` (one of ours) drops. */
  #watch(client: BunRedisClient): void {
    client.onclose = () => {
      if (this.#closed || client !== this.#client || this.#channels.size === 0) return;
      this.#scheduleResubscribe();
    };
  }

  #scheduleResubscribe(): void {
    if (this.#retry !== undefined || this.#closed) return;
    const delay = Math.min(50 * 2 ** Math.min(this.#retries++, 10), this.#maxDelayMs);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#current().then(() => {
        this.#retries = 0;
      }, () => this.#scheduleResubscribe());
    }, delay);
    unrefTimer(this.#retry);
  }

  /** The live client, replacing a lost one (and renewing its subscriptions). */
  #current(): Promise<BunRedisClient> {
    if (this.#client.connected) return Promise.resolve(this.#client);
    if (!this.#reconnecting) {
      const attempt = (async () => {
        const client = await this.#open();
        if (this.#closed) {
          client.close();
          throw new Error("Connection closed");
        }
        const old = this.#client;
        if (this.#owned) old.close();
        this.#client = client;
        this.#owned = true;
        this.#watch(client);
        for (const [channel, listener] of this.#channels) {
          await client.subscribe(channel, (message) => listener(message));
        }
        return client;
      })();
      this.#reconnecting = attempt;
      attempt.then(() => {
        this.#reconnecting = undefined;
      }, () => {
        this.#reconnecting = undefined;
      });
    }
    return this.#reconnecting;
  }

  send(args: readonly string[]): Promise<unknown> {
    const [command, ...rest] = args;
    if (this.#client.connected) return this.#client.send(command, rest);
    return this.#current().then((client) => client.send(command, rest));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    this.#channels.set(channel, onMessage);
    try {
      const client = await this.#current();
      await client.subscribe(channel, (message) => onMessage(message));
    } catch (error) {
      this.#channels.delete(channel);
      throw error;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#channels.delete(channel);
    if (this.#client.connected) await this.#client.unsubscribe(channel);
  }

  async duplicate(): Promise<RawClient> {
    const client = await this.#open();
    return new BunRaw(client, this.#open, true, this.#maxDelayMs);
  }

  async close(_force: boolean): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#channels.clear();
    if (this.#owned) this.#client.close();
  }

  isConnectionError(error: unknown): boolean {
    return isBunConnectionError(error);
  }
}

async function openBun(t: Target): Promise<BunRedisClient> {
  const { RedisClient } = await import(BUN_MODULE);
  const client: BunRedisClient = new RedisClient(t.url, {
    connectionTimeout: t.connectTimeoutMs,
    autoReconnect: false,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
  });
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

// -- entry points ----------------------------------------------------------------

/**
 * Open a connection with the client library chosen by `kind` (by default
 * {@link redisClientKind}). Fails fast with a HueyError naming the address
 * when the server cannot be reached.
 *
 * @example Connect for a storage
 * ```ts
 * import { connectRedis } from "./redis_client.ts";
 * const redis = await connectRedis({ port: 6379, owner: 'storage "app"' });
 * await redis.close();
 * ```
 */
export async function connectRedis(
  options: RedisConnectionOptions = {},
  kind: RedisClientKind = redisClientKind(),
): Promise<RedisConnection> {
  const t = target(options);
  try {
    const raw = kind === "bun"
      ? new BunRaw(await openBun(t), () => openBun(t), true, t.maxReconnectDelayMs)
      : await connectNodeRedis(t);
    return new Connection(kind, raw, t.address, t.owner);
  } catch (error) {
    if (error instanceof HueyError) throw error;
    throw new HueyError(
      `Cannot connect to Redis at ${t.address} for ${t.owner}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/**
 * Use a client the application connected itself. The connection's `close()`
 * leaves that client open; connections made with `duplicate()` are closed.
 *
 * @example Wrap an application's client
 * ```ts
 * import { createClient } from "@redis/client";
 * import { wrapRedisClient } from "./redis_client.ts";
 * const client = await createClient().connect();
 * const redis = wrapRedisClient(client, "example");
 * await redis.close(); // client stays open
 * client.destroy();
 * ```
 */
export function wrapRedisClient(client: RedisClientLike, owner = "huey"): RedisConnection {
  if (
    "masters" in client || "slots" in client || "idleClients" in client || "getMasterNode" in client
  ) {
    throw new TypeError(
      "Cannot use Redis client: expected a single-server client, not a cluster, pool or sentinel client: " +
        client.constructor?.name,
    );
  }
  if ("sendCommand" in client && typeof client.sendCommand === "function") {
    const nodeClient = client as unknown as NodeRedisClient & {
      options?: { url?: string; socket?: { host?: string; port?: number; path?: string } };
    };
    const socket = nodeClient.options?.socket;
    let address = socket?.path ??
      (socket?.host || socket?.port
        ? `${socket.host ?? "localhost"}:${socket.port ?? 6379}`
        : undefined);
    if (!address && nodeClient.options?.url) {
      try {
        const url = new URL(nodeClient.options.url);
        address = `${url.hostname}:${url.port || "6379"}`;
      } catch {
        // keep the generic address
      }
    }
    return new Connection(
      "node-redis",
      wrapNodeRedis(nodeClient, false),
      address ?? "localhost:6379",
      owner,
    );
  }
  if ("send" in client && typeof client.send === "function") {
    const bunClient = client as unknown as BunRedisClient;
    return new Connection(
      "bun",
      new BunRaw(bunClient, () => bunClient.duplicate(), false, 1000),
      "the application's client",
      owner,
    );
  }
  throw new TypeError(
    "Cannot use Redis client: expected a node-redis client or Bun's RedisClient: " + typeof client,
  );
}
