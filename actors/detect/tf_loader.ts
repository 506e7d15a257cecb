/**
 * Lazy, process-wide loading of TensorFlow.js for the detect stage's forecaster. Importing
 * @tensorflow/tfjs costs ≈ 0.25 s on Node (bench/forecast.ts measures it), and processes that
 * do not detect (or run with `--detect-model off`) never need it, so nothing imports it until a
 * forecaster is created. The backend is a
 * TensorFlow.js engine setting (one per process): every forecaster in the process shares it.
 */
import type * as Tf from "@tensorflow/tfjs";

export type TfModule = typeof Tf;
export type ForecastBackend = "cpu" | "wasm";
export const forecastBackends: readonly ForecastBackend[] = ["cpu", "wasm"];

let tfLoading: Promise<TfModule> | undefined;
let wasmRegistered: Promise<void> | undefined;

/** Imports TensorFlow.js once and makes `backend` the active one; resolves to the module. */
export async function loadTf(backend: ForecastBackend): Promise<TfModule> {
  tfLoading ??= import("@tensorflow/tfjs").then(async (tf) => {
    // Not tf.ready(): it initialises the best registered backend, webgl, first, which fails
    // here (no GPU) and, in a worker thread (the stages thread on Deno), prints its stack traces.
    await tf.setBackend("cpu");
    silenceNodeBackendBanner(tf);
    return tf;
  });
  const tf = await tfLoading;
  if (backend === "wasm") {
    wasmRegistered ??= registerWasm();
    await wasmRegistered;
  }
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new Error(`TensorFlow.js backend "${backend}" failed to initialise`);
  }
  return tf;
}

/**
 * The cpu backend prints a "looks like you are running TensorFlow.js in Node.js ... install
 * tfjs-node" banner on its first tensor write whenever the IS_NODE flag is set (Deno sets it
 * too). tfjs-node cannot be installed here (it downloads libtensorflow), so the advice is
 * noise. The banner is the only thing gated on the cpu backend's first write, so that one
 * write runs with IS_NODE off and the flag is restored at once; tf.enableProdMode() would
 * also silence it but hides every other TensorFlow.js warning.
 */
function silenceNodeBackendBanner(tf: TfModule): void {
  const env = tf.env();
  const isNode = env.getBool("IS_NODE");
  if (!isNode) return;
  if (tf.getBackend() !== "cpu") return;
  env.set("IS_NODE", false);
  try {
    tf.tensor1d([0]).dispose();
  } finally {
    env.set("IS_NODE", isNode);
  }
}

/**
 * Registers the WebAssembly backend with its .wasm files read from the installed package
 * (no network). Node's emscripten loader reads a file path; Deno's fetches a file: URL.
 */
async function registerWasm(): Promise<void> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const dist = new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  const isDeno = "Deno" in globalThis;
  wasm.setWasmPaths(isDeno ? dist.href : decodeURIComponent(dist.pathname));
}
