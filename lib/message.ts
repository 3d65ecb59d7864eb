/**
 * The wire form of a task: what is enqueued, scheduled and handed to a
 * consumer. A message is `{ v: 1, ...fields }` with every field of
 * {@link Task}, the pipeline's next tasks (and a chord member's callback)
 * nested as messages of their own.
 *
 * The fields are declared once, on the `Task` class; {@link FIELD_RULES}
 * must name every one of them (the compiler checks), with what it must be:
 * checked when a message is decoded (a message written by anything else is
 * held to it) and when one is written (so a producer hears of a bad field,
 * not a consumer). Nested pipelines are checked the same way, at most
 * `TASK_LIMITS.pipelineDepth` deep.
 *
 * @module
 */
import { truncate } from "./_util.ts";
import { SerializationError } from "./errors.ts";
import type { Serializer } from "./serializer.ts";
import { shown, Task, TASK_LIMITS, TASK_RULES } from "./task.ts";
import type { Expectation, TaskFields } from "./task.ts";

/** The message format's version, the `v` of every message. */
const VERSION = 1;

/** How a field of a message is checked; returns what was expected, or undefined. */
type FieldRule = Expectation;

const optional = (rule: FieldRule): FieldRule => (value) =>
  value === undefined ? undefined : rule(value);
const nonEmptyText: FieldRule = (value) =>
  typeof value === "string" && value !== "" ? undefined : "a non-empty string";
const flag: FieldRule = optional((value) => typeof value === "boolean" ? undefined : "a boolean");
const nested: FieldRule = (value) =>
  value === undefined || value instanceof Task ||
    (typeof value === "object" && value !== null && !Array.isArray(value))
    ? undefined
    : "a task message";

/**
 * Every task field, in the order it is written, and what it must be (when
 * a message is decoded, and when one is written). `onComplete` and
 * `onError` are nested messages, checked in turn.
 */
const FIELD_RULES: { readonly [K in keyof TaskFields]-?: FieldRule } = {
  id: TASK_RULES.id,
  name: nonEmptyText,
  args: (value) => Array.isArray(value) ? undefined : "an array",
  retries: TASK_RULES.retries,
  retryDelay: TASK_RULES.seconds,
  retryBackoff: optional(TASK_RULES.backoff),
  retryJitter: optional(TASK_RULES.fraction),
  retryMaxDelay: optional(TASK_RULES.seconds),
  priority: TASK_RULES.priority,
  eta: optional(TASK_RULES.date),
  expires: optional(TASK_RULES.expires),
  expiresAt: optional(TASK_RULES.date),
  timeout: optional(TASK_RULES.timeout),
  periodic: flag,
  onComplete: nested,
  onError: nested,
  unique: flag,
  chord: optional(TASK_RULES.chord),
  chordCallback: nested,
  chordDelay: optional(TASK_RULES.seconds),
  attempts: optional(TASK_RULES.count),
  trace: optional(TASK_RULES.trace),
};
const FIELDS = Object.keys(FIELD_RULES) as (keyof TaskFields)[];
/** The fields that hold the next tasks of a pipeline (and a chord's callback), as nested messages. */
const NESTED = new Set<string>(["onComplete", "onError", "chordCallback"]);

/** Why `value` is not a valid `field`, as an error message's words; undefined when valid. */
function fieldProblem(field: keyof TaskFields, value: unknown): string | undefined {
  const expected = FIELD_RULES[field](value);
  return expected === undefined ? undefined : `${field} must be ${expected}: ${shown(value)}`;
}

/** Where in the message a problem is, for its error: nothing at the top; a deep path cut short. */
const at = (path: string) => path === "$" ? "" : `at ${truncate(path, 100)}: `;

/**
 * The plain object form of `task` (nested for its pipeline), before
 * serialization; throws a SerializationError naming the task for a field
 * that a consumer would reject, so the producer hears of it instead.
 */
function toMessage(task: Task, path = "$", depth = 0): Record<string, unknown> {
  const refuse = (why: string) =>
    new SerializationError(`Cannot enqueue task ${truncate(task.name)}: ${why}`, {
      taskName: task.name,
    });
  if (depth >= TASK_LIMITS.pipelineDepth) {
    throw refuse(`pipeline nested deeper than ${TASK_LIMITS.pipelineDepth} tasks`);
  }
  const message: Record<string, unknown> = { v: VERSION };
  for (const field of FIELDS) {
    const value = task[field];
    const problem = fieldProblem(field, value);
    if (problem) throw refuse(`${at(path)}${problem}`);
    // Unset fields and false flags are left out: shorter messages.
    if (value === undefined || value === false) continue;
    message[field] = NESTED.has(field)
      ? toMessage(value as Task, `${path}.${field}`, depth + 1)
      : value;
  }
  return message;
}

function fromMessage(value: unknown, path: string, depth: number): Task {
  const bad = (why: string) =>
    new SerializationError(`Cannot decode task message: ${at(path)}${why}`, { path });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad(`not an object: ${shown(value)}`);
  }
  if (depth >= TASK_LIMITS.pipelineDepth) {
    throw new SerializationError(
      `Cannot decode task message: pipeline nested deeper than ${TASK_LIMITS.pipelineDepth} tasks`,
      { path },
    );
  }
  const message = value as Record<string, unknown>;
  if (message.v !== VERSION) throw bad(`unknown message version: ${shown(message.v)}`);
  const fields: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const raw = message[field];
    const problem = fieldProblem(field, raw);
    if (problem) throw bad(problem);
    fields[field] = NESTED.has(field) && raw !== undefined
      ? fromMessage(raw, `${path}.${field}`, depth + 1)
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
    const message = toMessage(task);
    try {
      return this.serializer.encode(message);
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
    return fromMessage(this.serializer.decode(data), "$", 0);
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
  const match = /^\$((?:\.(?:onComplete|onError|chordCallback))*)\.args\[(\d+)\]/.exec(err.path!);
  let culprit: Task | undefined = task;
  for (const step of match?.[1].split(".").filter(Boolean) ?? []) {
    culprit = culprit?.[step as "onComplete" | "onError" | "chordCallback"];
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
