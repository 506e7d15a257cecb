/** releaseValue: a kept delivery lets go of its decoded value and can still be settled. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { releaseValue, type Delivery } from "./transport.ts";

/** A delivery as a class instance, its methods on the prototype (as NATS's are). */
class ClassDelivery implements Delivery {
  subject = "s.1";
  data = new Uint8Array([1]);
  seq = 7;
  deliveryCount = 1;
  headers: Record<string, string> = {};
  value?: unknown = { parsed: [1, 2, 3] };
  settled: string[] = [];
  ack(): void {
    this.settled.push("ack");
  }
  nak(delayMs?: number): void {
    this.settled.push(`nak ${delayMs}`);
  }
  term(reason?: string): void {
    this.settled.push(`term ${reason}`);
  }
  working(): void {
    this.settled.push("working");
  }
}

test("a class-instance delivery loses its value, keeps its methods and fields, and settles as before", () => {
  const d = new ClassDelivery();
  const kept = releaseValue(d);
  assert.is(kept.value, undefined);
  assert.equal([kept.subject, kept.seq, kept.deliveryCount], ["s.1", 7, 1]);
  kept.working();
  kept.ack();
  assert.equal(d.settled, ["working", "ack"], "settling the kept delivery settles the delivery");
});

test("a plain delivery loses its value; one without a value is returned as it is", () => {
  const acks: number[] = [];
  const plain: Delivery = {
    subject: "s.2", data: new Uint8Array(0), seq: 1, deliveryCount: 1, headers: {}, value: "decoded",
    ack: () => void acks.push(1), nak: () => {}, term: () => {}, working: () => {},
  };
  releaseValue(plain).ack();
  assert.is(plain.value, undefined);
  assert.equal(acks, [1]);
  const bare: Delivery = { ...plain, value: undefined };
  assert.is(releaseValue(bare), bare);
});

test.run();
