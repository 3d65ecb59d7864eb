/**
 * Loading the user's app module and finding its Huey instance.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage, redactText, redactUrl } from "../_util.ts";
import { ConfigurationError } from "../errors.ts";
import { Huey } from "../huey.ts";
import { cwd } from "../runtime.ts";

/** Where the consumer's tasks come from: a module and the name of its Huey export. */
export interface AppSpec {
  /** The module as a URL (file: URL for paths). */
  module: string;
  /** The export holding the Huey; unset means the only Huey export (or `default`/`huey`). */
  exportName?: string;
}

/** Parse `app.ts` or `app.ts:exportName` (a path relative to the working directory, or a URL). */
export function parseAppSpec(spec: string): AppSpec {
  const match = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(spec);
  const path = match?.[1] ?? spec;
  const exportName = match?.[2];
  if (!path) {
    throw new ConfigurationError(`Cannot load app: no module given: ${JSON.stringify(spec)}`);
  }
  const module = /^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path.startsWith("file:")
    ? path
    : pathToFileURL(isAbsolute(path) ? path : resolve(cwd(), path)).href;
  return { module, exportName };
}

/** The password of a module URL, as written and decoded, for {@link redactText}. */
function credentialsOf(module: string): string[] {
  try {
    const { password } = new URL(module);
    return [password, decodeURIComponent(password)];
  } catch {
    return [];
  }
}

function isHuey(value: unknown): value is Huey {
  if (value instanceof Huey) return true;
  // A Huey from another copy of this library (e.g. the npm build next to the sources).
  const candidate = value as Partial<Huey> | null;
  return typeof candidate?.executor === "object" && typeof candidate?.task === "function" &&
    typeof candidate?.readPeriodic === "function";
}

/**
 * Import the app module (which declares the tasks) and return its Huey.
 * Throws `ConfigurationError` with one clear line when the module cannot be
 * imported or has no (or several) Huey exports.
 */
export async function loadApp(spec: AppSpec): Promise<Huey> {
  const huey = await findHuey(spec);
  const module = redactUrl(spec.module);
  huey.appModule = spec.exportName ? `${module}:${spec.exportName}` : module;
  return huey;
}

async function findHuey(spec: AppSpec): Promise<Huey> {
  let mod: Record<string, unknown>;
  // The module as messages show it: a URL's credentials are left out.
  const shown = redactUrl(spec.module);
  try {
    mod = await import(spec.module);
  } catch (error) {
    const reason = redactText(errorMessage(error).split("\n")[0], credentialsOf(spec.module));
    // Without the cause: the runtime's error quotes the URL, credentials and all.
    throw new ConfigurationError(`Cannot import app module ${shown}: ${reason}`);
  }
  if (spec.exportName) {
    const value = mod[spec.exportName];
    if (!isHuey(value)) {
      throw new ConfigurationError(
        `Cannot load app: export ${spec.exportName} of ${shown} is not a Huey: ${
          value === undefined ? "missing" : typeof value
        }`,
      );
    }
    return value;
  }
  const found = Object.entries(mod).filter(([, value]) => isHuey(value));
  if (found.length === 1) return found[0][1] as Huey;
  for (const name of ["huey", "default"]) if (isHuey(mod[name])) return mod[name] as Huey;
  if (found.length === 0) {
    throw new ConfigurationError(
      `Cannot load app: ${shown} exports no Huey instance (export one, e.g. \`export const huey = new SqliteHuey()\`)`,
    );
  }
  throw new ConfigurationError(
    `Cannot load app: ${shown} exports several Huey instances (${
      found.map(([name]) => name).join(", ")
    }); pick one with module:exportName`,
  );
}
