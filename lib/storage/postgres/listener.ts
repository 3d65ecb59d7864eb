/**
 * LISTEN/NOTIFY for PostgresStorage: one dedicated connection per storage
 * that LISTENs on the channels someone waits on (names.ts), hands each
 * notification to the handlers of its channel, and comes back by itself
 * after the connection drops (a server restart): it LISTENs again, backing
 * off up to a second between tries, and then calls every handler with
 * `null`, since notifications sent while it was away are lost and the
 * waiters must look for themselves.
 *
 * Also the two kinds of wait built on it: blocked dequeues (woken by the
 * queue channel) and blocked `waitForData` calls (woken by the data
 * channel, whose payload names the key written).
 *
 * @module
 */
import { Wakeup } from "../wakeup.ts";
import type { ListenConnection, ListenEvents } from "./client.ts";
import { quoteIdentifier } from "./names.ts";

/** Called with a notification's payload, or `null` after a reconnection. */
export type NotificationHandler = (payload: string | null) => void;

interface Channel {
  handlers: Set<NotificationHandler>;
  /** Resolves once LISTEN is active on the current connection; unset while it is not. */
  active?: Promise<void>;
}

/** Longest wait between two attempts to LISTEN again, ms. */
const MAX_BACKOFF_MS = 1000;

/**
 * The LISTEN side of one storage.
 *
 * @example
 * ```ts
 * import { PostgresConnection } from "./client.ts";
 * import { PgListener } from "./listener.ts";
 * const connection = new PostgresConnection({ url: "postgres://postgres@127.0.0.1/postgres" }, "example");
 * const listener = new PgListener((events) => connection.openListener(events));
 * const stop = await listener.listen("jobs", (payload) => console.log("notified", payload));
 * await connection.query("SELECT pg_notify('jobs', 'hello')", []);
 * stop();
 * await listener.close();
 * await connection.close();
 * ```
 */
export class PgListener {
  readonly #open: (events: ListenEvents) => Promise<ListenConnection>;
  readonly #channels = new Map<string, Channel>();
  #connection?: Promise<ListenConnection>;
  #closed = false;
  #retry?: ReturnType<typeof setTimeout>;
  #failures = 0;

  /** A listener whose connection `open` makes, on first use. */
  constructor(open: (events: ListenEvents) => Promise<ListenConnection>) {
    this.#open = open;
  }

  /**
   * Call `handler` for every notification on `channel` until the returned
   * function is called. Resolves once LISTEN is active (the channel stays
   * listened to after the last handler leaves: a LISTEN costs a round trip,
   * a notification nobody waits for costs nothing).
   */
  async listen(channel: string, handler: NotificationHandler): Promise<() => void> {
    let entry = this.#channels.get(channel);
    if (!entry) this.#channels.set(channel, entry = { handlers: new Set() });
    entry.handlers.add(handler);
    const stop = () => entry.handlers.delete(handler);
    try {
      await (entry.active ??= this.#listenOn(channel, entry));
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  #listenOn(channel: string, entry: Channel): Promise<void> {
    const active = (async () => {
      const connection = await this.#connect();
      await connection.unsafe(`LISTEN ${quoteIdentifier(channel)}`);
    })();
    active.catch(() => {
      if (entry.active === active) entry.active = undefined;
    });
    return active;
  }

  #connect(): Promise<ListenConnection> {
    this.#connection ??= this.#open({
      onnotify: (channel, payload) => {
        for (const handler of this.#channels.get(channel)?.handlers ?? []) handler(payload);
      },
      onclose: () => this.#lost(),
    }).catch((error) => {
      this.#connection = undefined;
      throw error;
    });
    return this.#connection;
  }

  /** The connection dropped: LISTEN again (it reconnects), then wake everyone. */
  #lost(): void {
    for (const entry of this.#channels.values()) entry.active = undefined;
    if (this.#closed || this.#retry !== undefined) return;
    const delay = Math.min(MAX_BACKOFF_MS, 50 * 2 ** this.#failures);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#relisten();
    }, this.#failures === 0 ? 0 : delay);
  }

  async #relisten(): Promise<void> {
    if (this.#closed) return;
    try {
      await Promise.all(
        [...this.#channels].map(([channel, entry]) =>
          entry.active ??= this.#listenOn(channel, entry)
        ),
      );
      this.#failures = 0;
    } catch {
      this.#failures++;
      this.#lost();
      return;
    }
    for (const entry of this.#channels.values()) {
      for (const handler of entry.handlers) handler(null);
    }
  }

  /** Close the LISTEN connection; no handler is called after this. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#channels.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.then((c) => c.end({ timeout: 0 }), () => {});
  }
}

/** What {@link PgWaits} needs from its storage. */
export interface WaitsHost {
  /** The queue and data channels (names.ts). */
  readonly channels: { queue: string; data: string };
  /** Aborts when the storage closes. */
  readonly closing: AbortSignal;
  /** Run `fn` as the storage runs a call: errors become HueyErrors naming `action`. */
  run<T>(action: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * The waits of one storage: blocked dequeues and blocked `waitForData`
 * calls, each armed before it looks (so a notification that comes while
 * it looks is not missed), woken by notifications and by this process's
 * own writes at once.
 *
 * @example Wake a blocked take
 * ```ts
 * import { PostgresConnection } from "./client.ts";
 * import { PgListener, PgWaits } from "./listener.ts";
 * const connection = new PostgresConnection({ url: "postgres://postgres@127.0.0.1/postgres" }, "example");
 * const listener = new PgListener((events) => connection.openListener(events));
 * const waits = new PgWaits(listener, {
 *   channels: { queue: "q", data: "d" },
 *   closing: new AbortController().signal,
 *   run: (_action, fn) => fn(),
 * });
 * let calls = 0;
 * const taken = waits.untilTaken(performance.now() + 5000, [], async () => ++calls > 1 ? "x" : undefined);
 * waits.queued.notify();
 * console.log(await taken); // "x"
 * await listener.close();
 * await connection.close();
 * ```
 */
export class PgWaits {
  /** Woken by the queue channel and by this storage's own enqueues. */
  readonly queued = new Wakeup();
  readonly #listener: PgListener;
  readonly #host: WaitsHost;
  #queueListening?: Promise<unknown>;
  #dataListening?: Promise<unknown>;
  /** `waitForData` waiters by stored key; `writes` counts the writes announced for exactly it. */
  readonly #data = new Map<string, { wakeup: Wakeup; waiters: number; writes: number }>();

  constructor(listener: PgListener, host: WaitsHost) {
    this.#listener = listener;
    this.#host = host;
  }

  /** LISTEN on `channel` once (again after a failure). */
  #listenOnce(
    current: Promise<unknown> | undefined,
    channel: string,
    handler: NotificationHandler,
    keep: (listening: Promise<unknown> | undefined) => void,
  ): Promise<unknown> {
    if (current) return current;
    const listening = this.#host.run(
      "listen for notifications",
      () => this.#listener.listen(channel, handler),
    );
    keep(listening);
    listening.catch(() => keep(undefined));
    return listening;
  }

  /**
   * Call `take` until it returns something, each time after a notification
   * on the queue channel, until `deadline` (a `performance.now()` time) or
   * one of `signals` aborts; undefined then.
   */
  async untilTaken<T>(
    deadline: number,
    signals: AbortSignal[],
    take: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    await this.#listenOnce(
      this.#queueListening,
      this.#host.channels.queue,
      () => this.queued.notify(),
      (l) => (this.#queueListening = l),
    );
    const all = [this.#host.closing, ...signals];
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0 || all.some((signal) => signal.aborted)) return undefined;
      const taken = new AbortController();
      const woken = this.queued.wait(left, AbortSignal.any([taken.signal, ...all]));
      let found: T | undefined;
      try {
        found = await take();
      } catch (error) {
        taken.abort();
        throw error;
      }
      if (found !== undefined) {
        taken.abort();
        return found;
      }
      await woken;
    }
  }

  /** Wake this process's waiters on `stored` (a key as stored) at once. */
  wakeData(stored: string): void {
    const wait = this.#data.get(stored);
    if (!wait) return;
    wait.writes++;
    wait.wakeup.notify();
  }

  /**
   * Wait until `present()` is true, checking again at each write announced
   * for `stored`, until `timeout` seconds pass or `signal` aborts. A write
   * announced for exactly this key ends the wait with true at once; one
   * that names no key (a reconnection, a key too long for a payload) makes
   * it check again.
   */
  async untilStored(
    stored: string,
    timeout: number,
    signal: AbortSignal | undefined,
    present: () => Promise<boolean>,
  ): Promise<boolean> {
    await this.#listenOnce(this.#dataListening, this.#host.channels.data, (payload) => {
      if (payload) return this.wakeData(payload);
      for (const wait of this.#data.values()) wait.wakeup.notify();
    }, (l) => (this.#dataListening = l));
    let wait = this.#data.get(stored);
    if (!wait) this.#data.set(stored, wait = { wakeup: new Wakeup(), waiters: 0, writes: 0 });
    wait.waiters++;
    const deadline = performance.now() + timeout * 1000;
    const abort = AbortSignal.any([this.#host.closing, ...(signal ? [signal] : [])]);
    try {
      for (;;) {
        const writes = wait.writes;
        const woken = wait.wakeup.wait(Math.max(0, deadline - performance.now()), abort);
        if (await present()) return true;
        await woken;
        if (this.#host.closing.aborted) return false;
        if (wait.writes !== writes) return true;
        if (abort.aborted || performance.now() >= deadline) return false;
      }
    } finally {
      if (--wait.waiters === 0) this.#data.delete(stored);
    }
  }
}
