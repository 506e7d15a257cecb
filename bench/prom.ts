/**
 * Reading a server's Prometheus `/metrics`: each metric name summed over its label sets
 * (e.g. `tw_events_aggregated_total` over every stream), which is all a bench needs.
 */
export type MetricTotals = Map<string, number>;

export function parsePrometheusTotals(text: string): MetricTotals {
  const totals: MetricTotals = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    const brace = line.indexOf("{");
    const name = line.slice(0, brace >= 0 && brace < space ? brace : space);
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) totals.set(name, (totals.get(name) ?? 0) + value);
  }
  return totals;
}

export async function fetchMetricTotals(port: number, host = "127.0.0.1"): Promise<MetricTotals> {
  const res = await fetch(`http://${host}:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return parsePrometheusTotals(await res.text());
}

export function total(metrics: MetricTotals, name: string): number {
  return metrics.get(name) ?? 0;
}
