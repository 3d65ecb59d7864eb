/**
 * Messages that drivers read back as bytes (SQLite BLOBs, files) are
 * decoded strictly: a lenient decoder turns bytes that are not UTF-8 into
 * U+FFFD, and the task would run with changed arguments. A message that
 * fails goes to the error store instead, its bytes kept in base64 (the
 * error store holds text, and base64 gives back every byte, where reading
 * the bytes as Latin-1 would look like a message that might be run).
 *
 * @module
 */
import { describeError } from "../_util.ts";
import { SerializationError } from "../errors.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `bytes` as text, or `undefined` when they are not valid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./utf8.ts";
 * console.log(decodeUtf8(new Uint8Array([0x68, 0x69]))); // "hi"
 * console.log(decodeUtf8(new Uint8Array([0xff]))); // undefined
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** `bytes` in base64. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  // In slices: spreading a whole large message into one call overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * What the error store keeps of a message that is not valid UTF-8: its
 * bytes in base64, and the reason, naming where it was found.
 *
 * @example
 * ```ts
 * import { notUtf8 } from "./utf8.ts";
 * const { data, reason } = notUtf8(new Uint8Array([0xff]), "the queue");
 * console.log(data); // "/w=="
 * console.log(reason); // "SerializationError: Cannot decode a message from the queue: ..."
 * ```
 */
export function notUtf8(bytes: Uint8Array, where: string): { data: string; reason: string } {
  const error = new SerializationError(
    `Cannot decode a message from ${where}: its ${bytes.length} bytes are not valid UTF-8 ` +
      "(kept here in base64; it was not run)",
  );
  return { data: base64(bytes), reason: describeError(error) };
}
