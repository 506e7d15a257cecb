/**
 * The detect stage's forecasters, one per stream (forecaster.ts): a stream's keys share a model,
 * so it learns from all of them at once, while each key keeps its own error statistics
 * (likelihood.ts). At most `maxStreams` streams have one; past that, the stream used least
 * recently loses its model (its keys go on without the forecast vote until it comes back with a
 * fresh one). A model costs about 160 KB (its replay buffer), so the bound caps the memory.
 *
 * The models are part of the detect checkpoint, so a restart resumes their predictions exactly.
 */
import { float32Bytes, readFloat32s } from "../../schemas/mod.ts";
import { FORECAST_LAGS } from "./likelihood.ts";
import { forecasterOptions, OnlineForecaster, type ForecasterOptions, type ForecasterSnapshot } from "./forecaster.ts";
import { loadTf, type ForecastBackend, type TfModule } from "./tf_loader.ts";

/** A model in a checkpoint: its stream and its snapshot, with the float32 arrays as bytes (MessagePack bin). */
export interface PackedModel {
  stream: string;
  options: ForecasterOptions;
  rows: number;
  steps: number;
  params: Uint8Array;
  adamM: Uint8Array;
  adamV: Uint8Array;
  replayInputs: Uint8Array;
  replayTargets: Uint8Array;
}

export const DEFAULT_MAX_MODEL_STREAMS = 64;

export class StreamModels {
  /** By stream, least recently used first (a Map keeps insertion order; a use re-inserts). */
  private readonly models = new Map<string, OnlineForecaster>();
  private readonly options: ForecasterOptions;
  /** Models dropped to stay within maxStreams. */
  evicted = 0;

  private constructor(private readonly tf: TfModule, backend: ForecastBackend, readonly maxStreams: number) {
    this.options = forecasterOptions({ backend, lags: FORECAST_LAGS });
  }

  /** Loads TensorFlow.js with `backend` (once per process) and makes an empty set of models. */
  static async load(backend: ForecastBackend, maxStreams = DEFAULT_MAX_MODEL_STREAMS): Promise<StreamModels> {
    if (!(Number.isInteger(maxStreams) && maxStreams >= 1)) throw new RangeError(`maxStreams: expected an integer >= 1, got ${maxStreams}`);
    return new StreamModels(await loadTf(backend), backend, maxStreams);
  }

  get size(): number {
    return this.models.size;
  }

  /** The stream's model, made fresh if it has none. */
  get(stream: string): OnlineForecaster {
    let model = this.models.get(stream);
    if (model !== undefined) {
      // Most recently used goes last; skip the re-insert when it already is (the common case).
      if (this.models.size > 1) {
        this.models.delete(stream);
        this.models.set(stream, model);
      }
      return model;
    }
    model = new OnlineForecaster(this.tf, this.options);
    this.models.set(stream, model);
    if (this.models.size > this.maxStreams) {
      const [oldest, dropped] = this.models.entries().next().value as [string, OnlineForecaster];
      this.models.delete(oldest);
      dropped.dispose();
      this.evicted++;
    }
    return model;
  }

  pack(): PackedModel[] {
    return [...this.models].map(([stream, model]) => {
      const s = model.snapshot();
      return {
        stream, options: s.options, rows: s.rows, steps: s.steps, params: float32Bytes(s.params), adamM: float32Bytes(s.adamM),
        adamV: float32Bytes(s.adamV), replayInputs: float32Bytes(s.replayInputs), replayTargets: float32Bytes(s.replayTargets),
      };
    });
  }

  /**
   * Restores packed models, least recently used first, as pack() wrote them. A model packed with
   * other options (lags, schedule: a changed release) cannot resume: its stream starts a fresh one.
   */
  restore(packed: readonly PackedModel[]): void {
    for (const p of packed) {
      if ((Object.keys(this.options) as (keyof ForecasterOptions)[]).some((k) => k !== "backend" && p.options[k] !== this.options[k])) continue;
      const snapshot: ForecasterSnapshot = {
        version: 1, options: p.options, rows: p.rows, steps: p.steps, params: readFloat32s(p.params), adamM: readFloat32s(p.adamM),
        adamV: readFloat32s(p.adamV), replayInputs: readFloat32s(p.replayInputs), replayTargets: readFloat32s(p.replayTargets),
      };
      this.get(p.stream).restore(snapshot);
    }
  }

  /** Frees every model's tensors (an actor restart builds a new set). */
  dispose(): void {
    for (const model of this.models.values()) model.dispose();
    this.models.clear();
  }
}
