import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { Serializer } from "../lib/serializer.ts";
import { fromTagged, toTagged } from "../lib/tagged.ts";
import type { JsonValue } from "../lib/tagged.ts";
import { SerializationError } from "../lib/errors.ts";
import { Huey, MemoryStorage } from "../mod.ts";

const plain = new Serializer();

function roundTrip(value: unknown, serializer: Serializer = plain): unknown {
  return serializer.decode(serializer.encode(value));
}

/** Asserts that `fn` throws a SerializationError whose message matches `message`. */
function assertSerializationError(
  fn: () => unknown,
  message: RegExp | string,
  path?: string,
): SerializationError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SerializationError, `expected SerializationError, got ${caught}`);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  if (path !== undefined) assert.equal(caught.path, path);
  assert.equal(caught.name, "SerializationError");
  return caught;
}

class Foo {
  x = 1;
}

describe("toTagged", () => {
  it("returns strings, booleans, finite numbers and null as themselves", () => {
    assert.equal(toTagged("hello"), "hello");
    assert.equal(toTagged(true), true);
    assert.equal(toTagged(false), false);
    assert.equal(toTagged(42.5), 42.5);
    assert.equal(toTagged(0), 0);
    assert.equal(toTagged(null), null);
  });

  it("leaves plain JSON structures unchanged", () => {
    const value = { name: "add", args: [1, "two", [true, null]], nested: { a: { b: [] } } };
    assert.deepStrictEqual(toTagged(value), value);
    assert.equal(plain.encode(value), JSON.stringify(value));
  });

  it("tags special values with a reserved $t key", () => {
    assert.deepStrictEqual(toTagged(new Date("2026-11-23T10:00:00.000Z")), {
      $t: "Date",
      v: "2026-11-23T10:00:00.000Z",
    });
    assert.deepStrictEqual(toTagged(new Date(NaN)), { $t: "Date", v: null });
    assert.deepStrictEqual(toTagged(-5n), { $t: "BigInt", v: "-5" });
    assert.deepStrictEqual(toTagged(undefined), { $t: "undefined" });
    assert.deepStrictEqual(toTagged(NaN), { $t: "Number", v: "NaN" });
    assert.deepStrictEqual(toTagged(-0), { $t: "Number", v: "-0" });
    assert.deepStrictEqual(toTagged(new Uint8Array([1, 2, 3])), { $t: "Uint8Array", v: "AQID" });
    assert.deepStrictEqual(toTagged(new Map([["a", 1]])), { $t: "Map", v: [["a", 1]] });
    assert.deepStrictEqual(toTagged(new Set([1])), { $t: "Set", v: [1] });
  });

  it("escapes plain objects that have their own $t key", () => {
    const user = { $t: "Date", v: "2026-11-23T10:00:00.000Z" };
    assert.deepStrictEqual(toTagged(user), { $t: "Object", v: user });
  });

  it("produces a tree that survives JSON.stringify and JSON.parse", () => {
    const value = { d: new Date(0), m: new Map([[1n, [undefined, NaN]]]) };
    const tagged = toTagged(value);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(tagged)), tagged);
    assert.deepStrictEqual(fromTagged(tagged), value);
  });
});

describe("fromTagged", () => {
  it("is the inverse of toTagged", () => {
    const value = [1, "a", null, { b: [new Set(["x"]), 10n] }, new Date(5)];
    assert.deepStrictEqual(fromTagged(toTagged(value)), value);
  });

  it("does not modify its input", () => {
    const tagged: JsonValue = { a: { $t: "BigInt", v: "1" }, b: [{ $t: "undefined" }] };
    const copy = structuredClone(tagged);
    fromTagged(tagged);
    assert.deepStrictEqual(tagged, copy);
  });

  it("rejects an unknown tag with the path where it was found", () => {
    const err = assertSerializationError(
      () => fromTagged({ a: [{ $t: "Foo", v: 1 }] }),
      /unknown tag: "Foo"/,
      "$.a[0]",
    );
    assert.match(err.message, /^Cannot deserialize value at \$\.a\[0\]/);
  });
});

describe("Serializer round-trips", () => {
  it("keeps Dates, including an Invalid Date and far years", () => {
    const date = new Date("2026-11-23T10:00:00.123Z");
    const out = roundTrip(date);
    assert.ok(out instanceof Date);
    assert.equal(out.getTime(), date.getTime());
    const invalid = roundTrip(new Date("nope"));
    assert.ok(invalid instanceof Date);
    assert.ok(Number.isNaN(invalid.getTime()));
    const far = new Date(8.64e15);
    assert.deepStrictEqual(roundTrip(far), far);
    const before = new Date(-62198755200000); // year -0001
    assert.deepStrictEqual(roundTrip(before), before);
  });

  it("keeps BigInts: positive, negative, zero and huge", () => {
    for (const n of [0n, 1n, -1n, 2n ** 64n, -(10n ** 50n), 3n ** 500n]) {
      const out = roundTrip(n);
      assert.equal(typeof out, "bigint");
      assert.equal(out, n);
    }
  });

  it("keeps Maps with string, number, object and nested keys and values", () => {
    const objectKey = { id: 1 };
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [2, "two"],
      [objectKey, new Map([["inner", new Set([1n])]])],
      [new Map([[1, 2]]), [undefined]],
      [undefined, null],
    ]);
    const out = roundTrip(map);
    assert.ok(out instanceof Map);
    assert.deepStrictEqual(out, map);
    assert.deepStrictEqual([...out.keys()][2], objectKey);
    assert.equal(out.get("a"), 1);
  });

  it("keeps Sets, nested and mixed", () => {
    const set = new Set<unknown>([1, "1", 2n, new Set([new Date(0)]), { a: NaN }]);
    const out = roundTrip(set);
    assert.ok(out instanceof Set);
    assert.deepStrictEqual(out, set);
  });

  it("keeps Uint8Arrays and stores them as base64", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    assert.deepStrictEqual(roundTrip(all), all);
    assert.deepStrictEqual(roundTrip(new Uint8Array(0)), new Uint8Array(0));
    assert.equal(plain.encode(new Uint8Array([1, 2, 3])), '{"$t":"Uint8Array","v":"AQID"}');
  });

  it("keeps only the viewed bytes of a Uint8Array subarray", () => {
    const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 4);
    const out = roundTrip(view);
    assert.deepStrictEqual(out, new Uint8Array([8, 7, 6]));
  });

  it("keeps the other typed arrays exactly", () => {
    const arrays = [
      new Int8Array([-128, 0, 127]),
      new Uint8ClampedArray([0, 255]),
      new Int16Array([-32768, 1, 32767]),
      new Uint16Array([0, 65535]),
      new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
      new Uint32Array([0, 2 ** 32 - 1]),
      new Float32Array([1.5, -0, Infinity, NaN]),
      new Float64Array([Math.PI, -0, -Infinity, NaN, Number.MIN_VALUE]),
      new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
    ];
    for (const array of arrays) {
      const out = roundTrip(array) as typeof array;
      assert.equal(Object.getPrototypeOf(out), Object.getPrototypeOf(array));
      assert.deepStrictEqual(out, array);
    }
    const floats = roundTrip(new Float64Array([-0])) as Float64Array;
    assert.ok(Object.is(floats[0], -0));
  });

  it("keeps undefined as a value, in arrays and as a present property", () => {
    assert.equal(roundTrip(undefined), undefined);
    const array = roundTrip([1, undefined, 3]) as unknown[];
    assert.deepStrictEqual(array, [1, undefined, 3]);
    assert.ok(1 in array);
    const obj = roundTrip({ k: undefined, j: 1 }) as Record<string, unknown>;
    assert.ok("k" in obj);
    assert.equal(obj.k, undefined);
    assert.deepStrictEqual(obj, { k: undefined, j: 1 });
  });

  it("keeps NaN, Infinity, -Infinity and -0", () => {
    assert.ok(Number.isNaN(roundTrip(NaN)));
    assert.equal(roundTrip(Infinity), Infinity);
    assert.equal(roundTrip(-Infinity), -Infinity);
    assert.ok(Object.is(roundTrip(-0), -0));
    assert.ok(Object.is(roundTrip(0), 0));
    const out = roundTrip({ n: [NaN, -0, Infinity] }) as { n: number[] };
    assert.deepStrictEqual(out, { n: [NaN, -0, Infinity] });
    assert.ok(Object.is(out.n[1], -0));
  });

  it("turns sparse array holes into undefined", () => {
    // deno-lint-ignore no-sparse-arrays
    const sparse = [1, , 3];
    const out = roundTrip(sparse) as unknown[];
    assert.equal(out.length, 3);
    assert.ok(1 in out);
    assert.equal(out[1], undefined);
    assert.deepStrictEqual(out, [1, undefined, 3]);
  });

  it("keeps deeply nested mixtures of every supported type", () => {
    const value = {
      user: { name: "ada", tags: ["a", undefined, 7n], born: new Date(Date.UTC(1815, 11, 10)) },
      scores: new Map<unknown, unknown>([[{ round: 1 }, new Set([NaN, -0, Infinity])]]),
      blob: new Uint8Array([0, 255]),
      list: [[[-Infinity]], new Map(), new Set(), {}],
    };
    assert.deepStrictEqual(roundTrip(value), value);
  });

  it("decodes null-prototype objects as plain objects", () => {
    const bare = Object.assign(Object.create(null), { a: 1, b: new Date(0) });
    const out = roundTrip(bare) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepStrictEqual(out, { a: 1, b: new Date(0) });
  });

  it("keeps user objects with a $t key as data, not tags", () => {
    const looksLikeTag = { $t: "Date", v: "2026-11-23T10:00:00.000Z" };
    assert.deepStrictEqual(roundTrip(looksLikeTag), looksLikeTag);
    const nested = { outer: { $t: "Object", v: { $t: "undefined" } }, other: [{ $t: 1 }] };
    assert.deepStrictEqual(roundTrip(nested), nested);
    const withSpecials = { $t: "x", d: new Date(0), u: undefined };
    const out = roundTrip(withSpecials) as Record<string, unknown>;
    assert.deepStrictEqual(out, withSpecials);
    assert.ok("u" in out);
  });

  it("keeps an own __proto__ key as data without changing the prototype", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const out = roundTrip(value) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.ok(Object.hasOwn(out, "__proto__"));
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(out, "__proto__")?.value, {
      polluted: true,
    });
    assert.equal((({}) as Record<string, unknown>).polluted, undefined);
  });

  it("copies repeated references to the same object", () => {
    const shared = { a: 1 };
    const out = roundTrip([shared, { again: shared }]) as [object, { again: object }];
    assert.deepStrictEqual(out, [{ a: 1 }, { again: { a: 1 } }]);
    assert.notEqual(out[0], out[1].again);
  });

  it("keeps strings with unicode, quotes and control characters", () => {
    const text = 'héllo "wörld" \u0000 \n 😀 \ud800';
    assert.equal(roundTrip(text), text);
    assert.equal(roundTrip(text, new Serializer({ compression: true, signingKey: "k" })), text);
  });
});

describe("Serializer rejects values that cannot round-trip", () => {
  it("rejects functions, naming them and the path", () => {
    function notify() {}
    const err = assertSerializationError(
      () => toTagged({ user: { callback: notify } }),
      "Cannot serialize value at $.user.callback: function notify cannot round-trip",
      "$.user.callback",
    );
    assert.equal(err.taskName, undefined);
    assertSerializationError(
      () => plain.encode([[() => 1]]),
      "Cannot serialize value at $[0][0]: anonymous function cannot round-trip",
      "$[0][0]",
    );
  });

  it("rejects symbols as values", () => {
    assertSerializationError(
      () => toTagged({ tags: ["a", "b", Symbol("x")] }),
      "Cannot serialize value at $.tags[2]: Symbol(x) cannot round-trip",
      "$.tags[2]",
    );
  });

  it("rejects symbol-keyed properties", () => {
    assertSerializationError(
      () => toTagged({ inner: { [Symbol("secret")]: 1 } }),
      /^Cannot serialize value at \$\.inner: symbol-keyed property Symbol\(secret\)/,
      "$.inner",
    );
  });

  it("rejects class instances, naming the class", () => {
    assertSerializationError(
      () => toTagged([new Foo()]),
      "Cannot serialize value at $[0]: instance of class Foo cannot round-trip",
      "$[0]",
    );
    assertSerializationError(
      () => plain.encode({ err: new Error("boom") }),
      "Cannot serialize value at $.err: instance of class Error cannot round-trip",
    );
    assertSerializationError(
      () => toTagged({ p: Promise.resolve(1) }),
      /instance of class Promise cannot round-trip/,
      "$.p",
    );
    assertSerializationError(
      () => toTagged(new WeakMap()),
      /instance of class WeakMap cannot round-trip/,
      "$",
    );
    assertSerializationError(
      () => toTagged(new (class {})()),
      "Cannot serialize value at $: instance of class (anonymous) cannot round-trip",
    );
  });

  it("rejects subclasses of supported types", () => {
    class Bytes extends Uint8Array {}
    class Dict extends Map {}
    class Stamp extends Date {}
    class List extends Array {}
    assertSerializationError(() => toTagged(new Bytes(2)), /instance of class Bytes/);
    assertSerializationError(() => toTagged(new Dict()), /instance of class Dict/);
    assertSerializationError(() => toTagged(new Stamp()), /instance of class Stamp/);
    assertSerializationError(() => toTagged(new List()), /instance of class List/);
  });

  it("rejects cycles with the path of the back reference", () => {
    const a: Record<string, unknown> = {};
    a.a = { b: a };
    assertSerializationError(
      () => toTagged(a),
      "Cannot serialize value at $.a.b: circular reference",
      "$.a.b",
    );
    const list: unknown[] = [1];
    list.push([list]);
    assertSerializationError(() => plain.encode(list), /circular reference/, "$[1][0]");
  });

  it("rejects cycles through Maps and Sets", () => {
    const map = new Map<string, unknown>();
    map.set("self", map);
    assertSerializationError(
      () => toTagged(map),
      'Cannot serialize value at $.get("self"): circular reference',
      '$.get("self")',
    );
    const set = new Set<unknown>();
    set.add(set);
    assertSerializationError(() => toTagged(set), /circular reference/, "$.values()[0]");
  });

  it("names Map keys, Map values and Set members in paths", () => {
    assertSerializationError(
      () => toTagged({ m: new Map([[1, () => 1]]) }),
      /function/,
      "$.m.get(1)",
    );
    assertSerializationError(
      () => toTagged({ m: new Map<unknown, unknown>([["ok", 1], [{}, new Foo()]]) }),
      /Foo/,
      "$.m.values()[1]",
    );
    assertSerializationError(() => toTagged(new Map([[new Foo(), 1]])), /Foo/, "$.keys()[0]");
    assertSerializationError(() => toTagged(new Set([1, Symbol()])), /Symbol/, "$.values()[1]");
  });

  it("quotes object keys that are not identifiers", () => {
    assertSerializationError(
      () => toTagged({ "my key": { "0": [new Foo()] } }),
      /Foo/,
      '$["my key"]["0"][0]',
    );
  });

  it("roots the path at the given name", () => {
    assertSerializationError(
      () => toTagged({ x: [() => 1] }, "args[1]"),
      /^Cannot serialize value at args\[1\]\.x\[0\]: /,
      "args[1].x[0]",
    );
  });
});

describe("Serializer compression", () => {
  const big = { rows: Array.from({ length: 500 }, (_, i) => ({ id: i, name: "row", at: 1n })) };

  it("gzips payloads over the threshold and round-trips them", () => {
    const serializer = new Serializer({ compression: 1024 });
    const text = serializer.encode(big);
    const uncompressed = plain.encode(big);
    assert.ok(uncompressed.length > 1024);
    assert.ok(text.startsWith("z:"));
    assert.ok(text.length < uncompressed.length / 4, `${text.length} vs ${uncompressed.length}`);
    assert.match(text.slice(2), /^[A-Za-z0-9+/]+=*$/);
    assert.deepStrictEqual(serializer.decode(text), big);
  });

  it("leaves payloads at or under the threshold as plain JSON", () => {
    const serializer = new Serializer({ compression: 1024 });
    const small = { a: 1, b: [new Date(0)] };
    const text = serializer.encode(small);
    assert.equal(text, plain.encode(small));
    assert.ok(text.startsWith("{"));
    assert.deepStrictEqual(serializer.decode(text), small);
  });

  it("measures the threshold in UTF-8 bytes", () => {
    const text = "é".repeat(60); // 120 UTF-8 bytes, 62 JSON characters
    const serializer = new Serializer({ compression: 100 });
    assert.ok(serializer.encode(text).startsWith("z:"));
    assert.equal(serializer.decode(serializer.encode(text)), text);
  });

  it("compresses every payload with compression: true and none by default", () => {
    const always = new Serializer({ compression: true });
    assert.ok(always.encode(1).startsWith("z:"));
    assert.equal(always.decode(always.encode(1)), 1);
    assert.equal(new Serializer({ compression: false }).encode(big), plain.encode(big));
    assert.ok(!plain.encode(big).startsWith("z:"));
  });

  it("decodes compressed payloads even when compression is off", () => {
    const text = new Serializer({ compression: true }).encode(big);
    assert.deepStrictEqual(plain.decode(text), big);
  });

  it("deflates with zlib: true (huey's use_zlib) into y: frames, which every serializer reads", () => {
    const zlib = new Serializer({ compression: 1024, zlib: true });
    const gzip = new Serializer({ compression: 1024 });
    const text = zlib.encode(big);
    assert.ok(text.startsWith("y:"), text.slice(0, 10));
    assert.match(text.slice(2), /^[A-Za-z0-9+/]+=*$/);
    assert.ok(text.length < gzip.encode(big).length, "no gzip header and trailer");
    for (const reader of [zlib, gzip, plain]) assert.deepStrictEqual(reader.decode(text), big);
    assert.deepStrictEqual(zlib.decode(gzip.encode(big)), big, "and it reads gzip frames");
    const small = { a: 1 };
    assert.equal(zlib.encode(small), plain.encode(small), "under the threshold: plain");
    const signed = new Serializer({ compression: true, zlib: true, signingKey: "k" });
    assert.match(signed.encode(small), /^s:[0-9a-f]{64}:y:/);
    assert.deepStrictEqual(signed.decode(signed.encode(small)), small);
  });

  it("reads plain frames when compression is on", () => {
    for (const options of [{ compression: true }, { compression: true, zlib: true }]) {
      const reader = new Serializer(options);
      assert.deepStrictEqual(reader.decode(plain.encode(big)), big);
      assert.equal(reader.decode(plain.encode("x")), "x");
    }
  });

  it("rejects a y: frame that is not deflate data, or inflates past maxMessageSize", () => {
    assert.throws(
      () => plain.decode("y:AAAA"),
      /^SerializationError: Cannot decode message: cannot inflate compressed payload/,
    );
    assert.throws(() => plain.decode("y:!!"), /compressed payload is not base64/);
    const bomb = `y:${Buffer.from(deflateSync(new Uint8Array(8 << 20))).toString("base64")}`;
    assert.throws(
      () => plain.decode(bomb),
      /inflates to more than 4194304 bytes \(maxMessageSize\)/,
    );
    assert.throws(
      () => new Serializer({ zlib: "yes" as unknown as boolean }),
      /^TypeError: Cannot create serializer: zlib must be a boolean: string/,
    );
  });

  it("rejects bad compression options", () => {
    assert.throws(() => new Serializer({ compression: -1 }), RangeError);
    assert.throws(() => new Serializer({ compression: NaN }), RangeError);
    assert.throws(
      () => new Serializer({ compression: "yes" as unknown as boolean }),
      TypeError,
    );
  });
});

describe("Serializer signing", () => {
  const signed = new Serializer({ signingKey: "s3cret" });
  const value = { task: "add", args: [1, 2n, new Date(0)] };

  it("signs every payload and round-trips it", () => {
    const text = signed.encode(value);
    assert.match(text, /^s:[0-9a-f]{64}:\{/);
    assert.deepStrictEqual(signed.decode(text), value);
  });

  it("accepts a Uint8Array key with the same bytes as a string key", () => {
    const bytes = new Serializer({ signingKey: new TextEncoder().encode("s3cret") });
    assert.equal(bytes.encode(value), signed.encode(value));
    assert.deepStrictEqual(bytes.decode(signed.encode(value)), value);
  });

  it("rejects a tampered payload", () => {
    const text = signed.encode(value).replace('"add"', '"rm"');
    assertSerializationError(() => signed.decode(text), /^Cannot decode message: bad signature/);
  });

  it("rejects a tampered signature", () => {
    const text = signed.encode(value);
    const flipped = text.slice(0, 2) + (text[2] === "0" ? "1" : "0") + text.slice(3);
    assertSerializationError(() => signed.decode(flipped), /^Cannot decode message: bad signature/);
  });

  it("rejects a payload signed with another key", () => {
    const other = new Serializer({ signingKey: "other" });
    assertSerializationError(
      () => signed.decode(other.encode(value)),
      /^Cannot decode message: bad signature/,
    );
  });

  it("rejects unsigned and half-signed payloads", () => {
    assertSerializationError(
      () => signed.decode(plain.encode(value)),
      /^Cannot decode message: bad signature/,
    );
    assertSerializationError(() => signed.decode("s::{}"), /bad signature/);
    assertSerializationError(() => signed.decode(""), /bad signature/);
  });

  it("rejects signed payloads when no key is configured", () => {
    assertSerializationError(() => plain.decode(signed.encode(value)), /no signingKey/);
  });

  it("signs the compressed frame when both are on", () => {
    const both = new Serializer({ signingKey: "s3cret", compression: 0 });
    const text = both.encode(value);
    assert.match(text, /^s:[0-9a-f]{64}:z:/);
    assert.deepStrictEqual(both.decode(text), value);
    assertSerializationError(() => both.decode(text.slice(0, -4) + "AAA="), /bad signature/);
  });

  it("rejects an empty or mistyped key", () => {
    assert.throws(() => new Serializer({ signingKey: "" }), TypeError);
    assert.throws(() => new Serializer({ signingKey: new Uint8Array(0) }), TypeError);
    assert.throws(() => new Serializer({ signingKey: 42 as unknown as string }), TypeError);
  });
});

describe("Serializer rejects malformed input", () => {
  it("rejects garbage and empty strings", () => {
    assertSerializationError(() => plain.decode("hello"), /^Cannot decode message: /);
    assertSerializationError(() => plain.decode(""), /^Cannot decode message: unknown format/);
    assertSerializationError(() => plain.decode(" {}"), /unknown format/);
    assertSerializationError(() => plain.decode("x:{}"), /unknown format/);
  });

  it("rejects invalid JSON with the parse error as cause", () => {
    const err = assertSerializationError(() => plain.decode('{"a":'), /invalid JSON/);
    assert.ok(err.cause instanceof SyntaxError);
  });

  it("rejects an unknown tag", () => {
    assertSerializationError(
      () => plain.decode('{"x":{"$t":"Regexp","v":"a+"}}'),
      'Cannot deserialize value at $.x: unknown tag: "Regexp"',
      "$.x",
    );
  });

  it("rejects malformed tags", () => {
    const cases = [
      '{"$t":"BigInt","v":"12a"}',
      '{"$t":"BigInt","v":12}',
      '{"$t":"Date","v":"not a date"}',
      '{"$t":"Number","v":"7"}',
      '{"$t":"Map","v":{}}',
      '{"$t":"Map","v":[[1]]}',
      '{"$t":"Set","v":"abc"}',
      '{"$t":"Object","v":[]}',
      '{"$t":"Uint8Array","v":"!!"}',
      '{"$t":"Float64Array","v":"AQID"}',
      '{"$t":"undefined","v":1}',
      '{"$t":"Date"}',
      '{"$t":"Date","v":null,"w":1}',
      '{"$t":5,"v":1}',
    ];
    for (const text of cases) {
      assertSerializationError(() => plain.decode(text), /^Cannot deserialize value at \$: /);
    }
  });

  it("rejects corrupt compressed payloads", () => {
    assertSerializationError(() => plain.decode("z:!!!"), /not base64/);
    const err = assertSerializationError(
      () => plain.decode(`z:${btoa("not gzip at all")}`),
      /cannot gunzip/,
    );
    assert.ok(err.cause instanceof Error);
  });

  it("rejects non-string input with a TypeError", () => {
    assert.throws(() => plain.decode(42 as unknown as string), TypeError);
  });
});

describe("Serializer fast paths agree with the full walk", () => {
  // encode skips the tagged copy for plain JSON values, and decode skips the
  // untagging walk for text without a tag: both must give what the walk gives.
  const fullEncode = (value: unknown) => JSON.stringify(toTagged(value));
  const fullDecode = (text: string) => fromTagged(JSON.parse(text));

  it("encodes like the full walk, for plain and not-quite-plain values", () => {
    const sparse = [1, , 3]; // a hole is undefined, which is tagged
    const withToJSON = { a: 1, toJSON: () => "x" };
    const arrayWithToJSON = Object.assign([1, 2], { toJSON: () => "y" });
    const hiddenToJSON = Object.defineProperty({ a: 1 }, "toJSON", { value: () => "z" });
    const values: unknown[] = [
      { a: 1, b: "two", c: [true, null, { d: 4.5 }] },
      [1, 2, 3],
      -0,
      [-0, 0],
      { n: NaN },
      sparse,
      { $t: "Date", v: "not a date" },
      { ["__proto__"]: 1 },
      Object.create(null),
      { u: undefined },
      hiddenToJSON,
      "text",
    ];
    for (const value of values) assert.equal(plain.encode(value), fullEncode(value));
    assert.throws(() => plain.encode(withToJSON), SerializationError);
    assert.equal(plain.encode(arrayWithToJSON), fullEncode(arrayWithToJSON));
    assert.deepEqual(roundTrip(sparse), [1, undefined, 3]);
    assert.ok(Object.is(roundTrip(-0), -0));
  });

  it("decodes like the full walk, including escaped tag keys", () => {
    const texts = [
      '{"a":[1,2,{"b":null}]}',
      '{"$t":"undefined"}',
      '{"$\\u0074":"undefined"}',
      '{"\\u0024t":"BigInt","v":"7"}',
      '{"s":"\\u00e9"}',
      '{"__proto__":{"x":1}}',
    ];
    for (const text of texts) assert.deepEqual(plain.decode(text), fullDecode(text));
    assert.equal(plain.decode('{"$\\u0074":"undefined"}'), undefined);
    assert.equal(plain.decode('{"\\u0024t":"BigInt","v":"7"}'), 7n);
  });
});

describe("a Huey's compression options", () => {
  it("a compressing consumer (zlib) runs a plain producer's messages, and the producer reads its results", async () => {
    const storage = new MemoryStorage();
    const producer = new Huey({ storage });
    const worker = new Huey({ storage, compression: true, zlib: true });
    const declare = (huey: Huey) => huey.task("echo", (text: string) => text.repeat(2));
    const echo = declare(producer);
    declare(worker);
    const r = await echo("ab");
    assert.ok(
      (await storage.enqueuedItems())[0].startsWith("{"),
      "the producer writes plain frames",
    );
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.ok((await storage.peekData(r.id))!.startsWith("y:"), "the worker writes zlib frames");
    assert.equal(await r.get(), "abab");
  });
});
