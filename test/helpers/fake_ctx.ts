/**
 * A fake ActorContext for unit-testing behaviours without a system: publishes are recorded,
 * timers run on a SimulatedClock, and a checkpoint can be injected as "restored".
 */
import type { ActorContext, Checkpoint, MessageInput } from "../../runtime/core/actor.ts";
import { SimulatedClock } from "../../runtime/core/clock.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { MetricsRegistry } from "../../runtime/core/metrics.ts";

export interface Published {
  subject: string;
  type: string;
  body: unknown;
  id: string | undefined;
  /** What same-process consumers would get instead of the body (PublishMessageOptions.localBody). */
  localBody?: unknown;
}

export interface FakeContext extends ActorContext {
  clock: SimulatedClock;
  published: Published[];
  /** Timer names that fired and are waiting for the test to deliver them. */
  firedTimers: string[];
  notified: { subject: string; data: Uint8Array; headers: Record<string, string> | undefined }[];
}

export function fakeContext(options: { name?: string; now?: number; restored?: Checkpoint } = {}): FakeContext {
  const clock = new SimulatedClock(options.now ?? 0);
  const published: Published[] = [];
  const firedTimers: string[] = [];
  const notified: FakeContext["notified"] = [];
  const timers = new Map<string, { cancel(): void }>();
  let seq = 0;
  return {
    name: options.name ?? "test-0",
    clock,
    log: memoryLogger("error"),
    metrics: new MetricsRegistry(),
    published,
    firedTimers,
    notified,
    notify(subject, data, headers) {
      notified.push({ subject, data, headers });
    },
    async publish(subject, type, body, opts) {
      published.push({ subject, type, body, id: opts?.id, localBody: opts?.localBody });
      return { stream: "S", seq: ++seq, duplicate: false };
    },
    setTimer(name, delayMs) {
      timers.get(name)?.cancel();
      timers.set(name, clock.setTimeout(() => firedTimers.push(name), delayMs));
    },
    cancelTimer(name) {
      timers.get(name)?.cancel();
      timers.delete(name);
    },
    restored: () => options.restored,
  };
}

let nextSeq = 1;
export function message<B>(subject: string, type: string, body: B, seq = nextSeq++): MessageInput<B> {
  return { kind: "message", subject, seq, deliveryCount: 1, type, id: `m${seq}`, ts: 0, headers: {}, body };
}
