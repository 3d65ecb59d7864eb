/**
 * Messages as text. A Redis value is bytes; a message is the serializer's
 * text, so bytes that are not UTF-8 (written by another program) are not a
 * message: decoded leniently they would run a task with U+FFFD in place of
 * the bad bytes. The dequeue scripts hand messages out as bytes where the
 * client can (node-redis), and this checks them; otherwise (Bun) the
 * script checks them and marks the bad ones (scripts.ts, HAND_OUT).
 *
 * @module
 */
import type { Delivery } from "../types.ts";
import type { RedisBytesReply } from "./connection.ts";

/** Decodes a message's bytes, throwing where they are not UTF-8 (and keeping a BOM). */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A reply's bulk string as text (bytes, where they are, decoded leniently).
 *
 * @example A peeked value
 * ```ts
 * import { text } from "./text.ts";
 * console.log(text(new TextEncoder().encode("on"))); // "on"
 * ```
 */
export function text(item: RedisBytesReply): string {
  return item instanceof Uint8Array ? new TextDecoder().decode(item) : String(item);
}

/**
 * A taken message as a delivery's `data`: its text, or, when its bytes are
 * not UTF-8, the bytes in hex and why (`undecodable`). The message comes as
 * bytes from a client that can hand them out (checked here), as text from
 * one that cannot (the script checked it), or as `[offset, hex]` when the
 * script found it not to be UTF-8 (scripts.ts, HAND_OUT).
 *
 * @example Bytes that are not UTF-8
 * ```ts
 * import { handedOut } from "./text.ts";
 * console.log(handedOut(new Uint8Array([0x61, 0xff])).data); // "61ff"
 * ```
 */
export function handedOut(message: RedisBytesReply): Pick<Delivery, "data" | "undecodable"> {
  let hex: string;
  let offset: number;
  if (message instanceof Uint8Array) {
    try {
      return { data: UTF8.decode(message) };
    } catch {
      hex = Array.from(message, (byte) => byte.toString(16).padStart(2, "0")).join("");
      offset = firstBadUtf8(message);
    }
  } else if (Array.isArray(message)) {
    hex = String(message[1]);
    offset = Number(message[0]);
  } else {
    return { data: String(message) };
  }
  const byte = hex.slice(2 * offset, 2 * offset + 2);
  const size = hex.length / 2;
  return {
    data: hex,
    undecodable: `its bytes are not valid UTF-8: byte 0x${byte} at offset ${offset} of ${size} ` +
      "(the message is kept as hex)",
  };
}

/**
 * The offset of the first byte of the first ill-formed UTF-8 sequence in
 * `bytes` (the same rule as the scripts' `utf8Error`, for the same report),
 * or its length when there is none.
 *
 * @example A truncated sequence
 * ```ts
 * import { firstBadUtf8 } from "./text.ts";
 * console.log(firstBadUtf8(new Uint8Array([0x61, 0xe2, 0x82]))); // 1
 * ```
 */
export function firstBadUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // Continuation bytes after a lead byte, and the range of the first one.
    let n = 0, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c === 0xe0) [n, lo] = [2, 0xa0];
    else if (c === 0xed) [n, hi] = [2, 0x9f];
    else if (c >= 0xe1 && c <= 0xef) n = 2;
    else if (c === 0xf0) [n, lo] = [3, 0x90];
    else if (c >= 0xf1 && c <= 0xf3) n = 3;
    else if (c === 0xf4) [n, hi] = [3, 0x8f];
    else return i;
    for (let j = 1; j <= n; j++) {
      const b = bytes[i + j];
      if (b === undefined || b < lo || b > hi) return i;
      [lo, hi] = [0x80, 0xbf];
    }
    i += n + 1;
  }
  return bytes.length;
}
