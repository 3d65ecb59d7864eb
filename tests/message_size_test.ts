/**
 * maxMessageSize: a frame that inflates (or is) larger than the limit is
 * rejected before it is allocated, a producer cannot enqueue one, and a
 * consumer keeps such a message in the error store and carries on.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resourceUsage } from "node:process";
import { gzipSync } from "node:zlib";
import { MemoryHuey, SerializationError, Serializer } from "../mod.ts";
import { consumer, fast, freshApp, stop, tempDir } from "./process_helpers.ts";
import { silent } from "./helpers.ts";

const MiB = 1 << 20;

/**
 * A `z:` frame of about 1 MB that inflates to `mebibytes` MiB of zeros:
 * gzip members of 1 MiB each, concatenated (gunzip reads them as one stream).
 */
function gzipBomb(mebibytes: number): string {
  const member = gzipSync(new Uint8Array(MiB), { level: 9 });
  const bomb = new Uint8Array(member.length * mebibytes);
  for (let i = 0; i < mebibytes; i++) bomb.set(member, i * member.length);
  return `z:${Buffer.from(bomb).toString("base64")}`;
}

function serializationError(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SerializationError, `expected SerializationError: ${error}`);
    return error;
  }
  assert.fail("did not throw");
}

describe("Serializer maxMessageSize", () => {
  it("rejects a compressed frame that inflates past the limit without inflating it all", () => {
    const bomb = gzipBomb(1024); // 1 GiB inflated
    const peakBefore = resourceUsage().maxRSS; // kilobytes
    const error = serializationError(() => new Serializer().decode(bomb));
    const grewMiB = (resourceUsage().maxRSS - peakBefore) / 1024;
    assert.ok(grewMiB < 200, `peak memory grew by ${grewMiB.toFixed(0)} MiB`);
    assert.match(error.message, /inflates to more than 4194304 bytes \(maxMessageSize\)/);
    assert.match(error.message, /raise maxMessageSize/);
    assert.ok(error.message.length < 400, "the frame is not echoed whole");
  });

  it("reads a compressed frame up to the limit", () => {
    const serializer = new Serializer({ compression: true, maxMessageSize: 2 * MiB });
    const text = "x".repeat(2 * MiB - 2); // its JSON is the limit exactly
    assert.equal(serializer.decode(serializer.encode(text)), text);
  });

  it("rejects a plain frame longer than the limit, counting UTF-8 bytes", () => {
    const serializer = new Serializer({ maxMessageSize: 1000 });
    const over = serializationError(() => serializer.decode(JSON.stringify("x".repeat(999))));
    assert.match(over.message, /1001 bytes is more than maxMessageSize \(1000 bytes\)/);
    // 400 characters, 1202 bytes of UTF-8.
    const wide = serializationError(() => serializer.decode(JSON.stringify("é".repeat(600))));
    assert.match(wide.message, /1202 bytes is more than maxMessageSize/);
    assert.equal(serializer.decode(JSON.stringify("x".repeat(998))), "x".repeat(998));
  });

  it("refuses to encode a value over the limit, compressed or not", () => {
    for (const compression of [false, true]) {
      const serializer = new Serializer({ maxMessageSize: 1000, compression });
      const error = serializationError(() => serializer.encode("é".repeat(600)));
      assert.match(error.message, /Cannot encode message: 1202 bytes is more than maxMessageSize/);
      assert.match(error.message, /raise maxMessageSize/);
    }
  });

  it("checks the option", () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, "4MB"]) {
      assert.throws(
        () => new Serializer({ maxMessageSize: bad as number }),
        (error: Error) => error instanceof RangeError && /maxMessageSize/.test(error.message),
        String(bad),
      );
    }
  });
});

describe("Huey maxMessageSize", () => {
  it("fails at enqueue, naming the task, for a message over the limit", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const echo = huey.task("echo", (text: string) => text);
    const error = await echo("x".repeat(5 * MiB)).then(() => undefined, (error) => error);
    assert.ok(error instanceof SerializationError, String(error));
    assert.equal(error.taskName, "echo");
    assert.match(error.message, /^Cannot enqueue task echo: .* more than maxMessageSize/);
    assert.equal(await huey.storage.queueSize(), 0);
  });

  it("passes maxMessageSize to its serializer", async () => {
    const huey = new MemoryHuey({ logger: silent, maxMessageSize: 16 * MiB, immediate: true });
    const echo = huey.task("echo", (text: string) => text.length);
    assert.equal(await (await echo("x".repeat(5 * MiB))).get(), 5 * MiB);
  });
});

describe("consumer process and an oversized message", { timeout: 120_000 }, () => {
  const dir = tempDir("huey-size-");

  it("keeps a frame that inflates to 1 GiB in the error store, acks it and runs the next task", async () => {
    const { url, app } = await freshApp(dir);
    const bomb = gzipBomb(1024);
    await app.huey.storage.enqueue(bomb, 0);
    const running = await consumer([url, "-n", ...fast]); // -n: no periodic "tick" in the queue
    try {
      const r = await app.add(2, 3);
      assert.equal(await r.get({ blocking: true, timeout: 20 }), 5, running.output());
      const [kept] = await app.huey.storage.errorItems();
      assert.ok(kept, "the message is in the error store");
      assert.equal(kept.data, bomb, "kept whole");
      assert.match(kept.reason, /inflates to more than 4194304 bytes \(maxMessageSize\)/);
      assert.equal(await app.huey.storage.queueSize(), 0);
      assert.equal(await app.huey.storage.leasedSize(), 0, "acknowledged");
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await app.huey.close();
    }
  });
});
