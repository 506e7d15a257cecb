/** Plain-text tables for bench output (Markdown pipe tables, so they paste into issues as-is). */
export type Cell = string | number | undefined;

export function formatTable(headers: string[], rows: Cell[][], rightAlign: boolean[] = headers.map((_, i) => i > 0)): string {
  const text = rows.map((r) => headers.map((_, i) => (r[i] === undefined ? "–" : String(r[i]))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ") + " |";
  const rule = "|" + widths.map((w, i) => (rightAlign[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|") + "|";
  return [line(headers), rule, ...text.map(line)].join("\n");
}

/** 1234567 → "1.23 M", 23456 → "23.5 k", 812 → "812". */
export function si(n: number | undefined): string | undefined {
  if (n === undefined || !Number.isFinite(n)) return undefined;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(2)} k`;
  return n.toFixed(0);
}

export function ms(n: number | undefined): string | undefined {
  if (n === undefined || !Number.isFinite(n)) return undefined;
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
