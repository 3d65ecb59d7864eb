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
 *   UTF-8 bytes. Written when `compression` is on and the plain frame is larger
 *   than the threshold.
 * - **signed**: `s:<hmac>:<body>` where `<body>` is a plain or compressed frame
 *   and `<hmac>` is the 64 lowercase hex digits of HMAC-SHA256(signingKey,
 *   UTF-8 of `<body>`). Written for every message when `signingKey` is set.
 *
 * JSON never starts with `z` or `s`, so the frames cannot be confused.
 * `decode` reads plain and compressed frames whatever `compression` says; with
 * a `signingKey` it accepts only signed frames with a matching HMAC, without
 * one it rejects signed frames. Anything else is rejected.
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
import { gunzipSync, gzipSync } from "node:zlib";
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
   * HMAC-SHA256 key. When set, every payload is signed and `decode` rejects
   * payloads whose signature is missing or does not match. When unset,
   * `decode` rejects signed payloads.
   *
   * @default undefined (no signing)
   */
  signingKey?: string | Uint8Array;
}

const JSON_START = /^[{["\-0-9tfn]/;
const SIGNED = /^s:([0-9a-f]{64}):/;
const SIGNED_HEADER_LENGTH = 2 + 64 + 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

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
  /** The HMAC key, or `undefined` when not signing. */
  readonly #key: string | Uint8Array | undefined;

  /**
   * A serializer with `options` (plain JSON frames by default).
   *
   * @throws {RangeError} if `compression` is a negative or non-finite number.
   * @throws {TypeError} if `signingKey` is empty or not a string or Uint8Array.
   */
  constructor(options: SerializerOptions = {}) {
    const { compression = false, signingKey } = options;
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
   * @throws {SerializationError} if the value cannot round-trip (see {@link toTagged}).
   *
   * @example
   * ```ts
   * import { Serializer } from "./serializer.ts";
   * console.log(new Serializer().encode({ n: NaN })); // {"n":{"$t":"Number","v":"NaN"}}
   * ```
   */
  encode(value: unknown): string {
    let body = JSON.stringify(isPlainJson(value, 0) ? value : toTagged(value));
    const threshold = this.#threshold;
    if (threshold !== undefined && body.length * 3 > threshold) {
      const bytes = encoder.encode(body);
      if (bytes.byteLength > threshold) body = `z:${bytesToBase64(gzipSync(bytes))}`;
    }
    return this.#key === undefined ? body : `s:${this.#sign(body)}:${body}`;
  }

  /**
   * Turn a message string back into a value: verify the signature (when a
   * key is set), decompress, `JSON.parse`, then {@link fromTagged}.
   *
   * @throws {SerializationError} `Cannot decode message: bad signature: ...`
   * when the signature is missing or does not match; `Cannot decode message:
   * ...` with the underlying error as `cause` for any other malformed input.
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
    if (body.startsWith("z:")) {
      const payload = body.slice(2);
      if (!BASE64.test(payload)) throw decodeFailure("compressed payload is not base64", text);
      try {
        json = decoder.decode(gunzipSync(base64ToBytes(payload)));
      } catch (err) {
        throw decodeFailure("cannot gunzip compressed payload", text, err);
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
