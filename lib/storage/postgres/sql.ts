/**
 * Every SQL statement PostgresStorage sends, each with its contract
 * (parameters in, rows out), and the text form of the strings it stores.
 *
 * Every statement is one round trip and atomic on its own (a statement is
 * its own transaction unless the caller's transaction holds it); none needs
 * a transaction around it. Every parameter is cast in the statement, so the
 * server never has to guess a type and any client (postgres.js, or `pg`
 * inside an application's transaction) sends the same thing. Rows come back
 * as postgres.js gives them: `bigint` as strings, `double precision` and
 * `integer` as numbers.
 *
 * `$1` is the Huey name (but in `publish`); channel and sequence names are
 * parameters too, so no name is ever spliced into a string literal. Times
 * are ms since the epoch.
 *
 * @module
 */
import type { PostgresNames } from "./names.ts";

/**
 * The server's time in ms since the epoch: leases are measured on it, not
 * on the callers' clocks, so consumers on hosts whose clocks disagree still
 * agree on when a lease ends (as Redis's `TIME`).
 */
const SERVER_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::float8";

/** Most scheduled messages one readSchedule statement moves; the storage repeats it while full. */
export const SCHEDULE_BATCH = 1000;

/** The largest NOTIFY payload Postgres takes is 7999 bytes; keys past this wake every waiter. */
const MAX_KEY_PAYLOAD = 7999;

/**
 * A payload for the data channel: the key, or `''` (read by the listener as
 * "some key was written: check again") when the key is too long for one.
 */
const keyPayload = (param: string) =>
  `CASE WHEN octet_length(${param}) <= ${MAX_KEY_PAYLOAD} THEN ${param} ELSE '' END`;

/**
 * The statements for one set of tables and one Huey name's channels.
 *
 * @example The enqueue statement for the default tables
 * ```ts
 * import { PostgresNames } from "./names.ts";
 * import { statements } from "./sql.ts";
 * const sql = statements(new PostgresNames("app", "huey_"));
 * console.log(sql.enqueue.startsWith("WITH")); // true
 * ```
 */
export function statements(n: PostgresNames) {
  const { queue: q, schedule: s, kv, errors: e, counters: c, records: rec } = n;
  /*
   * The statements run as prepared, generic plans (client.ts), so none may
   * lean on the value of a parameter for a good plan: rows are found again
   * by `id = ANY(<array>)` (an index scan whatever the array holds), never
   * by a join the planner could hash over the whole table.
   */
  /**
   * Lease the next `limit` waiting messages (locked: other takers skip them
   * instead of waiting) under receipt token `token`, each for `leaseMs` ms
   * (an expression of `picked.ids` and the row): the CTEs `next`, `picked`
   * and the UPDATE that returns `n` (1-based, queue order), `id`,
   * `deliveries`, `data`.
   */
  const leaseNext = (limit: string, token: string, leaseMs: string) => ({
    ctes: `next AS (SELECT id, priority FROM ${q} WHERE name = $1 AND receipt IS NULL
        ORDER BY priority DESC, id LIMIT ${limit}::int FOR UPDATE SKIP LOCKED),
      picked AS (SELECT array_agg(id ORDER BY priority DESC, id) AS ids FROM next)`,
    update: `UPDATE ${q} SET receipt = ${token}::text,
      lease_until = ${SERVER_MS} + ${leaseMs},
      deliveries = ${q}.deliveries + 1
    FROM picked WHERE ${q}.id = ANY(picked.ids)
    RETURNING array_position(picked.ids, ${q}.id) AS n, ${q}.id, ${q}.deliveries, ${q}.data`,
  });
  /** The n-th taken row in queue order gets the n-th lease duration (ms) of `$4`. */
  const takeNext = leaseNext("$2", "$3", `($4::float8[])[array_position(picked.ids, ${q}.id)]`);
  const take = `WITH ${takeNext.ctes} ${takeNext.update}`;
  /** Fenced store-and-acknowledge of the leases in `$2`..`$5` (see `finish`): CTEs `req`, `acked`, `stored`. */
  const finishCtes = `req AS (
        SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
          WITH ORDINALITY AS r(id, token, key, value, n)),
      acked AS (DELETE FROM ${q} USING req
        WHERE ${q}.id = req.id AND ${q}.name = $1 AND ${q}.receipt = req.token
        RETURNING req.n, req.key, req.value),
      stored AS (INSERT INTO ${kv} (name, key, value)
        SELECT DISTINCT ON (key) $1, key, value FROM acked ORDER BY key, n DESC
        ON CONFLICT (name, key) DO UPDATE SET value = excluded.value)`;
  /** `finish`'s and then (after a finish) the next dequeues' messages: one lease of `$9` ms each. */
  const aheadNext = leaseNext("$7", "$8", "$9::float8");
  return {
    /**
     * `$2` priority, `$3` data, `$4` the queue channel, notified (on commit)
     * for blocked dequeues. One row.
     */
    enqueue: `WITH added AS (INSERT INTO ${q} (name, priority, data) VALUES ($1, $2::float8, $3))
      SELECT pg_notify($4::text, '')`,
    /** `$2` float8[] priorities, `$3` text[] data, inserted in array order; `$4` as enqueue's. */
    enqueueMany: `WITH added AS (INSERT INTO ${q} (name, priority, data)
        SELECT $1, p, d FROM unnest($2::float8[], $3::text[]) WITH ORDINALITY AS t(p, d, i)
        ORDER BY i)
      SELECT pg_notify($4::text, '')`,
    /**
     * Lease up to `$2` messages under receipt token `$3`, `$4` float8[] the
     * lease durations in ms, in request order, from the server's time. Rows `n` (1-based request), `id`,
     * `deliveries` (this one included), `data`; none when the queue is empty.
     */
    take,
    /** As `take`, each row also with `peeked`: the value under key `$5`, or NULL. */
    takeAndPeek: `${take},
      (SELECT value FROM ${kv} WHERE ${kv}.name = $1 AND ${kv}.key = $5) AS peeked`,
    /** `$2` id, `$3` receipt token. One row if the lease was this one (and is now gone). */
    ack: `DELETE FROM ${q} WHERE id = $2::bigint AND name = $1 AND receipt = $3 RETURNING 1`,
    /**
     * Fenced store-and-acknowledge of many leases: `$2` bigint[] ids, `$3`
     * text[] tokens, `$4` text[] keys, `$5` text[] values. Only the rows whose
     * lease is still theirs are acknowledged, and only their values stored
     * (the last one per key when a key repeats); a row `n` (1-based request)
     * for each. Notifies the data channel `$6` with each stored key.
     */
    finish: `WITH ${finishCtes}
      SELECT n, pg_notify($6::text, ${keyPayload("key")}) FROM acked`,
    /**
     * `finish` (`$2`..`$6`), and in the same statement the lease of up to
     * `$7` more messages under token `$8`, each for `$9` ms from the
     * server's time, for the dequeues that follow these finishes (so a
     * consumer's worker pays one round trip per task, not two). Rows: one
     * per acknowledged lease (`n` its 1-based request, `id` NULL), then one
     * per taken message (`n` 1-based in queue order, `id`, `deliveries`,
     * `data`, `peeked`: the value under key `$10`, or NULL).
     */
    finishAndTake: `WITH ${finishCtes}, ${aheadNext.ctes},
      taken AS (${aheadNext.update})
      SELECT n, NULL::bigint AS id, NULL::integer AS deliveries, NULL::text AS data,
        NULL::text AS peeked, pg_notify($6::text, ${keyPayload("key")})::text AS notified
      FROM acked
      UNION ALL
      SELECT n, id, deliveries, data,
        (SELECT value FROM ${kv} WHERE ${kv}.name = $1 AND ${kv}.key = $10::text), NULL
      FROM taken`,
    /**
     * Give back leases taken ahead that no dequeue came for: `$2` bigint[]
     * ids, `$3` text[] their tokens. Each goes back to its place in the
     * queue (its id is kept) with its delivery uncounted, if the lease is
     * still that one; notifies the queue channel `$4`. A row for each.
     */
    release: `UPDATE ${q} SET receipt = NULL, lease_until = NULL,
        deliveries = greatest(${q}.deliveries - 1, 0)
      WHERE ${q}.id = ANY($2::bigint[]) AND ${q}.name = $1
        AND ${q}.receipt = ($3::text[])[array_position($2::bigint[], ${q}.id)]
      RETURNING pg_notify($4::text, '')`,
    /**
     * `$2` data. Rows `id`, `receipt` (the token), `deliveries` of the
     * leases holding that message now (a scan of the leased rows: for logs).
     */
    currentLease: `SELECT id, receipt, deliveries FROM ${q}
      WHERE name = $1 AND receipt IS NOT NULL AND data = $2 ORDER BY lease_until DESC LIMIT 1`,
    /**
     * `$2` id, `$3` token, `$4` ms from the server's time to the new lease
     * end (0: it ends now). One row if the lease was still this one.
     */
    extendLease: `UPDATE ${q} SET lease_until = ${SERVER_MS} + $4::float8
      WHERE id = $2::bigint AND name = $1 AND receipt = $3 RETURNING 1`,
    /**
     * Put every message whose lease ended by the server's time back, ahead
     * of the queue: the latest first, each taking the next (lower) id of the
     * front sequence `$2`, so they keep their order; notifies the queue
     * channel `$3`. Rows `id` (the new one: ascending is the
     * original order) and `data`. Locked rows (a concurrent recovery, ack
     * or extension) are skipped: each message comes back once.
     */
    recover: `WITH expired AS (
        SELECT id FROM ${q} WHERE name = $1 AND receipt IS NOT NULL AND lease_until <= ${SERVER_MS}
        ORDER BY id DESC FOR UPDATE SKIP LOCKED),
      numbered AS (SELECT id, nextval($2::text::regclass) AS front FROM expired),
      moved AS (SELECT array_agg(id) AS ids, array_agg(front) AS fronts FROM numbered)
      UPDATE ${q} SET id = moved.fronts[array_position(moved.ids, ${q}.id)],
        receipt = NULL, lease_until = NULL
      FROM moved WHERE ${q}.id = ANY(moved.ids)
      RETURNING ${q}.id, ${q}.data, pg_notify($3::text, '')`,
    /** One row `n`: waiting messages. */
    queueSize: `SELECT count(*)::int AS n FROM ${q} WHERE name = $1 AND receipt IS NULL`,
    /** `$2` limit (NULL: all). Rows `data` in dequeue order. */
    enqueuedItems: `SELECT data FROM ${q} WHERE name = $1 AND receipt IS NULL
      ORDER BY priority DESC, id LIMIT $2::bigint`,
    /** One row `n`: leased messages. */
    leasedSize: `SELECT count(*)::int AS n FROM ${q} WHERE name = $1 AND receipt IS NOT NULL`,
    /** `$2` limit (NULL: all). Rows `data` of the leased messages, in queue order. */
    leasedItems: `SELECT data FROM ${q} WHERE name = $1 AND receipt IS NOT NULL
      ORDER BY id LIMIT $2::bigint`,
    /** Remove waiting and leased messages. No rows. */
    flushQueue: `DELETE FROM ${q} WHERE name = $1`,

    /** `$2` eta, `$3` data. No rows. */
    addToSchedule: `INSERT INTO ${s} (name, eta, data) VALUES ($1, $2::float8, $3)`,
    /**
     * Remove up to {@link SCHEDULE_BATCH} messages due at `$2`, the earliest.
     * Rows `eta`, `id`, `data`, in no order; rows another reader holds are
     * skipped (it returns them). The constant limit keeps the plan on the
     * `(name, eta, id)` index.
     */
    readSchedule: `DELETE FROM ${s} WHERE id = ANY(ARRAY(
        SELECT id FROM ${s} WHERE name = $1 AND eta <= $2::float8
        ORDER BY eta, id LIMIT ${SCHEDULE_BATCH} FOR UPDATE SKIP LOCKED))
      RETURNING eta, id, data`,
    /** One row `n`. */
    scheduleSize: `SELECT count(*)::int AS n FROM ${s} WHERE name = $1`,
    /** `$2` limit (NULL: all). Rows `data`, earliest first. */
    scheduledItems: `SELECT data FROM ${s} WHERE name = $1 ORDER BY eta, id LIMIT $2::bigint`,
    /** No rows. */
    flushSchedule: `DELETE FROM ${s} WHERE name = $1`,

    /** `$2` key, `$3` value, `$4` the data channel. Notifies it with the key. One row. */
    putData: `WITH stored AS (INSERT INTO ${kv} (name, key, value) VALUES ($1, $2, $3)
        ON CONFLICT (name, key) DO UPDATE SET value = excluded.value)
      SELECT pg_notify($4::text, ${keyPayload("$2")})`,
    /** `$2` key. One row `value`, or none. */
    peekData: `SELECT value FROM ${kv} WHERE name = $1 AND key = $2`,
    /** `$2` key. The removed row's `value`, or none. */
    popData: `DELETE FROM ${kv} WHERE name = $1 AND key = $2 RETURNING value`,
    /** `$2` key. One row if stored. */
    hasData: `SELECT 1 FROM ${kv} WHERE name = $1 AND key = $2`,
    /** `$2` key, `$3` value, `$4` the data channel. One row (and a notification) if stored. */
    putIfEmpty: `WITH stored AS (INSERT INTO ${kv} (name, key, value) VALUES ($1, $2, $3)
        ON CONFLICT (name, key) DO NOTHING RETURNING key)
      SELECT pg_notify($4::text, ${keyPayload("key")}) FROM stored`,
    /** `$2` key. One row if it existed. */
    deleteData: `DELETE FROM ${kv} WHERE name = $1 AND key = $2 RETURNING 1`,
    /** One row `n`. */
    resultStoreSize: `SELECT count(*)::int AS n FROM ${kv} WHERE name = $1`,
    /** Rows `key`, `value`. */
    resultItems: `SELECT key, value FROM ${kv} WHERE name = $1`,
    /** No rows. */
    flushResults: `DELETE FROM ${kv} WHERE name = $1`,

    /** `$2` data, `$3` reason, `$4` time, `$5` info (or NULL). No rows. */
    putError: `INSERT INTO ${e} (name, data, reason, time, info)
      VALUES ($1, $2, $3, $4::float8, $5)`,
    /** `$2` limit (NULL: all). Rows `id`, `data`, `reason`, `time`, `info`, oldest first. */
    errorItems: `SELECT id::text AS id, data, reason, time, info FROM ${e}
      WHERE name = $1 ORDER BY id LIMIT $2::bigint`,
    /** `$2` the id (text of digits). Rows: the deleted one. */
    deleteError: `DELETE FROM ${e} WHERE name = $1 AND id = $2::bigint RETURNING id`,
    /**
     * `$2` the id, `$3` priority, `$4` the queue's channel: the kept row is
     * deleted and its message inserted as a new one, in one statement (both
     * or neither). Rows: one per message requeued.
     */
    requeueError:
      `WITH gone AS (DELETE FROM ${e} WHERE name = $1 AND id = $2::bigint RETURNING data),
      added AS (INSERT INTO ${q} (name, priority, data) SELECT $1, $3::float8, data FROM gone
        RETURNING id)
      SELECT pg_notify($4::text, '') FROM added`,
    /** No rows. */
    flushErrors: `DELETE FROM ${e} WHERE name = $1`,

    /**
     * Add `$3` (bigint) to the counter `$2`; `$4` its ttl in ms when this
     * creates it (NULL: no expiry), from the server's time. An expired
     * counter counts as missing: it is made anew. One row `value`, the new
     * value. Concurrent upserts of one key wait for each other's row lock,
     * so none is lost.
     */
    incr: `INSERT INTO ${c} AS c (name, key, value, expires_at)
      VALUES ($1, $2, $3::bigint, ${SERVER_MS} + $4::float8)
      ON CONFLICT (name, key) DO UPDATE SET
        value = CASE WHEN c.expires_at <= ${SERVER_MS} THEN excluded.value
          ELSE c.value + excluded.value END,
        expires_at = CASE WHEN c.expires_at <= ${SERVER_MS} THEN excluded.expires_at
          ELSE c.expires_at END
      RETURNING value`,
    /** `$2` key. One row `value` if the counter is there and not expired. */
    readCounter: `SELECT value FROM ${c} WHERE name = $1 AND key = $2
      AND (expires_at IS NULL OR expires_at > ${SERVER_MS})`,
    /** Remove this name's expired counters (by the partial index). No rows. */
    sweepCounters: `DELETE FROM ${c} WHERE name = $1 AND expires_at <= ${SERVER_MS}`,
    /** `$2` key. One row if it existed. */
    deleteCounter: `DELETE FROM ${c} WHERE name = $1 AND key = $2 RETURNING 1`,
    /** No rows. */
    flushCounters: `DELETE FROM ${c} WHERE name = $1`,

    /** `$2` key, `$3` value, `$4` ttl in ms from the server's time. No rows. */
    putRecord: `INSERT INTO ${rec} (name, key, value, expires_at)
      VALUES ($1, $2, $3, ${SERVER_MS} + $4::float8)
      ON CONFLICT (name, key) DO UPDATE SET
        value = excluded.value, expires_at = excluded.expires_at`,
    /** `$2` key. One row `value` if the record is there and not expired. */
    getRecord: `SELECT value FROM ${rec}
      WHERE name = $1 AND key = $2 AND expires_at > ${SERVER_MS}`,
    /** `$2` prefix, `$3` limit (NULL: all). Rows `key`, `value`, by key in byte order. */
    recordItems: `SELECT key, value FROM ${rec}
      WHERE name = $1 AND left(key, length($2::text)) = $2::text AND expires_at > ${SERVER_MS}
      ORDER BY key COLLATE "C" LIMIT $3::bigint`,
    /** Remove this name's expired records. No rows. */
    sweepRecords: `DELETE FROM ${rec} WHERE name = $1 AND expires_at <= ${SERVER_MS}`,
    /** `$2` key. One row if it existed. */
    deleteRecord: `DELETE FROM ${rec} WHERE name = $1 AND key = $2 RETURNING 1`,
    /** No rows. */
    flushRecords: `DELETE FROM ${rec} WHERE name = $1`,

    /** `$1` a channel, `$2` text[] payloads, notified in array order (no Huey name). */
    publish: `SELECT pg_notify($1::text, p) FROM unnest($2::text[]) AS t(p)`,
    /** Everything of this Huey name, in one statement (so at once). No rows. */
    flushAll:
      `WITH a AS (DELETE FROM ${q} WHERE name = $1), b AS (DELETE FROM ${s} WHERE name = $1),
      c AS (DELETE FROM ${kv} WHERE name = $1), d AS (DELETE FROM ${e} WHERE name = $1),
      f AS (DELETE FROM ${c} WHERE name = $1), g AS (DELETE FROM ${rec} WHERE name = $1)
      SELECT 1`,
  } as const;
}

/**
 * The parameters of the enqueue statement: the Huey name, the priority, the
 * message (as a column) and the channel to notify.
 *
 * @example
 * ```ts
 * import { PostgresNames } from "./names.ts";
 * import { enqueueParams } from "./sql.ts";
 * console.log(enqueueParams("app", new PostgresNames("app", "huey_"), "m", 0).length); // 4
 * ```
 */
export function enqueueParams(
  name: string,
  names: PostgresNames,
  data: string,
  priority: number,
): unknown[] {
  return [name, priority, toColumn(data), names.queueChannel];
}

/** The statements of one storage. */
export type Statements = ReturnType<typeof statements>;

/*
 * Text columns cannot hold NUL, and the contract stores any string. So NUL
 * is written as U+0001 "0" and U+0001 itself as U+0001 "1": every other
 * string (all that huey's serializer writes) is stored as it is, readable
 * in psql.
 */
// deno-lint-ignore no-control-regex -- NUL and U+0001 are exactly what is escaped
const NEEDS_ESCAPE = /[\u0000\u0001]/;
// deno-lint-ignore no-control-regex -- as above
const ESCAPED = /[\u0000\u0001]/g;
// deno-lint-ignore no-control-regex -- as above
const UNESCAPE = /\u0001([01])/g;

/**
 * `text` as it is stored: NUL and U+0001 escaped.
 *
 * @example
 * ```ts
 * import { fromColumn, toColumn } from "./sql.ts";
 * console.log(fromColumn(toColumn("a\u0000b")) === "a\u0000b"); // true
 * ```
 */
export function toColumn(text: string): string {
  return NEEDS_ESCAPE.test(text)
    ? text.replace(ESCAPED, (c) => c === "\u0000" ? "\u00010" : "\u00011")
    : text;
}

/** A stored text column back as the string that was stored ({@link toColumn} undone). */
export function fromColumn(value: unknown): string {
  const text = value as string;
  return text.includes("\u0001")
    ? text.replace(UNESCAPE, (_, d) => d === "0" ? "\u0000" : "\u0001")
    : text;
}

/**
 * A receipt is `<row id>.<token>`: acknowledging finds the row by its
 * primary key, and the token proves the lease is still this one.
 */
export function parseReceipt(receipt: string): { id: string; token: string } | undefined {
  const dot = typeof receipt === "string" ? receipt.indexOf(".") : -1;
  const id = receipt.slice(0, Math.max(dot, 0));
  if (dot <= 0 || !/^-?\d{1,19}$/.test(id)) return undefined;
  return { id, token: receipt.slice(dot + 1) };
}
