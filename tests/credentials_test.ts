/**
 * Passwords never reach an error message or a log line: a Redis URL that
 * does not parse, a server that cannot be reached, an app module URL with
 * credentials, and a real consumer logging its storage errors.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RedisHuey, RedisStorage } from "../mod.ts";
import { connectRedis } from "../lib/storage/redis/connection.ts";
import { printed, startConsumer, stop, tempDir, uniqueName } from "./process_helpers.ts";
import { silent } from "./helpers.ts";

const SECRET = "s3cret-pw";
const modUrl = pathToFileURL(fileURLToPath(new URL("../mod.ts", import.meta.url))).href;
const dir = tempDir("huey-creds-");

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 1));
    });
  });
}

/** Everything an error shows: message, stack, and its causes'. */
function everything(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 10; depth++) {
    if (e instanceof Error) {
      parts.push(String(e), e.stack ?? "");
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join("\n");
}

/** The error `fn` throws or rejects with. */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail("did not fail");
}

const BAD_URLS = [
  `redis://user:${SECRET}@127.0.0.1:notaport`,
  `redis://:${SECRET}@[::1:6379`,
  `redis://user:${SECRET}/x@127.0.0.1:6379`,
  `http://user:${SECRET}@127.0.0.1:6379`,
];

describe("Redis credentials in errors", () => {
  for (const url of BAD_URLS) {
    it(`a URL that cannot be used is shown without its password: ${url.replace(SECRET, "…")}`, async () => {
      const error = await failure(() => connectRedis({ url }));
      assert.doesNotMatch(everything(error), new RegExp(SECRET));
      assert.match(String(error), /Cannot connect to Redis for huey: /);
      // A storage refuses such a URL when it is made, not at its first command.
      const made = await failure(() => new RedisStorage({ url, name: "app" }));
      assert.doesNotMatch(everything(made), new RegExp(SECRET));
      assert.match(String(made), /storage "app"/);
    });
  }

  it("a server that cannot be reached is named without the password (url or option)", async () => {
    const port = await closedPort();
    for (
      const options of [
        { url: `redis://user:${SECRET}@127.0.0.1:${port}` },
        { host: "127.0.0.1", port, password: SECRET },
      ]
    ) {
      const storage = new RedisStorage({ ...options, name: "app" });
      try {
        const error = await failure(() => storage.queueSize());
        assert.match(
          String(error),
          new RegExp(`Cannot connect to Redis at 127\\.0\\.0\\.1:${port}`),
        );
        assert.doesNotMatch(everything(error), new RegExp(SECRET));
      } finally {
        await storage.close();
      }
    }
  });

  it("a Huey's storage errors carry no password", async () => {
    const port = await closedPort();
    const huey = new RedisHuey({ url: `redis://user:${SECRET}@127.0.0.1:${port}`, logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const error = await failure(() => add(1, 2));
    assert.doesNotMatch(everything(error), new RegExp(SECRET));
    await huey.close();
  });
});

describe("consumer process and Redis credentials", { timeout: 120_000 }, () => {
  /** An app module whose Huey is `new RedisHuey(<options>)`. */
  function redisApp(options: string): string {
    const path = join(dir, `${uniqueName()}_app.ts`);
    writeFileSync(
      path,
      `import { RedisHuey } from ${JSON.stringify(modUrl)};\n` +
        `export const huey = new RedisHuey(${options});\n` +
        `huey.task("add", (a, b) => a + b);\n`,
    );
    return path;
  }

  it("logs a server it cannot reach without the password", async () => {
    const port = await closedPort();
    for (
      const options of [
        `{ name: "creds", url: "redis://user:${SECRET}@127.0.0.1:${port}" }`,
        `{ name: "creds", host: "127.0.0.1", port: ${port}, password: "${SECRET}" }`,
      ]
    ) {
      // -v: the retries after the first line are logged at DEBUG; none may show the password.
      const running = startConsumer([redisApp(options), "-v", "-d", "0.05", "-m", "0.1"]);
      try {
        await printed(
          running,
          /does not answer.*\n(.*\n)*.*still unreachable.*\n(.*\n)*.*still/,
          20_000,
        );
        assert.match(running.output(), new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.doesNotMatch(running.output(), new RegExp(SECRET));
      } finally {
        await stop(running, "SIGTERM");
      }
      assert.doesNotMatch(running.output(), new RegExp(SECRET));
    }
  });

  it("refuses a URL that does not parse at start-up, in one line without the password", async () => {
    const running = startConsumer([
      redisApp(`{ name: "creds", url: "redis://user:${SECRET}@127.0.0.1:notaport" }`),
    ]);
    const exited = await Promise.race([
      running.exited,
      printed(running, /Cannot/, 20_000).then(() => undefined),
    ]);
    try {
      assert.doesNotMatch(running.output(), new RegExp(SECRET));
      assert.ok(exited ?? (await running.exited), "exits");
      assert.notEqual((await running.exited).code, 0);
      assert.match(running.output().trim(), /^huey: Cannot import app module .*bad url/);
      assert.equal(running.output().trim().split("\n").length, 1, running.output());
    } finally {
      await stop(running, "SIGTERM");
    }
  });

  it("shows an app module URL without its credentials", async () => {
    const port = await closedPort();
    const running = startConsumer([`http://user:${SECRET}@127.0.0.1:${port}/app.ts`]);
    const { code } = await running.exited;
    assert.notEqual(code, 0);
    // Deno itself prints "Download <url>" before it fetches a module: its line, not ours.
    const ours = running.output().split("\n").filter((line) => !line.includes("Download")).join(
      "\n",
    );
    assert.match(
      ours,
      /^huey: Cannot import app module http:\/\/\*\*\*@127\.0\.0\.1:\d+\/app\.ts: /,
    );
    assert.doesNotMatch(ours, new RegExp(SECRET));
  });
});
