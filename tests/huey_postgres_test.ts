/**
 * PostgresHuey on a real PostgreSQL server (a private cluster this run
 * starts, see postgres_server.ts): transactional enqueue with both npm
 * clients, results pushed to a blocked get(), and a consumer process
 * (cli.ts) that rides out a server restart with nothing lost.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import postgres from "postgres";
import { ConfigurationError, MemoryHuey, PostgresHuey, SqliteHuey } from "../mod.ts";
import { Consumer } from "../lib/consumer/consumer.ts";
import { runtimeName, scriptCommand } from "../lib/runtime.ts";
import { describeWithPostgres } from "./postgres_server.ts";
import type { PostgresServer } from "./postgres_server.ts";
import { silent } from "./helpers.ts";
import { writeAppModule } from "./fixtures/postgres_app.ts";

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let names = 0;
const uniqueName = () => `huey-pg-${RUN}-${names++}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cliPath = fileURLToPath(new URL("../cli.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "huey-pg-app-"));

await describeWithPostgres("PostgresHuey", register);

function register(server: PostgresServer): void {
  describe("PostgresHuey", { timeout: 120_000 }, () => {
    const open: { close(): Promise<void> }[] = [];
    after(async () => {
      for (const huey of open) await huey.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    function pair() {
      const name = uniqueName();
      const producer = new PostgresHuey({ name, url: server.url, logger: silent });
      const worker = new PostgresHuey({ name, url: server.url, logger: silent });
      open.push(producer, worker);
      const declare = (huey: PostgresHuey) => huey.task("add", (a: number, b: number) => a + b);
      return { producer, worker, add: declare(producer), workerAdd: declare(worker) };
    }

    it("schedule({ transaction }) with postgres.js: the task exists only if the transaction commits", async () => {
      const { producer, add } = pair();
      const sql = postgres(server.url, { max: 2, onnotice: () => {} });
      try {
        await sql`CREATE TEMP TABLE IF NOT EXISTS orders (id int)`;
        const committed = await sql.begin(async (tx) => {
          await tx`INSERT INTO orders VALUES (1)`;
          return await add.schedule([1, 2], { transaction: tx });
        });
        await assert.rejects(
          sql.begin(async (tx) => {
            await add.schedule([3, 4], { transaction: tx });
            await add.schedule([5, 6], { transaction: tx, delay: 60 });
            throw new Error("payment declined");
          }),
          /payment declined/,
        );
        const pending = await producer.pending();
        assert.deepEqual(pending.map((task) => [task.id, task.args]), [[committed.id, [1, 2]]]);
        assert.equal((await producer.scheduled()).length, 0);
      } finally {
        await sql.end();
      }
    });

    it("schedule({ transaction }) with a pg client inside BEGIN", async () => {
      const { producer, add } = pair();
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query("BEGIN");
        await add.schedule([1, 1], { transaction: client });
        await client.query("COMMIT");
        await client.query("BEGIN");
        await add.schedule([2, 2], { transaction: client });
        await client.query("ROLLBACK");
        assert.deepEqual((await producer.pending()).map((task) => task.args), [[1, 1]]);
      } finally {
        await client.end();
      }
    });

    it("a storage that cannot join a transaction refuses it, naming the storage", async () => {
      const sqlite = new SqliteHuey({ name: "app", filename: ":memory:" });
      const memory = new MemoryHuey({ name: "mem" });
      open.push(sqlite, memory);
      const tx = { query: async () => ({ rows: [] }) };
      for (const huey of [sqlite, memory]) {
        const add = huey.task("add", (a: number, b: number) => a + b);
        await assert.rejects(() => add.schedule([1, 2], { transaction: tx }), (error: Error) => {
          assert.ok(error instanceof ConfigurationError, String(error));
          assert.match(
            error.message,
            /^Cannot enqueue task add in a transaction: \w+Storage "\w+"/,
          );
          return true;
        });
        assert.equal((await huey.pending()).length, 0);
      }
      await assert.rejects(
        async () => await sqlite.task("b", () => 1).schedule([], { transaction: 42 }),
        TypeError,
      );
    });

    it("a consumer on one connection runs what another enqueued; get() wakes on the result", async () => {
      const { worker, add } = pair();
      const consumer = new Consumer(worker, { workers: 4 });
      await consumer.start();
      try {
        const group = await add.map(
          Array.from({ length: 50 }, (_, i) => [i, i] as [number, number]),
        );
        assert.deepEqual(
          await group.get({ blocking: true, timeout: 20 }),
          Array.from({ length: 50 }, (_, i) => 2 * i),
        );
        const started = performance.now();
        const result = await add(20, 22);
        assert.equal(await result.get({ blocking: true, timeout: 10 }), 42);
        assert.ok(performance.now() - started < 1000, "pushed, not polled at a slow step");
      } finally {
        await consumer.stop();
      }
    });

    if (!server.own) {
      it("restart is not tested: DATABASE_URL points at a server this run did not start", () => {});
      return;
    }

    it("a consumer process rides out a server restart: nothing lost", async () => {
      const name = uniqueName();
      const log = join(dir, `${name}.log`);
      const module = join(dir, `${name}_app.mjs`);
      const config = { url: server.url, name, log, lease: 2 };
      const app = await writeAppModule(module, config);
      open.push(app.huey);
      const { command, args } = scriptCommand(cliPath, [
        module,
        "-w",
        "4",
        "-d",
        "0.05",
        "-m",
        "0.2",
      ]);
      const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout!.on("data", (chunk) => (output += chunk));
      child.stderr!.on("data", (chunk) => (output += chunk));
      const closed = new Promise((resolve) => child.on("close", resolve));
      const until = async (check: () => boolean, ms: number) => {
        const deadline = Date.now() + ms;
        while (!check()) {
          if (Date.now() > deadline) throw new Error(`timed out; consumer output:\n${output}`);
          await sleep(25);
        }
      };
      const ran = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
      /** Enqueue `i`, retrying while the server is down. */
      const enqueue = async (i: number) => {
        for (;;) {
          try {
            return await app.note(i);
          } catch {
            await sleep(100);
          }
        }
      };
      try {
        await until(() => output.includes("Consumer started"), 20_000);
        for (let i = 0; i < 50; i++) await enqueue(i);
        await until(() => ran().length >= 50, 20_000);
        await server.stop();
        await sleep(500);
        const during = Promise.all(Array.from({ length: 50 }, (_, i) => enqueue(50 + i)));
        await sleep(500);
        await server.start();
        await during;
        for (let i = 100; i < 150; i++) await enqueue(i);
        await until(() => new Set(ran()).size >= 150, 60_000);
        const runs = ran().map(Number);
        assert.deepEqual(
          [...new Set(runs)].sort((a, b) => a - b),
          Array.from({ length: 150 }, (_, i) => i),
        );
        assert.equal(child.exitCode, null, "the consumer is still running");
        assert.match(output, /storage|Postgres|connect/i, "the outage was logged");
      } finally {
        if (child.exitCode === null) child.kill("SIGINT");
        await closed;
      }
      if (runtimeName() !== "deno") assert.equal(child.exitCode, 0, output);
    });
  });
}
