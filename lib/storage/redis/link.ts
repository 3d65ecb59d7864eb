/**
 * The connections one Redis storage holds, and their end: the main
 * connection (every command and script), one for subscriptions, and a small
 * pool of dedicated connections for blocking waits, so that no command ever
 * queues behind a blocked one. `close()` ends them all, and every wait that
 * is linked to it.
 *
 * @module
 */
import { HueyError } from "../../errors.ts";
import { redisClientKind } from "../../runtime.ts";
import { checkRedisOptions, connectRedis, wrapRedisClient } from "./connection.ts";
import type {
  RedisBytesReply,
  RedisClientLike,
  RedisConnection,
  RedisConnectionOptions,
  RedisReply,
  RedisScript,
} from "./connection.ts";

/**
 * A signal that aborts when `a` or `b` does, and `dispose` to remove the
 * listeners it added.
 */
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

/**
 * One storage's connections to its server. Every call rejects with a
 * HueyError naming `label` once `close()` has begun.
 *
 * @example Send a command, then close
 * ```ts
 * import { RedisLink } from "./link.ts";
 * const link = new RedisLink({ url: "redis://127.0.0.1:6379", owner: 'storage "app"' }, "app");
 * console.log(await link.send(["PING"])); // "PONG"
 * await link.close();
 * ```
 */
export class RedisLink {
  readonly #options: RedisConnectionOptions;
  readonly #label: string;
  #main?: Promise<RedisConnection>;
  #live?: RedisConnection;
  #subscriber?: Promise<RedisConnection>;
  readonly #blockers = new Set<RedisConnection>();
  #idleBlockers: RedisConnection[] = [];
  readonly #closing = new AbortController();
  #closed = false;

  /**
   * Connections to `options`, opened on first use, or on the application's
   * `client` when there is one (it then stays open on `close()`). `label`
   * names the storage in errors (`Cannot use storage: closed: <label>`).
   * Throws a TypeError for a client that is not a single-server client, and
   * a ConfigurationError for settings that cannot be connected with.
   */
  constructor(options: RedisConnectionOptions, label: string, client?: RedisClientLike) {
    this.#options = options;
    this.#label = label;
    // Bad settings fail here, when the storage is made, not at its first command.
    if (!client) checkRedisOptions(options);
    if (client) {
      this.#live = wrapRedisClient(client, options.owner, options.slotKey);
      this.#main = Promise.resolve(this.#live);
    }
  }

  /** True once `close()` has begun. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throw the "closed" HueyError once `close()` has begun. */
  assertOpen(): void {
    if (this.#closed) throw new HueyError(`Cannot use storage: closed: ${this.#label}`);
  }

  /** The main connection, opened on first use and again after a failed attempt. */
  #conn(): Promise<RedisConnection> {
    this.assertOpen();
    if (this.#live) return Promise.resolve(this.#live);
    if (!this.#main) {
      const attempt = connectRedis(this.#options);
      this.#main = attempt;
      attempt.then((conn) => {
        if (this.#main === attempt) this.#live = conn;
      }, () => {
        if (this.#main === attempt) this.#main = undefined;
      });
    }
    return this.#main;
  }

  /** Send one command on the main connection; commands of one tick share a round trip. */
  async send(args: readonly string[]): Promise<RedisReply> {
    const conn = this.#live ?? await this.#conn();
    this.assertOpen();
    return await conn.send(args);
  }

  /** Run a script on the main connection. */
  async run(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<RedisReply> {
    const conn = this.#live ?? await this.#conn();
    this.assertOpen();
    return await conn.run(script, keys, args);
  }

  /**
   * True when {@link runForBytes} hands out bulk strings as bytes: the
   * client library is node-redis (the application's client, or ours when
   * the runtime is not Bun).
   */
  get readsBytes(): boolean {
    if (this.#live) return this.#live.readsBytes;
    // A cluster goes through node-redis on every runtime.
    return this.#options.cluster !== undefined || redisClientKind() === "node-redis";
  }

  /** Run a script on the main connection, its bulk strings as bytes where {@link readsBytes}. */
  async runForBytes(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<RedisBytesReply> {
    const conn = this.#live ?? await this.#conn();
    this.assertOpen();
    return await conn.runForBytes(script, keys, args);
  }

  /** The connection that carries the storage's subscriptions, opened on first use. */
  subscriptions(): Promise<RedisConnection> {
    this.assertOpen();
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
   * Wait on the server (at most `seconds`) until the list `key` is not
   * empty, without taking anything: `BLMOVE key key RIGHT RIGHT` moves the
   * last element onto itself. Runs on a dedicated connection from the pool.
   * True when woken by data; false on timeout or when `signal` aborts.
   */
  async waitForList(key: string, seconds: number, signal: AbortSignal): Promise<boolean> {
    const main = await this.#conn();
    let conn = this.#idleBlockers.pop();
    if (!conn) {
      conn = await main.duplicate();
      if (this.#closed) {
        await conn.close(true);
        this.assertOpen();
      }
      this.#blockers.add(conn);
    }
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

  /**
   * A signal that aborts with `signal` or when `close()` begins; call
   * `dispose()` when done with it.
   */
  untilClosed(signal?: AbortSignal): { signal: AbortSignal; dispose(): void } {
    return linkSignals(this.#closing.signal, signal);
  }

  /** Resolve after `seconds`, when `signal` aborts, on close, or when `wake` resolves. */
  sleep(seconds: number, signal: AbortSignal | undefined, wake: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const link = this.untilClosed(signal);
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

  /**
   * Close every connection opened here (an application's `client` stays
   * open); blocked waits end at once.
   */
  async close(): Promise<void> {
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
