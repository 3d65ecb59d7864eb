/**
 * A real consumer process (cli.ts) on a Redis Cluster this run starts (see
 * redis_cluster_server.ts): it drains the tasks a producer enqueues while
 * the Huey's hash slot moves to another master and on to a third, mid-run.
 * Nothing is lost, nothing runs twice (no lease ran out), and the consumer
 * carries on after each move.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Result } from "../mod.ts";
import type { makeClusterApp } from "./fixtures/consumer_app.ts";
import { appPath, consumer, fast, stop, tempDir, uniqueName, until } from "./process_helpers.ts";
import { describeWithRedisCluster } from "./redis_cluster_server.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithRedisCluster("a consumer process on a Redis Cluster", (cluster) => {
  describe("a consumer process on a Redis Cluster", { timeout: 180_000 }, () => {
    after(() => cluster.stop());
    const dir = tempDir("huey-cluster-process-");

    /** A fresh app module on the cluster, imported here too (as the producer). */
    async function clusterApp(name: string) {
      const log = join(dir, `${uniqueName()}.log`);
      const url = join(dir, `${uniqueName()}_app.ts`);
      const config = { rootNodes: cluster.rootNodes, name, log, lease: 10 };
      writeFileSync(
        url,
        `import { makeClusterApp } from ${JSON.stringify(pathToFileURL(appPath).href)};\n` +
          `export const app = makeClusterApp(${JSON.stringify(config)});\n` +
          `export const huey = app.huey;\n`,
      );
      const app: ReturnType<typeof makeClusterApp> = (await import(pathToFileURL(url).href)).app;
      const runs = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
      return { url, app, runs };
    }

    it("drains every task exactly once while the Huey's slot moves to another master, twice", async () => {
      const name = `cluster-${Date.now()}`;
      const { url, app, runs } = await clusterApp(name);
      const slot = await cluster.keySlot(`huey.{${name}}.queue`);
      const home = await cluster.owner(slot);
      const running = await consumer([url, "-w", "4", "-n", ...fast]);
      try {
        const results: Result<number>[] = [];
        const moves: string[] = [];
        const total = 300;
        for (let i = 0; i < total; i++) {
          results.push(await app.work(i, 20));
          if (i % 10 === 9) await sleep(20);
          // Twice mid-run: to the next master, then on to the third.
          if (i === 100 || i === 200) {
            // Mid-run: the consumer has run some of these tasks, and some wait for it.
            await until(() => runs().length >= i - 80, 20_000, running.output);
            const ran = runs().length;
            const { from, to } = await cluster.moveSlot(slot, { holdMs: 200 });
            moves.push(`${from.port}->${to.port}`);
            assert.ok(ran <= i, `ran ${ran} of ${i + 1} before a move: not mid-run`);
          }
        }
        assert.equal(moves.length, 2);
        assert.notEqual((await cluster.owner(slot)).id, home.id);
        const values = await Promise.all(
          results.map((r) => r.get({ blocking: true, timeout: 60 })),
        );
        assert.deepEqual(values, Array.from({ length: total }, (_, i) => i * 2), "nothing lost");
        // Each ran once: no lease ran out, so at-least-once meant exactly once here.
        const lines = runs();
        const ids = lines.map((line) => line.split(" ")[1]);
        assert.equal(new Set(ids).size, total, `${total} tasks ran`);
        assert.equal(lines.length, total, `ran twice: ${lines.length - total}`);
        assert.doesNotMatch(running.output(), /Lease of .* ran out/);
        // The consumer carries on after the moves.
        const later = await app.work(-1, 0);
        assert.equal(await later.get({ blocking: true, timeout: 10 }), -2);
        await until(
          async () => (await app.huey.storage.leasedSize()) === 0,
          10_000,
          running.output,
        );
        assert.equal(await app.huey.storage.queueSize(), 0);
        assert.equal(running.child.exitCode, null, "still running");
      } finally {
        const code = await stop(running);
        assert.equal(code, 0, running.output());
        await app.huey.storage.flushAll();
        await app.huey.close();
      }
    });
  });
});
