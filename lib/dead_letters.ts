/**
 * Dead letters: the messages that will not run as they are, kept in the
 * storage's error store with why, how often they ran and their last error.
 * Four ways in:
 *
 * - `failed`: a task that failed for good (no retries left); its error
 *   result stays stored too;
 * - `undecodable`: a message that cannot be decoded;
 * - `unknown-task`: a message that names a task this process does not declare;
 * - `delivery-limit`: a message delivered more than `maxDeliveries` times
 *   without finishing (it kills or hangs its consumer every time).
 *
 * The last three never ran to an outcome, so where the message's task id
 * can be read, a marker result is stored under it: a producer blocking on
 * the result gets a `DeadLetterError` (an `UnknownTaskError` for an unknown
 * task) at once, not a timeout. `requeue` puts a dead letter back in the
 * queue (and drops that marker first), `purge` forgets them all.
 *
 * @module
 */
import { describeError } from "./_util.ts";
import { DeadLetterError, SerializationError, TaskError, UnknownTaskError } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Logger } from "./logger.ts";
import type { MessageCodec } from "./message.ts";
import type { Registry } from "./registry.ts";
import type { StatusBook } from "./status.ts";
import type { Delivery, ErrorItem, Storage } from "./storage/types.ts";
import { checkTaskId } from "./task.ts";
import type { Task } from "./task.ts";
import type { Uniqueness } from "./unique.ts";

/** Why a message is a dead letter. */
export type DeadLetterKind = "failed" | "undecodable" | "unknown-task" | "delivery-limit";

/** A message in the dead-letter store (`huey.deadLetters()`). */
export interface DeadLetter {
  /** The dead letter's id in the store: what `huey.requeue(id)` takes (a task id works too). */
  id: string;
  /** The message as it was kept (what a requeue enqueues). */
  data: string;
  /** Id of the task invocation, when the message can be read. */
  taskId?: string;
  /** Name of the task, when the message can be read. */
  taskName?: string;
  /** Why it is here, as one of four kinds. */
  kind: DeadLetterKind;
  /** Why it is here, in words: the error, or the delivery count. */
  reason: string;
  /**
   * Times the task ran: for `failed`, its attempts (first run and retries);
   * for `delivery-limit`, the deliveries that never finished; 0 for a
   * message that never ran.
   */
  attempts: number;
  /** The last error, as `Name: message`, when it ran and failed. */
  lastError?: string;
  /** When it was set aside, in ms since the epoch. */
  time: number;
}

/** What is kept beside the reason (`ErrorItem.info`, as JSON). */
interface Details {
  kind: DeadLetterKind;
  taskId?: string;
  taskName?: string;
  attempts: number;
  lastError?: string;
}

/**
 * The marker result of a dead letter, as an error result with these
 * fields added: `Result.get()` turns it into a DeadLetterError or an
 * UnknownTaskError (see {@link deadLetterError}).
 */
interface Marker extends TaskErrorInfo {
  deadLetter: { kind: DeadLetterKind; reason: string; registered?: string[]; module?: string };
}

/** What the {@link DeadLetters} room needs from its Huey. */
export interface DeadLetterHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** Where setting a message aside is logged. */
  readonly logger: Logger;
  /** Whether results are stored (the markers are results). */
  readonly results: boolean;
  /** Deliveries a message may have before it is set aside. */
  readonly maxDeliveries: number;
  /** The module the consumer loaded the app from, for `UnknownTaskError`. */
  readonly appModule?: string;
  /** The current time, ms since the epoch. */
  now(): number;
}

/**
 * The error a result read throws for a stored error `info`: a
 * DeadLetterError or an UnknownTaskError for a dead letter's marker, else
 * the TaskError of the failure.
 *
 * @example
 * ```ts
 * import { deadLetterError } from "./dead_letters.ts";
 * const info = { name: "Error", message: "no", taskId: "1", taskName: "t", retries: 0 };
 * console.log(deadLetterError(info).name); // "TaskError"
 * ```
 */
export function deadLetterError(info: TaskErrorInfo): Error {
  const marker = (info as Partial<Marker>).deadLetter;
  if (!marker || typeof marker !== "object") return new TaskError(info);
  if (marker.kind === "unknown-task") {
    return new UnknownTaskError(info.taskName, marker.registered ?? [], marker.module);
  }
  return new DeadLetterError({
    taskId: info.taskId,
    taskName: info.taskName === "(unknown)" ? undefined : info.taskName,
    reason: marker.reason,
  });
}

/** The task id and name a message holds, when its frame decodes and its id is a valid one. */
function readableTask(
  codec: MessageCodec,
  data: string,
): { id: string; name?: string } | undefined {
  try {
    const fields = codec.serializer.decode(data) as { id?: unknown; name?: unknown };
    checkTaskId(fields?.id, "dead letter");
    return {
      id: fields.id as string,
      name: typeof fields.name === "string" ? fields.name : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * The dead-letter store of one Huey, over its storage's error store.
 *
 * @example List, requeue and purge
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * for (const letter of await huey.deadLetters({ limit: 10 })) console.log(letter.reason);
 * console.log(await huey.requeue("all")); // 0
 * console.log(await huey.purgeDeadLetters()); // 0
 * ```
 */
export class DeadLetters {
  readonly #host: DeadLetterHost;
  readonly #codec: MessageCodec;
  readonly #registry: Registry;
  readonly #unique: Uniqueness;
  readonly #status: StatusBook;

  /** The dead letters of `host`'s storage, decoding with `codec`; `status` records them `dead`. */
  constructor(
    host: DeadLetterHost,
    codec: MessageCodec,
    registry: Registry,
    unique: Uniqueness,
    status: StatusBook,
  ) {
    this.#host = host;
    this.#codec = codec;
    this.#registry = registry;
    this.#unique = unique;
    this.#status = status;
  }

  /**
   * Why `delivery` must not run, set aside already, or `undefined` when it
   * may: a message the storage could not hand out as text, or one delivered
   * more than `maxDeliveries` times.
   */
  async refuse(delivery: Delivery, now: number): Promise<Error | undefined> {
    if (delivery.undecodable !== undefined) {
      const error = new SerializationError(`Cannot decode message: ${delivery.undecodable}`);
      await this.setAside(delivery.data, error, now);
      return error;
    }
    const { maxDeliveries } = this.#host;
    if (delivery.deliveries <= maxDeliveries) return undefined;
    const error = new Error(
      `delivered ${delivery.deliveries} times without finishing (maxDeliveries ${maxDeliveries}): ` +
        "each time its consumer died, hung past its lease, or could not store the outcome",
    );
    error.name = "DeliveryLimitExceeded";
    await this.setAside(delivery.data, error, now, "delivery-limit", delivery.deliveries - 1);
    return error;
  }

  /** An UnknownTaskError for the task `name`, listing what this process declares. */
  unknown(name: string): UnknownTaskError {
    return new UnknownTaskError(name, this.#registry.names(), this.#host.appModule);
  }

  /**
   * Keep a message that will not run (`error` says why) as a dead letter;
   * a unique one frees its id, and a producer waiting on its result is told
   * (the marker). `kind` defaults from the error.
   */
  async setAside(
    data: string,
    error: unknown,
    now: number,
    kind: DeadLetterKind = error instanceof UnknownTaskError ? "unknown-task" : "undecodable",
    attempts = 0,
  ): Promise<void> {
    const reason = describeError(error);
    this.#host.logger.error(`Message set aside in the error store: ${reason}`);
    const task = readableTask(this.#codec, data);
    const details: Details = { kind, taskId: task?.id, taskName: task?.name, attempts };
    await this.#host.storage.putError(data, reason, now, JSON.stringify(details));
    if (!task) return; // undecodable: no id to free (its marker lapses)
    await this.#mark(task, kind, reason, error);
    await this.#status.markDead(task.id, { name: task.name, attempts }).catch((err) => {
      this.#host.logger.error(`Cannot record ${task.id} as dead`, err);
    });
    try {
      await this.#unique.release(this.#codec.decode(data));
    } catch { /* its fields do not decode: no unique marker can be read from it */ }
  }

  /** Store the marker result under the task's id, so a waiting producer is told now. */
  async #mark(
    task: { id: string; name?: string },
    kind: DeadLetterKind,
    reason: string,
    error: unknown,
  ): Promise<void> {
    if (!this.#host.results) return;
    const unknown = error instanceof UnknownTaskError ? error : undefined;
    const marker: Marker = {
      name: kind === "unknown-task" ? "UnknownTaskError" : "DeadLetterError",
      message: reason,
      taskId: task.id,
      taskName: task.name ?? "(unknown)",
      retries: 0,
      deadLetter: {
        kind,
        reason,
        registered: unknown?.registered.slice(),
        module: unknown?.module,
      },
    };
    // A stored result's shape (result.ts), written here as an error result.
    const stored = { error: marker };
    try {
      await this.#host.storage.putData(task.id, this.#codec.serializer.encode(stored), {
        result: true,
      });
    } catch (err) {
      this.#host.logger.error(`Cannot store the dead-letter marker of ${task.id}`, err);
    }
  }

  /**
   * Keep `task`, which failed for good with `error` (its error result is
   * stored already), as a dead letter; `declaredRetries` are the retries
   * its declaration gives, from which its attempts are counted. Periodic
   * tasks are not kept: their next run comes anyway.
   */
  async failed(task: Task, error: unknown, declaredRetries: number): Promise<void> {
    if (task.periodic) return;
    // Counted on the task where the status room counts runs; else from its retries.
    const attempts = task.attempts ?? Math.max(1, declaredRetries - task.retries + 1);
    const lastError = describeError(error);
    const details: Details = {
      kind: "failed",
      taskId: task.id,
      taskName: task.name,
      attempts,
      lastError,
    };
    const reason = `failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${lastError}`;
    await this.#host.storage.putError(
      this.#codec.encode(task),
      reason,
      this.#host.now(),
      JSON.stringify(details),
    );
  }

  /** The dead letters, oldest first; all unless `limit`. */
  async list(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    return (await this.#host.storage.errorItems(options.limit)).map((item) => this.#letter(item));
  }

  #letter(item: ErrorItem): DeadLetter {
    let details: Partial<Details> = {};
    try {
      if (item.info !== undefined) details = JSON.parse(item.info) as Details;
    } catch { /* kept by another program: read what the message says */ }
    const task = details.taskId ? undefined : readableTask(this.#codec, item.data);
    const letter: DeadLetter = {
      id: item.id,
      data: item.data,
      kind: details.kind ??
        (/^UnknownTaskError/.test(item.reason) ? "unknown-task" : "undecodable"),
      reason: item.reason,
      attempts: details.attempts ?? 0,
      time: item.time,
    };
    const taskId = details.taskId ?? task?.id;
    const taskName = details.taskName ?? task?.name;
    if (taskId !== undefined) letter.taskId = taskId;
    if (taskName !== undefined) letter.taskName = taskName;
    if (details.lastError !== undefined) letter.lastError = details.lastError;
    return letter;
  }

  /**
   * Put dead letters back in the queue: the one whose id (or task id) is
   * `id`, or `"all"`. Returns how many went back. Each goes as a new
   * message (its delivery count starts again), with the retries it had
   * left, at its priority, and leaves the store only once it is queued.
   * A task's stored outcome (its error, or the marker) goes first, so a
   * blocking `get()` waits for the new run.
   */
  async requeue(id: string): Promise<number> {
    if (typeof id !== "string" || id === "") {
      throw new TypeError(`Cannot requeue: expected a dead letter's id, a task id or "all": ${id}`);
    }
    const storage = this.#host.storage;
    let count = 0;
    for (const letter of await this.list()) {
      if (id !== "all" && letter.id !== id && letter.taskId !== id) continue;
      let priority = 0;
      try {
        priority = this.#codec.decode(letter.data).priority;
      } catch { /* undecodable: it will be set aside again, as it should */ }
      if (letter.taskId !== undefined) {
        await storage.deleteData(letter.taskId);
        // Its `dead` status too: until the new run records one, it is queued again.
        await storage.deleteRecord(OWN_KEYS.status(letter.taskId));
      }
      if (await storage.requeueError(letter.id, priority)) {
        count++;
        this.#host.logger.info(`Dead letter ${letter.id} (${letter.reason}) requeued`);
      }
    }
    return count;
  }

  /** Forget every dead letter; returns how many there were. */
  async purge(): Promise<number> {
    const storage = this.#host.storage;
    const count = (await storage.errorItems()).length;
    await storage.flushErrors();
    return count;
  }
}
