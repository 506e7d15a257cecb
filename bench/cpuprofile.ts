/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function with
 * its source location, and the same rolled up by area (a dependency, a folder of ours, Node's
 * internals, GC). Locations in `dist/**.js` are mapped back to the `.ts` source line that
 * declares the same function (tsc drops type-only lines, so the line numbers differ).
 * Inclusive time of our own functions shows which stage (ingest, decode, checkpoint…) the
 * self time of library and runtime code is spent for.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  function: string;
  /** `file:line` (1-based), relative to the project root where possible. */
  location: string;
  area: string;
  /** Self time (in ProfileSummary.ours: inclusive time, callees included). */
  selfMs: number;
  /** Share of busy (non-idle) samples. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  top: Hotspot[];
  /** Our own functions (dist/**) by inclusive time: which stage the self time above belongs to. */
  ours: Hotspot[];
  areas: { area: string; selfMs: number; share: number }[];
}

const pseudo = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

function relative(url: string, root: string): string {
  const p = url.startsWith("file://") ? new URL(url).pathname : url;
  return p.startsWith(root + "/") ? p.slice(root.length + 1) : p;
}

/** Where time goes, coarsely: `hono`, `@msgpack/msgpack`, `ours: runtime/transport`, `node:internal`, `(garbage collector)`, … */
export function areaOf(functionName: string, file: string): string {
  if (pseudo.has(functionName)) return functionName;
  if (file === "") return "(native: V8 builtins, C++)";
  if (file.startsWith("node:")) return "node:internal";
  const nm = file.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = file.slice(nm + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const ours = /^dist\/(\w+)\/(\w+)?/.exec(file);
  if (ours) return ours[2] && !ours[2].endsWith("js") ? `ours: ${ours[1]}/${ours[2]}` : `ours: ${ours[1]}`;
  return file;
}

const sourceCache = new Map<string, string[] | undefined>();
function lines(file: string): string[] | undefined {
  if (!sourceCache.has(file)) sourceCache.set(file, existsSync(file) ? readFileSync(file, "utf8").split("\n") : undefined);
  return sourceCache.get(file);
}

/** Best-effort: the `.ts` line declaring the function that sits at `dist/<x>.js:line`. */
export function sourceLocation(root: string, file: string, line1: number, functionName: string): string {
  if (!file.startsWith("dist/") || !file.endsWith(".js")) return `${file}:${line1}`;
  const tsFile = file.slice("dist/".length).replace(/\.js$/, ".ts");
  const ts = lines(path.join(root, tsFile));
  const js = lines(path.join(root, file));
  if (!ts || !js) return `${file}:${line1}`;
  const name = functionName.replace(/^(get|set) /, "").replace(/^#/, "");
  const escaped = name.replace(/[$]/g, "\\$");
  const declares = name
    ? new RegExp(`(^|[^\\w$])#?${escaped}\\s*(\\(|=|:|<)|function\\*?\\s+${escaped}\\b|class\\s+${escaped}\\b`)
    : undefined;
  const jsText = js[line1 - 1]?.trim() ?? "";
  let best: number | undefined;
  for (let i = 0; i < ts.length; i++) {
    const hit = declares ? declares.test(ts[i]!) : jsText !== "" && ts[i]!.trim() === jsText;
    if (hit && (best === undefined || Math.abs(i + 1 - line1) < Math.abs(best - line1))) best = i + 1;
  }
  return best === undefined ? `${file}:${line1}` : `${tsFile}:${best}`;
}

export function summariseProfile(file: string, options: { root: string; top?: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // A sample's time is the interval until the next sample (as DevTools attributes it).
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const fns = new Map<string, { fn: string; file: string; line1: number; us: number }>();
  let idleUs = 0;
  let allUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    allUs += us;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const rel = relative(url, options.root);
    const key = `${functionName}\u0000${rel}\u0000${lineNumber}`;
    const entry = fns.get(key) ?? { fn: functionName || "(anonymous)", file: rel, line1: lineNumber + 1, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const busyUs = allUs - idleUs;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, { fn: string; file: string; line1: number; us: number }>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
    const seen = new Set<string>(); // recursion counts once
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      const rel = relative(url, options.root);
      if (!rel.startsWith("dist/")) continue;
      const key = `${functionName}\u0000${rel}\u0000${lineNumber}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { fn: functionName || "(anonymous)", file: rel, line1: lineNumber + 1, us: 0 };
      entry.us += us;
      inclusive.set(key, entry);
    }
  }
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  const areas = new Map<string, number>();
  for (const e of fns.values()) {
    const a = areaOf(e.fn, e.file);
    areas.set(a, (areas.get(a) ?? 0) + e.us);
  }
  const hotspots = (entries: Iterable<{ fn: string; file: string; line1: number; us: number }>, n: number): Hotspot[] =>
    [...entries]
      .sort((a, b) => b.us - a.us)
      .slice(0, n)
      .map((e) => ({
        function: e.fn,
        location: e.file === "" ? "(native)" : sourceLocation(options.root, e.file, e.line1, e.fn === "(anonymous)" ? "" : e.fn),
        area: areaOf(e.fn, e.file),
        selfMs: e.us / 1000,
        share: share(e.us),
      }));
  const top = hotspots(fns.values(), options.top ?? 25);
  const ours = hotspots(inclusive.values(), options.top ?? 25);
  return {
    file,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    top,
    ours,
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000, share: share(us) })),
  };
}
