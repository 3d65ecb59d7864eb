/**
 * The `huey` subcommands, run as real processes (cli.ts under Deno, the npm
 * bin under Node and Bun) on an app's SQLite file and on a real Redis
 * server: what each prints, its `--json` document, and exit code 2 with one
 * line on stderr for each bad input.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  consumer,
  fast,
  freshApp,
  runCli,
  stop,
  tempDir,
  uniqueName,
  until,
} from "./process_helpers.ts";
import type { CliRun } from "./process_helpers.ts";
import { describeWithRedis, startRedisServer } from "./redis_server.ts";
import type { RedisServer } from "./redis_server.ts";
import { sparePort } from "./servers.ts";

const dir = tempDir("huey-ops-cli-");
const modUrl = pathToFileURL(fileURLToPath(new URL("../mod.ts", import.meta.url))).href;

/** One line on stderr, naming the command, exit 2, no stack trace. */
function assertBadInput(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 2, `exit code; stderr: ${run.stderr}`);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
  assert.match(lines[0], /^huey \w+: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
}

/** Parse the one JSON document a `--json` run printed. */
function json(run: CliRun): unknown {
  assert.equal(run.code, 0, `exit code; stderr: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

type Fresh = Awaited<ReturnType<typeof freshApp>>;

/** The tests every storage passes: `make()` gives a fresh app on that storage. */
function commandsOn(
  title: string,
  make: (trackStatus?: boolean) => Promise<Fresh>,
  location: (app: Fresh) => string,
) {
  describe(`huey subcommands on ${title}`, { timeout: 120_000 }, () => {
    it("info names the storage and where it is, and counts what it holds", async () => {
      const fresh = await make();
      const { add } = fresh.app;
      await add(1, 2);
      await add(3, 4);
      await add.schedule([5, 6], { delay: 3600 });
      const text = await runCli(["info", fresh.url]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^queued:\s+2$/m);
      assert.match(text.stdout, /^scheduled:\s+1$/m);
      assert.match(text.stdout, /^running:\s+0$/m);
      assert.ok(text.stdout.includes(location(fresh)), text.stdout);
      assert.match(text.stdout, /tick\s+crontab\(minute=\*/);
      const report = json(await runCli(["info", fresh.url, "--json"])) as Record<string, unknown>;
      assert.equal(report.queued, 2);
      assert.equal(report.scheduled, 1);
      assert.equal(report.running, 0);
      assert.equal(report.deadLetters, 0);
      assert.equal((report.storage as { location: string }).location, location(fresh));
      const periodic = report.periodic as { name: string; nextRun: string }[];
      assert.equal(periodic[0].name, "tick");
      assert.ok(Date.parse(periodic[0].nextRun) > Date.now());
      await fresh.app.huey.close();
    });

    it("pending and scheduled list the tasks in order, as a table and as JSON", async () => {
      const fresh = await make();
      const { add } = fresh.app;
      const first = await add(1, 2);
      const second = await add(3, 4);
      const later = await add.schedule([5, 6], { delay: 3600 });
      const table = await runCli(["pending", fresh.url]);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split("\n");
      assert.match(lines[0], /^ID\s+NAME\s+ARGS/);
      assert.ok(lines[1].startsWith(first.id) && lines[2].startsWith(second.id), table.stdout);
      const queued = json(await runCli(["pending", fresh.url, "--json"])) as { id: string }[];
      assert.deepEqual(queued.map((t) => t.id), [first.id, second.id]);
      const limited = json(await runCli(["pending", fresh.url, "--json", "--limit", "1"]));
      assert.equal((limited as unknown[]).length, 1);
      const waiting = json(await runCli(["scheduled", fresh.url, "--json"])) as {
        id: string;
        args: number[];
        eta: string;
      }[];
      assert.equal(waiting.length, 1);
      assert.equal(waiting[0].id, later.id);
      assert.deepEqual(waiting[0].args, [5, 6]);
      assert.ok(Date.parse(waiting[0].eta) > Date.now() + 3_000_000);
      await fresh.app.huey.close();
    });

    it("status tells queued, scheduled and complete apart without consuming the result", async () => {
      const fresh = await make();
      const { add, huey } = fresh.app;
      const queued = await add(1, 2);
      const later = await add.schedule([1, 1], { delay: 3600 });
      const state = async (id: string) =>
        (json(await runCli(["status", fresh.url, id, "--json"])) as { state: string }).state;
      assert.equal(await state(queued.id), "queued");
      assert.equal(await state(later.id), "scheduled");
      await huey.executeNext();
      assert.equal(await state(queued.id), "complete");
      const text = await runCli(["status", fresh.url, queued.id]);
      assert.match(text.stdout, /^state:\s+complete$/m);
      assert.equal(await queued.get(), 3, "the result is still there");
      await huey.close();
    });

    it("running lists the messages consumers hold, even without status records", async () => {
      const fresh = await make();
      const r = await fresh.app.add(1, 2);
      await fresh.app.huey.storage.dequeue({ now: Date.now(), leaseSeconds: 60 });
      const rows = json(await runCli(["running", fresh.url, "--json"])) as {
        id: string;
        name: string;
        state: string;
      }[];
      assert.deepEqual(rows.map(({ id, name, state }) => ({ id, name, state })), [
        { id: r.id, name: "add", state: "running" },
      ]);
      const text = await runCli(["running", fresh.url]);
      assert.match(text.stdout, new RegExp(`^${r.id}\\s+add`, "m"));
      await fresh.app.huey.close();
    });

    it("info, running and status name the live consumer that runs a task", async () => {
      const fresh = await make(true);
      const running = await consumer([fresh.url, "--heartbeat-interval", "1", ...fast]);
      try {
        const r = await fresh.app.slow(20_000);
        await until(() => fresh.lines().includes(`start ${r.id}`), 20_000, running.output);
        const info = json(await runCli(["info", fresh.url, "--json"])) as {
          consumersAlive: number;
          consumers: { id: string; pid: number; alive: boolean }[];
          running: number;
        };
        assert.equal(info.consumersAlive, 1);
        assert.equal(info.consumers[0].pid, running.child.pid);
        assert.equal(info.running, 1);
        const text = await runCli(["info", fresh.url]);
        assert.match(text.stdout, /^consumers:\s+1 alive$/m);
        await until(async () => {
          const rows = json(await runCli(["running", fresh.url, "--json"])) as {
            id: string;
            consumer?: string;
          }[];
          return rows.length === 1 && rows[0].id === r.id &&
            rows[0].consumer === info.consumers[0].id;
        }, 20_000);
        const status = json(await runCli(["status", fresh.url, r.id, "--json"])) as {
          state: string;
          consumer: string;
          startedAt: string;
        };
        assert.equal(status.state, "running");
        assert.equal(status.consumer, info.consumers[0].id);
        assert.ok(Date.parse(status.startedAt) <= Date.now());
      } finally {
        await stop(running, "SIGTERM");
        await fresh.app.huey.close();
      }
    });

    it("dead lists the messages set aside, with the task and the reason", async () => {
      const fresh = await make();
      const { huey } = fresh.app;
      const task = fresh.app.add.s(1, 2);
      await huey.storage.putError(huey.encodeTask(task), "UnknownTaskError: add", Date.now());
      await huey.storage.putError("not a message", "SerializationError: bad frame", Date.now());
      const rows = json(await runCli(["dead", fresh.url, "--json"])) as {
        taskId?: string;
        taskName?: string;
        reason: string;
      }[];
      assert.equal(rows.length, 2);
      assert.equal(rows[0].taskId, task.id);
      assert.equal(rows[0].taskName, "add");
      assert.match(rows[1].reason, /bad frame/);
      const text = await runCli(["dead", fresh.url]);
      assert.match(text.stdout, /UnknownTaskError: add/);
      const info = json(await runCli(["info", fresh.url, "--json"])) as { deadLetters: number };
      assert.equal(info.deadLetters, 2);
      await huey.close();
    });

    it("requeue puts a dead letter back by its id, its task id, or all of them", async () => {
      const fresh = await make();
      const { huey, add } = fresh.app;
      const first = add.s(1, 2);
      const second = add.s(3, 4);
      await huey.storage.putError(huey.encodeTask(first), "UnknownTaskError: add", Date.now());
      await huey.storage.putError(huey.encodeTask(second), "UnknownTaskError: add", Date.now());
      const rows = json(await runCli(["dead", fresh.url, "--json"])) as { id: string }[];
      assertBadInput(
        await runCli(["requeue", fresh.url, "no-such-letter"]),
        /unknown dead letter "no-such-letter"/,
      );
      const one = json(await runCli(["requeue", fresh.url, rows[0].id, "--json"]));
      assert.deepEqual(one, { requeued: 1 });
      assert.deepEqual((await huey.pending()).map((t) => t.id), [first.id]);
      const text = await runCli(["requeue", fresh.url, "--all"]);
      assert.equal(text.stdout.trim(), "1 message(s) back in the queue");
      assert.deepEqual((await huey.pending()).map((t) => t.id), [first.id, second.id]);
      assert.deepEqual(json(await runCli(["dead", fresh.url, "--json"])), []);
      await huey.close();
    });

    it("cancel stops a queued task from running; an unknown id is bad input", async () => {
      const fresh = await make();
      const { huey, add } = fresh.app;
      const r = await add(1, 2);
      assert.deepEqual(json(await runCli(["cancel", fresh.url, r.id, "--json"])), {
        id: r.id,
        cancelled: true,
      });
      // The consumer that takes it skips it, and records it cancelled.
      await huey.executeNext();
      const status = json(await runCli(["status", fresh.url, r.id, "--json"])) as {
        state: string;
      };
      assert.equal(status.state, "cancelled");
      assertBadInput(
        await runCli(["cancel", fresh.url, "no-such-id"]),
        /cannot cancel "no-such-id"/,
      );
      await huey.close();
    });

    it("revoke and restore a task by name", async () => {
      const fresh = await make();
      const { huey, add } = fresh.app;
      const revoked = json(await runCli(["revoke", fresh.url, "add", "--json"]));
      assert.deepEqual(revoked, { task: "add", revoked: true });
      assert.equal(await add.isRevoked(), true);
      const restored = await runCli(["restore", fresh.url, "add"]);
      assert.equal(restored.stdout.trim(), "restored add");
      assert.equal(await add.isRevoked(), false);
      const again = json(await runCli(["restore", fresh.url, "add", "--json"]));
      assert.deepEqual(again, { task: "add", restored: false });
      await huey.close();
    });

    it("flush empties what it is told to, and says how much was there", async () => {
      const fresh = await make();
      const { huey, add } = fresh.app;
      await add(1, 2);
      await add(1, 3);
      await add.schedule([1, 4], { delay: 3600 });
      await huey.put("kept", 1);
      const report = json(
        await runCli(["flush", fresh.url, "--queue", "--schedule", "--json"]),
      ) as { flushed: Record<string, number> };
      assert.deepEqual(report.flushed, { queue: 2, schedule: 1 });
      assert.equal(await huey.storage.queueSize(), 0);
      assert.equal(await huey.storage.scheduleSize(), 0);
      assert.equal(await huey.get("kept", { peek: true }), 1, "results stay");
      const text = await runCli(["flush", fresh.url, "--results"]);
      assert.equal(text.stdout.trim(), "results: 1 removed");
      assert.equal(await huey.storage.resultStoreSize(), 0);
      await huey.close();
    });

    it("exits 2 with one line for an unknown id, an unknown task and bad arguments", async () => {
      const fresh = await make();
      await fresh.app.huey.close();
      assertBadInput(
        await runCli(["status", fresh.url, "no-such-id"]),
        /unknown task id "no-such-id"/,
      );
      assertBadInput(
        await runCli(["status", fresh.url, "no-such-id", "--json"]),
        /unknown task id/,
      );
      assertBadInput(
        await runCli(["revoke", fresh.url, "sned"]),
        /unknown task "sned": the app declares add,/,
      );
      assertBadInput(await runCli(["restore", fresh.url, "sned"]), /unknown task "sned"/);
      assertBadInput(await runCli(["flush", fresh.url]), /flush needs what to empty/);
      assertBadInput(await runCli(["status", fresh.url]), /expected ID .*-h shows its usage/);
      assertBadInput(await runCli(["pending", fresh.url, "--limit", "x"]), /--limit expects/);
      assertBadInput(await runCli(["pending", fresh.url, "--bogus"]), /bogus/);
      assertBadInput(await runCli(["info"]), /missing the app module/);
      assertBadInput(await runCli(["requeue", fresh.url]), /one dead letter id or --all/);
      assertBadInput(await runCli(["cancel", fresh.url, "no-such-id"]), /cannot cancel/);
      assertBadInput(await runCli(["requeue", fresh.url, "nope"]), /unknown dead letter "nope"/);
      assertBadInput(
        await runCli(["requeue", fresh.url, "a", "--all"]),
        /one dead letter id or --all/,
      );
    });
  });
}

commandsOn(
  "SQLite",
  (trackStatus) => freshApp(dir, { trackStatus }),
  (fresh) => fresh.app.huey.storage.location!,
);

await describeWithRedis("huey subcommands on Redis", (server) => {
  after(() => server.stop());
  const db = 3;
  commandsOn(
    "Redis",
    (trackStatus) =>
      freshApp(dir, { redis: `${server.url}/${db}`, name: `ops-${uniqueName()}`, trackStatus }),
    () => `127.0.0.1:${server.port}/${db}`,
  );

  describe("huey subcommands when Redis is down", { timeout: 120_000 }, () => {
    let own: RedisServer;
    after(() => own?.stop());

    it("exits 2 with one line naming the storage, for every command", async () => {
      own = await startRedisServer();
      const fresh = await freshApp(dir, { redis: own.url, name: `down-${uniqueName()}` });
      await fresh.app.huey.close();
      await own.stop();
      const commands = [
        ["info"],
        ["pending"],
        ["scheduled"],
        ["running"],
        ["dead"],
        ["status", "some-id"],
        ["revoke", "add"],
        ["restore", "add"],
        ["flush", "--queue"],
      ];
      for (const [name, ...rest] of commands) {
        const run = await runCli([name, fresh.url, ...rest]);
        assertBadInput(
          run,
          new RegExp(
            `cannot use RedisStorage "down-.*" at 127\\.0\\.0\\.1:${own.port}/0: .*running`,
          ),
        );
      }
    });

    it("says the same for a port nothing listens on, without the password", async () => {
      const port = await sparePort();
      const path = join(dir, `${uniqueName()}_app.ts`);
      writeFileSync(
        path,
        `import { RedisHuey } from ${JSON.stringify(modUrl)};\n` +
          `export const huey = new RedisHuey({ name: "gone", url: "redis://u:s3cret@127.0.0.1:${port}/2" });\n`,
      );
      const run = await runCli(["info", path]);
      assertBadInput(run, new RegExp(`127\\.0\\.0\\.1:${port}/2`));
      assert.doesNotMatch(run.stderr, /s3cret/);
    });
  });
});

describe("huey -h and the command table", { timeout: 60_000 }, () => {
  it("-h lists every subcommand with an example, and keeps the consumer's flags", async () => {
    const run = await runCli(["-h"]);
    assert.equal(run.code, 0);
    for (
      const name of [
        "info",
        "pending",
        "scheduled",
        "running",
        "dead",
        "status",
        "requeue",
        "cancel",
        "revoke",
        "restore",
        "flush",
        "dashboard",
      ]
    ) {
      assert.match(
        run.stdout,
        new RegExp(`^  ${name} .*\\n\\s+e\\.g\\. huey ${name} app\\.ts`, "m"),
      );
    }
    assert.match(run.stdout, /--workers N/);
  });

  it("huey <command> -h shows that command's usage and example", async () => {
    const run = await runCli(["flush", "-h"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: huey flush <app-module>\[:export\] --queue/);
    assert.match(run.stdout, /huey flush app\.ts --queue --schedule/);
    assert.match(run.stdout, /--locks/);
  });

  it("a SQLite file that cannot be opened is one line and exit 2", async () => {
    const path = join(dir, `${uniqueName()}_app.ts`);
    const missing = join(dir, "no-such-dir", "app.db");
    writeFileSync(
      path,
      `import { SqliteHuey } from ${JSON.stringify(modUrl)};\n` +
        `export const huey = new SqliteHuey({ name: "gone", filename: ${
          JSON.stringify(missing)
        } });\n`,
    );
    for (const command of [["info"], ["pending"], ["status", "x"], ["flush", "--queue"]]) {
      const [name, ...rest] = command;
      assertBadInput(await runCli([name, path, ...rest]), /no-such-dir/);
    }
  });

  it("an app module that cannot be imported is one line and exit 2", async () => {
    assertBadInput(await runCli(["info", join(dir, "missing.ts")]), /Cannot import app module/);
  });

  it("dashboard with a bad port is one line and exit 2", async () => {
    const fresh = await freshApp(dir);
    await fresh.app.huey.close();
    assertBadInput(
      await runCli(["dashboard", fresh.url, "--port", "http"]),
      /--port must be 0-65535/,
    );
  });
});
