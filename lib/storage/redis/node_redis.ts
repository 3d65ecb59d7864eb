/**
 * The node-redis adapter (npm `@redis/client`, node-redis's core): the
 * client the Redis storages use on Deno and Node (and for Redis Cluster on
 * every runtime: node_redis_cluster.ts builds on the parts exported here).
 * This is the only file that names the `@redis/client` module.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { HueyError } from "../../errors.ts";
import { messageOf, reconnectDelay } from "./adapter.ts";
import type { AdoptedClient, RawClient, RedisTarget } from "./adapter.ts";

/**
 * node-redis's type mapping that leaves bulk strings (RESP type `$`, 36) as
 * bytes: its decoder then hands out a view of the socket's buffer instead
 * of decoding it. By number, so an application's client from another copy
 * of the library gets the same mapping.
 */
export const BYTES = { typeMapping: { 36: Buffer } };

/** The part of a node-redis client used here. */
export interface NodeRedisClient {
  sendCommand(args: readonly string[], options?: typeof BYTES): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(
    channel: string,
    listener?: (message: string, channel: string) => void,
  ): Promise<void>;
  duplicate(overrides?: { disableOfflineQueue?: boolean }): NodeRedisClient;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isOpen: boolean;
}

// The npm: specifier, not the bare name: an app that imports this library by
// path or URL has no import map entry for @redis/client (the npm build
// rewrites it to the bare name, a dependency of the package).
export type NodeRedisModule = typeof import("npm:@redis/client@^6.3.1");

/**
 * True when `error` is an error reply of the server (node-redis's
 * `ErrorReply`, of `mod` or of another copy of the library), false for a
 * connection error.
 */
export function isNodeRedisReplyError(mod: NodeRedisModule | undefined, error: unknown): boolean {
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
    sendForBytes: (args) => client.sendCommand(args, BYTES),
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

/**
 * Load `@redis/client`; a HueyError naming `owner` when it cannot be loaded.
 *
 * @example Load the module
 * ```ts
 * import { loadNodeRedis } from "./node_redis.ts";
 * const { createCluster } = await loadNodeRedis("example");
 * ```
 */
export async function loadNodeRedis(owner: string): Promise<NodeRedisModule> {
  try {
    // deno-lint-ignore no-import-prefix -- path and URL imports of this library have no import map
    return await import("npm:@redis/client@^6.3.1");
  } catch (cause) {
    throw new HueyError(
      `Cannot connect to Redis for ${owner}: cannot load the npm package @redis/client: ${
        messageOf(cause)
      }`,
      { cause },
    );
  }
}

/**
 * Connect a node-redis client of our own to `target`. Rejects with the
 * library's error when the server cannot be reached (the first attempt does
 * not retry), with a HueyError when `@redis/client` cannot be loaded.
 *
 * @example Connect and send a command
 * ```ts
 * import { connectNodeRedis } from "./node_redis.ts";
 * const raw = await connectNodeRedis({
 *   url: "redis://127.0.0.1:6379",
 *   address: "127.0.0.1:6379",
 *   connectTimeoutMs: 5000,
 *   maxReconnectDelayMs: 1000,
 *   owner: "example",
 * });
 * console.log(await raw.send(["PING"])); // "PONG"
 * await raw.close(false);
 * ```
 */
export async function connectNodeRedis(target: RedisTarget): Promise<RawClient> {
  const mod = await loadNodeRedis(target.owner);
  let ready = false;
  const client = mod.createClient({
    url: target.url,
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
      connectTimeout: target.connectTimeoutMs,
      // The first connection fails fast; an established one is restored
      // forever, backing off up to maxReconnectDelay.
      reconnectStrategy: (retries: number, cause: Error) =>
        ready ? reconnectDelay(retries, target.maxReconnectDelayMs) : cause,
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
  return nodeRedisRaw(client, mod, () => connectNodeRedis(target), true);
}

/**
 * A node-redis client as a RawClient; `owned` clients are closed by
 * `close()`. Its `duplicate()` connects a copy that never queues offline.
 *
 * @example Wrap a connected client
 * ```ts
 * import { createClient } from "@redis/client";
 * import { wrapNodeRedis } from "./node_redis.ts";
 * import type { NodeRedisClient } from "./node_redis.ts";
 * const client = await createClient().connect();
 * const raw = wrapNodeRedis(client as unknown as NodeRedisClient, true);
 * await raw.close(false);
 * ```
 */
export function wrapNodeRedis(client: NodeRedisClient, owned: boolean): RawClient {
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

/** The address a node-redis client was created for, if its options tell. */
function addressOf(client: {
  options?: { url?: string; socket?: { host?: string; port?: number; path?: string } };
}): string | undefined {
  const socket = client.options?.socket;
  const address = socket?.path ??
    (socket?.host || socket?.port
      ? `${socket.host ?? "localhost"}:${socket.port ?? 6379}`
      : undefined);
  if (address || !client.options?.url) return address;
  try {
    const url = new URL(client.options.url);
    return `${url.hostname}:${url.port || "6379"}`;
  } catch {
    return undefined;
  }
}

/**
 * Use a node-redis client the application connected: its `close()` leaves
 * the client open; the connections it duplicates are ours and are closed.
 *
 * @example Adopt an application's client
 * ```ts
 * import { createClient } from "@redis/client";
 * import { adoptNodeRedis } from "./node_redis.ts";
 * const client = await createClient().connect();
 * const { raw, address } = adoptNodeRedis(client);
 * console.log(address); // "localhost:6379"
 * await raw.close(false); // client stays open
 * client.destroy();
 * ```
 */
export function adoptNodeRedis(client: object): AdoptedClient {
  const nodeClient = client as NodeRedisClient;
  return { raw: wrapNodeRedis(nodeClient, false), address: addressOf(client) ?? "localhost:6379" };
}
