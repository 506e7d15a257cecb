/**
 * Event-time windowing for the aggregate stage: folds events into tumbling windows per
 * (stream, key) and decides, from watermarks, when a window is final. Pure logic — no clock, no
 * I/O: the caller passes processing time in (`now`, from the injected clock).
 *
 * Semantics
 * - Windows: tumbling, per (stream, key): `windowStart = floor(ts / sizeMs) * sizeMs`,
 *   `windowEnd = windowStart + sizeMs`, the window holds `[windowStart, windowEnd)`. Each
 *   window carries count, sum, min and max of the event values.
 * - Watermark, per stream: max event ts seen − `maxOutOfOrderMs`, never moving back. It advances
 *   once per `add()` step, after the step's events are folded: a batch is judged against the
 *   watermark left by the batches before it. A window is emitted (revision 0, or its next
 *   revision after `emitOpen()`) when watermark ≥ windowEnd.
 * - Allowed lateness: an emitted window is kept until watermark ≥ windowEnd +
 *   `allowedLatenessMs`. Events for it in that span update it, and it is re-emitted with
 *   revision + 1 carrying the full totals (not deltas) — once per step, however many of the
 *   step's events touched it. A window that had no events before being passed by the watermark
 *   but gets some within the lateness span is emitted then, with revision 0.
 * - Late events: an event whose windowEnd + allowedLatenessMs ≤ watermark is not folded in; it is
 *   returned in `late` (reason "late") for the caller to dead-letter. Nothing is dropped silently.
 * - Idle streams: a stream that received no events for `idleTimeoutMs` of processing time
 *   (default: its window size) lets event time follow wall time: its watermark becomes the
 *   watermark it had after its last events + the processing time elapsed since then. So a quiet
 *   stream's windows close about idleTimeout (+ up to one window and maxOutOfOrder) after its
 *   last event. `tick(now)` applies this; `add()` applies it too (judging lateness against it,
 *   and closing the windows it passes after folding the step's events), so results do not
 *   depend on how often the caller ticks. The price: after a pause, events whose time lags the
 *   wall clock by more than the pause allows are late.
 * - Bounded memory: at most `maxOpenWindows` windows are held over all streams, counting emitted
 *   windows still inside their lateness span. Opening one more first force-closes the window
 *   with the earliest end (ties: stream name, then last-opened first): it is emitted now unless
 *   the watermark closed it already and nothing changed since, and counted in
 *   `stats().forcedCloses`. Its stream then refuses new windows ending at or before that end
 *   (the one about to open included, if it ends there): their events come back in `late` with
 *   reason "force-closed", so a window is never emitted twice as revision 0 with different
 *   totals. `flush()` closes windows the same way (without counting them as forced).
 *   `stats().lateEvents` counts both reasons.
 * - Bounded streams: a stream's state (its watermark) outlives its windows, so a client inventing
 *   stream names would grow it without end. Streams holding no window are kept at most
 *   `maxIdleStreams`; past that (checked as new streams arrive) the least recently active of
 *   them are forgotten, counted in `stats().forgottenStreams`. A forgotten stream that gets
 *   events again starts afresh, like a new one: its first step sets its watermark, so an
 *   event for a window it had already closed and expired opens that window again (emitted as
 *   revision 0 with the totals of the events it then gets) instead of coming back as late.
 *   Streams holding windows are never forgotten (they are bounded by `maxOpenWindows`), nor
 *   are those with windows closed early (force-closed, flushed) that the watermark has not
 *   passed by their lateness: those still refuse events a fresh state would take.
 * - Emitting open windows (graceful shutdown): `emitOpen()` emits every window the watermark has
 *   not passed whose totals have not gone out (never emitted, or changed since `emitOpen()` last
 *   emitted it) as its next revision, as a close would, but the window stays open: it takes
 *   events, counts against `maxOpenWindows`, and when it closes (watermark, eviction, `flush()`)
 *   it is emitted again as revision + 1 with full totals, changed or not — so a window's last
 *   revision is always a closing one. Consumers treat a higher revision of a window as replacing
 *   a lower one. A snapshot taken after `emitOpen()` keeps all this across a restart.
 * - Order: the windows closed by one call are sorted by (windowEnd, stream, key), with stream
 *   and key compared by UTF-16 code units; one call carries at most one revision of a window.
 *   Deterministic, so ids derived from content are stable across a replay of the same input
 *   batches.
 * - Conservation: every event added is either in the totals of the final revision of exactly
 *   one emitted window, or returned in `late`.
 */
import {
  resolveWindowConfig,
  validateWindowerOptions,
  WindowInputError,
  WindowRestoreError,
  type WindowConfig,
  type WindowerOptions,
} from "./windows_config.ts";
import {
  byEndStreamKey, emit, unsettled, type AddColumnsResult, type AddResult, type ClosedWindow, type LateIndex, type WindowColumns,
  type WindowerStats, type WindowEvent,
} from "./windows_output.ts";
import { newSlot, StreamState, type Slot } from "./windows_state.ts";
import { restoreStream, snapshotStream, type WindowerSnapshot } from "./windows_snapshot.ts";

export type { WindowConfig, WindowerOptions } from "./windows_config.ts";
export type {
  AddColumnsResult, AddResult, ClosedWindow, LateEvent, LateIndex, WindowColumns, WindowerStats, WindowEvent,
} from "./windows_output.ts";
export type { StreamSnapshot, WindowerSnapshot } from "./windows_snapshot.ts";
export {
  DEFAULT_ALLOWED_LATENESS_MS,
  DEFAULT_MAX_IDLE_STREAMS,
  DEFAULT_MAX_OPEN_WINDOWS,
  DEFAULT_MAX_OUT_OF_ORDER_MS,
  DEFAULT_WINDOW_SIZE_MS,
  WindowConfigError,
  WindowError,
  WindowInputError,
  WindowRestoreError,
} from "./windows_config.ts";

export class Windower {
  readonly #options: WindowerOptions;
  readonly #maxOpen: number;
  readonly #maxIdleStreams: number;
  /** Least recently active first (a step with events moves its stream to the end). */
  readonly #streams = new Map<string, StreamState>();
  /** The stream of the last step (already at the end of #streams). */
  #lastStream: StreamState | undefined;
  /** #streams may grow to this before idle streams are forgotten (amortises the scan). */
  #forgetAbove: number;
  #forgottenStreams = 0;
  /** Windows of the current step, emitted in earlier steps, that changed (await a revision). */
  readonly #pending: Slot[] = [];
  #open = 0;
  #lateEvents = 0;
  #forcedCloses = 0;

  /** Throws WindowConfigError naming the field if any value is invalid. */
  constructor(options: WindowerOptions) {
    const bounds = validateWindowerOptions(options);
    this.#maxOpen = bounds.maxOpenWindows;
    this.#maxIdleStreams = bounds.maxIdleStreams;
    this.#forgetAbove = this.#nextForgetAbove(0);
    this.#options = options;
  }

  /** The resolved configuration `stream` runs (or would run) with. */
  configFor(stream: string): Readonly<WindowConfig> {
    return this.#streams.get(stream)?.config ?? resolveWindowConfig(this.#options, stream);
  }

  /**
   * Folds one batch of `stream`'s events observed at processing time `now`, then advances the
   * stream's watermark. Returns the windows closed or revised by this step and the events not
   * folded in. Throws WindowInputError, before changing anything, if an event's ts or value is
   * not a finite number.
   */
  add(stream: string, events: readonly WindowEvent[], now: number): AddResult {
    const n = events.length;
    const keys: string[] = new Array(n);
    const ts: number[] = new Array(n);
    const values: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      if (!Number.isFinite(e.ts) || !Number.isFinite(e.value)) {
        throw new WindowInputError(stream, i, "ts and value must be finite numbers");
      }
      keys[i] = e.key;
      ts[i] = e.ts;
      values[i] = e.value;
    }
    const { closed, late } = this.addColumns(stream, { length: n, keys, ts, values }, now);
    return { closed, late: late.map(({ index, windowStart, watermark, reason }) => ({ event: events[index]!, windowStart, watermark, reason })) };
  }

  /**
   * add() for events held column-wise (event `i` is `keys[i]`, `ts[i]`, `values[i]`): the same
   * step, without an object per event. Events not folded in are reported by index.
   */
  addColumns(stream: string, events: WindowColumns, now: number): AddColumnsResult {
    const closed: ClosedWindow[] = [];
    const late: LateIndex[] = [];
    const n = events.length;
    if (n === 0) return { closed, late };
    const keys = events.keys;
    const tsOf = events.ts;
    const valueOf = events.values;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(tsOf[i]) || !Number.isFinite(valueOf[i])) {
        throw new WindowInputError(stream, i, "ts and value must be finite numbers");
      }
    }
    let s = this.#streams.get(stream);
    if (s === undefined) {
      s = new StreamState(stream, resolveWindowConfig(this.#options, stream));
      this.#streams.set(stream, s);
      if (this.#streams.size > this.#forgetAbove) this.#forgetIdleStreams(s);
    } else if (s !== this.#lastStream) {
      this.#streams.delete(stream);
      this.#streams.set(stream, s);
    }
    this.#lastStream = s;
    const size = s.config.sizeMs;
    const lateness = s.config.allowedLatenessMs;
    // Windows ending at or before `emitted` went out in earlier steps. `wm` also counts the idle
    // advance due by `now`; windows it passes are emitted once, after the fold, with the
    // step's events in them (so one call never carries two revisions of a window).
    const emitted = s.watermark;
    const wm = Math.max(emitted, this.#idleWatermark(s, now));
    const pending = this.#pending;
    let maxTs = s.maxTs;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const ts = tsOf[i]!;
      const value = valueOf[i]!;
      const start = Math.floor(ts / size) * size;
      const end = start + size;
      if (ts > maxTs) maxTs = ts;
      if (end + lateness <= wm) {
        late.push({ index: i, windowStart: start, watermark: wm, reason: "late" });
        continue;
      }
      let slot = s.keys.get(key);
      while (slot !== undefined && slot.start !== start) slot = slot.next;
      if (slot !== undefined) {
        slot.count++;
        slot.sum += value;
        if (value < slot.min) slot.min = value;
        if (value > slot.max) slot.max = value;
        if (end > emitted) {
          // Open: closing emits it anyway; only emitOpen() needs to know it changed.
          if (slot.revision > 0) slot.dirty = true;
        } else if (!slot.dirty) {
          slot.dirty = true;
          pending.push(slot);
        }
      } else if (end <= s.closedThrough || (this.#open >= this.#maxOpen && !this.#makeRoom(end, s, closed))) {
        late.push({ index: i, windowStart: start, watermark: wm, reason: "force-closed" });
      } else {
        slot = newSlot(key, start, end, value);
        s.insert(slot);
        this.#open++;
        if (end <= emitted) {
          slot.dirty = true;
          pending.push(slot);
        }
      }
    }
    for (const slot of pending) if (slot.dirty) emit(s.name, slot, closed);
    pending.length = 0;
    s.maxTs = maxTs;
    this.#advance(s, Math.max(wm, maxTs - s.config.maxOutOfOrderMs), closed);
    s.lastEventAt = now;
    s.baseWatermark = s.watermark;
    this.#lateEvents += late.length;
    if (closed.length > 1) closed.sort(byEndStreamKey);
    return { closed, late };
  }

  /** Processing-time tick: streams idle for their idleTimeoutMs advance; returns windows closed. */
  tick(now: number): ClosedWindow[] {
    const closed: ClosedWindow[] = [];
    for (const s of this.#streams.values()) this.#advance(s, this.#idleWatermark(s, now), closed);
    if (closed.length > 1) closed.sort(byEndStreamKey);
    return closed;
  }

  /**
   * Emits the current totals of every open window (one the watermark has not passed) that has
   * totals not yet emitted, each as its next revision, and keeps them all open (graceful
   * shutdown: downstream sees what was accepted; call snapshot() after it). A window emitted here
   * is emitted again, as revision + 1 with full totals, when it closes. Calling it again with no
   * events in between returns nothing.
   */
  emitOpen(): ClosedWindow[] {
    const closed: ClosedWindow[] = [];
    for (const s of this.#streams.values()) {
      for (const end of s.ends) {
        if (end <= s.watermark) continue; // closed, kept for lateness: any change went out already
        for (const slot of s.buckets.get(end)!) if (slot.revision === 0 || slot.dirty) emit(s.name, slot, closed);
      }
    }
    if (closed.length > 1) closed.sort(byEndStreamKey);
    return closed;
  }

  /**
   * Closes every window regardless of watermark (end of a stream for good, or before changing a
   * window size): emits those not closed yet or changed since they were, and forgets all of
   * them. Watermarks are kept, and events for flushed windows are refused afterwards (reason
   * "force-closed"). For a restart, use emitOpen() instead.
   */
  flush(): ClosedWindow[] {
    const closed: ClosedWindow[] = [];
    for (const s of this.#streams.values()) {
      for (const end of s.ends) {
        for (const slot of s.buckets.get(end)!) if (unsettled(s, slot)) emit(s.name, slot, closed);
      }
      if (s.ends.length > 0) s.closedThrough = Math.max(s.closedThrough, s.ends[s.ends.length - 1]!);
      s.clear();
    }
    this.#open = 0;
    if (closed.length > 1) closed.sort(byEndStreamKey);
    return closed;
  }

  /** The stream's watermark, or undefined if it has never had events. */
  watermark(stream: string): number | undefined {
    return this.#streams.get(stream)?.watermark;
  }

  stats(): WindowerStats {
    return {
      openWindows: this.#open,
      streams: this.#streams.size,
      lateEvents: this.#lateEvents,
      forcedCloses: this.#forcedCloses,
      forgottenStreams: this.#forgottenStreams,
    };
  }

  /** A plain-data copy of the whole state; take it between calls (it is what add() left). */
  snapshot(): WindowerSnapshot {
    return {
      version: 1,
      lateEvents: this.#lateEvents,
      forcedCloses: this.#forcedCloses,
      streams: [...this.#streams.values()].map(snapshotStream),
    };
  }

  /** Rebuilds a windower; throws WindowRestoreError if the snapshot is malformed or incompatible. */
  static restore(snapshot: WindowerSnapshot, options: WindowerOptions): Windower {
    if (snapshot?.version !== 1 || !Array.isArray(snapshot.streams)) {
      throw new WindowRestoreError(`unsupported snapshot version ${String(snapshot?.version)}`);
    }
    const w = new Windower(options);
    for (const snap of snapshot.streams) {
      const s = restoreStream(snap, w.configFor(snap?.stream));
      if (w.#streams.has(s.name)) throw new WindowRestoreError(`stream ${s.name} appears twice`);
      w.#streams.set(s.name, s);
      w.#open += snap.keys.length;
    }
    w.#forgetAbove = w.#nextForgetAbove(w.#streams.size);
    w.#lateEvents = Number(snapshot.lateEvents) || 0;
    w.#forcedCloses = Number(snapshot.forcedCloses) || 0;
    return w;
  }

  /**
   * Forgets the least recently active idle streams (never `current`, the stream of the step
   * under way) until at most maxIdleStreams are left.
   */
  #forgetIdleStreams(current: StreamState): void {
    let idle = 0;
    for (const s of this.#streams.values()) if (s !== current && forgettable(s)) idle++;
    for (const s of this.#streams.values()) {
      if (idle <= this.#maxIdleStreams) break;
      if (s === current || !forgettable(s)) continue;
      this.#streams.delete(s.name);
      if (s === this.#lastStream) this.#lastStream = undefined;
      idle--;
      this.#forgottenStreams++;
    }
    this.#forgetAbove = this.#nextForgetAbove(this.#streams.size);
  }

  /**
   * The next size of #streams that scans for idle streams: an eighth more than now (or than
   * maxIdleStreams), so a scan of all streams is paid for by an eighth as many new ones.
   */
  #nextForgetAbove(size: number): number {
    const base = Math.max(size, this.#maxIdleStreams);
    return base + Math.max(1, Math.floor(base / 8));
  }

  /** Moves `s`'s watermark to `to` if that is ahead: emits newly passed windows, expires old ones. */
  #advance(s: StreamState, to: number, closed: ClosedWindow[]): void {
    const from = s.watermark;
    if (!(to > from)) return;
    s.watermark = to;
    const lateness = s.config.allowedLatenessMs;
    let expired = 0;
    for (const end of s.ends) {
      if (end > to) break;
      // Slots of an end the watermark just passed were not closed before: all go out, as revision
      // 0 or, if emitOpen() sent them, as their next revision.
      if (end > from) for (const slot of s.buckets.get(end)!) emit(s.name, slot, closed);
      if (end + lateness <= to) expired++;
    }
    // end + lateness grows with end, so the expired ends are a prefix.
    if (expired > 0) this.#open -= s.dropFirstEnds(expired);
  }

  /** Event time follows wall time once a stream has been quiet for its idle timeout. */
  #idleWatermark(s: StreamState, now: number): number {
    const quiet = now - s.lastEventAt;
    return quiet >= s.config.idleTimeoutMs ? s.baseWatermark + quiet : -Infinity;
  }

  /**
   * Overflow policy: force-closes the window with the earliest end (ties: stream name, then the
   * last opened) until one more fits. Returns false if the window about to open in `s`, ending
   * at `end`, is itself among the force-closed ends — it is refused rather than opened.
   */
  #makeRoom(end: number, s: StreamState, closed: ClosedWindow[]): boolean {
    while (this.#open >= this.#maxOpen) {
      let victim: StreamState | undefined;
      let victimEnd = Infinity;
      for (const v of this.#streams.values()) {
        const first = v.firstEnd();
        if (first < victimEnd || (first === victimEnd && victim !== undefined && v.name < victim.name)) {
          victim = v;
          victimEnd = first;
        }
      }
      if (victim === undefined) break;
      const slot = victim.popOldest()!;
      if (unsettled(victim, slot)) emit(victim.name, slot, closed);
      if (slot.end > victim.closedThrough) victim.closedThrough = slot.end;
      this.#open--;
      this.#forcedCloses++;
    }
    return end > s.closedThrough;
  }
}


/**
 * Whether forgetting `s` loses nothing but what the module comment allows: it holds no window,
 * and every window it closed early (force-closed or flushed, refused from then on) is past its
 * lateness too, so kept, it would refuse their events as late all the same.
 */
function forgettable(s: StreamState): boolean {
  return s.ends.length === 0 && s.closedThrough + s.config.allowedLatenessMs <= s.watermark;
}
