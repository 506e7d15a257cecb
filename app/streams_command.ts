/**
 * `trendwire streams`: the JetStream streams and consumers of the pipeline and how far behind
 * each consumer is — a table, or JSON with --json.
 */
import type { Platform } from "../runtime/platform/platform.ts";
import { createLogger } from "../runtime/core/log.ts";
import type { TrendwireConfig } from "./config.ts";
import { openTransport, usesNats } from "./transport.ts";
import { UsageError } from "./cli.ts";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i <= 1 && rows[0]![1] === "filter" ? c.padEnd(widths[i]!) : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

export async function streamsCommand(config: TrendwireConfig, platform: Platform, json: boolean): Promise<void> {
  if (!usesNats(config)) {
    throw new UsageError("streams needs --nats <url> (embedded mode keeps its log inside the running process; see GET /metrics)");
  }
  const { transport } = await openTransport(config, platform, createLogger({ level: "error" }));
  try {
    const report = await (transport as unknown as { streamReport(): Promise<import("../runtime/transport/nats/mod.ts").StreamReport> }).streamReport();
    if (json) return void console.log(JSON.stringify(report, null, 2));
    const streamRows = [["stream", "messages", "bytes", "first seq", "last seq", "max bytes"]];
    const consumerRows = [["stream / consumer", "filter", "pending", "ack pending", "redelivered", "delivered seq", "ack floor"]];
    for (const s of report.streams) {
      streamRows.push([s.name, String(s.messages), String(s.bytes), String(s.firstSeq), String(s.lastSeq), s.maxBytes < 0 ? "∞" : String(s.maxBytes)]);
      for (const c of s.consumers) {
        consumerRows.push([`${s.name} / ${c.name}${c.holding ? " (holding)" : ""}`, c.filter, String(c.numPending), String(c.numAckPending), String(c.redelivered), String(c.lastDeliveredSeq), String(c.ackFloorSeq)]);
      }
    }
    console.log(`${table(streamRows)}\n\n${table(consumerRows)}`);
  } finally {
    await transport.close();
  }
}
