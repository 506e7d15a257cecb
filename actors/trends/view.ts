/**
 * The trends read model behind the query edge: the latest signal per key (for "top trends"),
 * each key's recent windows and signals, and live fan-out to subscribers. Everything is
 * bounded: `maxKeys` keys (least recently updated evicted), `windowsPerKey` windows and
 * `signalsPerKey` signals per key, and `subscriberQueue` signals queued per live subscriber
 * (the oldest are dropped for a subscriber that cannot keep up, and it is told how many).
 */
import type { TrendSignal, WindowAggregate } from "../../schemas/mod.ts";

export interface TrendsViewConfig {
  /** Keys tracked at most. Defaults to 10 000. */
  maxKeys: number;
  /** Recent windows kept per key. Defaults to 60. */
  windowsPerKey: number;
  /** Recent signals kept per key. Defaults to 20. */
  signalsPerKey: number;
  /** A key stays in "top trends" this long after its last signal (ms). Defaults to 60 000. */
  activeForMs: number;
  /** Signals queued per live subscriber before the oldest are dropped. Defaults to 1 000. */
  subscriberQueue: number;
}

export const defaultTrendsViewConfig: TrendsViewConfig = Object.freeze({
  maxKeys: 10_000,
  windowsPerKey: 60,
  signalsPerKey: 20,
  activeForMs: 60_000,
  subscriberQueue: 1_000,
});

interface KeyView {
  stream: string;
  key: string;
  windows: WindowAggregate[];
  signals: TrendSignal[];
}

export interface Subscriber {
  /** Takes queued signals; `dropped` counts signals lost to overflow since the last take. */
  take(): { signals: TrendSignal[]; dropped: number };
  /** Resolves when a signal is queued (or immediately if one is). */
  ready(): Promise<void>;
  close(): void;
}

export class TrendsView {
  readonly #keys = new Map<string, KeyView>();
  readonly #subscribers = new Set<SubscriberQueue>();

  constructor(readonly config: TrendsViewConfig = defaultTrendsViewConfig) {}

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  get keyCount(): number {
    return this.#keys.size;
  }

  addWindow(w: WindowAggregate): void {
    const view = this.#touch(w.stream, w.key);
    const i = view.windows.findIndex((x) => x.windowStart === w.windowStart);
    if (i >= 0) {
      if (w.revision >= view.windows[i]!.revision) view.windows[i] = w;
      return;
    }
    view.windows.push(w);
    view.windows.sort((a, b) => a.windowStart - b.windowStart);
    if (view.windows.length > this.config.windowsPerKey) view.windows.shift();
  }

  addSignal(s: TrendSignal): void {
    const view = this.#touch(s.stream, s.key);
    view.signals.push(s);
    if (view.signals.length > this.config.signalsPerKey) view.signals.shift();
    for (const sub of this.#subscribers) sub.push(s);
  }

  /** Keys with a signal in the last `activeForMs`, highest latest score first. */
  top(now: number, options: { stream?: string; limit: number }): TrendSignal[] {
    const out: TrendSignal[] = [];
    for (const view of this.#keys.values()) {
      if (options.stream !== undefined && view.stream !== options.stream) continue;
      const last = view.signals[view.signals.length - 1];
      if (last && now - last.emittedAt <= this.config.activeForMs) out.push(last);
    }
    out.sort((a, b) => b.score - a.score || b.emittedAt - a.emittedAt);
    return out.slice(0, options.limit);
  }

  key(stream: string, key: string): { windows: WindowAggregate[]; signals: TrendSignal[] } | undefined {
    const view = this.#keys.get(`${stream}\u0000${key}`);
    return view && { windows: [...view.windows], signals: [...view.signals] };
  }

  /** Ends every live subscription (shutdown). */
  closeSubscribers(): void {
    for (const sub of [...this.#subscribers]) sub.close();
  }

  subscribe(filter?: { stream?: string }): Subscriber {
    const sub = new SubscriberQueue(this.config.subscriberQueue, filter?.stream, () => this.#subscribers.delete(sub));
    this.#subscribers.add(sub);
    return sub;
  }

  #touch(stream: string, key: string): KeyView {
    const id = `${stream}\u0000${key}`;
    let view = this.#keys.get(id);
    if (view) {
      this.#keys.delete(id);
    } else {
      view = { stream, key, windows: [], signals: [] };
      if (this.#keys.size >= this.config.maxKeys) this.#keys.delete(this.#keys.keys().next().value as string);
    }
    this.#keys.set(id, view);
    return view;
  }
}

class SubscriberQueue implements Subscriber {
  #queue: TrendSignal[] = [];
  #dropped = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(readonly capacity: number, readonly stream: string | undefined, readonly onClose: () => void) {}

  push(s: TrendSignal): void {
    if (this.#closed || (this.stream !== undefined && s.stream !== this.stream)) return;
    this.#queue.push(s);
    if (this.#queue.length > this.capacity) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#wake?.();
    this.#wake = undefined;
  }

  take(): { signals: TrendSignal[]; dropped: number } {
    const out = { signals: this.#queue, dropped: this.#dropped };
    this.#queue = [];
    this.#dropped = 0;
    return out;
  }

  ready(): Promise<void> {
    if (this.#queue.length > 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => (this.#wake = resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.onClose();
  }
}
