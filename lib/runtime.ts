/**
 * The only module that knows which runtime it is on (Deno, Node or Bun).
 * Everything runtime-specific lives here: environment, signals, exit,
 * process spawning, workers, unref'd timers, and driver choices.
 *
 * @module
 */

/** The JavaScript runtimes huey supports. */
export type RuntimeName = "deno" | "bun" | "node";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** Which runtime this is, detected by feature (Bun and Deno also define `process`). */
export function runtimeName(): RuntimeName {
  if (typeof g.Bun !== "undefined") return "bun";
  if (typeof g.Deno !== "undefined" && typeof g.Deno.version?.deno === "string") return "deno";
  return "node";
}

/**
 * The command that runs the TypeScript (or, from the npm build, JavaScript)
 * file `script` with `args` on this runtime, with every permission on Deno.
 */
export function scriptCommand(script: string, args: readonly string[] = []): {
  command: string;
  args: string[];
} {
  const exec: string = g.process?.execPath ?? g.Deno?.execPath?.();
  if (runtimeName() === "deno") {
    return { command: exec, args: ["run", "-A", "--no-check", script, ...args] };
  }
  return { command: exec, args: [script, ...args] };
}

/** An environment variable, or `undefined`. */
export function env(name: string): string | undefined {
  return g.process?.env?.[name] ?? undefined;
}
