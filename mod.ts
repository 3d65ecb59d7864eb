/**
 * huey for TypeScript: a little task queue. Tasks, results, delayed and
 * periodic tasks, retries, priorities, revocation, pipelines, groups and
 * chords, locks, rate limits, signals and immediate mode, on Deno, Node and Bun.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "./mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const r = await add(1, 2);
 * console.log(await r.get()); // 3
 * ```
 *
 * @module
 */

// Core
export { Huey } from "./lib/huey.ts";
export type { AnyFunction, ContextLast, HueyOptions, WithoutContext } from "./lib/huey.ts";
export type {
  ExecuteOptions,
  ExecutionOutcome,
  ExecutionStatus,
  Executor,
  ExecutorHost,
  ExecutorRooms,
  PutTask,
} from "./lib/executor.ts";
export type { ProgressReport } from "./lib/context.ts";
export type {
  Progress,
  ProgressEvent,
  StatusBook,
  StatusHost,
  StatusPatch,
  TaskState,
  TaskStatus,
} from "./lib/status.ts";
export type { ConsumerInfo } from "./lib/heartbeat.ts";
export type {
  Cancellation,
  Hooks,
  LifecycleHook,
  PostExecuteHook,
  PreExecuteHook,
} from "./lib/hooks.ts";
export {
  BlackHoleHuey,
  FileHuey,
  MemoryHuey,
  PostgresHuey,
  PriorityRedisExpireHuey,
  PriorityRedisHuey,
  RedisExpireHuey,
  RedisHuey,
  SqliteHuey,
} from "./lib/flavors.ts";
export type {
  FileHueyOptions,
  FlavorOptions,
  PostgresHueyOptions,
  RedisExpireHueyOptions,
  RedisHueyOptions,
  SqliteHueyOptions,
} from "./lib/flavors.ts";
export { MiniHuey } from "./lib/mini.ts";
export type { MiniHueyOptions } from "./lib/mini.ts";
export { Task } from "./lib/task.ts";
export type {
  AcceptsPiped,
  ChordLink,
  DropArgs,
  InvocationOptions,
  Last,
  PipedArgs,
  RescheduleOptions,
  RevokeOptions,
  ScheduleOptions,
  TaskContext,
  TaskFactory,
  TaskFields,
  TaskOptions,
} from "./lib/task.ts";
export type { AnyTaskWrapper, PeriodicTaskWrapper, TaskWrapper } from "./lib/wrapper.ts";
export type {
  ContextTaskDeclaration,
  ContextTaskOptions,
  ResourceContext,
  TaskResource,
} from "./lib/context_task.ts";
export type { Registry, TaskDefinition } from "./lib/registry.ts";
export type { MessageCodec } from "./lib/message.ts";
export type { RevocationHost, Revocations } from "./lib/revocation.ts";
export type { Uniqueness, UniquenessHost } from "./lib/unique.ts";
export { ChordResult, Result, ResultGroup } from "./lib/result.ts";
export type { CancelHost, Cancellations, CancelRooms, CancelScope } from "./lib/cancel.ts";
export type {
  DeadLetter,
  DeadLetterHost,
  DeadLetterKind,
  DeadLetters,
} from "./lib/dead_letters.ts";
export type { GetOptions, StoredResult } from "./lib/result.ts";
export { Group, group } from "./lib/group.ts";
export { Chord, chord } from "./lib/chord.ts";
export type { AnyTask, ChordHost, ChordMember, MemberResult, MemberResults } from "./lib/chord.ts";
export { crontab } from "./lib/crontab.ts";
export type {
  Crontab,
  CrontabFactory,
  CrontabField,
  CrontabOptions,
  CrontabStringOptions,
  PeriodicSchedule,
} from "./lib/crontab.ts";
export { TaskLock } from "./lib/lock.ts";
export type { HeldLock } from "./lib/lock.ts";
export { RateLimit } from "./lib/rate_limit.ts";
export type {
  RateLimitDeclaration,
  RateLimitHost,
  RateLimitOptions,
  RatePermit,
} from "./lib/rate_limit.ts";
export { currentTask } from "./lib/context.ts";
export { Serializer } from "./lib/serializer.ts";
export type { SerializerOptions } from "./lib/serializer.ts";
export { fromTagged, toTagged } from "./lib/tagged.ts";
export type { JsonValue } from "./lib/tagged.ts";
export { createLogger } from "./lib/logger.ts";
export type { Logger, LoggerOptions, LogLevel } from "./lib/logger.ts";

// Signals and events
export {
  SIGNAL_CANCELED,
  SIGNAL_COMPLETE,
  SIGNAL_ENQUEUED,
  SIGNAL_ERROR,
  SIGNAL_EXECUTING,
  SIGNAL_EXPIRED,
  SIGNAL_INTERRUPTED,
  SIGNAL_LOCKED,
  SIGNAL_RATE_LIMITED,
  SIGNAL_RETRYING,
  SIGNAL_REVOKED,
  SIGNAL_SCHEDULED,
  SIGNAL_TIMEOUT,
  SIGNALS,
} from "./lib/signals.ts";
export type { SignalHandler, SignalName } from "./lib/signals.ts";
export type {
  ConsumerEventName,
  EventFeed,
  EventFeedHost,
  EventStream,
  HueyEvent,
  SubscribeOptions,
} from "./lib/events.ts";

// Storage
export { MemoryStorage } from "./lib/storage/memory.ts";
export type { MemoryStorageOptions } from "./lib/storage/memory.ts";
export { SqliteStorage } from "./lib/storage/sqlite.ts";
export type { SqliteStorageOptions } from "./lib/storage/sqlite.ts";
export { FileStorage } from "./lib/storage/file.ts";
export type { FileStorageOptions } from "./lib/storage/file.ts";
export { BlackHoleStorage } from "./lib/storage/blackhole.ts";
export {
  PriorityRedisExpireStorage,
  PriorityRedisStorage,
  RedisExpireStorage,
  RedisStorage,
} from "./lib/storage/redis/storage.ts";
export type {
  RedisExpireStorageOptions,
  RedisStorageOptions,
} from "./lib/storage/redis/storage.ts";
export type { RedisClientLike, RedisClusterOptions } from "./lib/storage/redis/connection.ts";
export { PostgresStorage } from "./lib/storage/postgres/storage.ts";
export type { PostgresStorageOptions } from "./lib/storage/postgres/storage.ts";
export type {
  PostgresClientLike,
  PostgresConnectionOptions,
  PostgresTransactionLike,
} from "./lib/storage/postgres/client.ts";
export type { BlackHoleStorageOptions } from "./lib/storage/blackhole.ts";
export type {
  CounterOptions,
  Delivery,
  DequeueOptions,
  ErrorItem,
  PutDataOptions,
  Storage,
  TransactionWrites,
} from "./lib/storage/types.ts";

// Consumer
export { Consumer } from "./lib/consumer/consumer.ts";
export type { ConsumerSetup } from "./lib/consumer/consumer.ts";
export type {
  ConsumerOptions,
  ResolvedConsumerOptions,
  WorkerType,
} from "./lib/consumer/options.ts";
export type { AppSpec } from "./lib/consumer/app.ts";

// Operating: metrics and the dashboard
export { metricsText } from "./lib/metrics_text.ts";
export type {
  MetricsHost,
  MetricsSnapshot,
  MinuteMetrics,
  QueueGauges,
  TaskOutcomeMetrics,
} from "./lib/metrics.ts";
export type { MetricOutcome, MetricSeries } from "./lib/metrics_recorder.ts";
export type { DashboardHandler, DashboardOptions } from "./lib/dashboard/handler.ts";
export type {
  DashboardHost,
  DeadLetterRow,
  Overview,
  RunningRow,
  TaskRow,
} from "./lib/dashboard/overview.ts";
export { nodeListener } from "./lib/dashboard/node.ts";
export { serveDashboard } from "./lib/dashboard/serve.ts";
export type { HttpServer, ServeDashboardOptions } from "./lib/dashboard/serve.ts";

// Errors
export {
  CancelExecution,
  ConfigurationError,
  DeadLetterError,
  HueyError,
  RateLimitExceeded,
  ResultTimeout,
  RetryTask,
  SerializationError,
  TaskError,
  TaskLockedError,
  TaskTimeout,
  UnknownTaskError,
} from "./lib/errors.ts";
export type {
  CancelExecutionOptions,
  DeadLetterErrorInfo,
  RetryTaskOptions,
  SerializationErrorDetails,
  TaskErrorInfo,
} from "./lib/errors.ts";
