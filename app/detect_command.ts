/**
 * `trendwire detect --csv FILE`: scores a `timestamp,value` series (NAB's format) with the same
 * detector the live detect actor runs, one row at a time and without look-ahead, and prints
 * `timestamp,value,anomaly_score` (with --explain also `anomalous,detector,explanation`).
 * The whole file is checked before the first row is printed, so bad input prints no scores.
 */
import type { Platform } from "../runtime/platform/platform.ts";
import { streamScores } from "../actors/detect/series.ts";
import { StreamModels } from "../actors/detect/stream_models.ts";
import { detectModel, detectorSettings, type TrendwireConfig } from "./config.ts";
import { UsageError } from "./cli.ts";

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

/** The input cannot be scored (a bad line); exit code 1, where usage errors exit 2. */
export class DetectInputError extends Error {}

export interface DetectOptions {
  /** A file path, or "-" for standard input. */
  csv: string;
  /** Adds the anomalous, detector and explanation columns. */
  explain: boolean;
}

/** Rows per write to standard output: large enough to be cheap, small enough to stream. */
const ROWS_PER_WRITE = 2048;

/** A CSV field: quoted when it holds a comma, quote or line break, quotes doubled. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function readInput(platform: Platform, csv: string): Promise<string> {
  const bytes = csv === "-" ? await platform.readStdin() : await platform.fs.readFile(csv);
  if (!bytes) throw new UsageError(`file not found: ${csv}`);
  return new TextDecoder().decode(bytes);
}

export async function detectCommand(config: TrendwireConfig, platform: Platform, options: DetectOptions): Promise<void> {
  const name = options.csv === "-" ? "stdin" : options.csv;
  let rows: SeriesRow[];
  try {
    rows = parseSeriesCsv(await readInput(platform, options.csv));
  } catch (err) {
    if (err instanceof SeriesCsvError) throw new DetectInputError(`${name}: ${err.message}`);
    throw err;
  }
  // The row spacing names the window in explanations ("in 5m window"); scores do not depend on it.
  const spacing = rows.length > 1 ? rows[1]!.ts - rows[0]!.ts : 0;
  const detector = detectorSettings(config, spacing > 0 ? spacing : config.windowMs);
  let out = options.explain ? "timestamp,value,anomaly_score,anomalous,detector,explanation\n" : "timestamp,value,anomaly_score\n";
  // The series is one stream's one key: a fresh model, as the live actor gives a new stream.
  const backend = detectModel(config);
  const models = backend === "off" ? undefined : await StreamModels.load(backend);
  let i = 0;
  for (const obs of streamScores(rows, detector, models?.get(name))) {
    const row = rows[i++]!;
    out += `${csvField(row.text)},${row.value},${obs.score}`;
    out += options.explain ? `,${obs.anomalous},${obs.detector},${csvField(obs.explanation)}\n` : "\n";
    if (i % ROWS_PER_WRITE === 0) {
      if (!(await platform.writeStdout(out))) return; // the reader has gone (e.g. `| head`)
      out = "";
    }
  }
  await platform.writeStdout(out);
}
