/**
 * The NATS JetStream transport's public surface: the transport, the KV checkpoint store, the
 * stream report and the typed errors. `@nats-io/*` is imported only inside this folder.
 */
export { NatsTransport } from "./nats_transport.ts";
export type { EnsuredConsumer, NatsTransportStats } from "./nats_transport.ts";
export type { NatsStreamDefaults, NatsTransportOptions } from "./options.ts";
export { CheckpointStoreError, KvCheckpointStore } from "./kv_checkpoint_store.ts";
export type { KvCheckpointStoreOptions } from "./kv_checkpoint_store.ts";
export { streamReport } from "./stream_report.ts";
export type { ConsumerReport, StreamEntry, StreamReport } from "./stream_report.ts";
export { JetStreamRequestError, NatsAuthError, NatsPermissionError, StreamFullError } from "./errors.ts";
export { HOLD_CONSUMER } from "./names.ts";
