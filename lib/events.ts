/**
 * Consumer events for other parts of the program: an async iterable feed of
 * what happens to tasks (huey's event emitter).
 *
 * @module
 */
import { describeError } from "./_util.ts";
import type { Logger } from "./logger.ts";
import type { SignalName, Signals } from "./signals.ts";
import type { Storage } from "./storage/types.ts";
import type { Task } from "./task.ts";

/**
 * Events the consumer emits besides task signals: `recovered` (a message
 * whose lease ran out went back to the queue), `storage_error` (the storage
 * failed; the consumer retries), `periodic` (a periodic task was enqueued),
 * `started` and `stopped` (a consumer).
 */
export type ConsumerEventName =
  | "recovered"
  | "storage_error"
  | "periodic"
  | "started"
  | "stopped"
  | "progress";

/** One thing that happened to a task or a consumer. */
export interface HueyEvent {
  /** A signal name (`executing`, `complete`, `error`, ...) or a consumer event name. */
  signal: SignalName | ConsumerEventName;
  /** Task invocation id (empty for consumer events about no task). */
  id: string;
  /** Task name (empty for consumer events about no task). */
  name: string;
  /** When it happened, ms since the epoch. */
  time: number;
  /** For `error` and `storage_error`: the error's `name: message`. */
  error?: string;
  /** For `progress`: what the task reported with `ctx.progress(value, meta)`. */
  progress?: { value: number; meta?: unknown };
}

/** Characters `JSON.stringify` escapes in a string (quote, backslash, controls, surrogates). */
// deno-lint-ignore no-control-regex -- control characters are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)`, without the call for the usual plain text. */
function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * The JSON text of an event, as sent between processes: what
 * `JSON.stringify(event)` gives, built by hand because `JSON.stringify`
 * took about 5 µs per event on a busy producer (a twentieth of an awaited
 * Redis enqueue) against well under 1 µs for this.
 *
 * @example
 * ```ts
 * import { encodeEvent } from "./events.ts";
 * console.log(encodeEvent({ signal: "complete", id: "1", name: "add", time: 0 }));
 * // {"signal":"complete","id":"1","name":"add","time":0}
 * ```
 */
export function encodeEvent(event: HueyEvent): string {
  const { signal, id, name, time, error, progress } = event;
  const head = `{"signal":${jsonString(signal)},"id":${jsonString(id)},"name":${
    jsonString(name)
  },"time":${Number.isFinite(time) ? String(time) : "null"}`;
  // Progress is rare next to the other events, and its meta any JSON: the plain way.
  const tail = progress === undefined ? "" : `,"progress":${safeJson(progress)}`;
  return error === undefined ? head + tail + "}" : `${head},"error":${jsonString(error)}${tail}}`;
}

/** `JSON.stringify(value)`, or its value alone when its meta cannot be written as JSON. */
function safeJson(progress: { value: number; meta?: unknown }): string {
  try {
    return JSON.stringify(progress);
  } catch {
    return JSON.stringify({ value: progress.value });
  }
}

/** Options of {@link EventHub.subscribe}. */
export interface SubscribeOptions {
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
  /**
   * Events kept for a slow reader; the oldest are dropped beyond it (and
   * counted in `dropped`). @default 10000
   */
  buffer?: number;
}

/** An iterator of events that can report how many it had to drop. */
export interface EventStream extends AsyncIterableIterator<HueyEvent> {
  /** Events dropped because the reader was slower than `buffer`. */
  readonly dropped: number;
  /** Resolves once events are being received (at once for in-process feeds). */
  readonly ready: Promise<void>;
}

/**
 * Fans events out to every subscriber in this process.
 *
 * @example
 * ```ts
 * import { EventHub } from "./events.ts";
 * const hub = new EventHub();
 * const controller = new AbortController();
 * const stream = hub.subscribe({ signal: controller.signal });
 * hub.publish({ signal: "complete", id: "1", name: "add", time: Date.now() });
 * console.log((await stream.next()).value);
 * controller.abort();
 * ```
 */
export class EventHub {
  #subscribers = new Set<(event: HueyEvent) => void>();

  /** True when someone is listening. */
  get active(): boolean {
    return this.#subscribers.size > 0;
  }

  /** Deliver `event` to every subscriber. */
  publish(event: HueyEvent): void {
    for (const deliver of this.#subscribers) deliver(event);
  }

  /** A new feed of events published from now on. */
  subscribe(options: SubscribeOptions = {}): EventStream {
    const limit = options.buffer ?? 10_000;
    const queue: HueyEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let dropped = 0;
    const deliver = (event: HueyEvent) => {
      queue.push(event);
      if (queue.length > limit) {
        queue.shift();
        dropped++;
      }
      wake?.();
    };
    const finish = () => {
      done = true;
      this.#subscribers.delete(deliver);
      wake?.();
    };
    this.#subscribers.add(deliver);
    options.signal?.addEventListener("abort", finish, { once: true });
    if (options.signal?.aborted) finish();
    const stream: EventStream = {
      get dropped() {
        return dropped;
      },
      ready: Promise.resolve(),
      async next(): Promise<IteratorResult<HueyEvent>> {
        while (queue.length === 0 && !done) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        const event = queue.shift();
        return event ? { value: event, done: false } : { value: undefined, done: true };
      },
      return(): Promise<IteratorResult<HueyEvent>> {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return stream;
      },
    };
    return stream;
  }
}

/** What an {@link EventFeed} needs from its Huey. */
export interface EventFeedHost {
  /** The storage in use: its pub/sub (Redis) carries events between processes. */
  readonly storage: Storage;
  /** Where failures to publish are logged. */
  readonly logger: Logger;
  /** The current time, ms since the epoch. */
  now(): number;
}

/**
 * A Huey's events: published through the storage's pub/sub where it has
 * one (every process sees them), in this process otherwise; and the signals
 * that fire with them.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * import { EventFeed } from "./events.ts";
 * import { Signals } from "./signals.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * const feed = new EventFeed({ storage: new MemoryStorage(), logger: createLogger(), now: Date.now }, new Signals());
 * const controller = new AbortController();
 * const stream = feed.subscribe({ signal: controller.signal });
 * feed.publish({ signal: "started", id: "", name: "", time: Date.now() });
 * console.log((await stream.next()).value?.signal); // "started"
 * controller.abort();
 * ```
 */
export class EventFeed {
  readonly #host: EventFeedHost;
  readonly #signals: Signals;
  readonly #enabled: boolean;
  readonly #local = new EventHub();
  #lastSend?: Promise<void>;

  /** `enabled: false` drops every event (the Huey's `events: false`); signals still fire. */
  constructor(host: EventFeedHost, signals: Signals, enabled = true) {
    this.#host = host;
    this.#signals = signals;
    this.#enabled = enabled;
  }

  /** Publish a consumer event (lease recovered, storage error, ...) to every subscriber. */
  publish(event: HueyEvent): void {
    if (!this.#enabled) return;
    const storage = this.#host.storage;
    if (!storage.publishEvent) {
      if (this.#local.active) this.#local.publish(event);
      return;
    }
    // Fire and forget: an event must never slow down or fail a task. Events
    // batched into one send share its promise: one handler per batch.
    const failed = (error: unknown) => {
      this.#host.logger.debug(`Cannot publish event: ${(error as Error).message}`);
    };
    try {
      const sent = storage.publishEvent(encodeEvent(event));
      if (sent !== this.#lastSend) {
        this.#lastSend = sent;
        sent.catch(failed);
      }
    } catch (error) {
      failed(error);
    }
  }

  /**
   * Publish the event and call the signal's handlers. Not async: without
   * handlers (the common case) it returns nothing, and a caller on a hot
   * path skips the await.
   */
  emit(name: SignalName, task: Task, error?: unknown): Promise<void> | undefined {
    this.publish({
      signal: name,
      id: task.id,
      name: task.name,
      time: this.#host.now(),
      error: error === undefined ? undefined : describeError(error),
    });
    if (!this.#signals.has(name)) return undefined;
    return this.#signals.send(name, task, error, (handlerError) => {
      this.#host.logger.error(`Signal handler for ${name} failed`, handlerError);
    });
  }

  /**
   * A feed of events: of every process on storages with pub/sub (from when
   * `stream.ready` resolves), of this process on the others.
   */
  subscribe(options: SubscribeOptions = {}): EventStream {
    const { storage, logger } = this.#host;
    if (!storage.subscribeEvents) return this.#local.subscribe(options);
    const hub = new EventHub();
    const controller = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([options.signal, controller.signal])
      : controller.signal;
    const stream = hub.subscribe({ ...options, signal });
    const ready = storage.subscribeEvents((data) => {
      try {
        hub.publish(JSON.parse(data) as HueyEvent);
      } catch {
        logger.warn(`Ignoring a malformed event: ${data.slice(0, 200)}`);
      }
    }, signal);
    const close = stream.return!.bind(stream);
    return Object.assign(stream, {
      ready,
      return: () => {
        controller.abort();
        return close();
      },
    });
  }
}
