/**
 * LISTEN/NOTIFY for PostgresStorage: one dedicated connection per storage
 * that LISTENs on the channels someone waits on (names.ts), hands each
 * notification to the handlers of its channel, and comes back by itself
 * after the connection drops (a server restart): it LISTENs again, backing
 * off up to a second between tries, and then calls every handler with
 * `null`, since notifications sent while it was away are lost and the
 * waiters must look for themselves.
 *
 * Also the framing of consumer events in NOTIFY payloads, which Postgres
 * limits to 7999 bytes: events that fit go together, one payload per
 * batch; a longer event is split over several notifications of the same
 * statement and put together again by the listener.
 *
 * @module
 */
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

/** Largest NOTIFY payload, in bytes (Postgres refuses 8000 and more). */
export const MAX_PAYLOAD_BYTES = 7999;

/** Starts a payload of several events, and separates them (ASCII record separator). */
const SEPARATOR = "\u001e";
/** Starts one part of an event too long for one payload (ASCII unit separator). */
const PART = "\u001f";
/** UTF-16 code units per part: at most 3 bytes each, with room for the part header. */
const PART_UNITS = Math.floor((MAX_PAYLOAD_BYTES - 64) / 3);

const encoder = new TextEncoder();

/**
 * The NOTIFY payloads that carry `events`, in order: events that fit share
 * a payload (`\u001e` before each); an event longer than one payload is
 * sent in parts, `\u001f<id> <i>/<n> ` before each, where `id` is random.
 *
 * @example
 * ```ts
 * import { packEvents } from "./listener.ts";
 * console.log(packEvents(['{"a":1}', '{"b":2}'])); // ["\u001e{\"a\":1}\u001e{\"b\":2}"]
 * ```
 */
export function packEvents(events: readonly string[]): string[] {
  const payloads: string[] = [];
  let group: string[] = [];
  let size = 0;
  const flush = () => {
    if (group.length > 1) payloads.push(SEPARATOR + group.join(SEPARATOR));
    else if (group.length === 1) payloads.push(group[0]);
    group = [];
    size = 0;
  };
  for (const event of events) {
    const bytes = encoder.encode(event).length;
    if (bytes > MAX_PAYLOAD_BYTES || event.startsWith(SEPARATOR) || event.startsWith(PART)) {
      // Too long, or it would read as framing: in parts (the parts carry any text).
      flush();
      payloads.push(...splitEvent(event));
    } else if (event.includes(SEPARATOR)) {
      // It cannot share a payload, but alone it arrives whole.
      flush();
      payloads.push(event);
    } else {
      if (size + bytes + 1 > MAX_PAYLOAD_BYTES) flush();
      group.push(event);
      size += bytes + 1;
    }
  }
  flush();
  return payloads;
}

/** `event` in parts that each fit one payload, never splitting a surrogate pair. */
function splitEvent(event: string): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < event.length;) {
    let end = Math.min(event.length, start + PART_UNITS);
    const last = event.charCodeAt(end - 1);
    if (end < event.length && last >= 0xd800 && last <= 0xdbff) end--;
    chunks.push(event.slice(start, end));
    start = end;
  }
  const id = crypto.randomUUID().slice(0, 8);
  return chunks.map((chunk, i) => `${PART}${id} ${i + 1}/${chunks.length} ${chunk}`);
}

/**
 * Turns NOTIFY payloads back into events (see {@link packEvents}). Parts of
 * a long event are kept until the last arrives; at most a few unfinished
 * ones are kept (parts of one event arrive together, from one statement).
 *
 * @example
 * ```ts
 * import { EventUnpacker, packEvents } from "./listener.ts";
 * const unpacker = new EventUnpacker();
 * const events = packEvents(["x".repeat(20_000)]).flatMap((p) => unpacker.unpack(p));
 * console.log(events[0].length); // 20000
 * ```
 */
export class EventUnpacker {
  readonly #parts = new Map<string, string[]>();

  /** The events `payload` completes (none, one or several). */
  unpack(payload: string): string[] {
    if (payload.startsWith(SEPARATOR)) return payload.slice(1).split(SEPARATOR);
    if (!payload.startsWith(PART)) return [payload];
    const match = /^(\S+) (\d+)\/(\d+) /.exec(payload.slice(PART.length));
    if (!match) return [payload];
    const [head, id, index, count] = match;
    const parts = this.#parts.get(id) ?? [];
    parts[Number(index) - 1] = payload.slice(PART.length + head.length);
    this.#parts.set(id, parts);
    if (this.#parts.size > 16) this.#parts.delete(this.#parts.keys().next().value!);
    if (Number(index) !== Number(count)) return [];
    this.#parts.delete(id);
    return parts.length === Number(count) && !parts.includes(undefined as never)
      ? [parts.join("")]
      : [];
  }
}
