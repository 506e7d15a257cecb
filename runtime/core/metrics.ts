/**
 * Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4). A registry is a value passed in, not a global.
 */
export type Labels = Record<string, string | number>;

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return "{" + keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",") + "}";
}

/**
 * Rendered label sets by a cheap signature (length-prefixed names and values in the caller's
 * order, so no two label sets share one): counters are bumped per message with the same few
 * label sets, and sorting and escaping them every time showed up in profiles. Bounded: cleared
 * when full.
 */
const rendered = new Map<string, string>();
const MAX_RENDERED = 10_000;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  let signature = "";
  for (const k of Object.keys(labels)) {
    const v = labels[k];
    const text = String(v);
    signature += k.length + ":" + k + (typeof v === "number" ? "n" : "s") + text.length + ":" + text;
  }
  let key = rendered.get(signature);
  if (key === undefined) {
    key = renderLabels(labels);
    if (rendered.size >= MAX_RENDERED) rendered.clear();
    rendered.set(signature, key);
  }
  return key;
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
  /**
   * One series of this counter, bound: its `inc` finds nothing by label. For counters bumped
   * per request with a few label sets, whose callers keep the series (the HTTP edge).
   */
  series(labels?: Labels): CounterSeries;
}
export interface CounterSeries {
  inc(by?: number): void;
}
/**
 * A counter's series by the values of `names` (in that order), each bound once and kept: for
 * label sets bumped per request, which then build and look up no label set (that was ~4 % of
 * the main thread under one-event requests in `npm run bench -- pipeline --cases single
 * --profile`). Values are looked up through nested maps, so no
 * string is built per call. At most `max` bindings are kept; then it starts over (their series
 * stay counted). This bounds the bindings, not the counter: it has a series per label set, as
 * with `inc`.
 */
export function seriesBy(counter: Counter, names: readonly string[], max = 1024): (...values: (string | number)[]) => CounterSeries {
  type Node = Map<string | number, Node | CounterSeries>;
  let root: Node = new Map();
  let size = 0;
  return (...values) => {
    let node = root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]!) as Node | undefined;
      if (next === undefined) node.set(values[i]!, (next = new Map()));
      node = next;
    }
    let series = node.get(values[last]!) as CounterSeries | undefined;
    if (series === undefined) {
      const labels: Labels = {};
      names.forEach((name, i) => (labels[name] = values[i]!));
      series = counter.series(labels);
      if (++size > max) {
        root = new Map();
        size = 0;
      } else node.set(values[last]!, series);
    }
    return series;
  };
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  get(labels?: Labels): number;
}
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

/** A family's samples as rendered lines (`name{labels} value`). */
export interface MetricFamilySnapshot {
  name: string;
  help: string;
  type: string;
  samples: string[];
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

export const defaultBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The value every label takes in a counter's overflow series (not a valid stream name, route or status). */
export const OVERFLOW_LABEL_VALUE = "(other)";

export interface MetricsOptions {
  /**
   * Series a counter keeps at most. Counters labelled by what clients choose (stream names)
   * would otherwise grow without bound: a later label set is counted in the counter's overflow
   * series, whose labels are all OVERFLOW_LABEL_VALUE, so a sum over the counter stays exact.
   * Defaults to 1000.
   */
  maxCounterSeries: number;
}

export class MetricsRegistry {
  #families = new Map<string, Family & { impl: unknown }>();
  /** Sampled on every render (e.g. gauges read from live objects). */
  #collectors: (() => void)[] = [];
  readonly #maxCounterSeries: number;

  constructor(options: Partial<MetricsOptions> = {}) {
    this.#maxCounterSeries = options.maxCounterSeries ?? 1000;
  }

  counter(name: string, help: string): Counter {
    const max = this.#maxCounterSeries;
    return this.#family(name, help, "counter", () => {
      const values = new Map<string, { value: number }>();
      const cell = (labels: Labels | undefined) => {
        const k = labelKey(labels);
        let c = values.get(k);
        if (c === undefined) {
          if (values.size >= max && labels !== undefined) return overflowCell(labels);
          values.set(k, (c = { value: 0 }));
        }
        return c;
      };
      // Outside the bound: one series more, found by the label names alone.
      const overflowCell = (labels: Labels) => {
        const overflow: Labels = {};
        for (const name of Object.keys(labels)) overflow[name] = OVERFLOW_LABEL_VALUE;
        const k = labelKey(overflow);
        let c = values.get(k);
        if (c === undefined) values.set(k, (c = { value: 0 }));
        return c;
      };
      const impl: Counter = {
        inc: (labels, by = 1) => void (cell(labels).value += by),
        get: (labels) => values.get(labelKey(labels))?.value ?? 0,
        series: (labels) => {
          const c = cell(labels);
          return { inc: (by = 1) => void (c.value += by) };
        },
      };
      return { impl, render: () => [...values].map(([k, c]) => `${name}${k} ${c.value}`) };
    });
  }

  gauge(name: string, help: string): Gauge {
    return this.#family(name, help, "gauge", () => {
      const values = new Map<string, number>();
      const impl: Gauge = {
        set: (value, labels) => void values.set(labelKey(labels), value),
        get: (labels) => values.get(labelKey(labels)) ?? 0,
      };
      return { impl, render: () => [...values].map(([k, v]) => `${name}${k} ${v}`) };
    });
  }

  histogram(name: string, help: string, buckets = defaultBuckets): Histogram {
    return this.#family(name, help, "histogram", () => {
      const series = new Map<string, { labels: Labels | undefined; counts: number[]; sum: number; count: number }>();
      const impl: Histogram = {
        observe: (value, labels) => {
          const k = labelKey(labels);
          let s = series.get(k);
          if (!s) series.set(k, (s = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 }));
          for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) s.counts[i]!++;
          s.sum += value;
          s.count++;
        },
      };
      const render = () => {
        const out: string[] = [];
        for (const s of series.values()) {
          buckets.forEach((b, i) => out.push(`${name}_bucket${labelKey({ ...s.labels, le: b })} ${s.counts[i]}`));
          out.push(`${name}_bucket${labelKey({ ...s.labels, le: "+Inf" })} ${s.count}`);
          out.push(`${name}_sum${labelKey(s.labels)} ${s.sum}`);
          out.push(`${name}_count${labelKey(s.labels)} ${s.count}`);
        }
        return out;
      };
      return { impl, render };
    });
  }

  /** Runs `fn` before each render, to refresh gauges from live state. */
  collect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  /** Every family with its rendered samples, for another thread's registry to render along (render(extra)). */
  snapshot(): MetricFamilySnapshot[] {
    for (const fn of this.#collectors) fn();
    return [...this.#families.values()].map((f) => ({ name: f.name, help: f.help, type: f.type, samples: f.render() }));
  }

  /**
   * The text exposition; `extra` (another registry's snapshot: the stages thread's) is merged
   * in: one HELP/TYPE per family, and a series this registry has (e.g. the process's RSS)
   * listed once.
   */
  render(extra: readonly MetricFamilySnapshot[] = []): string {
    const families = new Map<string, MetricFamilySnapshot>();
    for (const f of this.snapshot()) families.set(f.name, f);
    for (const f of extra) {
      const own = families.get(f.name);
      if (!own) {
        families.set(f.name, f);
        continue;
      }
      const series = new Set(own.samples.map((line) => line.slice(0, line.lastIndexOf(" "))));
      own.samples.push(...f.samples.filter((line) => !series.has(line.slice(0, line.lastIndexOf(" ")))));
    }
    const out: string[] = [];
    for (const f of families.values()) out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples);
    return out.join("\n") + "\n";
  }

  #family<T>(name: string, help: string, type: Family["type"], make: () => { impl: T; render: () => string[] }): T {
    const existing = this.#families.get(name);
    if (existing) {
      if (existing.type !== type) throw new TypeError(`metric ${name} already registered as ${existing.type}`);
      return existing.impl as T;
    }
    const { impl, render } = make();
    this.#families.set(name, { name, help, type, render, impl });
    return impl;
  }
}
