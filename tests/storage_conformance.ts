/**
 * The one conformance suite every storage driver runs. A driver's test file
 * calls {@link storageConformance} with a factory and adds what is specific
 * to it.
 */
import { after, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HueyError } from "../lib/errors.ts";
import { scriptCommand } from "../lib/runtime.ts";
import type { Delivery, ErrorItem, Storage } from "../lib/storage/types.ts";

/** What the suite needs to know about a driver. */
export interface ConformanceOptions {
  /** Build a fresh, empty storage. Called once per test. */
  create: () => Storage | Promise<Storage>;
  /**
   * Build a new instance (with its own connection) named `name`, in the same
   * place as the ones `create` builds: the same file, directory or server.
   * Enables the test that two names never see each other's data.
   */
  open?: (name: string) => Storage | Promise<Storage>;
  /**
   * True when an instance from `open(name)` sees everything an earlier,
   * closed one of the same name wrote: a file, a directory, a server outlive
   * one connection, a MemoryStorage does not. Enables the reopen test.
   * @default false
   */
  persistent?: boolean;
  /**
   * How another process builds the same storage: `new (await
   * import(module))[exportName](options)`. Given for drivers that several
   * processes can share; enables the multi-process tests.
   */
  processes?: { module: string; exportName: string; options: unknown };
  /**
   * Whose clock leases are measured on: `"caller"`, the `now` passed to
   * dequeue, extendLease and recoverLeases (the lease tests then drive a
   * fake clock), or `"storage"`, the driver's own (Redis: the server's
   * `TIME`; it ignores `now` there). The storage's clock cannot be moved, so
   * there the lease tests end leases with `extendLease(receipt, now, 0)` and
   * wait out short leases in real time.
   * @default "caller"
   */
  leaseClock?: "caller" | "storage";
  /**
   * True for a storage whose reads never delete (`popData` is a peek), as
   * huey's RedisExpireStorage: its values go when they expire or are deleted.
   * @default false
   */
  popKeeps?: boolean;
}

/** Run `tests/fixtures/storage_process.ts` with `args`; resolves to its stdout. */
function runProcess(args: string[]): Promise<string> {
  const script = fileURLToPath(new URL("./fixtures/storage_process.ts", import.meta.url));
  const { command, args: argv } = scriptCommand(script, args);
  return new Promise((resolve, reject) => {
    execFile(command, argv, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} ${argv.join(" ")} failed: ${stderr}`, { cause: error }));
      } else resolve(stdout);
    });
  });
}

/** The arguments that tell storage_process.ts how to build the driver `spec` names. */
function processArgs(spec: NonNullable<ConformanceOptions["processes"]>): string[] {
  const module = spec.module.startsWith("file:")
    ? spec.module
    : new URL(spec.module, import.meta.url).href;
  return [module, spec.exportName, JSON.stringify(spec.options)];
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const LEASE = 30;

/** Wait `ms` of real time, and a little more (timers may fire a millisecond early). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms + 20));

/** Kept messages without their ids (which each driver makes its own way), checking they have one. */
function withoutIds(items: ErrorItem[]): Omit<ErrorItem, "id">[] {
  return items.map(({ id, ...rest }) => {
    assert.equal(typeof id, "string");
    assert.ok(id.length > 0, "a kept message has an id");
    return rest;
  });
}

async function drain(storage: Storage, now = T0): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const delivery = await storage.dequeue({ now, leaseSeconds: LEASE });
    if (!delivery) return out;
    out.push(delivery.data);
    assert.equal(await storage.ack(delivery.receipt), true);
  }
}

/** Register the conformance tests for one driver under `describe(name)`. */
export function storageConformance(name: string, options: ConformanceOptions): void {
  describe(`${name} storage conformance`, () => {
    let storage: Storage;
    const opened: Storage[] = [];
    const storageClock = options.leaseClock === "storage";

    /**
     * Let the leases of `deliveries` run out before the next recoverLeases.
     * On the caller's clock, nothing to do: the test passes recoverLeases a
     * `now` past their end. A storage's own clock cannot be moved: end them
     * now instead (a lease that ended now is one that ran out).
     */
    async function runOut(on: Storage, ...deliveries: (Delivery | undefined)[]): Promise<void> {
      if (!storageClock) return;
      for (const delivery of deliveries) {
        assert.equal(await on.extendLease(delivery!.receipt, T0, 0), true);
      }
    }

    /**
     * Two instances of one name, each with its own connection where the
     * driver has them (`open`), emptied; else the test's storage twice.
     */
    async function pair(name: string): Promise<[Storage, Storage]> {
      // Without persistence (memory) a second instance is a world of its own.
      if (!options.open || !options.persistent) return [storage, storage];
      const one = await options.open(name);
      const two = await options.open(name);
      opened.push(one, two);
      await one.flushAll();
      return [one, two];
    }

    beforeEach(async () => {
      storage = await options.create();
      opened.push(storage);
      await storage.flushAll();
    });

    after(async () => {
      for (const s of opened) await s.close().catch(() => {});
    });

    describe("queue", () => {
      it("dequeues in FIFO order within one priority", async () => {
        for (const m of ["a", "b", "c", "d"]) await storage.enqueue(m, 0);
        assert.equal(await storage.queueSize(), 4);
        assert.deepEqual(await storage.enqueuedItems(), ["a", "b", "c", "d"]);
        assert.deepEqual(await storage.enqueuedItems(2), ["a", "b"]);
        assert.deepEqual(await drain(storage), ["a", "b", "c", "d"]);
        assert.equal(await storage.queueSize(), 0);
      });

      it("returns undefined from an empty queue", async () => {
        assert.equal(await storage.dequeue({ now: T0, leaseSeconds: LEASE }), undefined);
        assert.deepEqual(await storage.enqueuedItems(), []);
      });

      it("dequeues higher priorities first when the driver supports priority", async () => {
        await storage.enqueue("make_thumbnail", 0);
        await storage.enqueue("check_spam", 1);
        await storage.enqueue("process_payment", 50);
        await storage.enqueue("send_email", 10);
        await storage.enqueue("send_email_boss", 90);
        await storage.enqueue("second_thumbnail", 0);
        const expected = storage.priority
          ? [
            "send_email_boss",
            "process_payment",
            "send_email",
            "check_spam",
            "make_thumbnail",
            "second_thumbnail",
          ]
          : [
            "make_thumbnail",
            "check_spam",
            "process_payment",
            "send_email",
            "send_email_boss",
            "second_thumbnail",
          ];
        assert.deepEqual(await storage.enqueuedItems(), expected);
        assert.deepEqual(await drain(storage), expected);
      });

      it("enqueueMany adds every message in order", async () => {
        await storage.enqueueMany([
          { data: "x", priority: 0 },
          { data: "y", priority: 0 },
          { data: "z", priority: 0 },
        ]);
        assert.deepEqual(await drain(storage), ["x", "y", "z"]);
      });

      it("keeps messages byte for byte", async () => {
        const odd = '\uFEFF{"ünïcødé":"\\u0000 \u{1F600}","nl":"a\nb","q":"\'\\""}\u0000end';
        await storage.enqueue(odd, 0);
        assert.deepEqual(await drain(storage), [odd]);
      });

      it("flushQueue removes waiting and leased messages", async () => {
        await storage.enqueue("a", 0);
        await storage.enqueue("b", 0);
        await storage.dequeue({ now: T0, leaseSeconds: LEASE });
        await storage.flushQueue();
        assert.equal(await storage.queueSize(), 0);
        assert.equal(await storage.leasedSize(), 0);
        assert.deepEqual(await storage.recoverLeases(T0 + 3600_000), []);
      });
    });

    describe("leases", () => {
      it("hides a dequeued message until it is acknowledged", async () => {
        await storage.enqueue("job", 0);
        const delivery = await storage.dequeue({ now: T0, leaseSeconds: LEASE });
        assert.ok(delivery);
        assert.equal(delivery.data, "job");
        assert.equal(await storage.queueSize(), 0);
        assert.equal(await storage.leasedSize(), 1);
        assert.equal(await storage.dequeue({ now: T0, leaseSeconds: LEASE }), undefined);
        assert.equal(await storage.ack(delivery.receipt), true);
        assert.equal(await storage.leasedSize(), 0);
        assert.deepEqual(await storage.recoverLeases(T0 + 3600_000), []);
      });

      it("leasedItems lists the messages under a lease, whole, up to a limit", async () => {
        assert.deepEqual(await storage.leasedItems(), []);
        for (const data of ["a", "b é🙂", "c", "waiting"]) await storage.enqueue(data, 0);
        const taken = [];
        for (let i = 0; i < 3; i++) {
          taken.push(await storage.dequeue({ now: T0, leaseSeconds: LEASE }));
        }
        assert.deepEqual((await storage.leasedItems()).sort(), ["a", "b é🙂", "c"]);
        assert.equal((await storage.leasedItems(2)).length, 2);
        assert.deepEqual(await storage.leasedItems(0), []);
        await storage.ack(taken[0]!.receipt);
        assert.deepEqual((await storage.leasedItems()).sort(), ["b é🙂", "c"]);
      });

      it("puts a message whose lease ran out back exactly once, ahead of the queue", async () => {
        await storage.enqueue("first", 0);
        await storage.enqueue("second", 0);
        // On the storage's clock: a lease short enough to wait out.
        const lease = storageClock ? 0.5 : LEASE;
        const lost = await storage.dequeue({ now: T0, leaseSeconds: lease });
        assert.equal(lost?.data, "first");
        assert.deepEqual(await storage.recoverLeases(T0 + lease * 1000 - 1), []);
        if (storageClock) await sleep(lease * 1000);
        assert.deepEqual(await storage.recoverLeases(T0 + lease * 1000), ["first"]);
        assert.deepEqual(await storage.recoverLeases(T0 + lease * 1000 + 1), []);
        assert.equal(await storage.leasedSize(), 0);
        assert.deepEqual(await storage.enqueuedItems(), ["first", "second"]);
        // The old receipt no longer acknowledges anything.
        assert.equal(await storage.ack(lost!.receipt), false);
        assert.deepEqual(await drain(storage), ["first", "second"]);
      });

      it("counts deliveries: one more each time a lease runs out, afresh once acknowledged", async () => {
        await storage.enqueue("poison", 0);
        await storage.enqueue("other", 0);
        const counts: number[] = [];
        let now = T0;
        for (let i = 0; i < 3; i++) {
          const delivery = await storage.dequeue({ now, leaseSeconds: 1 });
          assert.equal(delivery?.data, "poison");
          counts.push(delivery!.deliveries);
          now += 2000;
          await runOut(storage, delivery);
          assert.deepEqual(await storage.recoverLeases(now), ["poison"]);
        }
        assert.deepEqual(counts, [1, 2, 3]);
        const fourth = await storage.dequeue({ now, leaseSeconds: 1 });
        assert.equal(fourth?.deliveries, 4);
        assert.equal(await storage.ack(fourth!.receipt), true);
        const other = await storage.dequeue({ now, leaseSeconds: 1 });
        assert.deepEqual([other?.data, other?.deliveries], ["other", 1]);
        if (storage.putDataAndAck) {
          assert.equal(await storage.putDataAndAck("k", "v", other!.receipt), true);
        } else {
          assert.equal(await storage.ack(other!.receipt), true);
        }
        // The same message enqueued again starts from one.
        await storage.enqueue("poison", 0);
        assert.equal((await storage.dequeue({ now, leaseSeconds: 1 }))?.deliveries, 1);
      });

      it("keeps the priority of a recovered message", async () => {
        await storage.enqueue("urgent", 5);
        const lost = await storage.dequeue({ now: T0, leaseSeconds: 1 });
        assert.equal(lost?.data, "urgent");
        await storage.enqueue("normal", 0);
        await runOut(storage, lost);
        assert.deepEqual(await storage.recoverLeases(T0 + 5000), ["urgent"]);
        assert.deepEqual(await drain(storage), ["urgent", "normal"]);
      });

      it("extendLease pushes the lease's end", async () => {
        await storage.enqueue("long", 0);
        if (storageClock) {
          // The same in real time: ends at 0.6 s, pushed at 0.4 s to 1 s later.
          const delivery = await storage.dequeue({ now: T0, leaseSeconds: 0.6 });
          await sleep(400);
          assert.equal(await storage.extendLease(delivery!.receipt, T0, 1), true);
          await sleep(400);
          assert.deepEqual(await storage.recoverLeases(T0), [], "past the first end");
          await sleep(600);
          assert.deepEqual(await storage.recoverLeases(T0), ["long"], "past the new end");
          assert.equal(await storage.extendLease(delivery!.receipt, T0, 10), false);
          return;
        }
        const delivery = await storage.dequeue({ now: T0, leaseSeconds: 10 });
        assert.ok(delivery);
        assert.equal(await storage.extendLease(delivery.receipt, T0 + 9000, 10), true);
        assert.deepEqual(await storage.recoverLeases(T0 + 15_000), []);
        assert.deepEqual(await storage.recoverLeases(T0 + 19_000), ["long"]);
        assert.equal(await storage.extendLease(delivery.receipt, T0 + 19_000, 10), false);
      });

      it("putDataAndAck stores the value and acknowledges in one step, where supported", async () => {
        await storage.enqueue("job", 0);
        const delivery = await storage.dequeue({ now: T0, leaseSeconds: 1 });
        assert.ok(delivery);
        if (!storage.putDataAndAck) {
          assert.equal(await storage.ack(delivery.receipt), true);
          return;
        }
        assert.equal(await storage.putDataAndAck("result-key", "42", delivery.receipt), true);
        assert.equal(await storage.peekData("result-key"), "42");
        assert.equal(await storage.leasedSize(), 0);
        assert.deepEqual(await storage.recoverLeases(T0 + 5000), []);
      });

      it("putDataAndAck stores nothing once the lease was lost", async () => {
        assert.ok(storage.putDataAndAck, "a driver that leases messages fences its finish");
        await storage.enqueue("late", 0);
        const late = await storage.dequeue({ now: T0, leaseSeconds: 1 });
        await runOut(storage, late);
        assert.deepEqual(await storage.recoverLeases(T0 + 5000), ["late"]);
        // The late finisher of a message that was put back stores nothing...
        assert.equal(await storage.putDataAndAck("late-key", "stale", late!.receipt), false);
        assert.equal(await storage.hasDataForKey("late-key"), false);
        // ...and leaves the value of the run that took the message again alone.
        const rerun = await storage.dequeue({ now: T0 + 5000, leaseSeconds: 1 });
        assert.equal(rerun?.data, "late");
        assert.equal(await storage.putDataAndAck("late-key", "rerun", rerun!.receipt), true);
        assert.equal(await storage.putDataAndAck("late-key", "stale", late!.receipt), false);
        assert.equal(await storage.peekData("late-key"), "rerun");
        assert.equal(await storage.leasedSize(), 0);
        assert.equal(await storage.queueSize(), 0);

        // A stale finisher and a current one in the same batch each get their own answer.
        await storage.enqueueMany([{ data: "a", priority: 0 }, { data: "b", priority: 0 }]);
        const lost = await storage.dequeue({ now: T0, leaseSeconds: 1 });
        const kept = await storage.dequeue({ now: T0 + 4000, leaseSeconds: LEASE });
        assert.deepEqual([lost?.data, kept?.data], ["a", "b"]);
        await runOut(storage, lost);
        assert.deepEqual(await storage.recoverLeases(T0 + 5000), ["a"]);
        assert.deepEqual(
          await Promise.all([
            storage.putDataAndAck("a-result", "stale", lost!.receipt),
            storage.putDataAndAck("b-result", "fresh", kept!.receipt),
          ]),
          [false, true],
        );
        assert.equal(await storage.hasDataForKey("a-result"), false);
        assert.equal(await storage.peekData("b-result"), "fresh");
      });

      it("currentLease names the receipt and delivery a message is held under, where supported", async () => {
        if (!storage.currentLease) return;
        for (const m of ["other", "held", "waiting"]) await storage.enqueue(m, 0);
        const other = await storage.dequeue({ now: T0, leaseSeconds: 1 });
        const held = await storage.dequeue({ now: T0, leaseSeconds: 1 });
        assert.deepEqual([other?.data, held?.data], ["other", "held"]);
        assert.deepEqual(await storage.currentLease("held"), {
          receipt: held!.receipt,
          deliveries: 1,
        });
        assert.equal(await storage.currentLease("waiting"), undefined);
        assert.equal(await storage.currentLease("nothing"), undefined);
        // Put back and taken again: the new receipt, the second delivery.
        await runOut(storage, other, held);
        assert.deepEqual((await storage.recoverLeases(T0 + 5000)).sort(), ["held", "other"]);
        let again = await storage.dequeue({ now: T0 + 5000, leaseSeconds: 1 });
        if (again?.data === "other") {
          assert.equal(await storage.ack(again.receipt), true);
          again = await storage.dequeue({ now: T0 + 5000, leaseSeconds: 1 });
        }
        assert.equal(again?.data, "held");
        assert.deepEqual(await storage.currentLease("held"), {
          receipt: again!.receipt,
          deliveries: 2,
        });
        assert.equal(await storage.ack(again!.receipt), true);
        assert.equal(await storage.currentLease("held"), undefined);
      });

      it("dequeue reads peekKey after the take, in the same operation", async () => {
        await storage.enqueueMany([
          { data: "a", priority: 0 },
          { data: "b", priority: 0 },
          { data: "c", priority: 0 },
        ]);
        const plain = await storage.dequeue({ now: T0, leaseSeconds: LEASE });
        assert.deepEqual(plain && { data: plain.data, peeked: plain.peeked }, {
          data: "a",
          peeked: undefined,
        });
        const absent = await storage.dequeue({ now: T0, leaseSeconds: LEASE, peekKey: "marker" });
        assert.equal(absent?.data, "b");
        assert.equal(absent?.peeked, null);
        await storage.putData("marker", "set\u0000ü");
        const present = await storage.dequeue({ now: T0, leaseSeconds: LEASE, peekKey: "marker" });
        assert.equal(present?.data, "c");
        assert.equal(present?.peeked, "set\u0000ü");
        assert.equal(await storage.ack(present!.receipt), true, "the peek leaves the lease intact");
        assert.equal(
          await storage.dequeue({ now: T0, leaseSeconds: LEASE, peekKey: "marker" }),
          undefined,
        );
      });

      it("concurrent dequeues and putDataAndAck calls each get their own answer", async () => {
        await storage.enqueueMany(
          Array.from({ length: 10 }, (_, i) => ({ data: `m${i}`, priority: 0 })),
        );
        await storage.putData("marker", "on");
        // Started together, so a batching driver serves them in one operation,
        // and still in the order they were called.
        const deliveries = await Promise.all(
          Array.from(
            { length: 12 },
            () => storage.dequeue({ now: T0, leaseSeconds: LEASE, peekKey: "marker" }),
          ),
        );
        assert.deepEqual(
          deliveries.map((d) => d?.data),
          [...Array.from({ length: 10 }, (_, i) => `m${i}`), undefined, undefined],
        );
        const taken = deliveries.filter((d) => d !== undefined);
        assert.equal(new Set(taken.map((d) => d.receipt)).size, 10);
        for (const d of taken) assert.equal(d.peeked, "on");
        // Acknowledge every other message first: the batch's answers must line up.
        for (const d of taken.filter((_, i) => i % 2 === 0)) await storage.ack(d.receipt);
        const finish = (d: Delivery, i: number) =>
          storage.putDataAndAck
            ? storage.putDataAndAck(`result-${i}`, d.data, d.receipt)
            : storage.ack(d.receipt);
        assert.deepEqual(await Promise.all(taken.map(finish)), taken.map((_, i) => i % 2 === 1));
        assert.equal(await storage.leasedSize(), 0);
        if (storage.putDataAndAck) {
          assert.equal(await storage.peekData("result-3"), "m3");
        }
      });

      it("a batch may mix dequeues with and without a peek key", async () => {
        await storage.enqueueMany(
          Array.from({ length: 4 }, (_, i) => ({ data: `m${i}`, priority: 0 })),
        );
        const deliveries = await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            storage.dequeue({
              now: T0,
              leaseSeconds: LEASE,
              peekKey: i % 2 === 0 ? "absent" : undefined,
            })),
        );
        assert.deepEqual(deliveries.map((d) => d?.data).sort(), ["m0", "m1", "m2", "m3"]);
        deliveries.forEach((d, i) => assert.equal(d?.peeked, i % 2 === 0 ? null : undefined));
      });

      it("acknowledging twice reports the second as lost", async () => {
        await storage.enqueue("once", 0);
        const delivery = await storage.dequeue({ now: T0, leaseSeconds: LEASE });
        assert.ok(delivery);
        assert.equal(await storage.ack(delivery.receipt), true);
        assert.equal(await storage.ack(delivery.receipt), false);
      });
    });

    describe("blocking dequeue", () => {
      it("wakes when a message arrives, or returns undefined after the wait", async () => {
        if (!storage.blocking) {
          const start = performance.now();
          assert.equal(await storage.dequeue({ now: T0, leaseSeconds: LEASE, wait: 5 }), undefined);
          assert.ok(performance.now() - start < 4000, "a non-blocking driver returns at once");
          return;
        }
        const waiting = storage.dequeue({ now: T0, leaseSeconds: LEASE, wait: 5 });
        await new Promise((r) => setTimeout(r, 20));
        await storage.enqueue("late", 0);
        const delivery = await waiting;
        assert.equal(delivery?.data, "late");
        assert.equal(
          await storage.dequeue({ now: T0, leaseSeconds: LEASE, wait: 0.05 }),
          undefined,
        );
      });

      it("ends the wait when the signal aborts", async () => {
        const controller = new AbortController();
        const waiting = storage.dequeue({
          now: T0,
          leaseSeconds: LEASE,
          wait: 30,
          signal: controller.signal,
        });
        setTimeout(() => controller.abort(), 20);
        assert.equal(await waiting, undefined);
      });
    });

    describe("schedule", () => {
      it("returns due messages earliest first and keeps the rest", async () => {
        await storage.addToSchedule("t+30", T0 + 30_000);
        await storage.addToSchedule("t+10", T0 + 10_000);
        await storage.addToSchedule("t+20", T0 + 20_000);
        await storage.addToSchedule("t+10b", T0 + 10_000);
        assert.equal(await storage.scheduleSize(), 4);
        assert.deepEqual(await storage.scheduledItems(), ["t+10", "t+10b", "t+20", "t+30"]);
        assert.deepEqual(await storage.scheduledItems(1), ["t+10"]);
        assert.deepEqual(await storage.readSchedule(T0), []);
        assert.deepEqual(await storage.readSchedule(T0 + 20_000), ["t+10", "t+10b", "t+20"]);
        assert.deepEqual(await storage.readSchedule(T0 + 20_000), []);
        assert.equal(await storage.scheduleSize(), 1);
        await storage.flushSchedule();
        assert.equal(await storage.scheduleSize(), 0);
        assert.deepEqual(await storage.readSchedule(T0 + 3600_000), []);
      });
    });

    describe("result store", () => {
      it("put, peek, pop and delete", async () => {
        assert.equal(await storage.peekData("k"), undefined);
        assert.equal(await storage.popData("k"), undefined);
        assert.equal(await storage.hasDataForKey("k"), false);
        await storage.putData("k", "v1");
        await storage.putData("k", "v2");
        assert.equal(await storage.hasDataForKey("k"), true);
        assert.equal(await storage.peekData("k"), "v2");
        assert.equal(await storage.peekData("k"), "v2");
        assert.equal(await storage.popData("k"), "v2");
        if (options.popKeeps) {
          assert.equal(await storage.popData("k"), "v2", "a read keeps the value here");
          assert.equal(await storage.deleteData("k"), true);
        }
        assert.equal(await storage.popData("k"), undefined);
        await storage.putData("d", "x");
        assert.equal(await storage.deleteData("d"), true);
        assert.equal(await storage.deleteData("d"), false);
      });

      it("putIfEmpty stores only into an empty key", async () => {
        assert.equal(await storage.putIfEmpty("lock", "1"), true);
        assert.equal(await storage.putIfEmpty("lock", "2"), false);
        assert.equal(await storage.peekData("lock"), "1");
        await storage.deleteData("lock");
        assert.equal(await storage.putIfEmpty("lock", "3"), true);
      });

      it("lets exactly one of many concurrent putIfEmpty calls win", async () => {
        const wins = await Promise.all(
          Array.from({ length: 20 }, (_, i) => storage.putIfEmpty("race", String(i))),
        );
        assert.equal(wins.filter(Boolean).length, 1);
      });

      it("sizes, listings and flush", async () => {
        await storage.putData("a", "1");
        await storage.putData("b", "2");
        assert.equal(await storage.resultStoreSize(), 2);
        assert.deepEqual(await storage.resultItems(), new Map([["a", "1"], ["b", "2"]]));
        await storage.flushResults();
        assert.equal(await storage.resultStoreSize(), 0);
        assert.deepEqual(await storage.resultItems(), new Map());
      });

      it("waitForData wakes when the key is written, or reports false after the timeout", async () => {
        if (!storage.waitForData) {
          assert.equal(typeof storage.peekData, "function");
          return;
        }
        const waiting = storage.waitForData("res", 5);
        setTimeout(() => storage.putData("res", "ready"), 20);
        assert.equal(await waiting, true);
        assert.equal(await storage.waitForData("res", 0.01), true);
        assert.equal(await storage.waitForData("missing", 0.03), false);
      });
    });

    describe("records (status, progress, heartbeats)", () => {
      it("putRecord stores and replaces, getRecord reads without consuming", async () => {
        assert.equal(await storage.getRecord("%s:1", T0), undefined);
        await storage.putRecord("%s:1", "queued", 60, T0);
        assert.equal(await storage.getRecord("%s:1", T0 + 1), "queued");
        assert.equal(await storage.getRecord("%s:1", T0 + 2), "queued", "a read keeps it");
        await storage.putRecord("%s:1", "running \u0000 é🙂", 60, T0 + 3);
        assert.equal(await storage.getRecord("%s:1", T0 + 4), "running \u0000 é🙂");
        assert.equal(await storage.deleteRecord("%s:1"), true);
        assert.equal(await storage.deleteRecord("%s:1"), false);
        assert.equal(await storage.getRecord("%s:1", T0 + 5), undefined);
      });

      it("keeps records apart from the result store and the counters", async () => {
        await storage.putData("k", "value");
        await storage.putRecord("k", "record", 60, T0);
        assert.equal(await storage.incr("k", 2), 2);
        assert.equal(await storage.peekData("k"), "value");
        assert.equal(await storage.getRecord("k", T0), "record");
        assert.deepEqual(await storage.resultItems(), new Map([["k", "value"]]));
        assert.equal(await storage.resultStoreSize(), 1);
        await storage.flushResults();
        await storage.flushCounters();
        assert.equal(await storage.getRecord("k", T0), "record", "flushResults leaves records");
        await storage.putData("k", "value");
        await storage.flushRecords();
        assert.equal(await storage.getRecord("k", T0), undefined);
        assert.equal(await storage.peekData("k"), "value", "flushRecords leaves values");
      });

      it("recordItems lists one prefix, sorted by key, up to a limit; % and _ are literal", async () => {
        for (const key of ["%c:b", "%c:a", "%s:1", "%cx", "%c_:z", "c:a", "%c:\uFEFFé"]) {
          await storage.putRecord(key, `v ${key}`, 60, T0);
        }
        const items = await storage.recordItems("%c:", T0 + 1);
        assert.deepEqual([...items.keys()], ["%c:a", "%c:b", "%c:\uFEFFé"]);
        assert.equal(items.get("%c:a"), "v %c:a");
        assert.deepEqual([...(await storage.recordItems("%c:", T0 + 1, 2)).keys()], [
          "%c:a",
          "%c:b",
        ]);
        assert.deepEqual(await storage.recordItems("%c:", T0 + 1, 0), new Map());
        assert.deepEqual([...(await storage.recordItems("%c_", T0 + 1)).keys()], ["%c_:z"]);
        assert.deepEqual(await storage.recordItems("%none:", T0 + 1), new Map());
        assert.equal((await storage.recordItems("", T0 + 1)).size, 7, "the empty prefix: all");
      });

      it("a record expires after its ttl, and is gone from listings", async () => {
        // On the storage's clock: lifetimes short enough to wait out.
        const ttl = storageClock ? 0.3 : 10;
        await storage.putRecord("%c:short", "s", ttl, T0);
        await storage.putRecord("%c:long", "l", 3600, T0);
        assert.equal(await storage.getRecord("%c:short", T0 + ttl * 1000 - 1), "s");
        if (storageClock) await sleep(ttl * 1000 + 30);
        assert.equal(await storage.getRecord("%c:short", T0 + ttl * 1000), undefined, "expired");
        assert.deepEqual(
          [...(await storage.recordItems("%c:", T0 + ttl * 1000)).keys()],
          ["%c:long"],
        );
        // A new write of an expired key starts a new lifetime.
        await storage.putRecord("%c:short", "again", 3600, T0 + ttl * 1000);
        assert.equal(await storage.getRecord("%c:short", T0 + ttl * 1000 + 1), "again");
      });

      it("refuses a bad ttl, and a key or value that is not a string", async () => {
        for (const ttl of [0, -1, NaN, Infinity, "5" as unknown as number]) {
          await assert.rejects(() => storage.putRecord("bad", "v", ttl, T0), RangeError);
        }
        await assert.rejects(
          () => storage.putRecord(7 as unknown as string, "v", 60, T0),
          TypeError,
        );
        await assert.rejects(
          () => storage.putRecord("bad", {} as unknown as string, 60, T0),
          TypeError,
        );
        await assert.rejects(() => storage.getRecord(7 as unknown as string, T0), TypeError);
        await assert.rejects(() => storage.recordItems(7 as unknown as string, T0), TypeError);
        assert.equal(await storage.getRecord("bad", T0), undefined, "nothing was written");
      });
    });

    describe("counters", () => {
      it("incr adds and returns the new value; negative and zero amounts work", async () => {
        assert.equal(await storage.incr("hits"), 1);
        assert.equal(await storage.incr("hits"), 2);
        assert.equal(await storage.incr("hits", 5), 7);
        assert.equal(await storage.incr("hits", -10), -3);
        assert.equal(await storage.incr("hits", 0), -3, "0 reads the value");
        assert.equal(await storage.incr("missing", 0), 0, "a missing counter reads 0");
        assert.equal(await storage.deleteCounter("missing"), false, "a read creates nothing");
        assert.equal(await storage.incr("big", Number.MAX_SAFE_INTEGER - 1), 2 ** 53 - 2);
        assert.equal(await storage.deleteCounter("hits"), true);
        assert.equal(await storage.deleteCounter("hits"), false);
        assert.equal(await storage.incr("hits", 0), 0);
        assert.equal(await storage.incr("hits", -1), -1, "a new counter starts at 0");
      });

      it("keeps counters apart from the key/value store", async () => {
        await storage.putData("k", "v");
        assert.equal(await storage.incr("k", 3), 3);
        assert.equal(await storage.peekData("k"), "v");
        assert.equal(await storage.incr("only-a-counter"), 1);
        assert.equal(await storage.hasDataForKey("only-a-counter"), false);
        assert.equal(await storage.resultStoreSize(), 1);
        assert.deepEqual(await storage.resultItems(), new Map([["k", "v"]]));
        assert.equal(await storage.deleteData("k"), true);
        assert.equal(await storage.incr("k", 0), 3, "deleting the value leaves the counter");
        await storage.putData("k", "v2");
        await storage.flushResults();
        assert.equal(await storage.incr("k", 0), 3, "flushResults leaves counters");
        await storage.putData("k", "v3");
        assert.equal(await storage.deleteCounter("k"), true);
        assert.equal(await storage.peekData("k"), "v3", "deleting the counter leaves the value");
        await storage.flushCounters();
        assert.equal(await storage.incr("only-a-counter", 0), 0);
        assert.equal(await storage.peekData("k"), "v3", "flushCounters leaves values");
      });

      it("keeps counter keys byte for byte, any key apart from any other", async () => {
        const keys = ["", "a", "A", "a ", "%rate:x:1", "\u0000", "\uFEFFé🙂", "k".repeat(2000)];
        for (const [i, key] of keys.entries()) assert.equal(await storage.incr(key, i + 1), i + 1);
        for (const [i, key] of keys.entries()) assert.equal(await storage.incr(key, 0), i + 1);
      });

      it("a ttl is set by the increment that creates the counter, and kept by later ones", async () => {
        // On the storage's clock: lifetimes short enough to wait out.
        const ttl = storageClock ? 0.4 : 10;
        const at = (ms: number) => ({ now: T0 + ms });
        assert.equal(await storage.incr("window", 1, { ttl, ...at(0) }), 1);
        assert.equal(await storage.incr("window", 1, { ttl: 3600, ...at(1) }), 2);
        assert.equal(await storage.incr("window", 1, at(2)), 3);
        assert.equal(await storage.incr("forever", 1, at(0)), 1);
        assert.equal(await storage.incr("forever", 1, { ttl, ...at(1) }), 2, "no expiry added");
        assert.equal(await storage.incr("window", 0, at(ttl * 1000 - 1)), 3);
        if (storageClock) await sleep(ttl * 1000);
        assert.equal(await storage.incr("window", 0, at(ttl * 1000)), 0, "expired");
        assert.equal(await storage.incr("window", 5, { ttl: 3600, ...at(ttl * 1000) }), 5);
        assert.equal(await storage.incr("window", 0, at(ttl * 3000)), 5, "a new lifetime");
        assert.equal(await storage.incr("forever", 0, at(3600_000)), 2);
        if (storageClock) return;
        // Expiry is judged on the caller's clock here: a caller behind it still sees the counter.
        assert.equal(await storage.incr("late", 1, { ttl: 1, now: T0 }), 1);
        assert.equal(await storage.incr("late", 1, { now: T0 + 999 }), 2);
        assert.equal(await storage.incr("late", 1, { now: T0 + 1000 }), 1, "expired, made anew");
      });

      it("loses no increment among concurrent callers", async () => {
        const seen = await Promise.all(
          Array.from({ length: 40 }, (_, i) => storage.incr("race", i % 2 ? 1 : 2)),
        );
        assert.equal(new Set(seen).size, 40, "every caller saw its own value");
        assert.equal(await storage.incr("race", 0), 60);
      });

      it("refuses an amount that is not a safe integer, a bad ttl and a key that is not a string", async () => {
        for (const amount of [1.5, NaN, Infinity, 2 ** 53, "1" as unknown as number]) {
          await assert.rejects(() => storage.incr("bad", amount), RangeError, String(amount));
        }
        for (const ttl of [0, -1, NaN, Infinity, "5" as unknown as number]) {
          await assert.rejects(() => storage.incr("bad", 1, { ttl }), RangeError, String(ttl));
        }
        await assert.rejects(() => storage.incr(7 as unknown as string), TypeError);
        await assert.rejects(() => storage.deleteCounter(7 as unknown as string), TypeError);
        assert.equal(await storage.incr("bad", 0), 0, "nothing was written");
      });
    });

    describe("error store", () => {
      it("keeps messages with their reason, oldest first", async () => {
        await storage.putError("garbage", "Cannot decode message", T0);
        await storage.putError('{"name":"nope"}', "UnknownTaskError", T0 + 1);
        assert.deepEqual(withoutIds(await storage.errorItems()), [
          { data: "garbage", reason: "Cannot decode message", time: T0 },
          { data: '{"name":"nope"}', reason: "UnknownTaskError", time: T0 + 1 },
        ]);
        assert.equal((await storage.errorItems(1)).length, 1);
        await storage.flushErrors();
        assert.deepEqual(await storage.errorItems(), []);
        assert.equal(await storage.getRecord("%s:1", T0), undefined);
      });

      it("gives each kept message its own id and keeps its info", async () => {
        await storage.putError("same", "why", T0, '{"attempts":6}');
        await storage.putError("same", "why", T0);
        const items = await storage.errorItems();
        assert.equal(items.length, 2);
        assert.notEqual(items[0].id, items[1].id, "identical messages have distinct ids");
        assert.equal(items[0].info, '{"attempts":6}');
        assert.equal(items[1].info, undefined);
        assert.deepEqual(await storage.errorItems(), items, "ids are stable across reads");
      });

      it("deletes one kept message by id", async () => {
        await storage.putError("one", "why", T0);
        await storage.putError("two", "why", T0 + 1);
        const [first] = await storage.errorItems();
        assert.equal(await storage.deleteError(first.id), true);
        assert.equal(await storage.deleteError(first.id), false, "gone already");
        assert.equal(await storage.deleteError("no-such-id"), false);
        assert.equal(await storage.deleteError("../../etc"), false);
        assert.deepEqual((await storage.errorItems()).map((item) => item.data), ["two"]);
      });

      it("requeues a kept message as a new message, then forgets it", async () => {
        await storage.enqueue("waiting", 0);
        await storage.putError("poison", "DeliveryLimitExceeded", T0);
        const [item] = await storage.errorItems();
        assert.equal(await storage.requeueError(item.id, 5), true);
        assert.deepEqual(await storage.errorItems(), []);
        assert.equal(await storage.requeueError(item.id, 5), false, "not twice");
        assert.equal(await storage.requeueError("no-such-id", 0), false);
        assert.equal(await storage.queueSize(), 2);
        const order = storage.priority ? ["poison", "waiting"] : ["waiting", "poison"];
        assert.deepEqual(await storage.enqueuedItems(), order);
        for (;;) {
          const delivery = await storage.dequeue({ now: T0, leaseSeconds: LEASE });
          assert.ok(delivery);
          if (delivery.data !== "poison") continue;
          assert.equal(delivery.deliveries, 1, "its delivery count starts again");
          break;
        }
      });

      it("requeues one kept message once when two callers race", async () => {
        const [one, two] = await pair("requeue-race");
        await one.putError("raced", "why", T0);
        const [item] = await one.errorItems();
        const done = await Promise.all([
          one.requeueError(item.id, 0),
          two.requeueError(item.id, 0),
          one.requeueError(item.id, 0),
        ]);
        assert.equal(done.filter(Boolean).length, 1);
        assert.deepEqual(await two.enqueuedItems(), ["raced"]);
        await one.flushAll();
      });
    });

    describe("cancel channel", () => {
      it("carries a cancelled id to a subscriber on another instance, until it unsubscribes", async (t) => {
        if (!storage.publishCancel || !storage.subscribeCancels) return t.skip("no cancel channel");
        const [one, other] = await pair("cancel-channel");
        const heard: string[] = [];
        const controller = new AbortController();
        await other.subscribeCancels!((id) => heard.push(id), controller.signal);
        await one.publishCancel!("task-1");
        const deadline = Date.now() + 5000;
        while (!heard.includes("task-1") && Date.now() < deadline) await sleep(10);
        assert.deepEqual(heard, ["task-1"]);
        controller.abort();
        await sleep(50);
        await one.publishCancel!("task-2");
        await sleep(200);
        assert.deepEqual(heard, ["task-1"], "nothing after the signal aborted");
      });
    });

    describe("lifecycle", () => {
      it("flushAll empties queue, schedule, results, counters, records and errors", async () => {
        await storage.putRecord("%s:1", "r", 60, T0);
        await storage.enqueue("q", 0);
        await storage.addToSchedule("s", T0);
        await storage.putData("k", "v");
        await storage.incr("k", 2);
        await storage.incr("expiring", 2, { ttl: 60 });
        await storage.putError("e", "why", T0);
        await storage.flushAll();
        assert.equal(await storage.incr("k", 0), 0);
        assert.equal(await storage.incr("expiring", 0), 0);
        assert.equal(await storage.queueSize(), 0);
        assert.equal(await storage.scheduleSize(), 0);
        assert.equal(await storage.resultStoreSize(), 0);
        assert.deepEqual(await storage.errorItems(), []);
      });

      it("rejects every call after close with a HueyError", async () => {
        const own = await options.create();
        await own.close();
        await assert.rejects(() => own.enqueue("x", 0), HueyError);
        await assert.rejects(() => own.dequeue({ now: T0, leaseSeconds: 1 }), HueyError);
        await assert.rejects(() => own.putData("k", "v"), HueyError);
        await assert.rejects(() => own.readSchedule(T0), HueyError);
        await assert.rejects(() => own.incr("c"), HueyError);
      });
    });

    // Only drivers that can build a second instance in the same place get these.
    // Persistence is declared rather than probed, so a persistent driver that
    // loses data fails here instead of quietly skipping the test.
    describe("reopen and names", () => {
      const open = options.open;
      if (!open) return;
      async function openEmpty(storageName: string): Promise<Storage> {
        const fresh = await open!(storageName);
        opened.push(fresh);
        await fresh.flushAll();
        return fresh;
      }

      if (options.persistent) {
        it("keeps queue, leases, schedule, results and errors across close and reopen", async () => {
          const first = await openEmpty("reopen");
          await first.enqueue("kept", 20);
          await first.enqueue("lost", 15);
          const kept = await first.dequeue({ now: T0, leaseSeconds: 10 });
          const lost = await first.dequeue({ now: T0, leaseSeconds: 10 });
          assert.equal(kept?.data, "kept");
          assert.equal(lost?.data, "lost");
          await first.enqueue("low", 0);
          await first.enqueue("high", 9);
          await first.addToSchedule("later", T0 + 60_000);
          await first.putData("k", "v");
          await first.putError("bad", "why", T0);
          await first.incr("count", 4);
          await first.close();

          const second = await open("reopen");
          opened.push(second);
          const waiting = second.priority ? ["high", "low"] : ["low", "high"];
          assert.deepEqual(await second.enqueuedItems(), waiting);
          assert.equal(await second.leasedSize(), 2);
          assert.equal(await second.ack(kept!.receipt), true, "a receipt outlives its instance");
          assert.deepEqual(await second.recoverLeases(T0 + 10_000 - 1), []);
          await runOut(second, lost);
          assert.deepEqual(await second.recoverLeases(T0 + 10_000), ["lost"]);
          await second.enqueue("low2", 0);
          assert.deepEqual(await second.enqueuedItems(), ["lost", ...waiting, "low2"]);
          assert.equal(await second.ack(lost!.receipt), false);
          assert.deepEqual(await second.scheduledItems(), ["later"]);
          assert.equal(await second.peekData("k"), "v");
          assert.deepEqual(withoutIds(await second.errorItems()), [{
            data: "bad",
            reason: "why",
            time: T0,
          }]);
          assert.equal(await second.incr("count", 1), 5, "counters outlive the instance");
          await second.flushAll();
        });
      }

      it("keeps storages with different names in one place apart", async () => {
        const a = await openEmpty("isolated-a");
        const b = await openEmpty("isolated-b");
        await a.enqueue("for-a", 0);
        await b.enqueue("for-b", 0);
        await a.addToSchedule("sched-a", T0);
        await a.putData("k", "from-a");
        await a.putError("err-a", "why", T0);
        assert.equal(await a.incr("count", 7), 7);
        assert.equal(await b.incr("count", 0), 0);
        assert.equal(await b.incr("count", 1), 1);
        assert.deepEqual(await b.enqueuedItems(), ["for-b"]);
        assert.equal(await b.queueSize(), 1);
        assert.equal(await b.scheduleSize(), 0);
        assert.deepEqual(await b.readSchedule(T0 + 1000), []);
        assert.equal(await b.hasDataForKey("k"), false);
        assert.equal(await b.peekData("k"), undefined);
        assert.equal(await b.putIfEmpty("k", "from-b"), true);
        assert.deepEqual(await b.errorItems(), []);

        const delivery = await b.dequeue({ now: T0, leaseSeconds: 1 });
        assert.equal(delivery?.data, "for-b");
        assert.equal(await b.dequeue({ now: T0, leaseSeconds: 1 }), undefined);
        assert.equal(await a.ack(delivery!.receipt), false, "a receipt is only good for its name");
        await runOut(b, delivery);
        assert.deepEqual(await a.recoverLeases(T0 + 5000), []);
        assert.deepEqual(await b.recoverLeases(T0 + 5000), ["for-b"]);

        await b.flushAll();
        assert.deepEqual(await a.enqueuedItems(), ["for-a"]);
        assert.equal(await a.scheduleSize(), 1);
        assert.deepEqual(await a.readSchedule(T0), ["sched-a"]);
        assert.equal(await a.peekData("k"), "from-a");
        assert.deepEqual(withoutIds(await a.errorItems()), [{
          data: "err-a",
          reason: "why",
          time: T0,
        }]);
        assert.equal(await a.incr("count", 0), 7, "b's flushAll left a's counters");
        await a.flushAll();
      });
    });

    describe("concurrency", () => {
      it("delivers every message exactly once to concurrent consumers", async () => {
        const producers = 4;
        const perProducer = 50;
        await Promise.all(
          Array.from({ length: producers }, async (_, p) => {
            for (let i = 0; i < perProducer; i++) await storage.enqueue(`${p}:${i}`, 0);
          }),
        );
        const seen: string[] = [];
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            for (;;) {
              const delivery = await storage.dequeue({ now: T0, leaseSeconds: LEASE });
              if (!delivery) return;
              seen.push(delivery.data);
              await storage.ack(delivery.receipt);
            }
          }),
        );
        assert.equal(seen.length, producers * perProducer);
        assert.equal(new Set(seen).size, producers * perProducer);
        assert.equal(await storage.leasedSize(), 0);
      });

      // Only drivers that several processes can share get the multi-process test.
      if (!options.processes) return;
      it("delivers every message exactly once across producer and consumer processes", {
        timeout: 120_000,
      }, async () => {
        const base = processArgs(options.processes!);
        const producers = 3;
        const perProducer = 150;
        const consumers = Array.from({ length: 3 }, () => runProcess(["consume", ...base]));
        // If a producer fails, the consumers still wait for STOPs: never leave them unhandled.
        for (const consumer of consumers) consumer.catch(() => {});
        await Promise.all(
          Array.from(
            { length: producers },
            (_, p) => runProcess(["produce", ...base, `p${p}`, String(perProducer)]),
          ),
        );
        // Every real message is queued before the STOPs (FIFO within one priority).
        for (let i = 0; i < 3; i++) await storage.enqueue("STOP", storage.priority ? -1 : 0);
        const taken = (await Promise.all(consumers)).flatMap((out) => JSON.parse(out) as string[]);
        assert.equal(taken.length, producers * perProducer, "no message lost or duplicated");
        assert.equal(new Set(taken).size, producers * perProducer);
        assert.equal(await storage.queueSize(), 0);
      });

      it("loses no increment among concurrent processes", { timeout: 120_000 }, async () => {
        const base = processArgs(options.processes!);
        const processes = 3;
        const each = 300;
        // They start counting together, once all of them are likely up.
        const start = String(Date.now() + 2000);
        const outputs = await Promise.all(
          Array.from(
            { length: processes },
            () => runProcess(["count", ...base, "shared", String(each), start]),
          ),
        );
        const seen = outputs.flatMap((out) => JSON.parse(out) as number[]);
        assert.equal(await storage.incr("shared", 0), processes * each, "no increment lost");
        assert.deepEqual(
          [...seen].sort((a, b) => a - b),
          Array.from({ length: processes * each }, (_, i) => i + 1),
          "every increment saw its own value",
        );
      });
    });
  });
}
