/**
 * A Transport carried over a message port, for a transport that lives on another thread of the
 * same process (embedded mode with the stages on a worker thread, see app/stages_thread.ts):
 * `servePortTransport` answers on the thread that owns the real transport, `PortTransport` is
 * the Transport the other thread uses. Messages are structured-cloned, so the in-process fast
 * path (PublishOptions.value) still carries decoded values across: same code, same process,
 * no second parse.
 *
 * A delivery to this side is handed over one at a time per consumer: the owner's handler
 * resolves when this side's handler has returned, so a full mailbox here holds the transport
 * back there, as the Transport contract asks. Only Web-standard messaging is used
 * (MessageChannel ports, a worker's own port), which Node and Deno both have.
 */
import type {
  ConsumeOptions,
  Consumer,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishAck,
  PublishOptions,
  StreamSpec,
  Transport,
} from "./transport.ts";
import { releaseValue } from "./transport.ts";
import { BackpressureError, TransportUnavailableError } from "../core/errors.ts";
import type { MessagePortLike } from "../platform/platform.ts";

type SerializedError = { name: string; message: string; retryAfterMs?: number; cause?: SerializedError };

type ClientMessage =
  | { t: "call"; id: number; op: "ensureStreams"; specs: StreamSpec[] }
  | { t: "call"; id: number; op: "publish"; subject: string; data: Uint8Array; msgId?: string; headers?: Record<string, string>; value?: unknown }
  | { t: "call"; id: number; op: "consume"; cid: number; filter: string; group: string; options: ConsumeOptions; dead: boolean }
  | { t: "call"; id: number; op: "ensureConsumer"; filter: string; group: string; options: ConsumeOptions }
  | { t: "call"; id: number; op: "stop"; cid: number }
  | { t: "call"; id: number; op: "pending"; cid: number }
  | { t: "attached"; cid: number }
  | { t: "handled"; did: number }
  | { t: "settle"; did: number; how: "ack" | "nak" | "term" | "working"; delayMs?: number; reason?: string }
  | { t: "deadDone"; id: number; error?: SerializedError }
  | { t: "notify"; subject: string; data: Uint8Array; headers?: Record<string, string> };

type OwnerMessage =
  | { t: "reply"; id: number; ok: true; result?: unknown }
  | { t: "reply"; id: number; ok: false; error: SerializedError }
  | { t: "deliver"; cid: number; did: number; subject: string; data: Uint8Array; seq: number; deliveryCount: number; headers: Record<string, string>; msgId?: string; value?: unknown }
  | { t: "dead"; cid: number; id: number; dead: DeadLetter }
  | { t: "closed" };

/** An error as it crosses: name, message, retry hint and its causes (a failed log write's reason is its cause). */
function serializeError(err: unknown, depth = 0): SerializedError {
  const e = err as { name?: string; message?: string; retryAfterMs?: number; cause?: unknown };
  const out: SerializedError = { name: e?.name ?? "Error", message: e?.message ?? String(err), retryAfterMs: e?.retryAfterMs };
  if (e?.cause !== undefined && depth < 4) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/**
 * The error again. The two classes callers act on (ingest's 503s) keep their class; others
 * keep their name and message, and every error its causes.
 */
function reviveError(e: SerializedError): Error {
  const options = e.cause ? { cause: reviveError(e.cause) } : undefined;
  if (e.name === "BackpressureError") return new BackpressureError(e.message, e.retryAfterMs, options);
  if (e.name === "TransportUnavailableError") return new TransportUnavailableError(e.message, e.retryAfterMs, options);
  const err = new Error(e.message, options);
  err.name = e.name;
  return err;
}

/**
 * Bytes that clone as themselves: structured cloning copies a view's whole buffer, and views
 * into a pool or a socket's read buffer are common (a small HTTP body is a slice of an 8 KB pool).
 */
function ownBytes(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : copyOfView(data);
}

/** %TypedArray%.prototype.slice: a copy, also for a Node Buffer (whose own slice is a view). */
const typedArraySlice = Object.getPrototypeOf(Uint8Array.prototype).slice as (this: ArrayBufferView) => ArrayBufferView;

function copyOfView<T extends ArrayBufferView>(v: T): T {
  return typedArraySlice.call(v) as T;
}

/** `value` with every typed-array view that does not span its whole buffer replaced by a copy of its range. */
function compactViews(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (ArrayBuffer.isView(value)) {
    const v = value as ArrayBufferView;
    if (v instanceof DataView || (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength)) return value;
    return copyOfView(v);
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || typeof item !== "object") continue;
      const c = compactViews(item, depth + 1);
      if (c !== item) (out ??= value.slice())[i] = c;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const k in value as Record<string, unknown>) {
    const item = (value as Record<string, unknown>)[k];
    if (item === null || typeof item !== "object") continue;
    const c = compactViews(item, depth + 1);
    if (c !== item) (out ??= { ...(value as Record<string, unknown>) })[k] = c;
  }
  return out ?? value;
}

/**
 * How decoded values are put in a form that clones cheaply, and taken back (both ends use the
 * same): cloning pays per string and per object, so a value of many small ones (a batch's
 * columns) is worth packing, and what the message's bytes already carry need not cross twice.
 * Without one, values cross as they are.
 */
export interface ValueCodec {
  pack(value: unknown): unknown;
  /** The value again, from what `pack` made of it and the message's bytes. */
  unpack(packed: unknown, data: Uint8Array): unknown;
}

/** Posts `message`; if its `value` cannot be cloned, posts it without (the receiver then decodes `data`). */
function postWithValue(port: MessagePortLike, message: { value?: unknown; [field: string]: unknown }, values: ValueCodec | undefined): void {
  if (message.value === undefined) return port.postMessage(message);
  try {
    port.postMessage({ ...message, value: compactViews(values ? values.pack(message.value) : message.value) });
  } catch {
    port.postMessage({ ...message, value: undefined });
  }
}

/** The value back; one that cannot be unpacked is dropped, as one that could not be cloned (the receiver decodes `data`). */
function unpacked(value: unknown, data: Uint8Array, values: ValueCodec | undefined): unknown {
  if (value === undefined || values === undefined) return value;
  try {
    return values.unpack(value, data);
  } catch {
    return undefined;
  }
}

function listen(port: MessagePortLike, onMessage: (data: unknown) => void): void {
  port.addEventListener("message", (event) => onMessage(event.data));
  port.start?.();
}

/**
 * Serves `transport` to a PortTransport at the other end of `port`. `close()` stops the
 * consumers it created for that side, answers the calls under way (a publish being made
 * durable gets its ack), then tells the other side, which fails later calls as unavailable at
 * once (the transport itself stays open: its owner closes it).
 */
export function servePortTransport(port: MessagePortLike, transport: Transport, values?: ValueCodec): { close(): Promise<void> } {
  const consumers = new Map<number, Consumer>();
  const deliveries = new Map<number, { cid: number; delivery: Delivery }>();
  const handled = new Map<number, () => void>();
  const attached = new Map<number, () => void>();
  const deadDone = new Map<number, { resolve(): void; reject(e: Error): void }>();
  /** Consumers stopped before their consume() finished attaching. */
  const stoppedEarly = new Set<number>();
  /** Calls being answered: close() lets go of the port only once they are. */
  const answering = new Set<Promise<void>>();
  let nextId = 1;
  /** No new work: deliveries and dead-letter reports stop, later calls are answered as unavailable. */
  let closed = false;
  /** The port is let go: nothing more is posted. */
  let released = false;
  const post = (m: OwnerMessage) => {
    if (!released) port.postMessage(m);
  };

  const reply = (id: number, work: () => Promise<unknown>) => {
    // A work that throws before it returns a promise is answered as a failed call: a throw here
    // would escape the port's message listener.
    const answered = Promise.resolve()
      .then(work)
      .then(
        (result) => post({ t: "reply", id, ok: true, result }),
        (err) => post({ t: "reply", id, ok: false, error: serializeError(err) }),
      )
      .finally(() => answering.delete(answered));
    answering.add(answered);
  };

  listen(port, (raw) => {
    const m = raw as ClientMessage;
    switch (m.t) {
      case "call":
        if (closed) return reply(m.id, () => Promise.reject(new TransportUnavailableError("transport no longer served")));
        switch (m.op) {
          case "ensureStreams":
            return reply(m.id, () => transport.ensureStreams(m.specs));
          case "publish":
            // m.data is this side's own copy (cloned by the port): handed over as it is.
            return reply(m.id, () => transport.publish(m.subject, m.data, { msgId: m.msgId, headers: m.headers, value: unpacked(m.value, m.data, values), owned: true }));
          case "ensureConsumer":
            return reply(m.id, async () => void (await transport.ensureConsumer?.(m.filter, m.group, m.options)));
          case "consume": {
            const cid = m.cid;
            // Nothing is handed over before the other side has its Consumer (the contract:
            // delivery starts after consume() resolves).
            const ready = new Promise<void>((resolve) => attached.set(cid, resolve));
            const handler: DeliveryHandler = async (d) => {
              await ready;
              // Stopped meanwhile (or no longer served): back to the group at once, not after
              // the ack wait.
              if (closed || !consumers.has(cid)) return d.nak(0);
              const did = nextId++;
              deliveries.set(did, { cid, delivery: d });
              const done = new Promise<void>((resolve) => handled.set(did, resolve));
              postWithValue(port, { t: "deliver", cid, did, subject: d.subject, data: ownBytes(d.data), seq: d.seq, deliveryCount: d.deliveryCount, headers: d.headers, msgId: d.msgId, value: d.value }, values);
              // The other side has its own copy now; the delivery is kept only to be settled.
              releaseValue(d);
              await done;
            };
            const options: ConsumeOptions = { ...m.options };
            if (m.dead) {
              options.onDead = (dead) => {
                if (closed) return Promise.reject(new TransportUnavailableError("transport no longer served"));
                const id = nextId++;
                // A failed report rejects, so the transport reports the message again later.
                const done = new Promise<void>((resolve, reject) => deadDone.set(id, { resolve, reject }));
                post({ t: "dead", cid, id, dead: { ...dead, data: ownBytes(dead.data) } });
                return done;
              };
            }
            return reply(m.id, async () => {
              let consumer: Consumer;
              try {
                consumer = await transport.consume(m.filter, m.group, handler, options);
              } catch (err) {
                attached.delete(cid);
                stoppedEarly.delete(cid);
                throw err;
              }
              // Stopped or closed while attaching: the new member must not take messages.
              if (closed || stoppedEarly.delete(cid)) {
                attached.get(cid)?.();
                attached.delete(cid);
                await consumer.stop();
                return;
              }
              consumers.set(cid, consumer);
            });
          }
          case "stop":
            return reply(m.id, async () => {
              const c = consumers.get(m.cid);
              if (c === undefined && attached.has(m.cid)) stoppedEarly.add(m.cid); // its consume() has not finished
              consumers.delete(m.cid);
              attached.get(m.cid)?.();
              attached.delete(m.cid);
              await c?.stop();
              // What this member was handed and has not settled stays its own: a settle after
              // the stop still counts (an actor stops its inputs, then drains and acknowledges),
              // and what it never settles comes back after the ack wait, as with the transport
              // itself.
            });
          case "pending":
            return reply(m.id, async () => (await consumers.get(m.cid)?.pending()) ?? 0);
        }
        return;
      case "attached":
        attached.get(m.cid)?.();
        attached.delete(m.cid);
        return;
      case "handled":
        handled.get(m.did)?.();
        handled.delete(m.did);
        return;
      case "settle": {
        const d = deliveries.get(m.did)?.delivery;
        if (!d) return;
        if (m.how === "working") return d.working();
        deliveries.delete(m.did);
        if (m.how === "ack") d.ack();
        else if (m.how === "nak") d.nak(m.delayMs);
        else d.term(m.reason);
        return;
      }
      case "deadDone": {
        const pending = deadDone.get(m.id);
        deadDone.delete(m.id);
        if (m.error) pending?.reject(reviveError(m.error));
        else pending?.resolve();
        return;
      }
      case "notify":
        transport.notify?.(m.subject, m.data, m.headers);
        return;
    }
  });

  return {
    async close() {
      closed = true;
      // Handlers waiting on the other side are released; their deliveries stay unacknowledged.
      for (const resolve of [...handled.values(), ...attached.values()]) resolve();
      for (const pending of deadDone.values()) pending.reject(new TransportUnavailableError("transport no longer served"));
      handled.clear();
      attached.clear();
      deadDone.clear();
      const all = [...consumers.values()];
      consumers.clear();
      await Promise.all(all.map((c) => c.stop().catch(() => {})));
      // Calls under way (a publish being made durable) still get their answer.
      while (answering.size > 0) await Promise.all(answering);
      // After the last answer: the other side fails what it asks from now on at once.
      post({ t: "closed" });
      released = true;
      deliveries.clear();
      port.close?.();
    },
  };
}

interface ClientConsumer {
  handler: DeliveryHandler;
  onDead?: ConsumeOptions["onDead"];
}

/** The Transport of a thread whose transport lives on another thread (see servePortTransport). */
export class PortTransport implements Transport {
  #nextId = 1;
  #calls = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #consumers = new Map<number, ClientConsumer>();
  #down: Error | undefined;

  constructor(
    readonly port: MessagePortLike,
    readonly values?: ValueCodec,
  ) {
    listen(port, (raw) => this.#receive(raw as OwnerMessage));
  }

  ensureStreams(specs: StreamSpec[]): Promise<void> {
    return this.#call({ op: "ensureStreams", specs }) as Promise<void>;
  }

  publish(subject: string, data: Uint8Array, options?: PublishOptions): Promise<PublishAck> {
    if (this.#down) return Promise.reject(this.#down);
    const id = this.#nextId++;
    const result = new Promise<unknown>((resolve, reject) => this.#calls.set(id, { resolve, reject }));
    postWithValue(this.port, { t: "call", id, op: "publish", subject, data: ownBytes(data), msgId: options?.msgId, headers: options?.headers, value: options?.value }, this.values);
    return result as Promise<PublishAck>;
  }

  async consume(filter: string, group: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    const cid = this.#nextId++;
    const { onDead, ...rest } = options;
    this.#consumers.set(cid, { handler, onDead });
    try {
      await this.#call({ op: "consume", cid, filter, group, options: rest, dead: onDead !== undefined });
    } catch (err) {
      this.#consumers.delete(cid);
      throw err;
    }
    const consumer: Consumer = {
      stop: async () => {
        if (!this.#consumers.delete(cid)) return;
        await this.#call({ op: "stop", cid }).catch(() => {});
      },
      pending: () => this.#call({ op: "pending", cid }) as Promise<number>,
    };
    // The owner starts delivering once told, after the caller holds its Consumer (a macrotask
    // runs after the continuation of the caller's await).
    setTimeout(() => {
      if (this.#consumers.has(cid) && !this.#down) this.port.postMessage({ t: "attached", cid } satisfies ClientMessage);
    }, 0);
    return consumer;
  }

  async ensureConsumer(filter: string, group: string, options: ConsumeOptions = {}): Promise<void> {
    const { onDead: _ignored, ...rest } = options;
    await this.#call({ op: "ensureConsumer", filter, group, options: rest });
  }

  notify(subject: string, data: Uint8Array, headers?: Record<string, string>): void {
    if (!this.#down) this.port.postMessage({ t: "notify", subject, data: ownBytes(data), headers } satisfies ClientMessage);
  }

  /** Stops this side's consumers and lets go of the port; the transport itself belongs to its owner. */
  async close(): Promise<void> {
    if (!this.#down) {
      const cids = [...this.#consumers.keys()];
      this.#consumers.clear();
      await Promise.all(cids.map((cid) => this.#call({ op: "stop", cid }).catch(() => {})));
      this.disconnect(new TransportUnavailableError("transport closed"));
    }
    this.port.close?.();
  }

  /** The owner is gone (its thread ended): every call in progress and to come fails with `reason`. */
  disconnect(reason: Error): void {
    this.#down ??= reason;
    for (const call of this.#calls.values()) call.reject(this.#down);
    this.#calls.clear();
  }

  #call(body: Record<string, unknown>): Promise<unknown> {
    if (this.#down) return Promise.reject(this.#down);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.port.postMessage({ t: "call", id, ...body });
    });
  }

  #receive(m: OwnerMessage): void {
    switch (m.t) {
      case "reply": {
        const call = this.#calls.get(m.id);
        if (!call) return;
        this.#calls.delete(m.id);
        if (m.ok) call.resolve(m.result);
        else call.reject(reviveError(m.error));
        return;
      }
      case "deliver": {
        const c = this.#consumers.get(m.cid);
        if (!c) {
          // Stopped here meanwhile: straight back to the group.
          this.port.postMessage({ t: "settle", did: m.did, how: "nak", delayMs: 0 } satisfies ClientMessage);
          return void this.port.postMessage({ t: "handled", did: m.did } satisfies ClientMessage);
        }
        this.#deliver(c, m);
        return;
      }
      case "closed":
        return this.disconnect(new TransportUnavailableError("transport no longer served"));
      case "dead": {
        const c = this.#consumers.get(m.cid);
        const done = () => this.port.postMessage({ t: "deadDone", id: m.id } satisfies ClientMessage);
        // The owner's transport reports a message whose report failed again later.
        const failed = (err: unknown) => this.port.postMessage({ t: "deadDone", id: m.id, error: serializeError(err) } satisfies ClientMessage);
        if (!c?.onDead) return failed(new TransportUnavailableError("its consumer has stopped"));
        Promise.resolve()
          .then(() => c.onDead!(m.dead))
          .then(done, failed);
        return;
      }
    }
  }

  #deliver(c: ClientConsumer, m: Extract<OwnerMessage, { t: "deliver" }>): void {
    const port = this.port;
    const did = m.did;
    let settled = false;
    const settle = (how: "ack" | "nak" | "term", extra: { delayMs?: number; reason?: string } = {}) => {
      if (settled) return;
      settled = true;
      port.postMessage({ t: "settle", did, how, ...extra } satisfies ClientMessage);
    };
    const delivery: Delivery = {
      subject: m.subject,
      data: m.data,
      seq: m.seq,
      deliveryCount: m.deliveryCount,
      headers: m.headers,
      msgId: m.msgId,
      value: unpacked(m.value, m.data, this.values),
      ack: () => settle("ack"),
      nak: (delayMs) => settle("nak", { delayMs }),
      term: (reason) => settle("term", { reason }),
      working: () => {
        if (!settled) port.postMessage({ t: "settle", did, how: "working" } satisfies ClientMessage);
      },
    };
    const handled = () => port.postMessage({ t: "handled", did } satisfies ClientMessage);
    Promise.resolve()
      .then(() => c.handler(delivery))
      .then(handled, () => {
        // A throwing handler counts as nak() (the Transport contract).
        settle("nak");
        handled();
      });
  }
}
