/**
 * Type-level tests: `deno check` fails if a task's argument and result types
 * stop flowing through wrappers, Results and pipelines. Each
 * `@ts-expect-error` line is a call that must not compile. The runtime part
 * checks the same calls really work.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chord, Consumer, group, MemoryHuey, SqliteHuey } from "../mod.ts";
import type { Chord, ChordResult, Group, Result, ResultGroup, TaskError } from "../mod.ts";
import type { Task, TaskContext, TaskErrorInfo } from "../mod.ts";

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true
  : false;
function expectType<T extends true>(_ok: T): void {}

const huey = new MemoryHuey({ immediate: true });
const add = huey.task("add", (a: number, b: number) => a + b);
const greet = huey.task("greet", async (name: string) => `hi ${name}`);
const fib = huey.task("fib", (a: number, b = 1): [number, number] => [a + b, a]);
const withCtx = huey.task("ctx", (n: number, ctx: TaskContext) => `${ctx.name}:${n}`, {
  context: true,
});
const onFail = huey.task("onFail", (info: TaskErrorInfo, tag: string) => `${tag}:${info.name}`);
const nothing = huey.task("nothing", () => {});
const toStr = huey.task("toStr", (n: number) => String(n));
const isLong = huey.task("isLong", (s: string) => s.length > 3);
const pair = huey.task("pair", (results: [number, boolean]) => `${results[0]}/${results[1]}`);
const sum = huey.task("sum", (ns: number[]) => ns.reduce((a, b) => a + b, 0));
const tagged = huey.task(
  "tagged",
  (results: [number, boolean], tag: string) => `${tag}:${results}`,
);

function typeOnly(): void {
  // Calls take the function's arguments and resolve to typed Results.
  expectType<Equal<ReturnType<typeof add>, Promise<Result<number>>>>(true);
  expectType<Equal<ReturnType<typeof greet>, Promise<Result<string>>>>(true);
  expectType<Equal<Parameters<typeof withCtx>, [n: number]>>(true);
  expectType<Equal<ReturnType<Result<number>["get"]>, Promise<number | undefined>>>(true);
  expectType<Equal<ReturnType<typeof add.callLocal>, number | Promise<number>>>(true);

  // @ts-expect-error wrong argument type
  add("1", 2);
  // @ts-expect-error missing argument
  add(1);
  // @ts-expect-error too many arguments
  add(1, 2, 3);
  // @ts-expect-error the context is supplied by huey, not the caller
  withCtx(1, {} as TaskContext);
  // @ts-expect-error schedule takes the arguments as a tuple
  add.schedule([1, "2"], { delay: 1 });
  // @ts-expect-error map items are argument tuples
  add.map([[1, 2], [3]]);
  // @ts-expect-error s() checks arguments too
  add.s(1, "x");
  // withOptions() keeps the argument and result types of s() and of pipelines.
  expectType<Equal<ReturnType<ReturnType<typeof add.withOptions>["s"]>, ReturnType<typeof add.s>>>(
    true,
  );
  add.s(1, 2).then(toStr.withOptions({ timeout: 5 }));
  // @ts-expect-error the piped number does not fit greet's string
  add.s(1, 2).then(greet.withOptions({ timeout: 5 }));
  // @ts-expect-error withOptions() does not take the enqueue-time id
  add.withOptions({ id: "x" });
  // A parameter with a default keeps the default's type (the README's fib).
  expectType<Equal<Parameters<typeof fib>, [a: number, b?: number]>>(true);
  // @ts-expect-error b is a number
  fib(1, "x");
  // @ts-expect-error context: true needs the TaskContext as the last parameter
  huey.task("noCtx", (n: number) => n, { context: true });

  // Pipelines: the parent's result is prepended to the child's arguments.
  const pipe = add.s(1, 2).then(add, 3).then(toStr);
  expectType<Equal<typeof pipe, ReturnType<typeof add.s> extends never ? never : typeof pipe>>(
    true,
  );
  const pipeResults = huey.enqueue(pipe);
  expectType<Equal<typeof pipeResults, Promise<ResultGroup<[number, number, string]>>>>(true);
  // Arrays returned by a parent are spread into the child's arguments.
  const fibs = huey.enqueue(fib.s(1).then(fib).then(fib));
  expectType<
    Equal<typeof fibs, Promise<ResultGroup<[[number, number], [number, number], [number, number]]>>>
  >(true);
  // A void parent adds nothing.
  huey.enqueue(nothing.s().then(add, 1, 2));
  // Error handlers receive the error info first.
  add.s(1, 2).error(onFail, "tag");

  // @ts-expect-error the child's extra argument has the wrong type
  add.s(1, 2).then(add, "3");
  // @ts-expect-error the parent's string result cannot feed a number argument
  toStr.s(1).then(add, 2);
  // @ts-expect-error the child needs one more argument
  add.s(1, 2).then(add);
  // @ts-expect-error error handlers take the error info, not a number
  add.s(1, 2).error(add, 1);

  // A Task is not a promise: awaiting it or returning it from an async
  // function does not compile (and throws a TypeError naming the fix).
  async function awaitsATask() {
    // @ts-expect-error a Task has a then() that is huey's pipeline, not a promise's
    await add.s(1, 2);
  }
  // @ts-expect-error an async function cannot return a Task
  async function returnsATask() {
    return add.s(1, 2);
  }
  void [awaitsATask, returnsATask];

  // Groups: a ResultGroup of the members' result types (a pipeline's last task's).
  const g = group([add.s(1, 2), isLong.s("word")]);
  expectType<Equal<typeof g, Group<[number, boolean]>>>(true);
  expectType<
    Equal<
      ReturnType<typeof huey.enqueue<[number, boolean]>>,
      Promise<ResultGroup<[number, boolean]>>
    >
  >(true);
  const piped = group([add.s(1, 2).then(toStr), add.s(3, 4)]);
  expectType<Equal<typeof piped, Group<[string, number]>>>(true);
  expectType<Equal<ReturnType<typeof group<ReturnType<typeof add.s>[]>>, Group<number[]>>>(true);
  g.error(onFail, "tag");
  // @ts-expect-error a group's error handler takes the error info first
  g.error(add, 1);
  // @ts-expect-error a group cannot hold a task wrapper, only invocations
  group([add, isLong.s("x")]);

  // Chords: the callback's first parameter is the members' results, in order.
  const c = chord([add.s(1, 2), isLong.s("x")], pair);
  expectType<Equal<typeof c, Chord<[number, boolean], string, [string]>>>(true);
  const enqueued = huey.enqueue(c);
  expectType<Equal<typeof enqueued, Promise<ChordResult<string, [number, boolean], [string]>>>>(
    true,
  );
  expectType<
    Equal<
      ReturnType<typeof g.then<[results: [number, boolean]], string>>,
      Chord<[number, boolean], string, [string]>
    >
  >(true);
  chord([add.s(1, 2), isLong.s("x")], tagged, "t");
  chord([1, 2, 3].map((n) => add.s(n, n)), sum);
  // Members may be pipelines (their last task's result) and chords (their callback's).
  const mixed = chord(
    [add.s(1, 2).then(toStr), add.s(1, 1)],
    huey.task("mixed", (rs: [string, number]) => rs),
  );
  expectType<Equal<typeof mixed, Chord<[string, number], [string, number], [[string, number]]>>>(
    true,
  );
  const nested = chord([chord([add.s(1, 2)], sum), add.s(3, 4)], sum);
  expectType<Equal<typeof nested, Chord<[number, number], number, [number]>>>(true);
  // then() after the callback pipes its result, as Task.then does.
  const chained = chord([add.s(1, 2), isLong.s("x")], pair).then(greet);
  expectType<Equal<typeof chained, Chord<[number, boolean], string, [string, string]>>>(true);
  chord([add.s(1, 2)], sum).error(onFail, "tag");
  // A callback that must tell failed and skipped members apart says so.
  chord([add.s(1, 2)], huey.task("careful", (rs: (number | TaskError | undefined)[]) => rs.length));
  // @ts-expect-error the callback's first parameter must take [number, boolean]
  chord([add.s(1, 2), isLong.s("x")], huey.task("wrong", (rs: [string, string]) => rs.join()));
  // @ts-expect-error the callback needs its extra argument
  chord([add.s(1, 2), isLong.s("x")], tagged);
  // @ts-expect-error a callback that takes no results does not fit
  chord([add.s(1, 2)], nothing);
  // @ts-expect-error group.then checks the callback in the same way
  g.then(sum);
  // @ts-expect-error the callback's number does not feed greet's string
  chord([add.s(1, 2)], sum).then(greet);
  // @ts-expect-error a chord's error handler takes the error info first
  chord([add.s(1, 2)], sum).error(add, 1);

  // huey.isRevoked() reads a Result's invocation too; reschedule() takes
  // the schedule's options but cannot join a transaction.
  const result = {} as Result<number>;
  void huey.isRevoked(result);
  void result.reschedule({ delay: 5, priority: 1, expires: 60, retries: 2, retryDelay: 3 });
  // @ts-expect-error the original is revoked outside any transaction
  void result.reschedule({ transaction: {} });
  // @ts-expect-error isRevoked() takes a task, a Result, an id or a wrapper
  void huey.isRevoked(42);

  // A context task with asArgument takes the entered resource first; the
  // wrapper takes the other arguments. unregister() says whether it was there.
  const connect = async () => ({ n: 1, async [Symbol.asyncDispose]() {} });
  const query = huey.contextTask("q", connect, (db, sql: string) => db.n + sql.length, {
    asArgument: true,
  });
  expectType<Equal<Parameters<typeof query>, [sql: string]>>(true);
  expectType<Equal<ReturnType<typeof query>, Promise<Result<number>>>>(true);
  // @ts-expect-error the resource is not the caller's to give
  query({ n: 1 }, "SELECT 1");
  const plain = huey.contextTask("p", connect, (n: number) => n * 2);
  expectType<Equal<Parameters<typeof plain>, [n: number]>>(true);
  // @ts-expect-error a resource is a function or { enter, exit }
  huey.contextTask("bad", { enter: () => 1 }, () => 1);
  expectType<Equal<ReturnType<typeof add.unregister>, boolean>>(true);
  // Periodic tasks come with their schedules, which may tell their next run.
  const next: Date | undefined = huey.periodicTasks()[0]?.validateDatetime.nextRun?.(new Date());
  void next;

  // Options of this issue: each a boolean or a count, and buildErrorResult()
  // returns a TaskErrorInfo that may carry more fields.
  void new MemoryHuey({ storeIntermediateErrors: false, compression: true, zlib: true });
  // @ts-expect-error zlib is a boolean
  void new MemoryHuey({ zlib: "yes" });
  // @ts-expect-error storeIntermediateErrors is a boolean
  void new MemoryHuey({ storeIntermediateErrors: 1 });
  const sqlite = new SqliteHuey({ filename: ":memory:", createTables: false });
  expectType<Equal<ReturnType<typeof sqlite.initializeSchema>, Promise<void>>>(true);
  void new Consumer(huey, { maxTasks: 100 });
  // @ts-expect-error maxTasks is a number of tasks
  void new Consumer(huey, { maxTasks: "100" });
  class Annotating extends MemoryHuey {
    override buildErrorResult(task: Task, error: unknown): TaskErrorInfo {
      return { ...super.buildErrorResult(task, error), host: "worker-1" };
    }
  }
  void Annotating;
  class Broken extends MemoryHuey {
    // @ts-expect-error a stored error keeps the fields of TaskErrorInfo
    override buildErrorResult(): { host: string } {
      return { host: "worker-1" };
    }
  }
  void Broken;

  // Single tasks resolve to a Result, pipelines to a ResultGroup.
  expectType<
    Equal<ReturnType<typeof huey.enqueue<[number, number], number>>, Promise<Result<number>>>
  >(
    true,
  );
}
void typeOnly;

describe("typed task API", () => {
  it("runs the calls the types allow", async () => {
    assert.equal(await (await add(1, 2)).get(), 3);
    assert.equal(await (await greet("ann")).get(), "hi ann");
    assert.equal(await (await withCtx(4)).get(), "ctx:4");
    const group = await huey.enqueue(add.s(1, 2).then(add, 3).then(toStr));
    assert.deepEqual(await group.get({ blocking: true }), [3, 6, "6"]);
    assert.equal(add.callLocal(2, 2), 4);
  });

  it("runs the groups and chords the types allow", async () => {
    const results = await huey.enqueue(group([add.s(1, 2), isLong.s("word")]));
    assert.deepEqual(await results.get(), [3, true]);
    const c = await huey.enqueue(chord([add.s(1, 2), isLong.s("x")], pair).then(greet));
    assert.equal(await c.get(), "3/false");
    assert.deepEqual(await c.pipelineResults?.get(), ["3/false", "hi 3/false"]);
    assert.equal(
      await (await huey.enqueue(chord([chord([add.s(1, 2)], sum), add.s(3, 4)], sum))).get(),
      10,
    );
  });
});
