/**
 * Periodic runs are enqueued once per minute across consumers whose clocks
 * disagree by minutes, and the markers that make it so do not pile up.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { crontab, Huey, MemoryStorage, SqliteStorage } from "../mod.ts";
import type { Storage } from "../mod.ts";
import { Scheduler } from "../lib/consumer/scheduler.ts";
import { fakeClock, silent } from "./helpers.ts";
import { tempDir } from "./process_helpers.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 10);
const dir = tempDir("huey-periodic-");

/** A consumer's Huey (its own clock) with the periodic tasks, on `storage`. */
function consumerOn(storage: Storage, offsetSeconds: number) {
  const clock = fakeClock(T0 + offsetSeconds * 1000);
  const huey = new Huey({ storage, clock, logger: silent });
  huey.periodicTask("every", crontab({ minute: "*" }), () => {});
  huey.periodicTask("hourly", crontab({ minute: "0" }), () => {});
  return { huey, clock, scheduler: new Scheduler(huey, { interval: 1 }) };
}

/** The minutes of the periodic markers of `name` in the result store. */
async function markers(huey: Huey, name: string): Promise<number[]> {
  const prefix = `%periodic:${name}:`;
  return [...(await huey.allResults()).keys()].filter((key) => key.startsWith(prefix))
    .map((key) => Number(key.slice(prefix.length))).sort((a, b) => a - b);
}

for (
  const [driver, makeStorage] of [
    ["MemoryStorage", () => new MemoryStorage()],
    ["SqliteStorage", () => new SqliteStorage({ filename: join(dir, `${Date.now()}.db`) })],
  ] as const
) {
  describe(`periodic tasks on ${driver}`, () => {
    const storages: Storage[] = [];
    after(async () => {
      for (const storage of storages) await storage.close();
    });

    for (const ahead of [125, 605]) {
      it(`are enqueued once a minute by two consumers whose clocks are ${ahead} s apart`, async () => {
        const storage = makeStorage();
        storages.push(storage);
        const a = consumerOn(storage, 0);
        const b = consumerOn(storage, ahead);
        const minutes = new Set<number>();
        // Ten minutes of real time, a scheduler pass every 10 s on each consumer.
        for (let step = 0; step <= 60; step++) {
          for (const { scheduler, clock } of [b, a]) {
            await scheduler.tick(clock.now);
            minutes.add(Math.floor(clock.now / MINUTE));
            clock.advance(10);
          }
        }
        const every = (await a.huey.pending()).filter((task) => task.name === "every");
        assert.equal(every.length, minutes.size, `${every.length} runs in ${minutes.size} minutes`);
      });
    }

    it("keep their markers an hour, for every periodic task, then remove them", async () => {
      const storage = makeStorage();
      storages.push(storage);
      const a = consumerOn(storage, 0);
      // Three hours, one pass a minute; the scheduler skips a minute once.
      for (let minute = 0; minute < 180; minute++) {
        if (minute !== 100) await a.scheduler.tick(a.clock.now);
        a.clock.advance(60);
      }
      const last = Math.floor((a.clock.now - MINUTE) / MINUTE) * MINUTE;
      const every = await markers(a.huey, "every");
      assert.equal(every.length, 60, `the last hour's: ${every.length}`);
      assert.equal(every[0], last - 59 * MINUTE);
      // The hourly task's markers go too, though it is not due when they expire.
      assert.deepEqual(await markers(a.huey, "hourly"), [Date.UTC(2026, 10, 23, 14, 0)]);
    });
  });
}
