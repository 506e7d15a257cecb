/**
 * The transport conformance suite against NATS JetStream with a real nats-server (v2.12,
 * file store, every write synced): one server for the whole suite, a fresh transport per case
 * (each case names its own stream, so cases need no cleanup between them).
 */
import { suite } from "uvu";
import { NatsTransport } from "../../runtime/transport/nats/mod.ts";
import { startNatsServer, type NatsServerHandle } from "../helpers/nats_server.ts";
import { transportConformance } from "./transport.ts";

let server: Promise<NatsServerHandle> | undefined;

transportConformance("nats jetstream transport", async () => {
  server ??= startNatsServer();
  const { url } = await server;
  const transport = await NatsTransport.connect({ servers: url, name: "conformance", log: () => {} });
  return { transport, cleanup: async () => {} };
});

// Runs after the conformance suite (uvu runs suites in order): the server goes with it.
const done = suite("nats jetstream transport: server shutdown");
done("the suite's nats-server stops", async () => {
  if (server) await (await server).cleanup();
});
done.run();
