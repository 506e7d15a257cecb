/**
 * `npm run bench -- detect`: the detect stage on its own, no transport.
 *
 * Throughput: window updates/s scored by the statistical path, through the detect actor's
 * receive() (fake context, AggBatches of 1000 windows: key lookup, activity sketch, top-k,
 * detector, signals) and through the bare detector (`observe()`, and `scoreObservation()` as the
 * actor calls it) on the same values, side by side, on one core (this process). Keys have a
 * Zipf-like mix of counts, a few windows surge. The steady figures are timed once every key is
 * past learning (its long layer has LEARN windows, after `--warm-windows` untimed rounds), as
 * in a long-running stream; a key's first windows (admission into the slab, whose fresh pages
 * this VM faults in slowly, and the detector's young phases) are reported on a row of their
 * own. A row with 1000 keys, whose state stays in the CPU caches, shows what the same code does
 * when memory latency is not the bound, and a row with the keys in a new random order every
 * window the worst case for memory (the aggregate emits a window's keys sorted, so in a steady
 * stream consecutive windows are consecutive keys, whose states sit side by side). The steady
 * case runs `--repeat` times (a fresh actor each time, same input) and its median run is
 * reported, with the range: memory-bound, it moves with whatever else the host's memory is doing.
 *
 * Memory: 1 M distinct keys of one stream, several windows each, Zipf-like activity, through
 * receive() with the configured maxKeys. Each case runs in a child process of its own (so RSS is
 * not shared between cases) with --expose-gc: RSS and heap after GC, the documented bound, the
 * size and encode time of one checkpoint snapshot at that state, and the RSS while the snapshot
 * and its encoding are both alive (what a checkpoint costs on top).
 *
 * Prints the machine, a table and, as the last line, one JSON object. Targets (≥ 1 M updates/s
 * on one core; 1 M keys at ≤ 500 MB RSS) are reported beside the figures, never asserted.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { detectActor, DEFAULT_SKETCH_DEPTH, type DetectState } from "../actors/detect/detect.ts";
import { detectorConfig, newKeyState, observe, scoreObservation, toObservation, type DetectorConfig, type KeyState } from "../actors/detect/detector.ts";
import { LEARN } from "../actors/detect/likelihood.ts";
import { MessageType, type AggBatch, type WindowAggregate } from "../schemas/mod.ts";
import { fakeContext, message } from "../test/helpers/fake_ctx.ts";
import { mulberry32 } from "../test/helpers/random.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { formatTable, ms, si } from "./table.ts";
import { BenchUsageError, intFlag } from "./flags.ts";

export const detectHelp = `Usage: npm run bench -- detect [options]

  --keys N            keys in the throughput case (default 100000)
  --windows N         timed windows per key in the throughput case (default 20)
  --warm-windows N    untimed windows per key before them (default 110: past learning)
  --memory-keys N     distinct keys in the memory case (default 1000000)
  --memory-windows N  windows per key in the memory case (default 3)
  --max-keys N        detect maxKeys (default 100000)
  --repeat N          runs of the steady case, reported as their median and range (default 3:
                      on this VM a memory-bound run varies by ±10 % from minute to minute)
  --cases LIST        throughput,memory (default both)
`;

const known = ["keys", "windows", "warm-windows", "memory-keys", "memory-windows", "max-keys", "repeat", "cases", "child"];
const T0 = Date.UTC(2026, 0, 1);
const WINDOW_MS = 10_000;
const BATCH = 1000;
const HOT_KEYS = 1000;
const TARGET_UPDATES_PER_S = 1e6;
const TARGET_RSS_BYTES = 500e6;
/**
 * Approximate bytes per key with detector state: its slab slot (230 float64s, state_slab.ts),
 * its handle, entry (with the key), hash-table cells and heap slot (≈ 330 B of heap, measured with 100 000 keys).
 */
const PER_KEY_BYTES = 2200;

/** A Zipf-like typical count for key rank i (a few heavy keys, a long tail of 1–3 events). */
const typicalCount = (i: number) => Math.max(1, Math.round(2000 / (i + 1) ** 0.9));

/**
 * Round `w`'s windows of the keys at positions `from` until `to` of `order` (key indexes; the
 * keys in index order when absent, as in every round: the aggregate emits a window's keys in a
 * fixed, sorted, order): Poisson-ish noise around each key's typical count, about one in 10 000
 * surging ×10. Made a batch at a time, so the bench's own input does not inflate the RSS it
 * measures.
 */
function windowsOf(from: number, to: number, w: number, random: () => number, order?: Int32Array): WindowAggregate[] {
  const out: WindowAggregate[] = [];
  for (let p = from; p < to; p++) {
    const i = order === undefined ? p : order[p]!;
    const mean = typicalCount(i);
    let count = Math.max(1, Math.round(mean + Math.sqrt(mean) * (random() + random() + random() - 1.5) * 2));
    if (random() < 1e-4) count *= 10;
    out.push({ stream: "s", key: `key-${i}`, windowStart: T0 + w * WINDOW_MS, windowEnd: T0 + (w + 1) * WINDOW_MS, count, sum: count, min: 1, max: 1, revision: 0 });
  }
  return out;
}

interface Timed {
  updates: number;
  ms: number;
  signals: number;
}

interface Fed {
  /** Rounds `0 … cold-1`, and the rounds from `warm` on (each key's windows at those indexes). */
  cold: Timed;
  steady: Timed;
  state: DetectState;
  actor: ReturnType<typeof detectActor>;
  ctx: ReturnType<typeof fakeContext>;
}

const timed = (): Timed => ({ updates: 0, ms: 0, signals: 0 });

/** Key indexes 0 … keys−1 in a random order (Fisher–Yates). */
function shuffledKeys(keys: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: keys }, (_, i) => i);
  for (let i = keys - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Feeds `rounds` rounds of `keys` keys through receive() in batches of BATCH; times only
 * receive(), rounds before `cold` and from `warm` on.
 */
async function feedActor(keys: number, rounds: number, maxKeys: number, seed: number, cold = rounds, warm = rounds, shuffled = false): Promise<Fed> {
  const actor = detectActor({ partitions: 1, owned: [0], detector: detectorConfig({ windowMs: WINDOW_MS }), maxKeys, jsonSignals: true });
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  const random = mulberry32(seed);
  const fed = { cold: timed(), steady: timed() };
  for (let w = 0; w < rounds; w++) {
    const phase = w < cold ? fed.cold : w >= warm ? fed.steady : undefined;
    const order = shuffled ? shuffledKeys(keys, random) : undefined;
    for (let b = 0; b < keys; b += BATCH) {
      const batch: AggBatch = { partition: 0, windows: windowsOf(b, Math.min(keys, b + BATCH), w, random, order), watermarks: {} };
      const input = message("tw.agg.0", MessageType.AggBatch, batch);
      const t = performance.now();
      state = await actor.receive(state, input, ctx);
      if (phase) phase.ms += performance.now() - t;
    }
    if (phase) {
      phase.updates += keys;
      phase.signals += ctx.published.length;
    }
    ctx.published.length = 0;
    ctx.notified.length = 0;
  }
  return { ...fed, state, actor, ctx };
}

/** Whether one window signals: observe(), or the actor's path (scoreObservation, an Observation only when anomalous). */
type Judge = (state: KeyState, value: number, config: DetectorConfig) => boolean;
const byObserve: Judge = (state, value, config) => observe(state, value, config).anomalous;
const byScore: Judge = (state, value, config) => {
  const scored = scoreObservation(state, value, config);
  return scored.anomalous && toObservation(scored, config).anomalous;
};

/** The same values through the bare detector (`judge`), one KeyState per key, no actor; timed from round `warm` on. */
function feedObserve(keys: number, rounds: number, seed: number, judge: Judge, warm = 0): Timed {
  const config = detectorConfig({ windowMs: WINDOW_MS });
  const states = Array.from({ length: keys }, newKeyState);
  const random = mulberry32(seed);
  const out = timed();
  for (let w = 0; w < rounds; w++) {
    for (let b = 0; b < keys; b += BATCH) {
      const windows = windowsOf(b, Math.min(keys, b + BATCH), w, random);
      let signals = 0;
      const t = performance.now();
      for (let i = 0; i < windows.length; i++) if (judge(states[b + i]!, windows[i]!.sum, config)) signals++;
      if (w >= warm) {
        out.ms += performance.now() - t;
        out.updates += windows.length;
        out.signals += signals;
      }
    }
  }
  return out;
}

interface MemoryResult {
  keys: number;
  windows: number;
  maxKeys: number;
  keysWithState: number;
  updatesPerS: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  boundBytes: number;
  sketchBytes: number;
  snapshotBytes: number;
  snapshotEncodeMs: number;
  snapshotTakeMs: number;
  /** RSS with the checkpoint's snapshot and its encoding both alive (before either is released). */
  checkpointRssBytes: number;
  /** Peak RSS of the whole case (feeding included, garbage before collection too). */
  peakRssBytes: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * This process's peak RSS: VmHWM where /proc has it. Not resourceUsage().maxRSS: Linux carries
 * the forking parent's high-water mark across exec, so a child spawned by a bench that had run
 * the throughput case first reported the parent's ~490 MB as its own peak.
 */
function peakRss(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux: the portable figure
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** The memory case, in this (child) process: prints one JSON line. */
async function memoryChild(keys: number, rounds: number, maxKeys: number): Promise<void> {
  if (!gc) throw new Error("the memory case needs --expose-gc");
  const fed = await feedActor(keys, rounds, maxKeys, 42);
  gc();
  gc();
  const mem = process.memoryUsage();
  const t0 = performance.now();
  const { snapshot } = await fed.actor.checkpoint!(fed.state, fed.ctx);
  const t1 = performance.now();
  const takenRss = process.memoryUsage().rss;
  // As the runtime encodes a checkpoint (actor_cell.ts): in parts, the state slab's blocks uncopied.
  const parts = new MessageCodec().encodeLargeParts({ seqs: {}, folded: {}, snapshot });
  const bytes = { byteLength: parts.reduce((n, p) => n + p.byteLength, 0) };
  const t2 = performance.now();
  const checkpointRssBytes = Math.max(takenRss, process.memoryUsage().rss);
  const peakRssBytes = peakRss();
  const sketchBytes = fed.state.keys.sketch.bytes;
  const result: MemoryResult = {
    keys, windows: rounds, maxKeys, keysWithState: fed.state.keys.size,
    updatesPerS: fed.cold.updates / (fed.cold.ms / 1000),
    rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, externalBytes: mem.external,
    boundBytes: maxKeys * PER_KEY_BYTES + sketchBytes,
    sketchBytes, snapshotBytes: bytes.byteLength, snapshotTakeMs: t1 - t0, snapshotEncodeMs: t2 - t1, checkpointRssBytes, peakRssBytes,
  };
  console.log(JSON.stringify(result));
}

function runMemoryCase(keys: number, rounds: number, maxKeys: number): MemoryResult {
  const script = process.argv[1]!;
  const args = ["--expose-gc", "--max-old-space-size=4096", script, "detect", "--child", "memory", "--memory-keys", String(keys), "--memory-windows", String(rounds), "--max-keys", String(maxKeys)];
  const child = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`memory case failed (exit ${child.status}, ${child.signal ?? "no signal"}):\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as MemoryResult;
}

const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;

export async function detectBench(flags: Record<string, string | boolean>): Promise<void> {
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new BenchUsageError(`unknown option --${name}`);
  const keys = intFlag(flags, "keys", 100_000, 1);
  const rounds = intFlag(flags, "windows", 20, 1);
  const warm = intFlag(flags, "warm-windows", LEARN + 10, 0);
  const memoryKeys = intFlag(flags, "memory-keys", 1_000_000, 1);
  const memoryRounds = intFlag(flags, "memory-windows", 3, 1);
  const maxKeys = intFlag(flags, "max-keys", 100_000, 1);
  const repeat = intFlag(flags, "repeat", 3, 1);
  if (flags.child === "memory") return memoryChild(memoryKeys, memoryRounds, maxKeys);
  const cases = typeof flags.cases === "string" ? flags.cases.split(",") : ["throughput", "memory"];

  const machine = machineInfo();
  console.log(describeMachine(machine));
  const rows: (string | number | undefined)[][] = [];
  const json: Record<string, unknown> = { bench: "detect", machine, targets: { updatesPerS: TARGET_UPDATES_PER_S, rssBytes: TARGET_RSS_BYTES } };

  if (cases.includes("throughput")) {
    // JIT warm-up on a smaller run of each, through every phase of a key's life, then the measured runs.
    const small = Math.min(keys, 2000);
    await feedActor(small, warm + 5, maxKeys, 1);
    feedObserve(small, warm + 5, 1, byObserve);
    feedObserve(small, warm + 5, 1, byScore);
    // The first windows are timed on their own, as many as are timed past learning (fewer if the warm-up is shorter).
    const cold = Math.min(rounds, warm);
    const actor = await feedActor(keys, warm + rounds, maxKeys, 7, cold, warm);
    // The steady case again (each run a fresh actor, same input): its median run is reported.
    const steadyRuns = [actor.steady];
    for (let r = 1; r < repeat; r++) steadyRuns.push((await feedActor(keys, warm + rounds, maxKeys, 7, 0, warm)).steady);
    const perS = (t: Timed) => t.updates / (t.ms / 1000);
    const byRate = [...steadyRuns].sort((a, b) => perS(a) - perS(b));
    const median = byRate[Math.floor((byRate.length - 1) / 2)]!;
    const range = repeat > 1 ? `; runs ${si(perS(byRate[0]!))}–${si(perS(byRate[byRate.length - 1]!))}/s` : "";
    // 1000 keys: as many timed updates as the main case, state in the CPU caches.
    const hot = await feedActor(HOT_KEYS, warm + Math.ceil((keys * rounds) / HOT_KEYS), maxKeys, 7, 0, warm);
    // The same keys arriving in a new random order every window: no two consecutive windows' state is near in memory.
    const unordered = await feedActor(keys, warm + rounds, maxKeys, 7, 0, warm, true);
    const bare = feedObserve(keys, warm + rounds, 7, byObserve, warm);
    const scored = feedObserve(keys, warm + rounds, 7, byScore, warm);
    const steady = `windows ${warm + 1}–${warm + rounds}`;
    const through = [
      { name: `receive() (detect actor), ${si(keys)} keys, ${steady}${warm >= LEARN ? " (steady)" : ""}${repeat > 1 ? `, median of ${repeat}` : ""}`, ...median, note: range },
      { name: `receive(), ${si(HOT_KEYS)} keys (state in cache), from window ${warm + 1}`, ...hot.steady },
      { name: `receive(), ${si(keys)} keys in a random order each window (worst case), ${steady}`, ...unordered.steady },
      ...(cold > 0 ? [{ name: `receive(), ${si(keys)} keys, windows 1–${cold} (admission, learning)`, ...actor.cold }] : []),
      { name: `observe() (bare detector), ${si(keys)} keys, ${steady}, same values`, ...bare },
      { name: `scoreObservation() (bare detector, the actor's path), same`, ...scored },
    ];
    for (const r of through) {
      rows.push([r.name, `${si(perS(r))}/s`, `${((r.ms * 1000) / r.updates).toFixed(3)} µs`, `≥ ${si(TARGET_UPDATES_PER_S)}/s`, `${r.signals} signals${"note" in r ? r.note : ""}`]);
    }
    json.throughput = through.map((r) => ({ name: r.name, updates: r.updates, ms: r.ms, updatesPerS: perS(r), usPerUpdate: (r.ms * 1000) / r.updates, signals: r.signals }));
    json.steadyRuns = steadyRuns.map(perS);
  }
  if (cases.includes("memory")) {
    const m = runMemoryCase(memoryKeys, memoryRounds, maxKeys);
    rows.push([
      `memory: ${si(m.keys)} keys × ${m.windows} windows, maxKeys ${si(m.maxKeys)} (${si(m.keysWithState)} with state)`,
      `${si(m.updatesPerS)}/s`, `${(1e6 / m.updatesPerS).toFixed(3)} µs`, `≤ ${mb(TARGET_RSS_BYTES)} RSS`,
      `RSS ${mb(m.rssBytes)}, heap ${mb(m.heapUsedBytes)}, external ${mb(m.externalBytes)}; bound ${mb(m.boundBytes)} (sketch ${mb(m.sketchBytes)}); snapshot ${mb(m.snapshotBytes)}: take ${ms(m.snapshotTakeMs)} ms + encode ${ms(m.snapshotEncodeMs)} ms, RSS then ${mb(m.checkpointRssBytes)}; peak RSS ${mb(m.peakRssBytes)}`,
    ]);
    json.memory = { ...m, sketchDepth: DEFAULT_SKETCH_DEPTH, perKeyBytes: PER_KEY_BYTES };
  }
  console.log(formatTable(["case", "updates/s", "per update", "target", "result"], rows, [false, true, true, false, false]));
  console.log(JSON.stringify(json));
}
