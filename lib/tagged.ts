/**
 * Values <-> tagged JSON: how the arguments and results of a task, which may
 * hold Dates, BigInts, Maps, Sets and typed arrays, become a tree that
 * `JSON.stringify` writes without loss. The `Serializer` (serializer.ts)
 * frames that JSON for the wire; this module knows nothing of frames.
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
 * | `TaskError` (a failed task, e.g. a failed chord member in the callback's results) | `{"$t":"TaskError","v":{name, message, stack?, taskId, taskName, retries}}` |
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
 * subclasses of the supported types, your own classes), except `TaskError`.
 *
 * @example Round-trip a Map of Dates
 * ```ts
 * import { fromTagged, toTagged } from "./tagged.ts";
 * const tagged = toTagged(new Map([["start", new Date(0)]]));
 * console.log(JSON.stringify(tagged)); // {"$t":"Map","v":[["start",{"$t":"Date","v":"1970-01-01T00:00:00.000Z"}]]}
 * console.log(fromTagged(tagged)); // Map(1) { "start" => 1970-01-01T00:00:00.000Z }
 * ```
 *
 * @module
 */

import { SerializationError, TaskError } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";

/**
 * A JSON-safe value: what `JSON.stringify` accepts and `JSON.parse` gives back
 * without loss.
 *
 * @example
 * ```ts
 * import type { JsonValue } from "./tagged.ts";
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

/**
 * The reserved key of a tagged value. Exported for the serializer's decode
 * fast path: JSON text that never contains it (nor a `\u` escape that could
 * spell it) parses straight to the value.
 *
 * @example
 * ```ts
 * import { TAG, toTagged } from "./tagged.ts";
 * console.log(JSON.stringify(toTagged(1n)).includes(TAG)); // true
 * ```
 */
export const TAG = "$t";

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
  if (proto === TaskError.prototype) {
    return { [TAG]: "TaskError", v: tag((value as TaskError).toJSON(), walk) };
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
 *
 * @param value The value to inspect.
 * @param depth How deep `value` already is; callers start at 0.
 *
 * @example Choose between the value and its tagged copy
 * ```ts
 * import { isPlainJson, toTagged } from "./tagged.ts";
 * const value = { args: [1, "two"], at: new Date(0) };
 * console.log(isPlainJson(value.args, 0)); // true
 * console.log(JSON.stringify(isPlainJson(value, 0) ? value : toTagged(value)));
 * ```
 */
export function isPlainJson(value: unknown, depth: number): boolean {
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
 * import { toTagged } from "./tagged.ts";
 * import { SerializationError, TaskError } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
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
/**
 * Text made only of base64 characters (with up to two `=` of padding): what
 * typed-array tags and compressed frames must hold before `atob` sees them.
 *
 * @example
 * ```ts
 * import { BASE64 } from "./tagged.ts";
 * console.log(BASE64.test("AAEC"), BASE64.test("not base64!")); // true false
 * ```
 */
export const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

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
    case "TaskError": {
      const info = (typeof v === "object" && v !== null ? untag(v, walk) : {}) as TaskErrorInfo;
      const text = (key: keyof TaskErrorInfo) => typeof info[key] === "string";
      if (
        !text("name") || !text("message") || !text("taskId") || !text("taskName") ||
        !(info.stack === undefined || text("stack")) || typeof info.retries !== "number"
      ) throw malformed("expected { name, message, stack?, taskId, taskName, retries }");
      return new TaskError(info);
    }
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
  "TaskError",
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
 * import { fromTagged } from "./tagged.ts";
 * const value = fromTagged({ big: { $t: "BigInt", v: "12345678901234567890" } });
 * console.log(value); // { big: 12345678901234567890n }
 * ```
 */
export function fromTagged(value: JsonValue): unknown {
  if (typeof value === "string" || typeof value === "boolean") return value;
  return untag(value, { root: "$", segments: [], ancestors: new Set() });
}

/**
 * The base64 of `bytes`, in chunks so that `String.fromCharCode` never gets
 * more arguments than the engine allows.
 *
 * @example
 * ```ts
 * import { bytesToBase64 } from "./tagged.ts";
 * console.log(bytesToBase64(new Uint8Array([0, 1, 2]))); // "AAEC"
 * ```
 */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + 0x8000) as unknown as number[],
    );
  }
  return btoa(binary);
}

/**
 * The bytes of base64 `text` (the inverse of {@link bytesToBase64}).
 *
 * @throws {DOMException} when `text` is not valid base64 (from `atob`).
 *
 * @example
 * ```ts
 * import { base64ToBytes } from "./tagged.ts";
 * console.log(base64ToBytes("AAEC")); // Uint8Array(3) [ 0, 1, 2 ]
 * ```
 */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
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

/**
 * A short, printable form of `value` for error messages: its JSON, cut to 60
 * characters.
 *
 * @example
 * ```ts
 * import { preview } from "./tagged.ts";
 * console.log(preview({ $t: "Nope" })); // {"$t":"Nope"}
 * ```
 */
export function preview(value: unknown): string {
  let text: string;
  try {
    // A long string is cut before it is quoted: no copy of all of it.
    text = typeof value === "string"
      ? JSON.stringify(value.slice(0, 60))
      : JSON.stringify(value) ?? "";
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
