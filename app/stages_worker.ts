/**
 * The stages thread's entry (see stages_thread.ts): told its configuration and a port, it
 * starts decode, aggregate, detect and persist on the embedded transport of the data directory,
 * serves that transport to the main thread over the port, and relays its logs, metrics,
 * escalation and an orderly stop.
 */
import { currentPlatform } from "../runtime/platform/current.ts";
import { createLogger, type Logger, type LogLevel } from "../runtime/core/log.ts";
import { servePortTransport } from "../runtime/transport/port_transport.ts";
import { startPipeline, type Pipeline } from "./pipeline.ts";
import { crossThreadValues, type StagesReply, type StagesRequest } from "./stages_thread.ts";

const platform = await currentPlatform();
const parent = platform.parentPort();
if (!parent) throw new Error("app/stages_worker runs on the thread startStagesThread starts, not on its own");
const reply = (m: StagesReply) => parent.postMessage(m);

let pipeline: Pipeline | undefined;
let served: { close(): Promise<void> } | undefined;
let log: Logger | undefined;

parent.addEventListener("message", ({ data }) => void handle(data as StagesRequest));
parent.start?.();

async function handle(m: StagesRequest): Promise<void> {
  switch (m.t) {
    case "init": {
      log = createLogger({ level: m.config.logLevel as LogLevel, sink: (line) => reply({ t: "log", line }), fields: { thread: "stages" } });
      try {
        // The log's write and sync run on this thread: no I/O-pool hand-off and wake-up per
        // group commit (PipelineOptions.blockingLog; what it gave: README, Threads).
        pipeline = await startPipeline(m.config, platform, { log, onEscalate: (err) => reply({ t: "escalated", message: err.message }), blockingLog: true, logFailureGraceMs: 0 });
        served = servePortTransport(m.port, pipeline.transport, crossThreadValues);
        reply({ t: "started" });
      } catch (err) {
        reply({ t: "failed", message: (err as Error).message });
      }
      return;
    }
    case "metrics":
      return reply({ t: "metrics", id: m.id, families: pipeline?.system.metrics.snapshot() ?? [] });
    case "stop":
      // The main thread's consumers first (it stopped them already), then drain and flush.
      try {
        await served?.close();
        await pipeline?.stop();
      } catch (err) {
        log?.error("stopping the stages failed", { err });
      } finally {
        reply({ t: "stopped" });
      }
      return;
  }
}
