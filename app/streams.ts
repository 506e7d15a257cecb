/** The streams of DESIGN §4, sized from configuration. */
import type { StreamSpec } from "../runtime/transport/transport.ts";
import type { TrendwireConfig } from "./config.ts";

/** The stream ingest publishes accepted requests to: a 202 waits for it to be durable. */
export const RAW_STREAM = "TW_RAW";

export function streamSpecs(config: TrendwireConfig): StreamSpec[] {
  const common = { maxBytes: config.streamMaxBytes, duplicateWindowMs: config.duplicateWindowMs };
  return [
    { name: RAW_STREAM, subjects: ["tw.raw.>"], ...common },
    { name: "TW_EVENTS", subjects: ["tw.events.>"], ...common },
    { name: "TW_AGG", subjects: ["tw.agg.>"], ...common },
    { name: "TW_TRENDS", subjects: ["tw.trends.>"], ...common },
    { name: "TW_DLQ", subjects: ["tw.dlq.>"], ...common },
  ];
}
