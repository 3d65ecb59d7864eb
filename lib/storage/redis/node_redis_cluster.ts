/**
 * The Redis Cluster adapter: node-redis's cluster client (`createCluster`)
 * behind the same {@link RawClient} as a single server, on every runtime
 * (Bun's built-in `RedisClient` cannot follow a cluster's redirects, so on
 * Bun a cluster goes through node-redis too).
 *
 * Every key of one Huey name hashes to one slot (the `{name}` hash tag of
 * keys.ts), so the adapter routes every command by one key of that slot,
 * the `slotKey`: the cluster client sends it to the slot's master and
 * follows `MOVED` (the slot has moved: it refreshes its slot map and sends
 * it again) and `ASK` (the slot is moving: `ASKING`, then the command, on
 * the target) redirects. The keyless commands that must reach that master
 * ({@link SLOT_MASTER_COMMANDS}) go to the slot master's connection directly.
 *
 * Blocking waits run on a connection of their own to the slot's master
 * (duplicated from the cluster's connection to it). When the slot has moved,
 * the wait's reply is a redirect: the connection is dropped, the wait counts
 * as woken (so the storage takes with a script, which the cluster client
 * redirects and which refreshes its slot map), and the next wait connects to
 * the slot's new master.
 *
 * Pub/sub is plain `PUBLISH`/`SUBSCRIBE`: on a cluster a PUBLISH on any
 * node reaches the subscribers on every node (the nodes forward it over the
 * cluster bus), so results and events reach every process whichever node
 * it is connected to, and a slot's move does not end a subscription
 * (sharded pub/sub would: `SSUBSCRIBE` is dropped when its slot moves, and
 * every PUBLISH of the storages would have to become an SPUBLISH). The
 * storage subscribes on a dedicated connection to the slot's master, where
 * its PUBLISHes run, which saves the hop over the bus.
 *
 * @module
 */
import { ConfigurationError } from "../../errors.ts";
import { messageOf, reconnectDelay } from "./adapter.ts";
import type { AdoptedClient, RawClient, RedisTarget } from "./adapter.ts";
import { BYTES, isNodeRedisReplyError, loadNodeRedis } from "./node_redis.ts";
import type { NodeRedisClient, NodeRedisModule } from "./node_redis.ts";

/** The part of a node-redis cluster client used here. */
interface NodeRedisCluster {
  sendCommand(
    firstKey: string,
    isReadonly: boolean,
    args: readonly string[],
    options?: typeof BYTES,
  ): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<void>;
  unsubscribe(channel: string, listener?: Listener): Promise<void>;
  getNodeClientForKey(key: string): Promise<NodeRedisClient>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isOpen: boolean;
}

type Listener = (message: string, channel: string) => void;

/**
 * Keyless commands that must run on the slot's master: `CLIENT` (the id of
 * a blocked connection and `CLIENT UNBLOCK` must meet on one node) and
 * `SCAN` (the expiring results' keys live on that node). node-redis would
 * send a keyless command to any node (SCAN to every node, in turn).
 */
export const SLOT_MASTER_COMMANDS: ReadonlySet<string> = new Set(["CLIENT", "SCAN"]);

/** How long a blocking wait that met a redirect pauses, so a moving slot is not polled hot. */
const REDIRECT_PAUSE_MS = 50;

/** How often a command refused with TRYAGAIN is sent (50 ms apart: 5 s in all). */
const TRYAGAIN_ATTEMPTS = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True for a reply that says the slot is elsewhere or moving (MOVED, ASK, TRYAGAIN). */
function isRedirect(mod: NodeRedisModule | undefined, error: unknown): boolean {
  return isNodeRedisReplyError(mod, error) &&
    /^(MOVED|ASK|TRYAGAIN)\b/.test(messageOf(error));
}

/**
 * True when `client` is a node-redis cluster client.
 *
 * @example Tell a cluster client from a single-server one
 * ```ts
 * import { createClient, createCluster } from "@redis/client";
 * import { isNodeRedisCluster } from "./node_redis_cluster.ts";
 * console.log(isNodeRedisCluster(createCluster({ rootNodes: [{ url: "redis://127.0.0.1:7000" }] }))); // true
 * console.log(isNodeRedisCluster(createClient())); // false
 * ```
 */
export function isNodeRedisCluster(client: object): boolean {
  return "getNodeClientForKey" in client && "masters" in client && "sendCommand" in client;
}

/**
 * Subscriptions on the cluster's pub/sub connection, each with its own
 * listener, so that ending one leaves the others' subscriptions to the same
 * channel (another storage of the same name on the same client) alone.
 */
function subscriptions(cluster: NodeRedisCluster): Subscriptions {
  const listeners = new Map<string, Listener>();
  return {
    subscribe: async (channel: string, onMessage: (message: string) => void) => {
      const listener: Listener = (message) => onMessage(message);
      listeners.set(channel, listener);
      await cluster.subscribe(channel, listener);
    },
    unsubscribe: async (channel: string) => {
      const listener = listeners.get(channel);
      listeners.delete(channel);
      if (listener) await cluster.unsubscribe(channel, listener);
    },
    end: () => {
      for (const [channel, listener] of listeners) {
        cluster.unsubscribe(channel, listener).catch(() => {});
      }
      listeners.clear();
    },
  };
}

/** The cluster client as a RawClient, routing by `slotKey`. */
function clusterRaw(
  cluster: NodeRedisCluster,
  mod: NodeRedisModule | undefined,
  slotKey: string,
  owned: boolean,
): RawClient {
  const once = async (args: readonly string[], options?: typeof BYTES) => {
    if (SLOT_MASTER_COMMANDS.has(args[0].toUpperCase())) {
      return await (await cluster.getNodeClientForKey(slotKey)).sendCommand(args, options);
    }
    return await cluster.sendCommand(slotKey, false, args, options);
  };
  const send = async (args: readonly string[], options?: typeof BYTES) => {
    for (let attempt = 1;; attempt++) {
      try {
        return await once(args, options);
      } catch (error) {
        // TRYAGAIN: a script's keys are split between the two masters of a
        // slot being moved; the server ran nothing, so sending it again is
        // safe, and it succeeds once the keys are together (node-redis only
        // follows MOVED and ASK).
        const again = isNodeRedisReplyError(mod, error) && /^TRYAGAIN\b/.test(messageOf(error));
        if (!again || attempt >= TRYAGAIN_ATTEMPTS) throw error;
        await pause(REDIRECT_PAUSE_MS);
      }
    }
  };
  return rawClient(cluster, mod, slotKey, send, subscriptions(cluster), async (force) => {
    if (!owned) return;
    if (force || !cluster.isOpen) cluster.destroy();
    else await cluster.close();
  });
}

/** How a RawClient subscribes: see {@link subscriptions} and {@link dedicatedRaw}. */
interface Subscriptions {
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** End every subscription made here. */
  end(): void;
}

/**
 * A RawClient that sends with `send`, subscribes with `subs`, duplicates
 * into a {@link dedicatedRaw} and ends its subscriptions before `close`.
 */
function rawClient(
  cluster: NodeRedisCluster,
  mod: NodeRedisModule | undefined,
  slotKey: string,
  send: (args: readonly string[], options?: typeof BYTES) => Promise<unknown>,
  subs: Subscriptions,
  close: (force: boolean) => Promise<void>,
): RawClient {
  return {
    send: (args) => send(args),
    sendForBytes: (args) => send(args, BYTES),
    subscribe: subs.subscribe,
    unsubscribe: subs.unsubscribe,
    duplicate: () => dedicatedRaw(cluster, mod, slotKey),
    close: (force) => {
      subs.end();
      return close(force);
    },
    isConnectionError: (error) => !isNodeRedisReplyError(mod, error),
  };
}

/**
 * A connection of its own to the slot's master, for blocking waits or for
 * subscriptions (the storage duplicates one for each).
 *
 * A redirect drops the connection (the next command connects to the slot's
 * master anew) and answers `"redirected"` after a short pause: a blocking
 * wait then counts as woken.
 *
 * Subscriptions live on the slot's master too: the storage's PUBLISHes run
 * there, and a subscriber elsewhere would hear them only after a hop over
 * the cluster bus (measured: W3's round trip p50 1.5 ms instead of 0.6 ms).
 * When the connection is lost (the node went down, its replica took over),
 * they move to a new connection to the slot's master, 0.1 to 1 s apart
 * until one connects. After the slot moved they stay where they are: the
 * old master still hears every PUBLISH, over the bus.
 */
async function dedicatedRaw(
  cluster: NodeRedisCluster,
  mod: NodeRedisModule | undefined,
  slotKey: string,
): Promise<RawClient> {
  let current: Promise<NodeRedisClient> | undefined;
  let closed = false;
  const channels = new Map<string, Listener>();
  let moving = false;
  /** Subscribe again on a new connection, until one connects or close(). */
  const resubscribe = async () => {
    if (moving || closed) return;
    moving = true;
    try {
      for (let delay = 100; !closed; delay = Math.min(delay * 2, 1000)) {
        drop();
        try {
          const client = await open();
          for (const [channel, listener] of channels) await client.subscribe(channel, listener);
          return;
        } catch {
          await pause(delay);
        }
      }
    } finally {
      moving = false;
    }
  };
  const open = () => {
    if (closed) return Promise.reject(new Error("connection closed"));
    if (!current) {
      const attempt: Promise<NodeRedisClient> = cluster.getNodeClientForKey(slotKey).then(
        async (master) => {
          // Never queued offline: a blocking wait must not wait for a reconnection.
          const copy = master.duplicate({ disableOfflineQueue: true });
          copy.on("error", (error) => {
            // The connection is lost: the subscriptions move (a blocking wait fails by itself).
            if (channels.size > 0 && current === attempt && !isNodeRedisReplyError(mod, error)) {
              // At once, inside the event: node-redis starts its own
              // reconnection (and resubscription) right after it.
              copy.destroy();
              resubscribe();
            }
          });
          await copy.connect();
          return copy;
        },
      );
      current = attempt;
      attempt.catch(() => {
        if (current === attempt) current = undefined;
      });
    }
    return current;
  };
  const drop = () => {
    const dropped = current;
    current = undefined;
    dropped?.then((client) => client.destroy(), () => {});
  };
  const send = async (args: readonly string[], options?: typeof BYTES) => {
    const client = await open();
    try {
      return await client.sendCommand(args, options);
    } catch (error) {
      if (!isRedirect(mod, error)) {
        if (!isNodeRedisReplyError(mod, error)) drop();
        throw error;
      }
      // MOVED: the slot has another master now. ASK, TRYAGAIN: it is moving;
      // the cluster client's next command (the storage's take) is redirected.
      if (/^MOVED\b/.test(messageOf(error))) drop();
      await pause(REDIRECT_PAUSE_MS);
      return "redirected";
    }
  };
  const subs: Subscriptions = {
    subscribe: async (channel, onMessage) => {
      const listener: Listener = (message) => onMessage(message);
      channels.set(channel, listener);
      await (await open()).subscribe(channel, listener);
    },
    unsubscribe: async (channel) => {
      const listener = channels.get(channel);
      channels.delete(channel);
      if (listener && current) await (await current).unsubscribe(channel, listener);
    },
    end: () => channels.clear(),
  };
  await open();
  return rawClient(cluster, mod, slotKey, send, subs, async () => {
    closed = true;
    drop();
  });
}

/**
 * Connect a node-redis cluster client of our own to the cluster of
 * `targets` (its root nodes: the client discovers the others), routing by
 * `slotKey`. Rejects with the library's error when no root node can be
 * reached (the first attempt does not retry); a connection to a node that
 * was up is restored in the background, as for a single server.
 *
 * @example Connect to a local cluster
 * ```ts
 * import { connectNodeRedisCluster } from "./node_redis_cluster.ts";
 * const target = {
 *   url: "redis://127.0.0.1:7000",
 *   address: "127.0.0.1:7000",
 *   connectTimeoutMs: 5000,
 *   maxReconnectDelayMs: 1000,
 *   owner: "example",
 * };
 * const raw = await connectNodeRedisCluster([target], "huey.{app}.queue");
 * console.log(await raw.send(["LLEN", "huey.{app}.queue"])); // 0
 * await raw.close(false);
 * ```
 */
export async function connectNodeRedisCluster(
  targets: readonly RedisTarget[],
  slotKey: string,
): Promise<RawClient> {
  const first = targets[0];
  const mod = await loadNodeRedis(first.owner);
  let ready = false;
  const socket = (target: RedisTarget) => ({
    connectTimeout: target.connectTimeoutMs,
    // The first connection fails fast; an established one is restored
    // forever, backing off up to maxReconnectDelay.
    reconnectStrategy: (retries: number, cause: Error) =>
      ready ? reconnectDelay(retries, target.maxReconnectDelayMs) : cause,
  });
  const url = new URL(first.url);
  const cluster = mod.createCluster({
    rootNodes: targets.map((target) => ({ url: target.url, socket: socket(target) })),
    // What the connections to the discovered nodes are made with: the
    // credentials of the root nodes' URLs, and the settings of connection.ts.
    defaults: {
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      disableOfflineQueue: true,
      socket: url.protocol === "rediss:" ? { ...socket(first), tls: true } : socket(first),
    },
    // No per-command timer, as for a single server (see node_redis.ts).
    commandOptions: { timeout: 0 },
    // Connect to a node when a command needs it: one Huey uses one slot's master.
    minimizeConnections: true,
  }) as unknown as NodeRedisCluster;
  // An 'error' event without a listener would crash the process; the error
  // also reaches the caller of the failing command.
  cluster.on("error", () => {});
  try {
    await cluster.connect();
    ready = true;
  } catch (error) {
    try {
      cluster.destroy();
    } catch {
      // already closed by the failed attempt
    }
    throw error;
  }
  return clusterRaw(cluster, mod, slotKey, true);
}

/**
 * Use a node-redis cluster client the application connected, routing by
 * `slotKey`: its `close()` leaves the client open; the connections it
 * makes for blocking waits are ours and are closed.
 *
 * @example Adopt an application's cluster client
 * ```ts
 * import { createCluster } from "@redis/client";
 * import { adoptNodeRedisCluster } from "./node_redis_cluster.ts";
 * const cluster = await createCluster({ rootNodes: [{ url: "redis://127.0.0.1:7000" }] }).connect();
 * const { raw, address } = adoptNodeRedisCluster(cluster, "huey.{app}.queue");
 * console.log(address); // "cluster 127.0.0.1:7000"
 * await raw.close(false); // the cluster client stays open
 * cluster.destroy();
 * ```
 */
export function adoptNodeRedisCluster(client: object, slotKey: string): AdoptedClient {
  const options = (client as { options?: { rootNodes?: { url?: string }[] } }).options;
  const roots = (options?.rootNodes ?? []).map((node) => {
    try {
      const url = new URL(node.url ?? "");
      return `${url.hostname}:${url.port || "6379"}`;
    } catch {
      return "?";
    }
  });
  return {
    raw: clusterRaw(client as NodeRedisCluster, undefined, slotKey, false),
    address: `cluster ${roots.join(",") || "(an application's client)"}`,
  };
}

/**
 * Check the root nodes of a `cluster` option: a non-empty array of URLs or
 * `{ url }` objects. Throws a ConfigurationError naming `owner` otherwise.
 *
 * @example The two forms of a root node
 * ```ts
 * import { rootNodeUrls } from "./node_redis_cluster.ts";
 * console.log(rootNodeUrls(["redis://10.0.0.1:7000", { url: "redis://10.0.0.2:7000" }], "example"));
 * // ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]
 * ```
 */
export function rootNodeUrls(rootNodes: unknown, owner: string): string[] {
  const fail = (why: string) => {
    throw new ConfigurationError(`Cannot connect to Redis Cluster for ${owner}: ${why}`);
  };
  if (!Array.isArray(rootNodes) || rootNodes.length === 0) {
    fail(`cluster.rootNodes must be a non-empty array of URLs: ${typeof rootNodes}`);
  }
  return (rootNodes as unknown[]).map((node, i) => {
    const url = typeof node === "string"
      ? node
      : typeof node === "object" && node !== null && typeof (node as { url?: unknown }).url ===
          "string"
      ? (node as { url: string }).url
      : undefined;
    if (url === undefined) {
      fail(`cluster.rootNodes[${i}] must be a URL or { url }: ${typeof node}`);
    }
    return url!;
  });
}
