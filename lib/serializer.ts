/**
 * How task messages and results become strings stored in a queue (Redis,
 * SQLite, memory) and back: the frames (plain, gzip, HMAC-signed) around the
 * tagged JSON of tagged.ts, which turns values such as Dates, BigInts, Maps
 * and Sets into JSON and back.
 *
 * ## Wire format of {@link Serializer}
 *
 * A message is exactly one of these frames:
 *
 * - **plain**: `JSON.stringify(toTagged(value))`. It starts with one of
 *   `{ [ " - 0-9 t f n` (no leading whitespace).
 * - **compressed**: `z:` followed by the base64 of the gzip of the plain frame's
 *   UTF-8 bytes, or `y:` followed by the base64 of their zlib (deflate) stream
 *   with `zlib: true` (huey's `use_zlib`). Written when `compression` is on
 *   and the plain frame is larger than the threshold.
 * - **signed**: `s:<hmac>:<body>` where `<body>` is a plain or compressed frame
 *   and `<hmac>` is the 64 lowercase hex digits of HMAC-SHA256(signingKey,
 *   UTF-8 of `<body>`). Written for every message when `signingKey` is set.
 *
 * JSON never starts with `z`, `y` or `s`, so the frames cannot be confused.
 * `decode` reads plain and both compressed frames whatever `compression` and
 * `zlib` say (a compressing reader takes plain frames, and the other way); with
 * a `signingKey` it accepts only signed frames with a matching HMAC, without
 * one it rejects signed frames. Anything else is rejected.
 *
 * ## Size limit
 *
 * The plain frame (the JSON) of a message may be at most `maxMessageSize`
 * UTF-8 bytes, 4 MiB by default. `encode` refuses a larger value, so a
 * producer learns of it at enqueue time; `decode` rejects a larger plain
 * frame, and inflates a compressed one with the limit as its output cap, so
 * a small frame that would inflate to gigabytes fails after the first
 * `maxMessageSize` bytes instead of taking the process's memory.
 *
 * ## Replay
 *
 * A signature proves that a message was written by someone holding the key,
 * not that it is new: a captured signed message that is put in the queue
 * again verifies and runs again, with the same task id. This is deliberate.
 * Delivery is at least once, so the same bytes legitimately arrive twice
 * (a lease that runs out re-delivers them as they were), and a message can
 * wait in the schedule or a backlog for any length of time; a consumer-side
 * seen-set or an age window would drop those redeliveries, or cost a
 * storage round trip per task, and an age window still admits replays within
 * it. What stops a replay is what makes a redelivery safe: tasks idempotent
 * by task id (`ctx.id`), which a replayer cannot change without the key.
 *
 * @example Round-trip a task message
 * ```ts
 * import { Serializer } from "./serializer.ts";
 * const serializer = new Serializer({ compression: 1024, signingKey: "s3cret" });
 * const text = serializer.encode({ when: new Date(0), ids: new Set([1n, 2n]) });
 * console.log(text.startsWith("s:")); // true
 * console.log(serializer.decode(text)); // { when: 1970-01-01T00:00:00.000Z, ids: Set(2) { 1n, 2n } }
 * ```
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { SerializationError } from "./errors.ts";
import {
  BASE64,
  base64ToBytes,
  bytesToBase64,
  fromTagged,
  isPlainJson,
  preview,
  TAG,
  toTagged,
} from "./tagged.ts";
import type { JsonValue } from "./tagged.ts";

/**
 * Options of {@link Serializer}.
 *
 * @example
 * ```ts
 * import type { SerializerOptions } from "./serializer.ts";
 * const options: SerializerOptions = { compression: 4096, signingKey: "s3cret" };
 * console.log(options);
 * ```
 */
export interface SerializerOptions {
  /**
   * Gzip (then base64) payloads whose JSON is larger than this many UTF-8
   * bytes. `true` compresses every payload; `false` or unset never compresses.
   * Decoding reads compressed payloads whatever this says.
   *
   * @default false
   */
  compression?: boolean | number;
  /**
   * Compress with zlib (deflate, `y:` frames) instead of gzip (`z:`), as
   * huey's `use_zlib`: 18 bytes less per frame. Decoding reads both.
   *
   * @default false
   */
  zlib?: boolean;
  /**
   * HMAC-SHA256 key. When set, every payload is signed and `decode` rejects
   * payloads whose signature is missing or does not match. When unset,
   * `decode` rejects signed payloads. A signed message that is captured and
   * put back verifies again: see "Replay" in the module docs.
   *
   * @default undefined (no signing)
   */
  signingKey?: string | Uint8Array;
  /**
   * The largest message or result, in UTF-8 bytes of its JSON (before
   * compression). `encode` throws for a larger value; `decode` rejects a
   * larger frame, and stops inflating a compressed one at this size.
   * Producers and consumers should agree on it.
   *
   * @default 4194304 (4 MiB)
   */
  maxMessageSize?: number;
}

/** The default {@link SerializerOptions.maxMessageSize}: 4 MiB. */
const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

const JSON_START = /^[{["\-0-9tfn]/;
const SIGNED = /^s:([0-9a-f]{64}):/;
const SIGNED_HEADER_LENGTH = 2 + 64 + 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** What to do about a message over the limit, for the error messages. */
const RAISE =
  "raise maxMessageSize (an option of Huey and Serializer) on producers and consumers " +
  "if messages this large are expected";

/**
 * The UTF-8 length of `text`, counted without encoding it: lone surrogates
 * count 3 bytes, as TextEncoder writes them (U+FFFD).
 */
function utf8Length(text: string): number {
  let bytes = text.length; // one per UTF-16 code unit, plus what each needs beyond it
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: two code units, four bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * The UTF-8 size of `json` if it is over `limit`, else undefined. A text of
 * n characters has n to 3n bytes: only texts near the limit are counted.
 */
function oversize(json: string, limit: number): number | undefined {
  if (json.length * 3 <= limit) return undefined;
  const bytes = utf8Length(json);
  return bytes > limit ? bytes : undefined;
}

function decodeFailure(why: string, value: string, cause?: unknown): SerializationError {
  return new SerializationError(
    `Cannot decode message: ${why}: ${preview(value)}`,
    {},
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Turns task messages and results into strings and back (see the module docs
 * for the wire format), with optional gzip compression and HMAC-SHA256
 * signing.
 *
 * @example Sign and compress large payloads
 * ```ts
 * import { Serializer } from "./serializer.ts";
 * const serializer = new Serializer({ compression: 1024, signingKey: "s3cret" });
 * const text = serializer.encode({ args: [1, 2n, new Date(0)] });
 * const value = serializer.decode(text);
 * console.log(value); // { args: [ 1, 2n, 1970-01-01T00:00:00.000Z ] }
 * ```
 */
export class Serializer {
  /** Compress payloads larger than this many bytes; `undefined`: never. */
  readonly #threshold: number | undefined;
  /** Compressed frames are zlib (`y:`) rather than gzip (`z:`). */
  readonly #zlib: boolean;
  /** The HMAC key, or `undefined` when not signing. */
  readonly #key: string | Uint8Array | undefined;
  /** The largest plain frame, in UTF-8 bytes. */
  readonly #limit: number;
  /**
   * The longest compressed frame `encode` can write within the limit (gzip
   * of incompressible bytes grows a little, base64 by 4/3): `decode`
   * rejects a longer one before decoding its base64.
   */
  readonly #compressedLimit: number;

  /**
   * A serializer with `options` (plain JSON frames by default).
   *
   * @throws {RangeError} if `compression` is a negative or non-finite number,
   * or `maxMessageSize` is not a positive integer.
   * @throws {TypeError} if `signingKey` is empty or not a string or Uint8Array.
   */
  constructor(options: SerializerOptions = {}) {
    const {
      compression = false,
      zlib = false,
      signingKey,
      maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE,
    } = options;
    if (typeof zlib !== "boolean") {
      throw new TypeError(`Cannot create serializer: zlib must be a boolean: ${typeof zlib}`);
    }
    this.#zlib = zlib;
    if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < 1) {
      throw new RangeError(
        `Cannot create serializer: maxMessageSize must be a positive integer of bytes: ${
          String(maxMessageSize)
        }`,
      );
    }
    this.#limit = maxMessageSize;
    this.#compressedLimit = 2 + Math.ceil((maxMessageSize * 1.01 + 1024) / 3) * 4;
    if (typeof compression === "number") {
      if (!(compression >= 0) || !Number.isFinite(compression)) {
        throw new RangeError(
          `Cannot create serializer: compression must be a byte count >= 0 or a boolean: ${compression}`,
        );
      }
      this.#threshold = compression;
    } else if (typeof compression === "boolean") {
      this.#threshold = compression ? 0 : undefined;
    } else {
      throw new TypeError(
        `Cannot create serializer: compression must be a boolean or a number: ${typeof compression}`,
      );
    }
    if (signingKey === undefined) {
      this.#key = undefined;
    } else if (typeof signingKey === "string" || signingKey instanceof Uint8Array) {
      if (signingKey.length === 0) {
        throw new TypeError('Cannot create serializer: signingKey must not be empty: ""');
      }
      this.#key = typeof signingKey === "string" ? signingKey : new Uint8Array(signingKey);
    } else {
      throw new TypeError(
        `Cannot create serializer: signingKey must be a string or a Uint8Array: ${typeof signingKey}`,
      );
    }
  }

  /**
   * Turn a value into a message string: {@link toTagged}, `JSON.stringify`,
   * then compression (if on and the payload is large enough), then the
   * signature (if a key is set).
   *
   * @throws {SerializationError} if the value cannot round-trip (see
   * {@link toTagged}), or its JSON is over `maxMessageSize` bytes.
   *
   * @example
   * ```ts
   * import { Serializer } from "./serializer.ts";
   * console.log(new Serializer().encode({ n: NaN })); // {"n":{"$t":"Number","v":"NaN"}}
   * ```
   */
  encode(value: unknown): string {
    let body = JSON.stringify(isPlainJson(value, 0) ? value : toTagged(value));
    const over = oversize(body, this.#limit);
    if (over !== undefined) {
      throw new SerializationError(
        `Cannot encode message: ${over} bytes is more than maxMessageSize (${this.#limit} bytes): ${RAISE}, or store large data elsewhere and pass a reference`,
      );
    }
    const threshold = this.#threshold;
    if (threshold !== undefined && body.length * 3 > threshold) {
      const bytes = encoder.encode(body);
      if (bytes.byteLength > threshold) {
        body = this.#zlib
          ? `y:${bytesToBase64(deflateSync(bytes))}`
          : `z:${bytesToBase64(gzipSync(bytes))}`;
      }
    }
    return this.#key === undefined ? body : `s:${this.#sign(body)}:${body}`;
  }

  /**
   * Turn a message string back into a value: verify the signature (when a
   * key is set), decompress, `JSON.parse`, then {@link fromTagged}.
   *
   * @throws {SerializationError} `Cannot decode message: bad signature: ...`
   * when the signature is missing or does not match; `Cannot decode message:
   * ...` with the underlying error as `cause` for any other malformed input,
   * including a frame over `maxMessageSize` (checked before the signature,
   * and while inflating).
   * @throws {TypeError} if `text` is not a string.
   *
   * @example
   * ```ts
   * import { Serializer } from "./serializer.ts";
   * const serializer = new Serializer();
   * console.log(serializer.decode('{"$t":"BigInt","v":"42"}')); // 42n
   * ```
   */
  decode(text: string): unknown {
    if (typeof text !== "string") {
      throw new TypeError(`Cannot decode message: expected a string: ${typeof text}`);
    }
    // The cheapest check first: a frame longer than any this serializer
    // writes is rejected before it is hashed or inflated.
    const longest = this.#compressedLimit + (this.#key === undefined ? 0 : SIGNED_HEADER_LENGTH);
    if (text.length > longest) {
      throw decodeFailure(
        `${text.length} characters is more than a frame within maxMessageSize (${this.#limit} bytes) can have: ${RAISE}`,
        text,
      );
    }
    let body = text;
    if (this.#key !== undefined) {
      const match = SIGNED.exec(text);
      if (match === null) throw decodeFailure("bad signature: not a signed message", text);
      body = text.slice(SIGNED_HEADER_LENGTH);
      const expected = encoder.encode(this.#sign(body));
      if (!timingSafeEqual(encoder.encode(match[1]), expected)) {
        throw decodeFailure("bad signature: HMAC does not match", text);
      }
    } else if (text.startsWith("s:")) {
      throw decodeFailure("signed message but no signingKey is configured", text);
    }
    let json = body;
    const gzip = body.startsWith("z:");
    if (gzip || body.startsWith("y:")) {
      const payload = body.slice(2);
      if (!BASE64.test(payload)) throw decodeFailure("compressed payload is not base64", text);
      try {
        // Inflation stops at the limit: a small frame cannot make us allocate gigabytes.
        const inflate = gzip ? gunzipSync : inflateSync;
        json = decoder.decode(inflate(base64ToBytes(payload), { maxOutputLength: this.#limit }));
      } catch (err) {
        if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
          throw decodeFailure(
            `compressed payload inflates to more than ${this.#limit} bytes (maxMessageSize): ${RAISE}`,
            text,
          );
        }
        throw decodeFailure(`cannot ${gzip ? "gunzip" : "inflate"} compressed payload`, text, err);
      }
    } else {
      const over = oversize(body, this.#limit);
      if (over !== undefined) {
        throw decodeFailure(
          `${over} bytes is more than maxMessageSize (${this.#limit} bytes): ${RAISE}`,
          text,
        );
      }
    }
    if (!JSON_START.test(json)) throw decodeFailure("unknown format", text);
    let parsed: JsonValue;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw decodeFailure("invalid JSON", text, err);
    }
    // No tag anywhere, and no escape that could spell one: the parsed tree is the value.
    if (!json.includes(TAG) && !json.includes("\\u")) return parsed;
    return fromTagged(parsed);
  }

  #sign(body: string): string {
    return createHmac("sha256", this.#key as string | Uint8Array).update(body, "utf8").digest(
      "hex",
    );
  }
}
