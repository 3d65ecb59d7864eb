/**
 * Consumer events between processes over NOTIFY, for PostgresStorage's
 * `publishEvent` and `subscribeEvents`: at most once, like Redis pub/sub.
 *
 * Postgres limits a NOTIFY payload to 7999 bytes. Events published close
 * together share one statement, packed into as few payloads as fit; an
 * event longer than one payload is sent in parts, in the same statement
 * (so its parts arrive together), and put together by the subscriber.
 *
 * @module
 */
import type { NotificationHandler } from "./listener.ts";

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
 * import { packEvents } from "./events.ts";
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
 * import { EventUnpacker, packEvents } from "./events.ts";
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

/** What {@link PgEventFeed} needs from its storage. */
export interface EventFeedHost {
  /** Send the NOTIFY payloads in order, in one statement. */
  notify(payloads: string[]): Promise<void>;
  /** LISTEN on the events channel with `handler`; resolves to its stop function. */
  listen(handler: NotificationHandler): Promise<() => void>;
}

/** How long an event may wait to share its NOTIFY statement with the next ones, in ms. */
const EVENT_BATCH_MS = 10;

/**
 * The events of one storage, both ways.
 *
 * @example Publish into a feed that only collects
 * ```ts
 * import { PgEventFeed } from "./events.ts";
 * const sent: string[][] = [];
 * const feed = new PgEventFeed({ notify: async (p) => void sent.push(p), listen: async () => () => {} });
 * await Promise.all([feed.publish("a"), feed.publish("b")]);
 * console.log(sent); // [["\u001ea\u001eb"]]
 * ```
 */
export class PgEventFeed {
  readonly #host: EventFeedHost;
  /** Events waiting for the next statement. */
  #batch?: { events: string[]; sent: Promise<void> };

  constructor(host: EventFeedHost) {
    this.#host = host;
  }

  /** Publish `event` with the others of the next 10 ms; resolves once they are sent. */
  publish(event: string): Promise<void> {
    if (!this.#batch) {
      const events: string[] = [];
      const sent = new Promise((resolve) => setTimeout(resolve, EVENT_BATCH_MS)).then(() => {
        this.#batch = undefined;
        return this.#host.notify(packEvents(events));
      });
      this.#batch = { events, sent };
    }
    this.#batch.events.push(event);
    return this.#batch.sent;
  }

  /** Resolves once every event handed to `publish` has been sent (or failed to). */
  async flushed(): Promise<void> {
    await this.#batch?.sent.catch(() => {});
  }

  /** Call `onEvent` for every event published on the channel until `signal` aborts. */
  async subscribe(onEvent: (event: string) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const unpacker = new EventUnpacker();
    const stop = await this.#host.listen((payload) => {
      // null: the connection came back; events sent meanwhile are lost (at most once).
      if (payload === null || signal.aborted) return;
      for (const event of unpacker.unpack(payload)) if (!signal.aborted) onEvent(event);
    });
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  }
}
