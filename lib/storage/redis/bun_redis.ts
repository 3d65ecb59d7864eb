/**
 * The adapter for Bun's built-in client (`RedisClient` from `"bun"`): the
 * client the Redis storages use on Bun.
 *
 * @module
 */
import { unrefTimer } from "../../runtime.ts";
import { reconnectDelay } from "./adapter.ts";
import type { AdoptedClient, RawClient, RedisTarget } from "./adapter.ts";

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

/** The longest pause between two resubscription attempts on an application's client, in ms. */
const ADOPTED_MAX_DELAY_MS = 1000;

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
    const delay = reconnectDelay(this.#retries++, this.#maxDelayMs);
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

async function openBun(target: RedisTarget): Promise<BunRedisClient> {
  const { RedisClient } = await import(BUN_MODULE);
  const client: BunRedisClient = new RedisClient(target.url, {
    connectionTimeout: target.connectTimeoutMs,
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

/**
 * Connect a Bun `RedisClient` of our own to `target` (Bun only). Rejects
 * with Bun's error when the server cannot be reached.
 *
 * @example Connect and send a command (on Bun)
 * ```ts
 * import { connectBunRedis } from "./bun_redis.ts";
 * const raw = await connectBunRedis({
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
export async function connectBunRedis(target: RedisTarget): Promise<RawClient> {
  return new BunRaw(await openBun(target), () => openBun(target), true, target.maxReconnectDelayMs);
}

/**
 * Use a Bun `RedisClient` the application connected: its `close()` leaves
 * the client open; the connections it duplicates are ours and are closed.
 *
 * @example Adopt an application's client (on Bun)
 * ```ts
 * import { adoptBunRedis } from "./bun_redis.ts";
 * const bun = "bun";
 * const { RedisClient } = await import(bun);
 * const client = new RedisClient("redis://127.0.0.1:6379");
 * await client.connect();
 * const { raw } = adoptBunRedis(client);
 * await raw.close(false); // client stays open
 * client.close();
 * ```
 */
export function adoptBunRedis(client: object): AdoptedClient {
  const bunClient = client as BunRedisClient;
  return {
    raw: new BunRaw(bunClient, () => bunClient.duplicate(), false, ADOPTED_MAX_DELAY_MS),
    address: "the application's client",
  };
}
