/**
 * The cancel channel of a PostgresStorage (`publishCancel` /
 * `subscribeCancels`): a NOTIFY channel of its own, `<prefix>c.<name>`,
 * whose payload is the cancelled task's id, apart from the events so that
 * consumers listening for cancels do not receive every task's events.
 *
 * @module
 */
import type { NotificationHandler } from "./listener.ts";

/** What the cancel channel needs from its storage. */
export interface PgCancelHost {
  /** NOTIFY `payload` on the cancel channel. */
  notify(payload: string): Promise<unknown>;
  /** LISTEN on the cancel channel; resolves to the function that stops. */
  listen(handler: NotificationHandler): Promise<() => void>;
}

/**
 * One storage's cancel channel.
 *
 * @example
 * ```ts
 * import { PgCancels } from "./cancels.ts";
 * const sent: string[] = [];
 * const cancels = new PgCancels({ notify: async (id) => void sent.push(id), listen: async () => () => {} });
 * await cancels.publish("task-1");
 * console.log(sent); // ["task-1"]
 * ```
 */
export class PgCancels {
  readonly #host: PgCancelHost;

  /** The channel `host` sends on and listens to. */
  constructor(host: PgCancelHost) {
    this.#host = host;
  }

  /** {@link Storage.publishCancel}. */
  async publish(id: string): Promise<void> {
    await this.#host.notify(id);
  }

  /** {@link Storage.subscribeCancels}. */
  async subscribe(onCancel: (id: string) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const stop = await this.#host.listen((payload) => {
      // null: notifications may have been missed (a reconnect); the lease renewals read the marks.
      if (payload !== null && !signal.aborted) onCancel(payload);
    });
    signal.addEventListener("abort", stop, { once: true });
  }
}
