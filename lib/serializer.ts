/**
 * How task messages and results become strings stored in a queue (Redis,
 * SQLite, memory) and back.
 *
 * ## Values
 *
 * {@link toTagged} turns a value into a JSON-safe tree and {@link fromTagged}
 * turns it back. Plain JSON values pass through unchanged. Everything else
 * becomes an object whose first key is the reserved key `"$t"` (the tag):
 *
 * | value                          | tagged form                                   |
 * |--------------------------------|-----------------------------------------------|
 * | `undefined` (also array holes) | `{"$t":"undefined"}`                          |
 * | `NaN`, `±Infinity`, `-0`       | `{"$t":"Number","v":"NaN"}` (`"Infinity"`, `"-Infinity"`, `"-0"`) |
 * | `123n`                         | `{"$t":"BigInt","v":"123"}`                   |
 * | `Date`                         | `{"$t":"Date","v":"2026-11-23T10:00:00.000Z"}` (`v: null` for an Invalid Date) |
 * | `Map`                          | `{"$t":"Map","v":[[key, value], ...]}`        |
 * | `Set`                          | `{"$t":"Set","v":[value, ...]}`               |
 * | `Uint8Array` and the other typed arrays | `{"$t":"Uint8Array","v":"<base64 of the bytes, little-endian>"}` |
 * | a plain object with its own `"$t"` key | `{"$t":"Object","v":{...}}` (escaped, so user data is never read as a tag) |
 *
 * Map keys, Map values, Set members and the values inside the escaped object
 * are tagged in turn. Repeated (non-cyclic) references to one object are
 * copied: after decoding they are equal but no longer the same object.
 * Objects with a `null` prototype are accepted and decode as plain objects
 * (with `Object.prototype`). Only own enumerable string-keyed properties are
 * kept; extra non-index properties of arrays, Maps, Sets, Dates and typed
 * arrays are not.
 *
 * Rejected with {@link SerializationError} (its `path` says where, e.g.
 * `$.user.tags[2]`): functions, symbols, symbol-keyed properties, cycles and
 * instances of any other class (`Error`, `Promise`, `WeakMap`, `Buffer`,
 * subclasses of the supported types, your own classes).
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

/**
 * A JSON-safe value: what `JSON.stringify` accepts and `JSON.parse` gives back
 * without loss.
 *
 * @example
 * ```ts
 * import type { JsonValue } from "./serializer.ts";
 * const message: JsonValue = { name: "add", args: [1, 2], eta: null };
 * console.log(JSON.stringify(message));
 * ```
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** The reserved key of a tagged value. */
const TAG = "$t";

/** Typed arrays that round-trip exactly, by prototype. */
type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const TYPED_ARRAYS: readonly TypedArrayConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];
const TYPED_BY_PROTO = new Map<object, TypedArrayConstructor>(
  TYPED_ARRAYS.map((ctor) => [ctor.prototype, ctor]),
);
const TYPED_BY_NAME = new Map<string, TypedArrayConstructor>(
  TYPED_ARRAYS.map((ctor) => [ctor.name, ctor]),
);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One step of a path: an array index, an object key, or text used as is. */
type Segment = number | string | { raw: string };

/** State of one walk: where we are, and (when encoding) the open containers. */
interface Walk {
  root: string;
  segments: Segment[];
  ancestors: Set<object>;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(walk: Walk): string {
  let out = walk.root;
  for (const segment of walk.segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string") {
      out += IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
    } else out += segment.raw;
  }
  return out;
}

function encodeError(walk: Walk, why: string): SerializationError {
  const path = formatPath(walk);
  return new SerializationError(`Cannot serialize value at ${path}: ${why}`, { path });
}

function decodeError(walk: Walk, why: string, cause?: unknown): SerializationError {
  const path = formatPath(walk);
  return new SerializationError(
    `Cannot deserialize value at ${path}: ${why}`,
    { path },
    cause === undefined ? undefined : { cause },
  );
}

/** Sets `key` on `target` as an own data property, even for `"__proto__"`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

function className(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  let name = "";
  try {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor === "function") {
      name = typeof ctor.name === "string" && ctor.name ? ctor.name : "(anonymous)";
    }
  } catch {
    // A throwing getter on the prototype: fall back to the tag below.
  }
  return name || Object.prototype.toString.call(value).slice(8, -1) || "(anonymous)";
}

/** A short, printable form of a Map key for paths: `.get("a")`, `.get(1)`. */
function mapKeyRepr(key: unknown): string | undefined {
  switch (typeof key) {
    case "string":
      return JSON.stringify(key);
    case "number":
    case "boolean":
      return String(key);
    case "bigint":
      return `${key}n`;
    default:
      return key === null ? "null" : key === undefined ? "undefined" : undefined;
  }
}

function tagNumber(value: number): JsonValue {
  if (Number.isNaN(value)) return { [TAG]: "Number", v: "NaN" };
  if (value === Infinity) return { [TAG]: "Number", v: "Infinity" };
  if (value === -Infinity) return { [TAG]: "Number", v: "-Infinity" };
  if (Object.is(value, -0)) return { [TAG]: "Number", v: "-0" };
  return value;
}

function tag(value: unknown, walk: Walk): JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : tagNumber(value);
    case "undefined":
      return { [TAG]: "undefined" };
    case "bigint":
      return { [TAG]: "BigInt", v: value.toString() };
    case "function":
      throw encodeError(
        walk,
        `${value.name ? `function ${value.name}` : "anonymous function"} cannot round-trip`,
      );
    case "symbol":
      throw encodeError(walk, `${value.toString()} cannot round-trip`);
    case "object":
      return value === null ? null : tagObject(value, walk);
    default:
      throw encodeError(walk, `${typeof value} cannot round-trip`);
  }
}

function tagObject(value: object, walk: Walk): JsonValue {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Date.prototype) {
    const time = (value as Date).getTime();
    return { [TAG]: "Date", v: Number.isNaN(time) ? null : (value as Date).toISOString() };
  }
  const typed = TYPED_BY_PROTO.get(proto as object);
  if (typed !== undefined) {
    return { [TAG]: typed.name, v: typedArrayToBase64(value as ArrayBufferView, typed) };
  }
  const isArray = proto === Array.prototype;
  const isMap = proto === Map.prototype;
  const isSet = proto === Set.prototype;
  const isPlain = proto === Object.prototype || proto === null;
  if (!isArray && !isMap && !isSet && !isPlain) {
    throw encodeError(walk, `instance of class ${className(value)} cannot round-trip`);
  }
  if (walk.ancestors.has(value)) throw encodeError(walk, "circular reference");
  walk.ancestors.add(value);
  const segments = walk.segments;
  try {
    if (isArray) {
      const array = value as unknown[];
      const out: JsonValue[] = new Array(array.length);
      for (let i = 0; i < array.length; i++) {
        segments.push(i);
        out[i] = tag(array[i], walk);
        segments.pop();
      }
      return out;
    }
    if (isMap) {
      const entries: JsonValue[] = [];
      let i = 0;
      for (const [key, item] of value as Map<unknown, unknown>) {
        segments.push({ raw: `.keys()[${i}]` });
        const taggedKey = tag(key, walk);
        segments.pop();
        const repr = mapKeyRepr(key);
        segments.push({ raw: repr === undefined ? `.values()[${i}]` : `.get(${repr})` });
        entries.push([taggedKey, tag(item, walk)]);
        segments.pop();
        i++;
      }
      return { [TAG]: "Map", v: entries };
    }
    if (isSet) {
      const members: JsonValue[] = [];
      let i = 0;
      for (const member of value as Set<unknown>) {
        segments.push({ raw: `.values()[${i}]` });
        members.push(tag(member, walk));
        segments.pop();
        i++;
      }
      return { [TAG]: "Set", v: members };
    }
    const symbols = Object.getOwnPropertySymbols(value);
    if (symbols.length > 0) {
      throw encodeError(walk, `symbol-keyed property ${symbols[0].toString()} cannot round-trip`);
    }
    const record = value as Record<string, unknown>;
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(record)) {
      segments.push(key);
      setOwn(out, key, tag(record[key], walk));
      segments.pop();
    }
    return Object.hasOwn(record, TAG) ? { [TAG]: "Object", v: out } : out;
  } finally {
    walk.ancestors.delete(value);
  }
}

/** Deeper than this, {@link isPlainJson} gives up and the full walk decides (cycles end up here). */
const PLAIN_DEPTH = 64;

/**
 * True when `JSON.stringify(value)` already is the tagged form: only
 * strings, booleans, finite numbers (not -0), null, arrays and plain objects
 * without the tag key. The common case (task arguments and results) skips
 * building a tagged copy; anything else takes the full walk, which also
 * produces the error paths.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth > PLAIN_DEPTH) return false;
      const proto: unknown = Object.getPrototypeOf(value);
      // toJSON would change what JSON.stringify writes; the full walk ignores it.
      if (Object.hasOwn(value, "toJSON")) return false;
      if (proto === Array.prototype) {
        const array = value as unknown[];
        for (let i = 0; i < array.length; i++) {
          if (!isPlainJson(array[i], depth + 1)) return false;
        }
        return true;
      }
      if (proto !== Object.prototype) return false;
      if (Object.hasOwn(value, TAG)) return false;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key) || !isPlainJson(record[key], depth + 1)) return false;
      }
      return Object.getOwnPropertySymbols(value).length === 0;
    }
    default:
      return false;
  }
}

/**
 * Convert a value to a JSON-safe tagged tree (see the module docs for the
 * tags). Plain strings, booleans and finite numbers come back as themselves.
 * Objects with a `null` prototype are accepted; {@link fromTagged} gives them
 * back as plain objects.
 *
 * @param value The value to convert.
 * @param path Name of the value's root in error paths. @default "$"
 * @throws {SerializationError} for functions, symbols, symbol-keyed
 * properties, class instances and cycles; `path` says where, e.g. `$.user.tags[2]`.
 *
 * @example Tag a Date and report a bad argument
 * ```ts
 * import { toTagged } from "./serializer.ts";
 * import { SerializationError } from "./errors.ts";
 * console.log(toTagged({ at: new Date(0) })); // { at: { $t: "Date", v: "1970-01-01T00:00:00.000Z" } }
 * try {
 *   toTagged({ onDone: () => {} }, "args[1]");
 * } catch (err) {
 *   if (err instanceof SerializationError) console.log(err.path); // "args[1].onDone"
 * }
 * ```
 */
export function toTagged(value: unknown, path: string = "$"): JsonValue {
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0)) return value;
  return tag(value, { root: path, segments: [], ancestors: new Set() });
}

function untag(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      throw decodeError(walk, `not a JSON value: ${value}`);
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) return untagArray(value, walk);
      const record = value as Record<string, unknown>;
      return Object.hasOwn(record, TAG) ? untagSpecial(record, walk) : untagRecord(record, walk);
    }
    default:
      throw decodeError(walk, `not a JSON value: ${typeof value}`);
  }
}

function untagArray(array: readonly unknown[], walk: Walk): unknown[] {
  const out: unknown[] = new Array(array.length);
  for (let i = 0; i < array.length; i++) {
    walk.segments.push(i);
    out[i] = untag(array[i], walk);
    walk.segments.pop();
  }
  return out;
}

function untagRecord(record: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    walk.segments.push(key);
    setOwn(out, key, untag(record[key], walk));
    walk.segments.pop();
  }
  return out;
}

const NUMBER_TAGS: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  "-Infinity": -Infinity,
  "-0": -0,
};
const INTEGER = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function untagSpecial(record: Record<string, unknown>, walk: Walk): unknown {
  const name = record[TAG];
  const keys = Object.keys(record);
  const malformed = (why: string): SerializationError =>
    decodeError(walk, `malformed ${JSON.stringify(name)} tag: ${why}: ${preview(record)}`);
  if (typeof name !== "string") {
    throw decodeError(walk, `tag name is not a string: ${preview(record)}`);
  }
  if (name === "undefined") {
    if (keys.length !== 1) throw malformed("expected no other keys");
    return undefined;
  }
  if (keys.length !== 2 || !Object.hasOwn(record, "v")) {
    if (!KNOWN_TAGS.has(name)) throw decodeError(walk, `unknown tag: ${JSON.stringify(name)}`);
    throw malformed('expected exactly the keys "$t" and "v"');
  }
  const v = record.v;
  switch (name) {
    case "Number":
      if (typeof v !== "string" || !Object.hasOwn(NUMBER_TAGS, v)) {
        throw malformed('expected "NaN", "Infinity", "-Infinity" or "-0"');
      }
      return NUMBER_TAGS[v];
    case "BigInt":
      if (typeof v !== "string" || !INTEGER.test(v)) throw malformed("expected an integer string");
      return BigInt(v);
    case "Date": {
      if (v === null) return new Date(NaN);
      const date = typeof v === "string" ? new Date(v) : undefined;
      if (date === undefined || Number.isNaN(date.getTime())) {
        throw malformed("expected an ISO date string or null");
      }
      return date;
    }
    case "Map": {
      if (!Array.isArray(v)) throw malformed("expected an array of [key, value] pairs");
      const map = new Map<unknown, unknown>();
      for (let i = 0; i < v.length; i++) {
        const entry: unknown = v[i];
        if (!Array.isArray(entry) || entry.length !== 2) {
          throw malformed(`entry ${i} is not a [key, value] pair`);
        }
        walk.segments.push({ raw: `.keys()[${i}]` });
        const key = untag(entry[0], walk);
        walk.segments.pop();
        const repr = mapKeyRepr(key);
        walk.segments.push({ raw: repr === undefined ? `.values()[${i}]` : `.get(${repr})` });
        map.set(key, untag(entry[1], walk));
        walk.segments.pop();
      }
      return map;
    }
    case "Set": {
      if (!Array.isArray(v)) throw malformed("expected an array");
      const set = new Set<unknown>();
      for (let i = 0; i < v.length; i++) {
        walk.segments.push({ raw: `.values()[${i}]` });
        set.add(untag(v[i], walk));
        walk.segments.pop();
      }
      return set;
    }
    case "Object":
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        throw malformed("expected an object");
      }
      return untagRecord(v as Record<string, unknown>, walk);
    default: {
      const typed = TYPED_BY_NAME.get(name);
      if (typed === undefined) throw decodeError(walk, `unknown tag: ${JSON.stringify(name)}`);
      if (typeof v !== "string" || !BASE64.test(v)) throw malformed("expected a base64 string");
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = base64ToBytes(v);
      } catch (err) {
        throw decodeError(walk, `malformed ${JSON.stringify(name)} tag: bad base64`, err);
      }
      if (bytes.byteLength % typed.BYTES_PER_ELEMENT !== 0) {
        throw malformed(`byte length is not a multiple of ${typed.BYTES_PER_ELEMENT}`);
      }
      if (!LITTLE_ENDIAN) swapBytes(bytes, typed.BYTES_PER_ELEMENT);
      return new typed(bytes.buffer, 0, bytes.byteLength / typed.BYTES_PER_ELEMENT);
    }
  }
}

const KNOWN_TAGS = new Set<string>([
  "undefined",
  "Number",
  "BigInt",
  "Date",
  "Map",
  "Set",
  "Object",
  ...TYPED_BY_NAME.keys(),
]);

/**
 * The inverse of {@link toTagged}: rebuild a value from its tagged tree.
 * Objects come back with `Object.prototype` (also those that had a `null`
 * prototype when tagged); repeated references come back as separate copies.
 * The input is not modified.
 *
 * @throws {SerializationError} when a tag is unknown or malformed; `path`
 * says where.
 *
 * @example
 * ```ts
 * import { fromTagged } from "./serializer.ts";
 * const value = fromTagged({ big: { $t: "BigInt", v: "12345678901234567890" } });
 * console.log(value); // { big: 12345678901234567890n }
 * ```
 */
export function fromTagged(value: JsonValue): unknown {
  if (typeof value === "string" || typeof value === "boolean") return value;
  return untag(value, { root: "$", segments: [], ancestors: new Set() });
}

// ---------------------------------------------------------------------------
// Bytes

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + 0x8000) as unknown as number[],
    );
  }
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

function typedArrayToBase64(view: ArrayBufferView, typed: TypedArrayConstructor): string {
  let bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (!LITTLE_ENDIAN && typed.BYTES_PER_ELEMENT > 1) {
    bytes = bytes.slice();
    swapBytes(bytes, typed.BYTES_PER_ELEMENT);
  }
  return bytesToBase64(bytes);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? "";
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------------------
// Serializer

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
