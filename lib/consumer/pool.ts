/**
 * Worker pools: how the consumer's workers run. Every pool runs the same
 * worker loop; they differ in where (this event loop, Web Workers, child
 * processes).
 *
 * @module
 */

/** A set of workers the consumer starts, stops and checks. */
export interface WorkerPool {
  /** Start every worker (each runs the startup hooks first). */
  start(): Promise<void>;
  /**
   * Stop every worker. Graceful: running tasks finish (up to
   * `shutdownTimeout`, then they are aborted). Hard: running tasks are
   * aborted at once and their messages go back to the queue.
   */
  stop(graceful: boolean): Promise<void>;
  /** Replace workers that died or hang past their task's timeout; returns how many. */
  checkHealth(now: number): Promise<number>;
}
