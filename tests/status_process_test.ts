/**
 * Task status, progress and consumer heartbeats against real consumer
 * processes (cli.ts) on SQLite and on a redis-server of the test's own: a
 * producer in this process watches what consumers in others do.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  consumer,
  fast,
  freshApp,
  startConsumer,
  stop,
  tempDir,
  uniqueName,
  until,
} from "./process_helpers.ts";
import type { Running } from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-status-");
/** Beats every half second: a killed consumer shows dead 1.5 s later. */
const beats = ["--heartbeat-interval", "0.5"];

function statusTests(kind: string, config: () => Partial<AppConfig>) {
  describe(
    `task status and heartbeats on ${kind} (consumer processes)`,
    { timeout: 120_000 },
    () => {
      it("a producer sees queued, running with the consumer's id and progress, then complete; reads consume nothing", async () => {
        const { url, app } = await freshApp(dir, { trackStatus: true, ...config() });
        const { huey } = app;
        const r = await app.steps(5, 300);
        const { enqueuedAt, ...queued } = await r.status();
        assert.deepEqual(queued, { id: r.id, name: "steps", state: "queued", attempts: 0 });
        assert.ok(Math.abs(enqueuedAt! - Date.now()) < 60_000, `enqueuedAt: ${enqueuedAt}`);
        const running = await consumer([url, ...fast, ...beats]);
        try {
          const explain = () => running.output();
          // The lease tells `running` a moment before the run's record names the consumer.
          await until(async () => (await r.status()).consumer !== undefined, 15_000, explain);
          const status = await r.status();
          assert.equal(status.state, "running");
          const [registered] = await huey.consumers();
          assert.equal(status.consumer, registered.id, "names the consumer that runs it");
          assert.equal(status.attempts, 1);
          assert.equal(typeof status.startedAt, "number");
          assert.equal(registered.alive, true);
          assert.equal(registered.workers, 1);
          await until(async () => ((await r.progress())?.value ?? 0) >= 0.4, 15_000, explain);
          assert.ok(
            ((await r.status()).progress?.value ?? 0) >= 0.4,
            "status carries the progress",
          );
          assert.deepEqual((await huey.running()).map((s) => s.id), [r.id]);
          await until(async () => (await r.status()).state === "complete", 15_000, explain);
          assert.equal((await r.progress())?.value, 1, "the last report is stored");
          assert.equal(await r.get(), "counted", "status did not consume the result");
          // The result is stored (and tells `complete`) a moment before the record says so.
          await until(async () => (await huey.running()).length === 0, 5_000, explain);
          const done = await huey.status(r.id);
          assert.equal(done.state, "complete", "nor did get() take the status");
          assert.equal(done.consumer, registered.id);
          assert.ok(done.finishedAt! >= done.startedAt!);
        } finally {
          await stop(running);
          await huey.close();
        }
      });

      it("without trackStatus, running() still lists what consumers have taken (from the leases)", async () => {
        const { url, app } = await freshApp(dir, config());
        const { huey } = app;
        const r = await app.steps(5, 300);
        const running = await consumer([url, ...fast, ...beats]);
        try {
          const explain = () => running.output();
          await until(async () => (await huey.running()).length === 1, 15_000, explain);
          const [listed] = await huey.running();
          assert.equal(listed.id, r.id);
          assert.equal(listed.name, "steps");
          assert.equal(listed.state, "running");
          assert.equal(
            listed.consumer,
            undefined,
            "which consumer is recorded only with trackStatus",
          );
          assert.equal(await r.get({ blocking: true, timeout: 15 }), "counted");
          await until(async () => (await huey.running()).length === 0, 5_000, explain);
        } finally {
          await stop(running);
          await huey.close();
        }
      });

      for (const workerType of ["worker", "process"]) {
        it(`progress and the consumer's id come from ${workerType} workers too`, async () => {
          const { url, app } = await freshApp(dir, { trackStatus: true, ...config() });
          const { huey } = app;
          const running = await consumer([url, "-k", workerType, ...fast, ...beats]);
          try {
            const explain = () => running.output();
            const r = await app.steps(3, 100);
            await until(async () => (await r.status()).state === "complete", 30_000, explain);
            await until(async () => (await r.progress())?.value === 1, 5_000, explain);
            const [registered] = await huey.consumers();
            await until(async () => (await r.status()).finishedAt !== undefined, 5_000, explain);
            const status = await r.status();
            assert.equal(status.consumer, registered.id, "the pool's consumer, not its worker");
            assert.equal(registered.workerType, workerType);
            assert.deepEqual(status.progress?.meta, { step: 3 });
          } finally {
            await stop(running);
            await huey.close();
          }
        });
      }

      it("shows retrying with the last error, failed, revoked, expired and unknown", async () => {
        const { url, app } = await freshApp(dir, config());
        const { huey } = app;
        const flaky = await app.flaky();
        const failed = await app.fail("out of range");
        const revoked = await app.add(1, 2);
        await revoked.revoke();
        const expired = await app.add.schedule([1, 2], { expires: 0.001 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        const running = await consumer([url, ...fast, ...beats]);
        try {
          const explain = () => running.output();
          await until(async () => (await flaky.status()).state === "retrying", 15_000, explain);
          const retrying = await flaky.status();
          assert.equal(retrying.error?.message, "not yet");
          assert.equal(retrying.attempts, 1);
          await until(async () => (await flaky.status()).state === "complete", 15_000, explain);
          assert.equal((await flaky.status()).attempts, 2);
          await until(async () => (await failed.status()).state === "failed", 15_000, explain);
          const failure = await failed.status();
          assert.equal(failure.error?.name, "RangeError");
          assert.equal(failure.error?.message, "out of range");
          await until(async () => (await revoked.status()).state === "revoked", 15_000, explain);
          await until(async () => (await expired.status()).state === "expired", 15_000, explain);
          assert.equal((await huey.status("no-such-task")).state, "unknown");
        } finally {
          await stop(running);
          await huey.close();
        }
      });

      it("lists two consumers alive; one killed with SIGKILL shows dead after 3 beats; an orderly stop removes its entry", async () => {
        const { url, app } = await freshApp(dir, config());
        const { huey } = app;
        const args = [url, "-n", ...fast, ...beats];
        const first: Running = await consumer(args);
        const second: Running = startConsumer([...args, "-w", "2"]);
        try {
          const explain = () => first.output() + second.output();
          await until(async () => (await huey.consumers()).length === 2, 20_000, explain);
          const listed = await huey.consumers();
          assert.deepEqual(listed.map((c) => c.alive), [true, true]);
          const pids = listed.map((c) => c.pid).sort();
          assert.deepEqual(pids, [first.child.pid, second.child.pid].sort());
          first.child.kill("SIGKILL");
          await first.exited;
          const killed = first.child.pid;
          const seen = (await huey.consumers()).find((c) => c.pid === killed)!;
          if (Date.now() - seen.lastBeat < 1500) {
            assert.equal(seen.alive, true, "alive for 3 beats");
          }
          await until(
            async () => {
              const found = (await huey.consumers()).find((c) => c.pid === killed);
              return found?.alive === false;
            },
            10_000,
            explain,
          );
          const dead = (await huey.consumers()).find((c) => c.pid === killed)!;
          assert.ok(Date.now() - dead.lastBeat > 1500, "dead only past 3 missed beats");
          const alive = (await huey.consumers()).find((c) => c.pid === second.child.pid);
          assert.equal(alive?.alive, true, "the other keeps beating");
          assert.equal(alive?.workers, 2);
          await stop(second);
          const left = await huey.consumers();
          assert.deepEqual(left.map((c) => c.pid), [killed], "the stopped one removed its entry");
        } finally {
          await stop(second);
          await huey.close();
        }
      });
    },
  );
}

statusTests("SQLite", () => ({}));

await describeWithRedis("status on Redis", (server) => {
  after(() => server.stop());
  statusTests("Redis", () => ({ redis: server.url, name: `status-${uniqueName()}` }));
});
