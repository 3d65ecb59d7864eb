/**
 * Real consumer processes for the tests: start `cli.ts` on an app module,
 * wait for what it prints, stop it with a signal. Shared by every test file
 * that runs a consumer process.
 */
import { after } from "node:test";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runtimeName, scriptCommand } from "../lib/runtime.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";

const cliPath = fileURLToPath(new URL("../cli.ts", import.meta.url));
/** The fixture app module every fresh app wraps. */
export const appPath: string = fileURLToPath(
  new URL("./fixtures/consumer_app.ts", import.meta.url),
);

/** A fresh temporary directory, removed when the test file's tests are done. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The app a fresh app module exports (see tests/fixtures/consumer_app.ts). */
export type App = ReturnType<typeof import("./fixtures/consumer_app.ts").makeApp>;

let counter = 0;

/** A unique name for a file in a test directory. */
export function uniqueName(): string {
  return `${Date.now()}-${counter++}`;
}

/**
 * A fresh app in `dir`: its own database (unless `config.db` puts it
 * elsewhere), log file (unless `config.log` names one to share) and app
 * module (which the consumer imports by path, and this process imports
 * too, as a producer).
 */
export async function freshApp(dir: string, config: Partial<AppConfig> = {}) {
  const id = uniqueName();
  const db = join(dir, `${id}.db`);
  const log = config.log ?? join(dir, `${id}.log`);
  const url = join(dir, `${id}_app.ts`);
  writeFileSync(
    url,
    `import { makeApp } from ${JSON.stringify(pathToFileURL(appPath).href)};\n` +
      `export const app = makeApp(${JSON.stringify({ db, ...config, log })});\n` +
      `export const huey = app.huey;\n`,
  );
  const app: App = (await import(pathToFileURL(url).href)).app;
  const lines = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
  return { url, app, log, lines };
}

/** A consumer process and what it printed so far. */
export interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Start `cli.ts` with `args` (in `options.cwd`), collecting its stdout and stderr. */
export function startConsumer(args: string[], options: { cwd?: string } = {}): Running {
  return startScript(cliPath, args, options);
}

/** Start the module `script` (a path) with `args` on this runtime, collecting its stdout and stderr. */
export function startScript(
  script: string,
  args: string[],
  options: { cwd?: string } = {},
): Running {
  const { command, args: argv } = scriptCommand(script, args);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], cwd: options.cwd });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  // "close", not "exit": the output is complete only once the pipes close.
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  );
  return { child, output: () => output, exited };
}

/** Start a consumer and wait until it says it started. */
export async function consumer(args: string[]): Promise<Running> {
  const running = startConsumer(args);
  await until(() => running.output().includes("Consumer started"), 20_000, running.output);
  return running;
}

/** Poll `check` every 25 ms until it holds; throw after `ms`, with `explain()` in the error. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  explain?: () => string,
) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out; output:\n${explain?.() ?? ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Wait until the consumer has printed a line matching `pattern`. Its log
 * reaches us through a pipe, which can lag behind what the same process
 * wrote to the storage: never read the output once and assert on it.
 */
export function printed(running: Running, pattern: RegExp, ms = 10_000): Promise<void> {
  return until(() => pattern.test(running.output()), ms, running.output);
}

/**
 * Stop a consumer with `signal` and return its exit code. Deno's
 * node:child_process reports any child it sent a signal to as killed by
 * that signal, even when the child handled it and exited 0; there the
 * consumer's last log line stands in for the code.
 */
export async function stop(running: Running, signal: "SIGINT" | "SIGTERM" = "SIGINT") {
  if (running.child.exitCode === null) running.child.kill(signal);
  return exitCode(running, await running.exited);
}

function exitCode(running: Running, exit: { code: number | null; signal: string | null }) {
  if (
    exit.code === null && runtimeName() === "deno" && /Consumer stopped\s*$/.test(running.output())
  ) {
    return 0;
  }
  return exit.code;
}

/** Polling flags for a consumer that notices new messages within 50 ms. */
export const fast = ["-d", "0.01", "-m", "0.05"];

/** What a `huey` subcommand printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `cli.ts` with `args` (a subcommand, which exits by itself) and wait
 * for it to end; stdout and stderr apart, complete once the pipes close.
 */
export function runCli(args: string[], options: { cwd?: string } = {}): Promise<CliRun> {
  const { command, args: argv } = scriptCommand(cliPath, args);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], cwd: options.cwd });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
