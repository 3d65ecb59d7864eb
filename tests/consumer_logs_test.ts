/**
 * What a consumer process logs, checked on real processes, SQLite files and
 * a real Redis server: "Consumer started" only once the storage answered
 * (naming where it is), one line per storage outage and one when it is
 * back, WARN for a failure that will be retried and ERROR with the stack
 * for one that will not, `-v` options, `--log-format json`, and a SIGTERM
 * release that is not reported as a dead consumer.
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
  printed,
  startConsumer,
  stop,
  tempDir,
  uniqueName,
  until,
} from "./process_helpers.ts";
import type { Running } from "./process_helpers.ts";
import { describeWithRedis, startRedisServer } from "./redis_server.ts";
import type { RedisServer } from "./redis_server.ts";

const dir = tempDir("huey-logs-");
const modUrl = pathToFileURL(fileURLToPath(new URL("../mod.ts", import.meta.url))).href;

/** The lines of `running`'s output that match `pattern`. */
function linesOf(running: Running, pattern: RegExp): string[] {
  return running.output().split("\n").filter((line) => pattern.test(line));
}

describe("consumer logs on SQLite", { timeout: 120_000 }, () => {
  it("names the SQLite file's absolute path when started, after the storage answered", async () => {
    const name = `${uniqueName()}_rel_app.ts`;
    writeFileSync(
      join(dir, name),
      `import { SqliteHuey } from ${JSON.stringify(modUrl)};\n` +
        `export const huey = new SqliteHuey({ name: "rel", filename: "relative.db" });\n` +
        `huey.task("add", (a, b) => a + b);\n`,
    );
    // A relative path, from the consumer's working directory.
    const running = startConsumer([name, ...fast], { cwd: dir });
    try {
      await printed(running, /Consumer started/, 20_000);
      const [started] = linesOf(running, /Consumer started/);
      assert.ok(
        started.includes(`SqliteStorage "rel" at ${join(dir, "relative.db")}`),
        started,
      );
    } finally {
      await stop(running);
    }
  });

  it("logs a failure that will be retried at WARN without a stack, and a final one at ERROR with it", async () => {
    const { url, app } = await freshApp(dir);
    const running = await consumer([url, ...fast]);
    try {
      const flaky = await app.flaky();
      await printed(running, new RegExp(`${flaky.id}.* executed in`), 20_000);
      const [warned] = linesOf(running, new RegExp(`flaky: ${flaky.id} failed, will be retried`));
      assert.match(warned, / WARN .*Error: not yet/);
      const final = await app.stall(0, true);
      await printed(running, new RegExp(`ERROR Unhandled error in stall: ${final.id}`), 20_000);
      // The stack follows the ERROR line (its frames start with "at").
      await printed(running, new RegExp(`stall: ${final.id}.*\\n(.*\\n)*\\s+at `), 10_000);
      // No stack after the WARN line: the next line is a log line of its own.
      const output = running.output();
      const after = output.slice(output.indexOf(warned) + warned.length + 1).split("\n")[0];
      assert.match(after, /^\d{4}-\d\d-\d\dT\S+ [A-Z]+ /, after);
    } finally {
      await stop(running);
    }
  });

  it("-v logs the options in force", async () => {
    const { url } = await freshApp(dir);
    const running = await consumer([url, "-v", "-w", "3", ...fast]);
    try {
      const [options] = linesOf(running, /DEBUG Options: /);
      const resolved = JSON.parse(options.slice(options.indexOf("Options: ") + 9));
      assert.equal(resolved.workers, 3);
      assert.equal(resolved.initialDelay, 0.01);
      assert.equal(resolved.shutdownTimeout, 30);
    } finally {
      await stop(running);
    }
  });

  it("--log-format json writes one object a line, with the task's name and id", async () => {
    const { url, app } = await freshApp(dir);
    const running = startConsumer([url, "--log-format", "json", ...fast]);
    let flaky;
    try {
      await printed(running, /Consumer started/, 20_000);
      const r = await app.add(1, 2);
      await printed(running, new RegExp(`${r.id} executed in`), 20_000);
      flaky = await app.flaky();
      await printed(running, new RegExp(`${flaky.id}.* executed in`), 20_000);
    } finally {
      await stop(running);
    }
    const lines = running.output().trim().split("\n").map((line) => JSON.parse(line));
    for (const line of lines) {
      assert.equal(typeof line.time, "string");
      assert.ok(!Number.isNaN(Date.parse(line.time)));
      assert.match(line.level, /^(debug|info|warn|error)$/);
      assert.equal(typeof line.message, "string");
    }
    const executing = lines.find((line) => line.message.startsWith("Executing add"));
    assert.equal(executing.task, "add");
    assert.equal(executing.level, "info");
    const warned = lines.find((line) => /failed, will be retried/.test(line.message));
    assert.equal(warned.level, "warn");
    assert.equal(warned.task, "flaky");
    assert.equal(warned.id, flaky?.id);
    assert.ok(lines.some((line) => line.message === "Consumer stopped"));
  });

  it("refuses an unknown --log-format in one line", async () => {
    const { url } = await freshApp(dir);
    const running = startConsumer([url, "--log-format", "xml"]);
    const exit = await running.exited;
    assert.equal(exit.code, 2);
    assert.match(running.output(), /log format must be text or json: xml/);
  });

  it("a task released by SIGTERM goes back without a 'consumer died' line", () =>
    releasedBySigterm({}));
});

/**
 * Stop a consumer with SIGTERM while it runs a task, start another on the
 * same storage (`config`): it puts the task back, saying it was released,
 * not that its consumer died, and runs it.
 */
async function releasedBySigterm(config: Parameters<typeof freshApp>[1]): Promise<void> {
  const { url, app, lines } = await freshApp(dir, config);
  const first = await consumer([url, ...fast]);
  const r = await app.slow(1500);
  await until(() => lines().includes(`start ${r.id}`), 20_000, first.output);
  await stop(first, "SIGTERM");
  assert.ok(lines().includes(`aborted ${r.id}`));
  const second = await consumer([url, ...fast]);
  try {
    await printed(
      second,
      new RegExp(
        `slow: ${r.id} was interrupted by a consumer's stop \\(SIGTERM\\); back in the queue`,
      ),
      20_000,
    );
    await until(() => lines().includes(`end ${r.id}`), 20_000, second.output);
    assert.doesNotMatch(second.output(), /died/);
  } finally {
    await stop(second);
    await app.huey.close();
  }
}

await describeWithRedis("consumer logs on Redis", (server) => {
  after(() => server.stop());
  describe("consumer logs on Redis", { timeout: 120_000 }, () => {
    let own: RedisServer | undefined;
    after(() => own?.stop());

    it("a task released by SIGTERM goes back without a 'consumer died' line", () =>
      releasedBySigterm({ redis: server.url, name: uniqueName() }));

    it("names the server as host:port/db when started", async () => {
      const { url } = await freshApp(dir, { redis: `${server.url}/4`, name: uniqueName() });
      const running = await consumer([url, ...fast]);
      try {
        const [started] = linesOf(running, /Consumer started/);
        assert.ok(started.includes(` at 127.0.0.1:${server.port}/4,`), started);
      } finally {
        await stop(running);
      }
    });

    for (const flags of [["-k", "async", "-w", "3"], ["-k", "worker", "-w", "2"]]) {
      it(`a Redis stopped mid-run (${flags.join(" ")}): one line, then 'reachable again' once it is back`, async () => {
        own ??= await startRedisServer();
        const { url, app } = await freshApp(dir, { redis: own.url, name: uniqueName() });
        const running = await consumer([url, ...flags, ...fast]);
        try {
          const before = await app.add(1, 2);
          await printed(running, new RegExp(`${before.id} executed in`), 20_000);
          await own.stop();
          await printed(running, /ERROR .*Redis/, 20_000);
          // Four seconds down: before, about 17 lines; now the one above.
          await new Promise((resolve) => setTimeout(resolve, 4000));
          await own.restart();
          // (The scheduler, backing off up to 10 s, may be the one to see it.)
          await printed(running, /Storage reachable again/, 30_000);
          const errors = linesOf(running, / ERROR /);
          assert.equal(errors.length, 1, running.output());
          assert.match(errors[0], new RegExp(`127\\.0\\.0\\.1:${own.port}`));
          // (A worker whose cancel subscription was being made when the server went
          // says once that it reads cancels at lease renewals instead: lib/cancel.ts.)
          const warned = linesOf(running, /WARN /).filter((l) =>
            !/Cancel requests not heard/.test(l)
          );
          assert.equal(warned.length, 0, running.output());
          assert.equal(linesOf(running, /reachable again/).length, 1, running.output());
          const later = await app.add(2, 3);
          assert.equal(await later.get({ blocking: true, timeout: 20 }), 5);
        } finally {
          await stop(running);
          await app.huey.close();
        }
      });
    }

    it("starts only once Redis answers: one line while it does not", async () => {
      own ??= await startRedisServer();
      const { url } = await freshApp(dir, { redis: own.url, name: uniqueName() });
      await own.stop();
      const running = startConsumer([url, ...fast]);
      try {
        await printed(running, /ERROR Cannot start consumer: the storage does not answer/, 20_000);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        assert.doesNotMatch(running.output(), /Consumer started/);
        await own.restart();
        await printed(running, /Consumer started/, 30_000);
        assert.equal(linesOf(running, / ERROR /).length, 1, running.output());
        const output = running.output();
        assert.ok(
          output.indexOf("reachable again") < output.indexOf("Consumer started"),
          output,
        );
      } finally {
        await stop(running);
      }
    });
  });
});
