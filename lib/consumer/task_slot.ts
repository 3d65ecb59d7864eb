/**
 * Which task a worker thread runs, kept where the main thread can read it
 * while the worker's own thread is blocked: a small SharedArrayBuffer per
 * thread holding the running task's id and lease receipt. Writing it costs
 * a task a few hundred nanoseconds, where a message to the main thread per
 * task start and end cost a no-op task ~40% of its throughput. The main
 * thread reads it when a cancel arrives, to find (and, past the grace
 * period, terminate) the thread of a task that ignores its abort.
 *
 * @module
 */

/** Bytes for the id (task ids are at most 200 ASCII characters) and the receipt. */
const ID_BYTES = 200;
const RECEIPT_BYTES = 312;
/** Two lengths (id, receipt), then the bytes. */
const HEADER = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A view of one thread's slot; both threads make one over the same buffer.
 *
 * @example
 * ```ts
 * import { TaskSlot } from "./task_slot.ts";
 * const slot = new TaskSlot(TaskSlot.buffer());
 * slot.write("task-1", "receipt-1");
 * console.log(slot.read()); // { id: "task-1", receipt: "receipt-1" }
 * slot.clear();
 * console.log(slot.read()); // undefined
 * ```
 */
export class TaskSlot {
  readonly #lengths: Int32Array;
  readonly #bytes: Uint8Array;

  /** A new, empty buffer for one thread's slot. */
  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(HEADER + ID_BYTES + RECEIPT_BYTES);
  }

  /** The slot in `buffer` (from {@link TaskSlot.buffer}). */
  constructor(buffer: SharedArrayBuffer) {
    this.#lengths = new Int32Array(buffer, 0, 2);
    this.#bytes = new Uint8Array(buffer, HEADER);
  }

  /** The thread started the task `id` under the lease `receipt`. */
  write(id: string, receipt?: string): void {
    // An id too long for its place (never one of ours) is left unknown.
    const idLength = id.length <= ID_BYTES ? encoder.encodeInto(id, this.#bytes).written : 0;
    let receiptLength = 0;
    if (receipt !== undefined && receipt.length <= RECEIPT_BYTES) {
      receiptLength = encoder.encodeInto(receipt, this.#bytes.subarray(ID_BYTES)).written;
    }
    Atomics.store(this.#lengths, 1, receiptLength);
    // The id's length last: a reader that sees it sees the bytes before it.
    Atomics.store(this.#lengths, 0, idLength);
  }

  /** The task ended. */
  clear(): void {
    Atomics.store(this.#lengths, 0, 0);
  }

  /** The running task's id and receipt, or undefined when none runs (or its id is unknown). */
  read(): { id: string; receipt?: string } | undefined {
    const idLength = Atomics.load(this.#lengths, 0);
    if (idLength === 0) return undefined;
    const receiptLength = Atomics.load(this.#lengths, 1);
    // Copies: a TextDecoder does not read shared memory.
    const id = decoder.decode(this.#bytes.slice(0, idLength));
    if (receiptLength === 0) return { id };
    const receipt = decoder.decode(this.#bytes.slice(ID_BYTES, ID_BYTES + receiptLength));
    return { id, receipt };
  }
}
