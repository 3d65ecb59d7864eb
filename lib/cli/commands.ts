/**
 * The `huey` subcommands: name, usage, one example, and what each does with
 * the app's Huey (lib/cli/inspect.ts) and prints (lib/cli/format.ts). The
 * consumer stays `huey app.ts [flags]`; run.ts parses and runs these.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import { describeStorage } from "../consumer/outage.ts";
import { CommandError } from "./command_error.ts";
import { dashboardCommand } from "../dashboard/command.ts";
import { fields, table } from "./format.ts";
import * as inspect from "./inspect.ts";
import type { Flushable } from "./inspect.ts";

/** What a command was given: its arguments after the app module, and its flags. */
export interface CommandInput {
  /** The positional arguments after the app module. */
  args: string[];
  /** The flags, by long name. */
  flags: Record<string, string | boolean | undefined>;
}

/** What a command prints: `json` with `--json`, else `text`. */
export interface CommandReport {
  /** The one JSON document `--json` prints. */
  json: unknown;
  /** The lines for people. */
  text: string;
}

/** A flag of one command (every command also takes `--json` and `-h`). */
export interface CommandFlag {
  /** `boolean` for a switch, `string` for a flag with a value. */
  type: "boolean" | "string";
  /** What it does, for `huey <command> -h`. */
  help: string;
}

/** One `huey` subcommand. */
export interface Command {
  /** `huey <name> ...`. */
  name: string;
  /** One line: what it does. */
  summary: string;
  /** The arguments after `<app>`, e.g. `ID` or `(ID | --all)`. */
  usage: string;
  /** How many positional arguments it takes after the app module. */
  args: number;
  /** One example command line. */
  example: string;
  /** Its own flags. */
  flags?: Record<string, CommandFlag>;
  /** Runs until stopped (a server): no answer deadline. */
  serves?: boolean;
  /** Do it and say what to print; throws {@link CommandError} for bad input. */
  run(huey: Huey, input: CommandInput): Promise<CommandReport>;
}

const LIMIT: Record<string, CommandFlag> = {
  limit: { type: "string", help: "show at most N (default 100)" },
};

/** `--limit`, checked: a whole number >= 1. */
function limitOf(input: CommandInput): number {
  const raw = input.flags.limit;
  if (raw === undefined) return 100;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new CommandError(`--limit expects a whole number >= 1: ${String(raw)}`);
  }
  return n;
}

const TASK_COLUMNS = ["id", "name", "args", "priority", "eta", "retries"];
const RUNNING_COLUMNS = ["id", "name", "consumer", "startedAt", "attempts", "progress"];
const DEAD_COLUMNS = ["id", "kind", "taskName", "taskId", "attempts", "time", "reason"];

/** A listing command (`--limit`): `list` reads and says what to print. */
function listing(
  name: string,
  summary: string,
  example: string,
  list: (huey: Huey, limit: number) => Promise<CommandReport>,
): Command {
  return {
    name,
    summary,
    usage: "",
    args: 0,
    example: `huey ${name} app.ts ${example}`,
    flags: LIMIT,
    run: (huey, input) => list(huey, limitOf(input)),
  };
}

/** What a listing of `rows` prints: the rows as JSON, and a table of `columns`. */
function rowsReport(rows: readonly object[], columns: readonly string[], empty: string) {
  return { json: rows, text: table(rows as Record<string, unknown>[], columns, empty) };
}

/** A command of one argument after the app module (`usage` names it, `sample` is an example of it). */
function oneArgument(
  name: string,
  usage: string,
  summary: string,
  sample: string,
  act: (huey: Huey, arg: string) => Promise<CommandReport>,
): Command {
  return {
    name,
    summary,
    usage,
    args: 1,
    example: `huey ${name} app.ts ${sample}`,
    run: (huey, input) => act(huey, input.args[0]),
  };
}

/** Text of `huey info`. */
function infoText(report: Awaited<ReturnType<typeof inspect.info>>, huey: Huey): string {
  const periodic = report.periodic.length
    ? "\n\nperiodic tasks:\n" + table(report.periodic, ["name", "schedule", "nextRun"], "")
    : "";
  const consumers = report.consumers.length
    ? "\n\nconsumers:\n" +
      table(
        report.consumers,
        ["id", "host", "pid", "workers", "workerType", "lastBeat", "alive"],
        "",
      )
    : "";
  return fields([
    ["app", `${report.name} (${huey.appModule ?? "?"})`],
    ["storage", describeStorage(huey.storage)],
    ["queued", report.queued],
    ["scheduled", report.scheduled],
    ["running", report.running],
    ["dead letters", report.deadLetters],
    ["results", report.results],
    [
      "consumers",
      `${report.consumersAlive} alive` +
      (report.consumers.length > report.consumersAlive
        ? `, ${report.consumers.length - report.consumersAlive} gone (no beat for 3 intervals)`
        : ""),
    ],
    ["tasks", report.tasks.join(", ") || "none"],
  ]) + consumers + periodic;
}

/** The subcommands, in the order `huey -h` lists them. */
export const COMMANDS: readonly Command[] = [
  {
    name: "info",
    summary: "storage, queue depth, scheduled, running, dead letters, consumers, periodic tasks",
    usage: "",
    args: 0,
    example: "huey info app.ts",
    async run(huey) {
      const report = await inspect.info(huey);
      return { json: report, text: infoText(report, huey) };
    },
  },
  listing(
    "pending",
    "tasks waiting in the queue, in the order they will run",
    "--limit 20",
    async (huey, limit) =>
      rowsReport(await inspect.pending(huey, limit), TASK_COLUMNS, "(queue empty)"),
  ),
  listing(
    "scheduled",
    "tasks waiting for their time (delays, etas, retries)",
    "--limit 20",
    async (huey, limit) =>
      rowsReport(await inspect.scheduled(huey, limit), TASK_COLUMNS, "(schedule empty)"),
  ),
  listing(
    "running",
    "tasks consumers run now",
    "--json",
    async (huey, limit) =>
      rowsReport(await inspect.running(huey, limit), RUNNING_COLUMNS, "(nothing running)"),
  ),
  listing(
    "dead",
    "messages set aside: failed for good, undecodable, unknown task, delivered too often",
    "--json",
    async (huey, limit) =>
      rowsReport(await inspect.deadLetters(huey, limit), DEAD_COLUMNS, "(no dead letters)"),
  ),
  oneArgument(
    "status",
    "ID",
    "the state of one task invocation",
    "0f8e3c2a-...",
    async (huey, id) => {
      const found = await inspect.status(huey, id);
      // The state first: it is what the command is asked for.
      const { state, ...rest } = found;
      return { json: found, text: fields([["state", state], ...Object.entries(rest)]) };
    },
  ),
  {
    name: "requeue",
    summary: "put a dead letter (or all of them) back in the queue",
    usage: "(ID | --all)",
    args: -1,
    example: "huey requeue app.ts --all",
    flags: { all: { type: "boolean", help: "requeue every dead letter" } },
    async run(huey, input) {
      const all = input.flags.all === true;
      if (all === (input.args.length === 1) || input.args.length > 1) {
        throw new CommandError("requeue takes one dead letter id or --all");
      }
      const count = await inspect.requeue(huey, all ? "all" : input.args[0]);
      return { json: { requeued: count }, text: `${count} message(s) back in the queue` };
    },
  },
  oneArgument(
    "cancel",
    "ID",
    "cancel a queued, scheduled or running task (a running one has its signal aborted)",
    "0f8e3c2a-...",
    async (huey, id) => {
      await inspect.cancel(huey, id);
      return { json: { id, cancelled: true }, text: `cancelled ${id}` };
    },
  ),
  oneArgument(
    "revoke",
    "TASK",
    "revoke every invocation of a task until it is restored",
    "send_email",
    async (huey, name) => {
      const done = await inspect.revoke(huey, name);
      return {
        json: done,
        text: `revoked ${done.task}: its invocations are skipped until restored`,
      };
    },
  ),
  oneArgument("restore", "TASK", "restore a revoked task", "send_email", async (huey, name) => {
    const done = await inspect.restore(huey, name);
    return {
      json: done,
      text: done.restored ? `restored ${done.task}` : `${done.task} was not revoked`,
    };
  }),
  {
    name: "flush",
    summary: "empty the queue, the schedule, the result store or the locks",
    usage: "--queue | --schedule | --results | --locks",
    args: 0,
    example: "huey flush app.ts --queue --schedule",
    flags: Object.fromEntries(
      inspect.FLUSHABLE.map((part) => [part, { type: "boolean", help: `empty the ${part}` }]),
    ),
    async run(huey, input) {
      const parts = inspect.FLUSHABLE.filter((part) => input.flags[part] === true);
      if (!parts.length) {
        throw new CommandError(
          "flush needs what to empty: --queue, --schedule, --results and/or --locks",
        );
      }
      const done = await inspect.flush(huey, parts as Flushable[]);
      const text = Object.entries(done).map(([part, n]) =>
        `${part}: ${Array.isArray(n) ? `${n.length} lock(s) released` : `${n} removed`}`
      ).join("\n");
      return { json: { flushed: done }, text };
    },
  },
  {
    name: "dashboard",
    summary: "serve the dashboard page until SIGINT or SIGTERM",
    usage: "[--port N] [--hostname H] [--prefix /path]",
    args: 0,
    example: "huey dashboard app.ts --port 8080",
    serves: true,
    flags: {
      port: { type: "string", help: "port to listen on (default 8080; 0 picks a free one)" },
      hostname: { type: "string", help: "address to listen on (default 127.0.0.1)" },
      prefix: { type: "string", help: "path the page is served under (default /)" },
    },
    async run(huey, input) {
      const args: string[] = [];
      for (const flag of ["port", "hostname", "prefix"]) {
        const value = input.flags[flag];
        if (typeof value === "string") args.push(`--${flag}`, value);
      }
      try {
        await dashboardCommand(huey, args);
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) {
          throw new CommandError(error.message);
        }
        throw error;
      }
      return { json: { stopped: true }, text: "Dashboard stopped" };
    },
  },
];

/** The subcommand called `name`, if there is one. */
export function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** `huey <name> -h`: usage, flags and the example. */
export function commandUsage(command: Command): string {
  const flags = Object.entries(command.flags ?? {}).map(([name, flag]) =>
    `  --${name}${flag.type === "string" ? " N" : ""}`.padEnd(22) + flag.help
  );
  return [
    `Usage: huey ${command.name} <app-module>[:export]${
      command.usage ? ` ${command.usage}` : ""
    } [--json]`,
    "",
    `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`,
    "",
    "Example:",
    `  ${command.example}`,
    "",
    "Options:",
    ...flags,
    "  --json".padEnd(22) + "print one JSON document on stdout",
    "  -h, --help".padEnd(22) + "this help",
    "",
    "Exits 2 with one line on stderr for an unknown id or task, bad arguments,",
    "or a storage that does not answer.",
  ].join("\n");
}

/** The commands as `huey -h` lists them: name, summary, example. */
export function commandList(): string {
  return COMMANDS.map((command) =>
    `  ${command.name.padEnd(10)} ${command.summary}\n${"".padEnd(13)}e.g. ${command.example}`
  ).join("\n");
}
