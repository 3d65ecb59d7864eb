/**
 * Running one `huey` subcommand: parse its flags, load the app module as
 * the consumer does (without starting a consumer), do it, print the text
 * or the JSON document, close the storage. Bad input and a storage that
 * does not answer end it with one line on stderr and exit code 2, never a
 * stack trace.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage, within } from "../_util.ts";
import { loadApp, parseAppSpec } from "../consumer/app.ts";
import { describeStorage } from "../consumer/outage.ts";
import type { Huey } from "../huey.ts";
import { createLogger } from "../logger.ts";
import { CommandError } from "./command_error.ts";
import { commandUsage } from "./commands.ts";
import type { Command, CommandReport } from "./commands.ts";
import { toJson } from "./format.ts";

/** Seconds a command waits for the storage before it gives up. */
const STORAGE_DEADLINE = 15;

/** What a command run printed and how it ended (for tests of the runner in-process). */
export interface CommandOutcome {
  /** The exit code: 0, 2 for bad input or an unreachable storage, 1 for "not available". */
  code: number;
  /** What went to stdout. */
  stdout: string;
  /** The one line that went to stderr, if any. */
  stderr?: string;
}

/** Where to look when the command line is wrong. */
function usageHint(command: Command): string {
  return ` (huey ${command.name} -h shows its usage)`;
}

/** Parse `argv` (after the command's name) against `command`'s flags. */
function parse(command: Command, argv: string[]) {
  const options: Record<string, { type: "boolean" | "string"; short?: string }> = {
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  };
  for (const [name, flag] of Object.entries(command.flags ?? {})) {
    options[name] = { type: flag.type };
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    throw new CommandError(`${errorMessage(error).split("\n")[0]}${usageHint(command)}`);
  }
}

/** Check the positional arguments: the app module, then what the command takes. */
function checkArgs(command: Command, positionals: string[]): void {
  if (!positionals.length) throw new CommandError(`missing the app module${usageHint(command)}`);
  const given = positionals.length - 1;
  if (command.args >= 0 && given !== command.args) {
    throw new CommandError(
      (command.args === 0
        ? `takes no arguments after the app module: ${positionals.slice(1).join(" ")}`
        : `expected ${command.usage} after the app module`) + usageHint(command),
    );
  }
}

/** Do `command` on `huey` within the storage deadline. */
async function perform(
  command: Command,
  huey: Huey,
  args: string[],
  flags: Record<string, string | boolean | undefined>,
) {
  const work = command.run(huey, { args, flags });
  if (command.serves) return await work;
  const late = new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer within ${STORAGE_DEADLINE}s`)),
      STORAGE_DEADLINE * 1000,
    );
    work.finally(() => clearTimeout(timer)).catch(() => {});
  });
  try {
    return await Promise.race([work, late]);
  } catch (error) {
    if (error instanceof CommandError) throw error;
    // Whatever else a command meets is its storage failing (or refusing).
    throw new CommandError(
      `cannot use ${describeStorage(huey.storage)}: ${
        errorMessage(error).split("\n")[0]
      } (is it running and reachable? check the app's storage settings)`,
    );
  }
}

/**
 * Run `command` with `argv` (what follows its name on the command line);
 * resolves to what it printed and its exit code (it prints as it goes).
 */
export async function runCommand(command: Command, argv: string[]): Promise<CommandOutcome> {
  let huey: Huey | undefined;
  try {
    const { values, positionals } = parse(command, argv);
    if (values.help) {
      const usage = commandUsage(command);
      console.log(usage);
      return { code: 0, stdout: usage };
    }
    checkArgs(command, positionals);
    try {
      huey = await loadApp(parseAppSpec(positionals[0]));
    } catch (error) {
      throw new CommandError(errorMessage(error).split("\n")[0]);
    }
    // The command's answer is what it prints; the library's own lines would only add noise.
    huey.logger = createLogger({ level: "silent" });
    const report: CommandReport = await perform(command, huey, positionals.slice(1), values);
    const stdout = values.json ? toJson(report.json) : report.text;
    console.log(stdout);
    return { code: 0, stdout };
  } catch (error) {
    const line = `huey ${command.name}: ${
      error instanceof CommandError ? error.message : errorMessage(error).split("\n")[0]
    }`;
    console.error(line);
    return { code: error instanceof CommandError ? error.code : 2, stdout: "", stderr: line };
  } finally {
    if (huey) await within(huey.close().catch(() => {}), 2);
  }
}
