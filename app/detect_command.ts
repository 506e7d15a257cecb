/**
 * `trendwire detect --csv FILE`: scores a `timestamp,value` series (NAB's format) with the same
 * detector the live detect actor runs, one row at a time and without look-ahead, and prints
 * `timestamp,value,anomaly_score`.
 */

export interface SeriesRow {
  /** The timestamp as written in the file (echoed back). */
  text: string;
  /** Epoch ms: NAB's zone-less `YYYY-MM-DD HH:MM:SS` is read as UTC; ISO with a zone and epoch ms are also accepted. */
  ts: number;
  value: number;
}

export class SeriesCsvError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "SeriesCsvError";
  }
}

/** Epoch ms of a series timestamp (see SeriesRow.ts), or NaN. NAB's labels add `.000000`, which this also reads. */
export function parseSeriesTime(text: string): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const iso = text.includes("T") ? text : text.replace(" ", "T");
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(iso) ? iso : iso + "Z");
}

/** Parses `timestamp,value` rows after a header line; errors name the line. */
export function parseSeriesCsv(text: string): SeriesRow[] {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.trim().toLowerCase();
  if (header !== "timestamp,value") throw new SeriesCsvError(1, `expected the header "timestamp,value", got "${lines[0] ?? ""}"`);
  const rows: SeriesRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const comma = line.lastIndexOf(",");
    if (comma < 0) throw new SeriesCsvError(i + 1, `expected "timestamp,value", got "${line}"`);
    const text = line.slice(0, comma).trim();
    const valueText = line.slice(comma + 1).trim();
    const value = Number(valueText);
    const ts = parseSeriesTime(text);
    if (valueText === "" || !Number.isFinite(value)) throw new SeriesCsvError(i + 1, `value must be a finite number, got "${valueText}"`);
    if (!Number.isFinite(ts)) throw new SeriesCsvError(i + 1, `timestamp must be "YYYY-MM-DD HH:MM:SS", ISO 8601 or epoch ms, got "${text}"`);
    rows.push({ text, ts, value });
  }
  return rows;
}
