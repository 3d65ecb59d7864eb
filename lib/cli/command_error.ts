/**
 * The error a `huey` subcommand stops with: bad input (an unknown id or
 * task, a missing argument) or a storage it cannot reach. The command
 * prints its message as one line on stderr and exits with its code.
 *
 * @module
 */

/**
 * A subcommand failed for a reason the user can act on; `code` is the exit code.
 *
 * @example
 * ```ts
 * import { CommandError } from "./command_error.ts";
 * const error = new CommandError(`unknown task "sned": the app declares send`);
 * console.log(error.code); // 2
 * ```
 */
export class CommandError extends Error {
  /** The process's exit code. @default 2 */
  readonly code: number;

  constructor(message: string, code = 2) {
    super(message);
    this.name = "CommandError";
    this.code = code;
  }
}
