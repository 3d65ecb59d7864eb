/**
 * The wire form of a task: what is enqueued, scheduled and handed to a
 * consumer. A message is `{ v: 1, ...fields }` with every field of
 * {@link Task}, the pipeline's next tasks nested as messages of their own.
 *
 * The fields are declared once, on the `Task` class; {@link FIELD_RULES}
 * must name every one of them (the compiler checks), with how it is checked
 * when a message is decoded.
 *
 * @module
 */
import { SerializationError } from "./errors.ts";
import type { Serializer } from "./serializer.ts";
import { Task } from "./task.ts";
import type { TaskFields } from "./task.ts";

/** The message format's version, the `v` of every message. */
const VERSION = 1;

/** How a field of a decoded message is checked; returns why it is wrong, or undefined. */
type FieldRule = (value: unknown) => string | undefined;

const finite = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) ? undefined : "must be a finite number";
const optional = (rule: FieldRule): FieldRule => (value) =>
  value === undefined ? undefined : rule(value);
const date: FieldRule = (value) => value instanceof Date ? undefined : "must be a Date";
const text: FieldRule = (value) => typeof value === "string" ? undefined : "must be a string";

/**
 * Every task field, in the order it is written, and how it is checked on
 * decoding. `onComplete` and `onError` are nested messages, decoded in turn.
 */
const FIELD_RULES: { readonly [K in keyof TaskFields]-?: FieldRule } = {
  id: text,
  name: text,
  args: (value) => Array.isArray(value) ? undefined : "must be an array",
  retries: finite,
  retryDelay: finite,
  priority: finite,
  eta: optional(date),
  expires: optional((value) => value instanceof Date ? undefined : finite(value)),
  expiresAt: optional(date),
  timeout: optional(finite),
  periodic: optional((value) => typeof value === "boolean" ? undefined : "must be a boolean"),
  onComplete: () => undefined,
  onError: () => undefined,
};
const FIELDS = Object.keys(FIELD_RULES) as (keyof TaskFields)[];
/** The fields that hold the next tasks of a pipeline, as nested messages. */
const NESTED = new Set<string>(["onComplete", "onError"]);

/** The plain object form of `task` (nested for its pipeline), before serialization. */
function toMessage(task: Task): Record<string, unknown> {
  const message: Record<string, unknown> = { v: VERSION };
  for (const field of FIELDS) {
    const value = task[field];
    // Unset fields and a false `periodic` are left out: shorter messages.
    if (value === undefined || value === false) continue;
    message[field] = NESTED.has(field) ? toMessage(value as Task) : value;
  }
  return message;
}

function fromMessage(value: unknown, path: string): Task {
  const bad = (why: string) =>
    new SerializationError(`Cannot decode task message: ${why}`, { path });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("not an object");
  }
  const message = value as Record<string, unknown>;
  if (message.v !== VERSION) throw bad(`unknown message version: ${String(message.v)}`);
  const fields: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const raw = message[field];
    const why = FIELD_RULES[field](raw);
    if (why) throw bad(`${field} ${why}`);
    fields[field] = NESTED.has(field) && raw !== undefined
      ? fromMessage(raw, `${path}.${field}`)
      : raw;
  }
  return new Task(fields as unknown as TaskFields);
}

/**
 * Turns tasks into message strings and back, through a {@link Serializer}.
 *
 * @example
 * ```ts
 * import { MessageCodec } from "./message.ts";
 * import { Serializer } from "./serializer.ts";
 * import { Task } from "./task.ts";
 * const codec = new MessageCodec(new Serializer());
 * const task = new Task({ id: "1", name: "add", args: [1, 2], retries: 0, retryDelay: 0, priority: 0 });
 * console.log(codec.decode(codec.encode(task)).args); // [1, 2]
 * ```
 */
export class MessageCodec {
  /** The serializer of messages (and of results, by the executor). */
  readonly serializer: Serializer;

  /** A codec writing messages through `serializer`. */
  constructor(serializer: Serializer) {
    this.serializer = serializer;
  }

  /**
   * The message string for `task` (and its pipeline). Values that cannot be
   * serialized throw `SerializationError` naming the task and the argument.
   */
  encode(task: Task): string {
    try {
      return this.serializer.encode(toMessage(task));
    } catch (err) {
      if (!(err instanceof SerializationError)) throw err;
      if (!err.path) {
        // About the whole message (its size): name the task.
        throw new SerializationError(`Cannot enqueue task ${task.name}: ${err.message}`, {
          taskName: task.name,
        }, { cause: err });
      }
      throw locateCulprit(task, err);
    }
  }

  /** Rebuild a task from a message string; throws `SerializationError` if it is malformed. */
  decode(data: string): Task {
    return fromMessage(this.serializer.decode(data), "$");
  }

  /** Decode every message of a listing; one that does not decode is passed to `skip`. */
  decodeEach(items: readonly string[], skip: (error: unknown) => void): Task[] {
    const tasks: Task[] = [];
    for (const data of items) {
      try {
        tasks.push(this.decode(data));
      } catch (error) {
        skip(error);
      }
    }
    return tasks;
  }
}

/** `err` (about a path inside the message) restated for the task and argument it points into. */
function locateCulprit(task: Task, err: SerializationError): SerializationError {
  const match = /^\$((?:\.(?:onComplete|onError))*)\.args\[(\d+)\]/.exec(err.path!);
  let culprit: Task | undefined = task;
  for (const step of match?.[1].split(".").filter(Boolean) ?? []) {
    culprit = step === "onComplete" ? culprit?.onComplete : culprit?.onError;
  }
  const taskName = culprit?.name ?? task.name;
  const argumentIndex = match ? Number(match[2]) : undefined;
  const where = argumentIndex !== undefined ? ` argument ${argumentIndex}` : "";
  return new SerializationError(
    `Cannot enqueue task ${taskName}:${where} ${err.message}`,
    { taskName, argumentIndex, path: err.path },
    { cause: err },
  );
}
