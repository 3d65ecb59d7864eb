/**
 * Chords run by real consumer processes (`cli.ts`) on one storage (a SQLite
 * file, a redis-server of the test's own): two consumers finish the last
 * members of each chord at the same moment, and a member that outlives its
 * lease runs again elsewhere; each callback still runs exactly once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chord } from "../mod.ts";
import type { ChordResult } from "../mod.ts";
import { consumer, fast, freshApp, stop, tempDir, uniqueName, until } from "./process_helpers.ts";
import type { Running } from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-chord-");

/** Two consumers on one app's storage, `workers` each, a 1 s lease recovered every second. */
async function twoConsumers(config: Partial<AppConfig>, workers: number) {
  const app = await freshApp(dir, { lease: 1, ...config });
  const args = [app.url, "-w", String(workers), "-s", "1", "-n", ...fast];
  const consumers: Running[] = [await consumer(args), await consumer(args)];
  const output = () => consumers.map((c) => c.output()).join("\n");
  const gathered = () => app.lines().filter((line) => line.startsWith("gather "));
  /** Wait until nothing is queued, scheduled or leased: every message taken so far has finished. */
  const settled = () =>
    until(
      async () => {
        const storage = app.app.huey.storage;
        return (await storage.queueSize()) + (await storage.leasedSize()) +
            (await storage.scheduleSize()) === 0;
      },
      30_000,
      output,
    );
  const close = async () => {
    for (const running of consumers) await stop(running);
    await app.app.huey.close();
  };
  return { ...app, consumers, output, gathered, settled, close };
}

function chordTests(storage: string, config: () => Partial<AppConfig>) {
  describe(`chords on ${storage} (two consumer processes)`, { timeout: 180_000 }, () => {
    let t: Awaited<ReturnType<typeof twoConsumers>>;
    before(async () => (t = await twoConsumers(config(), 2)));
    after(() => t?.close());

    it("fire each callback exactly once when the last members finish together (50 chords of 4)", async () => {
      const { part, gather } = t.app;
      const chords: ChordResult<unknown[]>[] = [];
      for (let i = 0; i < 50; i++) {
        // Four members that take as long as each other: two in each process finish together.
        const members = [0, 1, 2, 3].map((j) => part.s(i * 10 + j, 30));
        chords.push(await t.app.huey.enqueue(chord(members, gather, `c${i}`)));
      }
      await until(() => t.gathered().length >= 50, 60_000, t.output);
      await t.settled();
      const lines = t.gathered();
      assert.equal(lines.length, 50, "no callback ran twice");
      for (let i = 0; i < 50; i++) {
        const expected = [0, 1, 2, 3].map((j) => i * 10 + j);
        assert.deepEqual(lines.filter((l) => l.startsWith(`gather c${i} `)), [
          `gather c${i} ${JSON.stringify(expected)}`,
        ]);
        assert.deepEqual(await chords[i].get({ blocking: true, timeout: 10 }), expected);
      }
      for (const running of t.consumers) {
        assert.match(running.output(), /Executing part/, "both processes ran members");
      }
      const left = [...(await t.app.huey.storage.resultItems()).keys()].filter((k) =>
        k.startsWith("%chord")
      );
      assert.deepEqual(left, [], "no chord bookkeeping is left behind");
    });
  });

  describe(`a chord member that outlives its lease on ${storage} (two consumer processes)`, {
    timeout: 120_000,
  }, () => {
    let t: Awaited<ReturnType<typeof twoConsumers>>;
    before(async () => (t = await twoConsumers(config(), 1)));
    after(() => t?.close());

    it("is counted once: the rerun's result goes to the callback, and the late first run adds nothing", async () => {
      const { stall, part, gather } = t.app;
      // The first run of stall blocks its consumer's event loop past its 1 s
      // lease; the other consumer recovers the message and runs it again.
      const member = stall.s(4000, false);
      const result = await t.app.huey.enqueue(chord([member, part.s(7, 0)], gather, "late"));
      assert.deepEqual(await result.get({ blocking: true, timeout: 30 }), ["rerun", 7]);
      const stale = new RegExp(`WARN stall: ${member.id} finished after its lease ran out`);
      await until(() => stale.test(t.output()), 30_000, t.output);
      await t.settled();
      assert.deepEqual(t.gathered(), ['gather late ["rerun",7]']);
    });
  });
}

chordTests("SQLite", () => ({}));
await describeWithRedis("chords on Redis (two consumer processes)", (server) => {
  after(() => server.stop());
  chordTests("Redis", () => ({ redis: server.url, name: `chord-${uniqueName()}` }));
});
