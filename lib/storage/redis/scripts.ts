/**
 * Every Lua script of the Redis storages. Each does in one atomic step what
 * would otherwise take several commands that other consumers could
 * interleave with.
 *
 * Every key a script touches is passed in KEYS (Redis Cluster requires it),
 * and every key shares the `{name}` hash tag (keys.ts).
 *
 * Leases are measured on the server's clock (`TIME`), never on a
 * consumer's: a lease ends at the server's time of the take (or extension)
 * plus its duration, and recovery puts back what ended by the server's time
 * of the recovery. Consumers whose clocks disagree then still agree on
 * when a lease ends. (Scripts may call `TIME` before writing since Redis
 * 5, which replicates a script's effects rather than the script.) Sorted-set members
 * of the priority queue and the schedule start with a zero-padded sequence
 * number of {@link SEQ_WIDTH} digits (from the `seq` key), so that equal
 * scores keep the order they came in.
 *
 * @module
 */
import { defineScript } from "./connection.ts";
import type { RedisScript } from "./connection.ts";

/**
 * Width of the zero-padded sequence number that prefixes sorted-set members.
 *
 * @example Strip the prefix from a member
 * ```ts
 * import { SEQ_WIDTH } from "./scripts.ts";
 * console.log("0000000000000001message".slice(SEQ_WIDTH)); // "message"
 * ```
 */
export const SEQ_WIDTH = 16;

/**
 * Add messages to the priority queue, each after those of its score that
 * came before it, and fill the wake list.
 *
 * - KEYS: queue (sorted set), seq, wake.
 * - ARGV: score, message, score, message, ...
 * - Reply: the number of messages added.
 *
 * @example Enqueue two messages of priority 0
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { ENQUEUE_PRIORITY } from "./scripts.ts";
 * const keys = ["queue", "seq", "wake"].map((k) => `huey.{app}.${k}`);
 * const push = (redis: RedisConnection) => redis.run(ENQUEUE_PRIORITY, keys, ["-0", "a", "-0", "b"]);
 * ```
 */
export const ENQUEUE_PRIORITY: RedisScript = defineScript(`
local n = #ARGV / 2
local last = redis.call('INCRBY', KEYS[2], n)
for i = 1, n do
  redis.call('ZADD', KEYS[1], ARGV[2 * i - 1], string.format('%0${SEQ_WIDTH}d', last - n + i) .. ARGV[2 * i])
end
if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], '1') end
return n`);

/**
 * `now`: the server's time in ms (`TIME` gives seconds and microseconds).
 */
const SERVER_NOW = `
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)`;

/**
 * Fill the wake list of the priority queue, unless it is full: what
 * follows a bulk `ZADD` (layouts.ts).
 *
 * - KEYS: wake.
 * - ARGV: none.
 * - Reply: 1 when it was filled, else 0.
 *
 * @example Wake blocked consumers
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { WAKE } from "./scripts.ts";
 * const wake = (redis: RedisConnection) => redis.run(WAKE, ["huey.{app}.wake"], []);
 * ```
 */
export const WAKE: RedisScript = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('RPUSH', KEYS[1], '1')
return 1`);

/**
 * Delivery counts. A message whose lease ran out is counted in the
 * recoveries hash under the SHA-1 of its lease record (the record a
 * redelivery builds again byte for byte); the count goes when the message
 * is acknowledged. While no lease has run out the hash does not exist, and
 * each script pays one EXISTS for it.
 *
 * `deliveries(record)`: this delivery's number (1 + the recoveries).
 */
const DELIVERIES = (recoveries: number) => `
local counted = redis.call('EXISTS', KEYS[${recoveries}]) == 1
local function deliveries(record)
  if not counted then return 1 end
  return (tonumber(redis.call('HGET', KEYS[${recoveries}], redis.sha1hex(record))) or 0) + 1
end`;

/**
 * `forget(receipt)`: drop the recovery count of the message leased under
 * `receipt` (call it before the lease is deleted).
 */
const FORGET_DELIVERIES = (leases: number, recoveries: number) => `
local counted = redis.call('EXISTS', KEYS[${recoveries}]) == 1
local function forget(receipt)
  if not counted then return end
  local record = redis.call('HGET', KEYS[${leases}], receipt)
  if record then redis.call('HDEL', KEYS[${recoveries}], redis.sha1hex(record)) end
end`;

/**
 * `handOut(message)`, for a client that decodes replies as UTF-8 text
 * (Bun's: it puts U+FFFD in place of bytes that are not, and the task
 * would run with changed arguments), when ARGV[1] is 'u': the message as
 * it is when its bytes are valid UTF-8, else `{offset, hex}`: the 0-based
 * offset of the first byte of the first ill-formed sequence, and every
 * byte in hex. A client that reads the bytes themselves (node-redis)
 * checks them itself and passes '': the check costs the server about
 * 14 ns per byte (3 us for a 200-byte message, half again the script's
 * own time per message), the client nothing measurable.
 */
const HAND_OUT = `
local function utf8Error(s)
  local i = string.find(s, '[\\128-\\255]')
  while i do
    local c = string.byte(s, i)
    local n, lo, hi = 0, 128, 191
    if c >= 194 and c <= 223 then n = 1
    elseif c == 224 then n, lo = 2, 160
    elseif c == 237 then n, hi = 2, 159
    elseif c >= 225 and c <= 239 then n = 2
    elseif c == 240 then n, lo = 3, 144
    elseif c >= 241 and c <= 243 then n = 3
    elseif c == 244 then n, hi = 3, 143
    else return i end
    for j = 1, n do
      local b = string.byte(s, i + j)
      if not b or b < lo or b > hi then return i end
      lo, hi = 128, 191
    end
    i = string.find(s, '[\\128-\\255]', i + n + 1)
  end
  return nil
end
local function handOut(message)
  if ARGV[1] ~= 'u' then return message end
  local bad = utf8Error(message)
  if not bad then return message end
  local hex = string.gsub(message, '.', function(c) return string.format('%02x', string.byte(c)) end)
  return {bad - 1, hex}
end`;

/**
 * The tail of both dequeue scripts: `out` holds the taken messages; put the
 * peek key's value (false, a nil reply, when empty or not asked for) in
 * front. ARGV[2]: '' (no peek), 'h' (field ARGV[3] of the hash KEYS[peek])
 * or 'k' (the string key KEYS[peek]).
 */
const PEEK_AFTER_TAKE = (peek: number) => `
local peeked = false
if ARGV[2] == 'h' then peeked = redis.call('HGET', KEYS[${peek}], ARGV[3])
elseif ARGV[2] == 'k' then peeked = redis.call('GET', KEYS[${peek}]) end
table.insert(out, 1, peeked)
return out`;

/**
 * Take up to n messages from the list queue, each under its own lease, and
 * read the peek key.
 *
 * - KEYS: queue (list), leases, leased, recoveries, peek (the results hash
 *   or one result's key).
 * - ARGV: 'u' to check that messages are UTF-8 (see HAND_OUT) or '', peek
 *   mode ('', 'h' or 'k'), peek field, n receipts, then n lease durations
 *   (ms, from the server's time).
 * - Reply: `{}` when the queue is empty, else `{peeked, message..., deliveries...}`:
 *   k messages, one per receipt in order (k < n when the queue ran dry),
 *   then each one's delivery number. With 'u', a message whose bytes are
 *   not UTF-8 comes as `{offset, hex}` (see HAND_OUT), leased like any other.
 *
 * @example Take one message, without peeking
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { DEQUEUE_LIST } from "./scripts.ts";
 * const keys = ["queue", "leases", "leased", "recoveries", "results"].map((k) => `huey.{app}.${k}`);
 * const take = (redis: RedisConnection) =>
 *   redis.run(DEQUEUE_LIST, keys, ["", "", "", "r1", "30000"]);
 * ```
 */
export const DEQUEUE_LIST: RedisScript = defineScript(`
local n = (#ARGV - 3) / 2
local items = redis.call('RPOP', KEYS[1], n)
if not items then return {} end
${SERVER_NOW}
${DELIVERIES(4)}
${HAND_OUT}
local fields, scores, out = {}, {}, {}
for i = 1, #items do
  fields[2 * i - 1] = ARGV[3 + i]
  fields[2 * i] = items[i]
  scores[2 * i - 1] = now + tonumber(ARGV[3 + n + i])
  scores[2 * i] = ARGV[3 + i]
  out[i] = handOut(items[i])
  out[#items + i] = deliveries(items[i])
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('ZADD', KEYS[3], unpack(scores))
${PEEK_AFTER_TAKE(5)}`);

/**
 * As {@link DEQUEUE_LIST}, from the priority queue: highest priority first.
 * A lease keeps the member's score and sequence (`score|member`), so that a
 * recovered message goes back where it was. Empties the wake list with the
 * queue.
 *
 * - KEYS: queue (sorted set), leases, leased, wake, recoveries, peek.
 * - ARGV: as {@link DEQUEUE_LIST}.
 * - Reply: as {@link DEQUEUE_LIST}.
 *
 * @example Take two messages and read a field of the results hash
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { DEQUEUE_PRIORITY } from "./scripts.ts";
 * const names = ["queue", "leases", "leased", "wake", "recoveries", "results"];
 * const keys = names.map((k) => `huey.{app}.${k}`);
 * async function take(redis: RedisConnection, leaseMs: string) {
 *   const args = ["", "h", "marker", "r1", "r2", leaseMs, leaseMs];
 *   const [peeked, ...rest] = (await redis.run(DEQUEUE_PRIORITY, keys, args)) as string[];
 *   return { peeked, messages: rest.slice(0, rest.length / 2) };
 * }
 * ```
 */
export const DEQUEUE_PRIORITY: RedisScript = defineScript(`
local n = (#ARGV - 3) / 2
local popped = redis.call('ZPOPMIN', KEYS[1], n)
if #popped == 0 then
  redis.call('DEL', KEYS[4])
  return {}
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[4]) end
${SERVER_NOW}
${DELIVERIES(5)}
${HAND_OUT}
local fields, scores, out = {}, {}, {}
local k = #popped / 2
for i = 1, k do
  local member, score = popped[2 * i - 1], popped[2 * i]
  local record = score .. '|' .. member
  fields[2 * i - 1] = ARGV[3 + i]
  fields[2 * i] = record
  scores[2 * i - 1] = now + tonumber(ARGV[3 + n + i])
  scores[2 * i] = ARGV[3 + i]
  out[i] = handOut(string.sub(member, ${SEQ_WIDTH + 1}))
  out[k + i] = deliveries(record)
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('ZADD', KEYS[3], unpack(scores))
${PEEK_AFTER_TAKE(6)}`);

/**
 * Acknowledge a message: forget its lease.
 *
 * - KEYS: leases, leased, recoveries.
 * - ARGV: receipt.
 * - Reply: 1, or 0 when the lease was already gone (ran out and recovered).
 *
 * @example Acknowledge a receipt
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { ACK } from "./scripts.ts";
 * const ack = (redis: RedisConnection, receipt: string) =>
 *   redis.run(ACK, ["leases", "leased", "recoveries"].map((k) => `huey.{app}.${k}`), [receipt]);
 * ```
 */
export const ACK: RedisScript = defineScript(`
${FORGET_DELIVERIES(1, 3)}
forget(ARGV[1])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`);

/**
 * Store results, announce each on its data channel, and acknowledge their
 * messages: a consumer's whole "finish" in one step. Fenced: each result is
 * stored only while its receipt still holds the lease. A finisher whose
 * lease ran out (the message was put back and may have run again) stores
 * nothing, so it cannot overwrite the result of the run that replaced it.
 *
 * - KEYS: leases, leased, recoveries, then one target per result (the
 *   results hash, or the result's own key).
 * - ARGV: expiry in ms ('' for the hash layout: HSET; else SET PX), then
 *   field, value, receipt and data channel per result.
 * - Reply: per result, 1 (stored and acknowledged), or 0 when the lease was
 *   already lost (nothing stored).
 *
 * @example Store one result in the hash and acknowledge its message
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { PUT_AND_ACK } from "./scripts.ts";
 * const keys = ["leases", "leased", "recoveries", "results"].map((k) => `huey.{app}.${k}`);
 * const args = ["", "id-1", "42", "r1", "huey.{app}.data.id-1"];
 * const finish = (redis: RedisConnection) => redis.run(PUT_AND_ACK, keys, args);
 * ```
 */
export const PUT_AND_ACK: RedisScript = defineScript(`
${FORGET_DELIVERIES(1, 3)}
local out = {}
for i = 1, #KEYS - 3 do
  local at = 4 * i - 2
  local receipt = ARGV[at + 2]
  if redis.call('HEXISTS', KEYS[1], receipt) == 1 then
    if ARGV[1] == '' then
      redis.call('HSET', KEYS[3 + i], ARGV[at], ARGV[at + 1])
    else
      redis.call('SET', KEYS[3 + i], ARGV[at + 1], 'PX', ARGV[1])
    end
    redis.call('PUBLISH', ARGV[at + 3], '1')
    forget(receipt)
    redis.call('HDEL', KEYS[1], receipt)
    redis.call('ZREM', KEYS[2], receipt)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`);

/**
 * Find the lease a message is held under now (for logs: which run replaced
 * a stale one). Scans the leases: only for the rare stale finisher.
 *
 * - KEYS: leases, recoveries.
 * - ARGV: message, '1' when lease records are the priority queue's
 *   (`score|member`), else ''.
 * - Reply: `{receipt, delivery number}`, or nil when no lease holds it.
 *
 * @example Who holds a message
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { CURRENT_LEASE } from "./scripts.ts";
 * const keys = ["leases", "recoveries"].map((k) => `huey.{app}.${k}`);
 * const holder = (redis: RedisConnection, message: string) =>
 *   redis.run(CURRENT_LEASE, keys, [message, ""]);
 * ```
 */
export const CURRENT_LEASE: RedisScript = defineScript(`
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local record = all[i + 1]
  local data = record
  if ARGV[2] == '1' then
    data = string.sub(record, string.find(record, '|', 1, true) + 1 + ${SEQ_WIDTH})
  end
  if data == ARGV[1] then
    local recovered = tonumber(redis.call('HGET', KEYS[2], redis.sha1hex(record))) or 0
    return {all[i], recovered + 1}
  end
end
return false`);

/**
 * Move a lease's end to the server's time plus a duration, if the lease
 * still exists (a duration of 0 ends it now: the next recovery puts the
 * message back).
 *
 * - KEYS: leases, leased.
 * - ARGV: receipt, duration (ms, from the server's time).
 * - Reply: 1, or 0 when the lease was already gone.
 *
 * @example Extend a lease by 30 s
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { EXTEND_LEASE } from "./scripts.ts";
 * const extend = (redis: RedisConnection, receipt: string) =>
 *   redis.run(EXTEND_LEASE, ["huey.{app}.leases", "huey.{app}.leased"], [receipt, "30000"]);
 * ```
 */
export const EXTEND_LEASE: RedisScript = defineScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
${SERVER_NOW}
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return 1`);

/**
 * Put the messages whose lease ended by the server's time back on the list
 * queue, at the dequeue end and in reverse, so the lease that ended first is
 * taken first.
 *
 * - KEYS: queue (list), leases, leased, recoveries.
 * - ARGV: none.
 * - Reply: the recovered messages, the lease that ended first first.
 *
 * @example Recover what ran out
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { RECOVER_LIST } from "./scripts.ts";
 * const keys = ["queue", "leases", "leased", "recoveries"].map((k) => `huey.{app}.${k}`);
 * const recover = (redis: RedisConnection) => redis.run(RECOVER_LIST, keys, []);
 * ```
 */
export const RECOVER_LIST: RedisScript = defineScript(`
${SERVER_NOW}
local receipts = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
local reversed = {}
for i = #receipts, 1, -1 do
  local data = redis.call('HGET', KEYS[2], receipts[i])
  if data then
    redis.call('HDEL', KEYS[2], receipts[i])
    redis.call('HINCRBY', KEYS[4], redis.sha1hex(data), 1)
    redis.call('RPUSH', KEYS[1], data)
    reversed[#reversed + 1] = data
  end
end
if #receipts > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local out = {}
for i = #reversed, 1, -1 do out[#out + 1] = reversed[i] end
return out`);

/**
 * Put the messages whose lease ended by the server's time back on the
 * priority queue with their original score and sequence (ahead of
 * everything enqueued after them), and fill the wake list.
 *
 * - KEYS: queue (sorted set), leases, leased, wake, recoveries.
 * - ARGV: none.
 * - Reply: the recovered messages, the lease that ended first first.
 *
 * @example Recover what ran out, then count the queue
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { RECOVER_PRIORITY } from "./scripts.ts";
 * async function recover(redis: RedisConnection): Promise<number> {
 *   const keys = ["queue", "leases", "leased", "wake", "recoveries"].map((k) => `huey.{app}.${k}`);
 *   await redis.run(RECOVER_PRIORITY, keys, []);
 *   return Number(await redis.send(["ZCARD", keys[0]]));
 * }
 * ```
 */
export const RECOVER_PRIORITY: RedisScript = defineScript(`
${SERVER_NOW}
local receipts = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
local out = {}
for i = 1, #receipts do
  local v = redis.call('HGET', KEYS[2], receipts[i])
  if v then
    redis.call('HDEL', KEYS[2], receipts[i])
    redis.call('HINCRBY', KEYS[5], redis.sha1hex(v), 1)
    local sep = string.find(v, '|', 1, true)
    local member = string.sub(v, sep + 1)
    redis.call('ZADD', KEYS[1], string.sub(v, 1, sep - 1), member)
    out[#out + 1] = string.sub(member, ${SEQ_WIDTH + 1})
  end
end
if #receipts > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
if #out > 0 and redis.call('EXISTS', KEYS[4]) == 0 then redis.call('RPUSH', KEYS[4], '1') end
return out`);

/**
 * Schedule a message, after those of the same eta that came before it.
 *
 * - KEYS: schedule, seq.
 * - ARGV: eta (ms), message.
 * - Reply: the message's sequence number.
 *
 * @example Run a message in a minute
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { ADD_TO_SCHEDULE } from "./scripts.ts";
 * const eta = String(Date.now() + 60_000);
 * const later = (redis: RedisConnection) =>
 *   redis.run(ADD_TO_SCHEDULE, ["huey.{app}.schedule", "huey.{app}.seq"], [eta, "message"]);
 * ```
 */
export const ADD_TO_SCHEDULE: RedisScript = defineScript(`
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%0${SEQ_WIDTH}d', seq) .. ARGV[2])
return seq`);

/**
 * Take every scheduled message that is due.
 *
 * - KEYS: schedule.
 * - ARGV: now (ms).
 * - Reply: the due messages by eta, then in the order they were scheduled.
 *
 * @example Take what is due
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { READ_SCHEDULE } from "./scripts.ts";
 * const due = (redis: RedisConnection) =>
 *   redis.run(READ_SCHEDULE, ["huey.{app}.schedule"], [String(Date.now())]);
 * ```
 */
export const READ_SCHEDULE: RedisScript = defineScript(`
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #items == 0 then return items end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 1, #items do items[i] = string.sub(items[i], ${SEQ_WIDTH + 1}) end
return items`);

/**
 * Read and delete one field of the results hash (HGETDEL needs Redis 8).
 *
 * - KEYS: results.
 * - ARGV: field.
 * - Reply: the value, or nil.
 *
 * @example Read a result once
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { POP_FIELD } from "./scripts.ts";
 * const pop = (redis: RedisConnection, id: string) =>
 *   redis.run(POP_FIELD, ["huey.{app}.results"], [id]);
 * ```
 */
export const POP_FIELD: RedisScript = defineScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v`);

/**
 * Every field and value of the results hash. A script because a script's
 * reply is a flat array whatever the client's protocol (RESP3 sends HGETALL
 * as a map).
 *
 * - KEYS: results.
 * - ARGV: none.
 * - Reply: `{field, value, field, value, ...}`.
 *
 * @example Read the whole hash
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { ALL_FIELDS } from "./scripts.ts";
 * const all = (redis: RedisConnection) => redis.run(ALL_FIELDS, ["huey.{app}.results"], []);
 * ```
 */
export const ALL_FIELDS: RedisScript = defineScript(`return redis.call('HGETALL', KEYS[1])`);

/**
 * Add to a counter (or read it, for an amount of 0), with its expiry on the
 * server's clock. A counter is a field of the counters hash; one with a
 * ttl also has its expiry (ms, server time) in the expiries sorted set. An
 * expired counter is removed first, so it counts as missing: the increment
 * makes it anew. The ttl is set only by the increment that creates the
 * counter (Redis 6.2 has no `PEXPIRE NX`, and fields no expiry of their
 * own before 7.4); that increment also sweeps up to 100 expired counters,
 * so dead rate-limit windows do not pile up.
 *
 * - KEYS: counters (hash), expiries (sorted set).
 * - ARGV: key, amount (an integer), ttl in ms or ''.
 * - Reply: the counter's value after the increment.
 *
 * @example Count a call in a window of a minute
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { INCR_COUNTER } from "./scripts.ts";
 * const keys = ["huey.{app}.counters", "huey.{app}.counter_expiries"];
 * const hit = (redis: RedisConnection) => redis.run(INCR_COUNTER, keys, ["api:1", "1", "60000"]);
 * ```
 */
export const INCR_COUNTER: RedisScript = defineScript(`${SERVER_NOW}
local key = ARGV[1]
local expires = redis.call('ZSCORE', KEYS[2], key)
if expires and tonumber(expires) <= now then
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZREM', KEYS[2], key)
end
if tonumber(ARGV[2]) == 0 then return tonumber(redis.call('HGET', KEYS[1], key) or '0') end
local created = redis.call('HEXISTS', KEYS[1], key) == 0
local value = redis.call('HINCRBY', KEYS[1], key, ARGV[2])
if created and ARGV[3] ~= '' then
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
  for _, k in ipairs(dead) do redis.call('HDEL', KEYS[1], k) end
  if #dead > 0 then redis.call('ZREM', KEYS[2], unpack(dead)) end
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), key)
end
return value`);

/**
 * Remove a counter and its expiry together (an increment in between would
 * otherwise lose its new expiry).
 *
 * - KEYS: counters (hash), expiries (sorted set).
 * - ARGV: key.
 * - Reply: 1 if the counter was there, else 0.
 *
 * @example
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { DELETE_COUNTER } from "./scripts.ts";
 * const keys = ["huey.{app}.counters", "huey.{app}.counter_expiries"];
 * const drop = (redis: RedisConnection) => redis.run(DELETE_COUNTER, keys, ["api:1"]);
 * ```
 */
export const DELETE_COUNTER: RedisScript = defineScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])`);

/**
 * Put a kept message (an item of the error list) back in the queue and
 * remove it from the list, in one step: only when the item is still there
 * (two requeues of one item enqueue it once), and never the one without the
 * other. The message goes in as a new one, as an enqueue puts it: pushed on
 * the left of the list queue, or into the priority queue after its score's
 * others, filling the wake list.
 *
 * - KEYS: errors (list), queue, seq, wake.
 * - ARGV: the item exactly as stored, "list" or "priority", score, message.
 * - Reply: 1 when it was requeued, 0 when the item was not there.
 *
 * @example Requeue an item of the list queue
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { REQUEUE_ERROR } from "./scripts.ts";
 * const keys = ["errors", "queue", "seq", "wake"].map((k) => `huey.{app}.${k}`);
 * const requeue = (redis: RedisConnection, item: string, data: string) =>
 *   redis.run(REQUEUE_ERROR, keys, [item, "list", "0", data]);
 * ```
 */
export const REQUEUE_ERROR: RedisScript = defineScript(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if ARGV[2] == 'list' then
  redis.call('LPUSH', KEYS[2], ARGV[4])
else
  local last = redis.call('INCRBY', KEYS[3], 1)
  redis.call('ZADD', KEYS[2], ARGV[3], string.format('%0${SEQ_WIDTH}d', last) .. ARGV[4])
  if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('RPUSH', KEYS[4], '1') end
end
return 1`);
// -- records (task status, progress, consumer heartbeats) ----------------------

/**
 * Store a record with its expiry on the server's clock: a field of the
 * records hash, its expiry (ms, server time) in the expiries sorted set (a
 * hash field has no expiry of its own before Redis 7.4), its key in the
 * key index (a sorted set of score 0, read by range of keys). Also sweeps
 * up to 100 expired records, so the hash is pruned as records are written.
 *
 * - KEYS: records (hash), expiries (sorted set), key index (sorted set).
 * - ARGV: key, value, ttl in ms.
 * - Reply: 0.
 *
 * @example
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { PUT_RECORD } from "./scripts.ts";
 * const keys = ["huey.{app}.records", "huey.{app}.record_expiries", "huey.{app}.record_keys"];
 * const put = (redis: RedisConnection) => redis.run(PUT_RECORD, keys, ["%s:1", "{}", "60000"]);
 * ```
 */
export const PUT_RECORD: RedisScript = defineScript(`${SERVER_NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, k in ipairs(dead) do redis.call('HDEL', KEYS[1], k) end
if #dead > 0 then
  redis.call('ZREM', KEYS[2], unpack(dead))
  redis.call('ZREM', KEYS[3], unpack(dead))
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 0`);

/**
 * Read records unless expired (server time): one key, or every key under a
 * prefix (sorted, at most a limit). A prefix is a range of the key index,
 * so listing costs the keys under it, never a scan of every record; keys
 * past their expiry (not swept yet) are skipped.
 *
 * - KEYS: records (hash), expiries (sorted set), key index (sorted set).
 * - ARGV: `get` and a key, or `list`, a prefix and a limit (-1: none).
 * - Reply: `{key, value, key, value, ...}`.
 *
 * @example
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { READ_RECORDS } from "./scripts.ts";
 * const keys = ["huey.{app}.records", "huey.{app}.record_expiries", "huey.{app}.record_keys"];
 * const consumers = (redis: RedisConnection) => redis.run(READ_RECORDS, keys, ["list", "%c:", "-1"]);
 * ```
 */
export const READ_RECORDS: RedisScript = defineScript(`${SERVER_NOW}
local out = {}
local function add(k)
  local expires = redis.call('ZSCORE', KEYS[2], k)
  if expires and tonumber(expires) > now then
    local value = redis.call('HGET', KEYS[1], k)
    if value then out[#out + 1] = k; out[#out + 1] = value end
  end
end
if ARGV[1] == 'get' then
  add(ARGV[2])
  return out
end
local prefix, limit = ARGV[2], tonumber(ARGV[3])
-- No UTF-8 key holds the byte 255: the range is exactly the keys under the prefix.
local keys = redis.call('ZRANGEBYLEX', KEYS[3], '[' .. prefix, '[' .. prefix .. string.char(255))
for _, k in ipairs(keys) do
  if limit >= 0 and #out >= 2 * limit then break end
  add(k)
end
return out`);

/**
 * Remove a record, its expiry and its key together.
 *
 * - KEYS: records (hash), expiries (sorted set), key index (sorted set).
 * - ARGV: key.
 * - Reply: 1 if the record was there, else 0.
 *
 * @example
 * ```ts
 * import type { RedisConnection } from "./connection.ts";
 * import { DELETE_RECORD } from "./scripts.ts";
 * const keys = ["huey.{app}.records", "huey.{app}.record_expiries", "huey.{app}.record_keys"];
 * const drop = (redis: RedisConnection) => redis.run(DELETE_RECORD, keys, ["%c:1"]);
 * ```
 */
export const DELETE_RECORD: RedisScript = defineScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])`);
