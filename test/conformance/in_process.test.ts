/**
 * The transport conformance suite against the in-process transport: memory only, and durable
 * with its log on the in-memory file system.
 */
import { MemoryFileSystem } from "../../runtime/platform/memory_fs.ts";
import { InProcessTransport } from "../../runtime/transport/in_process.ts";
import { transportConformance } from "./transport.ts";

transportConformance("in-process transport, memory only", async () => ({
  transport: new InProcessTransport({ fs: new MemoryFileSystem(), dir: "log", durable: false }),
  cleanup: async () => {},
}));

transportConformance("in-process transport, durable on memory_fs", async () => ({
  transport: new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log" }),
  cleanup: async () => {},
}));
