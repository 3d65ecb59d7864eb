/**
 * What a client adapter (node_redis.ts, bun_redis.ts) hands to the
 * connection wrapper (connection.ts): a {@link RawClient}, which throws the
 * client library's errors as they are, and the {@link RedisTarget} it
 * connects to. Kept apart from both so that neither imports the other.
 *
 * @module
 */

/**
 * Where to connect, resolved from the connection options (connection.ts
 * checks them).
 *
 * @example A local server
 * ```ts
 * import type { RedisTarget } from "./adapter.ts";
 * const target: RedisTarget = {
 *   url: "redis://127.0.0.1:6379",
 *   address: "127.0.0.1:6379",
 *   connectTimeoutMs: 5000,
 *   maxReconnectDelayMs: 1000,
 *   owner: "huey",
 * };
 * ```
 */
export interface RedisTarget {
  /** The full URL, with the password if any. */
  url: string;
  /** `host:port` for messages; never the password. */
  address: string;
  /** How long a TCP connection may take. */
  connectTimeoutMs: number;
  /** Longest pause between two reconnection attempts. */
  maxReconnectDelayMs: number;
  /** Who uses the connection, for error messages. */
  owner: string;
}

/**
 * What each client library must provide; errors are thrown raw.
 *
 * @example An adapter that fails every command
 * ```ts
 * import type { RawClient } from "./adapter.ts";
 * const down: RawClient = {
 *   send: () => Promise.reject(new Error("down")),
 *   subscribe: () => Promise.reject(new Error("down")),
 *   unsubscribe: async () => {},
 *   duplicate: () => Promise.reject(new Error("down")),
 *   close: async () => {},
 *   isConnectionError: () => true,
 * };
 * ```
 */
export interface RawClient {
  /** Send one command; resolves to the library's reply. */
  send(args: readonly string[]): Promise<unknown>;
  /**
   * Send one command and receive its bulk strings as bytes (`Uint8Array`),
   * undecoded. Only where the library can (node-redis; Bun's `send` always
   * decodes them as UTF-8, with U+FFFD for bytes that are not).
   */
  sendForBytes?(args: readonly string[]): Promise<unknown>;
  /** Resolves once the subscription is active. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** End the subscription to `channel`. */
  unsubscribe(channel: string): Promise<void>;
  /** A new client to the same server with the same settings, connected. */
  duplicate(): Promise<RawClient>;
  /** `force` drops the connection at once; a client the application owns stays open. */
  close(force: boolean): Promise<void>;
  /** True for "the server could not be reached", false for an error reply. */
  isConnectionError(error: unknown): boolean;
}

/**
 * A client the application created and connected, ready for the connection
 * wrapper: the wrapper's `close()` leaves it open.
 *
 * @example What an adapter returns
 * ```ts
 * import type { AdoptedClient, RawClient } from "./adapter.ts";
 * function adopt(raw: RawClient): AdoptedClient {
 *   return { raw, address: "10.0.0.5:6379" };
 * }
 * ```
 */
export interface AdoptedClient {
  /** The application's client. */
  raw: RawClient;
  /** `host:port` for messages, or a description when the client does not tell. */
  address: string;
}

/**
 * A client library's error as one line: its message, and that of the error
 * it wraps (node-redis puts the socket's error in `originalError` or `cause`).
 *
 * @example An error that wraps another
 * ```ts
 * import { messageOf } from "./adapter.ts";
 * const error = new Error("Socket closed", { cause: new Error("ECONNREFUSED") });
 * console.log(messageOf(error)); // "Socket closed: ECONNREFUSED"
 * ```
 */
export function messageOf(error: unknown): string {
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

/**
 * Milliseconds before reconnection attempt number `retries` (from 0):
 * doubling from 50 ms, at most `maxDelayMs`. Both adapters back off alike.
 *
 * @example The first attempts
 * ```ts
 * import { reconnectDelay } from "./adapter.ts";
 * console.log([0, 1, 2, 10].map((n) => reconnectDelay(n, 1000))); // [50, 100, 200, 1000]
 * ```
 */
export function reconnectDelay(retries: number, maxDelayMs: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), maxDelayMs);
}
