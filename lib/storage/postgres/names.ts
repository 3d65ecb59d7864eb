/**
 * The names one PostgresStorage uses in its database: tables, indexes and
 * sequences (a prefix, optionally in a schema, each quoted as an
 * identifier) and LISTEN/NOTIFY channels (one set per Huey name).
 *
 * Postgres cuts identifiers longer than 63 bytes without a word, so two long
 * names could end up the same: a prefix that would make a table name longer
 * is refused, and a channel name that would be longer ends in a hash of the
 * Huey name instead.
 *
 * Objects for the default prefix `huey_`:
 *
 * | object | holds |
 * |---|---|
 * | `huey_schema` | one row: the schema version (schema.ts) |
 * | `huey_queue` | waiting and leased messages of every Huey name |
 * | `huey_queue_front` | the descending sequence that puts recovered messages first |
 * | `huey_schedule` | scheduled messages |
 * | `huey_kv` | results, revocations, locks and user key/values |
 * | `huey_errors` | messages that could not be run |
 * | `huey_counters` | counters (`incr`), apart from the result store (schema version 2) |
 * | `huey_records` | records (`putRecord`: task status, progress, consumers), expiring (schema version 3) |
 *
 * Channels for the Huey name `app`: `huey_q.app` (an enqueue or a recovery:
 * wakes blocked dequeues), `huey_d.app` (a write to the result store; the
 * payload is the key), `huey_e.app` (consumer events).
 *
 * @module
 */
import { ConfigurationError } from "../../errors.ts";

/** Longest identifier (table, index, channel) Postgres keeps whole, in bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** The longest name suffix below (an index's). */
const LONGEST_SUFFIX = "queue_waiting".length;

const encoder = new TextEncoder();

function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/**
 * `name` as a quoted SQL identifier: in double quotes, with each double quote
 * doubled, so any name is safe to put in a statement.
 *
 * @example
 * ```ts
 * import { quoteIdentifier } from "./names.ts";
 * console.log(quoteIdentifier('my "app"_queue')); // "my ""app""_queue"
 * ```
 */
export function quoteIdentifier(name: string): string {
  if (name === "" || name.includes("\u0000")) {
    throw new ConfigurationError(
      `Cannot use ${
        JSON.stringify(name)
      } as a Postgres identifier: it must be non-empty, without NUL`,
    );
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** A 53-bit hash of `text` in base 36 (cyrb53): short, stable channel names for long app names. */
function shortHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * `<prefix><kind>.<name>`, or `<prefix><kind>#<hash of the name>` when that
 * passes 63 bytes (at most 50 + 1 + 1 + 11).
 */
function channelName(prefix: string, kind: string, name: string): string {
  const plain = `${prefix}${kind}.${name}`;
  if (byteLength(plain) <= MAX_IDENTIFIER_BYTES) return plain;
  return `${prefix}${kind}#${shortHash(name)}`;
}

/**
 * The table and channel names of one PostgresStorage.
 *
 * @example The names for the app "app" with the default prefix
 * ```ts
 * import { PostgresNames } from "./names.ts";
 * const names = new PostgresNames("app", "huey_");
 * console.log(names.queue); // "huey_queue"
 * console.log(names.queueChannel); // huey_q.app
 * ```
 */
export class PostgresNames {
  /** The schema version table. */
  readonly meta: string;
  /** Waiting and leased messages. */
  readonly queue: string;
  /** The descending sequence that gives recovered messages the front of the queue. */
  readonly front: string;
  /** Scheduled messages. */
  readonly schedule: string;
  /** The result store. */
  readonly kv: string;
  /** The error store. */
  readonly errors: string;
  /** Counters. */
  readonly counters: string;
  /** Records (task status, progress, consumer heartbeats). */
  readonly records: string;
  /** What an index or constraint name is built from: `name("queue_waiting")`. */
  readonly index: (suffix: string) => string;
  /** Notified by every enqueue and recovery of this Huey name. */
  readonly queueChannel: string;
  /** Notified by every write to this Huey name's result store; the payload is the key. */
  readonly dataChannel: string;
  /** Carries this Huey name's consumer events. */
  readonly eventsChannel: string;
  /** The channel of cancelled task ids (`huey.cancel()`). */
  readonly cancelChannel: string;
  /** The tables as a person would write them, for messages (`public.huey_queue`). */
  readonly where: string;

  /**
   * Names for the Huey name `name`, tables named `<prefix><what>` in
   * `schema` (the connection's search path when unset). Throws a
   * ConfigurationError for an empty name or schema, or a prefix Postgres
   * would cut short.
   */
  constructor(name: string, prefix: string, schema?: string) {
    if (typeof name !== "string" || name === "" || name.includes("\u0000")) {
      throw new ConfigurationError(
        `Cannot create PostgresStorage: name must be a non-empty string without NUL: ${
          JSON.stringify(name)
        }`,
      );
    }
    if (typeof prefix !== "string" || prefix.includes("\u0000")) {
      throw new ConfigurationError(`Cannot use the table prefix ${JSON.stringify(prefix)}`);
    }
    if (byteLength(prefix) + LONGEST_SUFFIX > MAX_IDENTIFIER_BYTES) {
      throw new ConfigurationError(
        `Cannot use the table prefix ${
          JSON.stringify(prefix)
        }: Postgres keeps ${MAX_IDENTIFIER_BYTES} bytes of a name, and the prefix may have at most ${
          MAX_IDENTIFIER_BYTES - LONGEST_SUFFIX
        }`,
      );
    }
    if (schema !== undefined && (typeof schema !== "string" || schema === "")) {
      throw new ConfigurationError(
        `Cannot use the schema ${JSON.stringify(schema)}: expected a non-empty string`,
      );
    }
    const qualify = (what: string) => {
      const table = quoteIdentifier(prefix + what);
      return schema === undefined ? table : `${quoteIdentifier(schema)}.${table}`;
    };
    this.meta = qualify("schema");
    this.queue = qualify("queue");
    this.front = qualify("queue_front");
    this.schedule = qualify("schedule");
    this.kv = qualify("kv");
    this.errors = qualify("errors");
    this.counters = qualify("counters");
    this.records = qualify("records");
    // Index names live in the table's schema; CREATE INDEX takes them unqualified.
    this.index = (suffix) => quoteIdentifier(prefix + suffix);
    this.queueChannel = channelName(prefix, "q", name);
    this.dataChannel = channelName(prefix, "d", name);
    this.eventsChannel = channelName(prefix, "e", name);
    this.cancelChannel = channelName(prefix, "c", name);
    this.where = `${schema === undefined ? "" : `${schema}.`}${prefix}*`;
  }
}
