/**
 * A Deno app outside this repository, with its own deno.json (or none),
 * imports the library by a local path and by an http URL (this repository
 * served on a loopback port with TypeScript media types), and runs a real
 * consumer and a producer on SQLite and on Redis with every worker type.
 *
 * It starts Deno processes, so it runs once, from the Deno run of the suite.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../lib/runtime.ts";
import { describeWithRedis } from "./redis_server.ts";
import type { RedisServer } from "./redis_server.ts";

const repo = fileURLToPath(new URL("../", import.meta.url));
const onDeno = runtimeName() === "deno";

const MEDIA_TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".json": "application/json",
};

/** Serve the repository's files read-only on a spare loopback port. */
function serveRepository(): Promise<{ server: Server; base: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const file = join(repo, path);
    if (!file.startsWith(repo) || path.includes("node_modules")) {
      response.writeHead(403).end();
      return;
    }
    try {
      if (!statSync(file).isFile()) throw new Error("not a file");
      const body = readFileSync(file);
      response.writeHead(200, {
        "content-type": MEDIA_TYPES[extname(file)] ?? "application/octet-stream",
      });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ server, base: `http://127.0.0.1:${port}/` });
    });
  });
}

interface Run {
  output: () => string;
  exited: Promise<number | null>;
  kill(signal: "SIGINT" | "SIGTERM"): void;
}

/** `deno <args>` in `cwd`, with its output collected. */
function deno(cwd: string, args: string[]): Run {
  const child = spawn("deno", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return {
    output: () => output,
    exited: new Promise((resolve) => child.on("close", (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

async function until(check: () => boolean, ms: number, explain: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; output:\n${explain()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An app directory: app.ts declares the tasks, producer.ts enqueues one and prints its result. */
function writeApp(dir: string, lib: string, storage: string, withConfig: boolean): void {
  if (withConfig) writeFileSync(join(dir, "deno.json"), JSON.stringify({ tasks: {} }));
  writeFileSync(
    join(dir, "app.ts"),
    `import { RedisHuey, SqliteHuey } from ${JSON.stringify(`${lib}mod.ts`)};\n` +
      `export const huey = ${storage};\n` +
      `export const add = huey.task("add", (a: number, b: number) => a + b);\n`,
  );
  writeFileSync(
    join(dir, "producer.ts"),
    `import { add, huey } from "./app.ts";\n` +
      `const r = await add(1, 2);\n` +
      `console.log("result", await r.get({ blocking: true, timeout: 60 }));\n` +
      `await huey.close();\n`,
  );
}

function register(redis: RedisServer | undefined): void {
  describe("importing the library from outside the repository", {
    skip: onDeno ? false : "spawns Deno apps: runs in the Deno run of the suite",
    timeout: 600_000,
  }, () => {
    let served: { server: Server; base: string };
    const dirs: string[] = [];
    before(async () => (served = await serveRepository()));
    after(async () => {
      served?.server.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await redis?.stop();
    });

    const modes = [
      { mode: "a local path", lib: () => repo, config: false },
      { mode: "an http URL", lib: () => served.base, config: true },
    ];
    const storages = [
      {
        kind: "SQLite",
        make: (dir: string) =>
          `new SqliteHuey({ filename: ${JSON.stringify(join(dir, "app.db"))} })`,
      },
      ...(redis
        ? [{
          kind: "Redis",
          make: (dir: string) =>
            `new RedisHuey({ name: ${JSON.stringify(`import-${dir.slice(-6)}`)}, url: ${
              JSON.stringify(redis.url)
            } })`,
        }]
        : []),
    ];
    for (const { mode, lib, config } of modes) {
      for (const { kind, make } of storages) {
        for (const workerType of ["async", "worker", "process"]) {
          it(`by ${mode}, ${config ? "with" : "without"} a deno.json: ${kind}, -k ${workerType}`, async () => {
            const dir = mkdtempSync(join(tmpdir(), "huey-import-"));
            dirs.push(dir);
            writeApp(dir, lib(), make(dir), config);
            const cli = `${lib()}cli.ts`;
            const consumer = deno(dir, ["run", "-A", cli, "app.ts", "-k", workerType, "-w", "1"]);
            try {
              await until(
                () => consumer.output().includes("Consumer started"),
                120_000,
                consumer.output,
              );
              const producer = deno(dir, ["run", "-A", "producer.ts"]);
              assert.equal(await producer.exited, 0, producer.output());
              assert.match(producer.output(), /^result 3$/m);
            } finally {
              consumer.kill("SIGINT");
              await consumer.exited;
            }
            assert.match(consumer.output(), /Consumer stopped/, consumer.output());
            assert.doesNotMatch(consumer.output(), /TypeError|not a dependency|Uncaught/);
          });
        }
      }
    }
  });
}

if (onDeno) await describeWithRedis("importing the library from outside the repository", register);
else register(undefined);
