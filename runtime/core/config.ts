/**
 * One validated, frozen configuration object, built once at start-up from four layers:
 * defaults < config file (JSON) < environment < command-line flags. Every field is declared
 * once (type, default, env name, flag, bounds, description); a bad value is rejected with a
 * ConfigError naming the field and the layer it came from. Only the composition root reads
 * the environment: it passes a lookup function in.
 */
import { ConfigError } from "./errors.ts";

export type FieldSpec =
  | { type: "string"; default: string; pattern?: RegExp; optional?: boolean; description: string; env?: string; flag?: string }
  | { type: "int" | "number"; default: number; min?: number; max?: number; description: string; env?: string; flag?: string }
  | { type: "boolean"; default: boolean; description: string; env?: string; flag?: string }
  | { type: "enum"; default: string; values: readonly string[]; description: string; env?: string; flag?: string }
  | { type: "list"; default: readonly string[]; values?: readonly string[]; description: string; env?: string; flag?: string }
  | { type: "map"; default: Record<string, number>; description: string; env?: string; flag?: string };

export type ConfigSpec = Record<string, FieldSpec>;

type ValueOf<F extends FieldSpec> = F extends { type: "int" | "number" }
  ? number
  : F extends { type: "boolean" }
    ? boolean
    : F extends { type: "list" }
      ? readonly string[]
      : F extends { type: "map" }
        ? Readonly<Record<string, number>>
        : string;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: ValueOf<S[K]> };

export interface ConfigSources {
  file?: Record<string, unknown>;
  env?: (name: string) => string | undefined;
  flags?: Record<string, string | boolean>;
}

/** Parses and checks one value; `fromText` when it came from env or flags. */
function coerce(field: string, spec: FieldSpec, raw: unknown, origin: string): unknown {
  const fail = (expected: string): never => {
    throw new ConfigError(field, `expected ${expected}, got ${JSON.stringify(raw)} (from ${origin})`);
  };
  const text = typeof raw === "string";
  switch (spec.type) {
    case "string": {
      if (spec.optional && raw === "") return raw; // "" = not set
      if (typeof raw !== "string" || raw === "") fail("a non-empty string");
      if (spec.pattern && !spec.pattern.test(raw as string)) fail(`a string matching ${spec.pattern}`);
      return raw;
    }
    case "int":
    case "number": {
      const n = text ? Number(raw) : raw;
      const kind = spec.type === "int" ? "an integer" : "a number";
      if (typeof n !== "number" || !Number.isFinite(n) || (text && (raw as string).trim() === "")) fail(kind);
      if (spec.type === "int" && !Number.isInteger(n)) fail(kind);
      if (spec.min !== undefined && (n as number) < spec.min) fail(`${kind} ≥ ${spec.min}`);
      if (spec.max !== undefined && (n as number) > spec.max) fail(`${kind} ≤ ${spec.max}`);
      return n;
    }
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      return fail("true or false");
    }
    case "enum": {
      if (typeof raw !== "string" || !spec.values.includes(raw)) fail(`one of ${spec.values.join(", ")}`);
      return raw;
    }
    case "list": {
      const list = text ? (raw as string).split(",").map((s) => s.trim()).filter(Boolean) : raw;
      if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) fail("a list of strings");
      for (const item of list as string[]) {
        if (spec.values && !spec.values.includes(item)) fail(`items from ${spec.values.join(", ")}`);
      }
      return Object.freeze([...(list as string[])]);
    }
    case "map": {
      let value = raw;
      if (text) {
        // "a=1,b=2" on the command line or in the environment
        value = {};
        for (const part of (raw as string).split(",").filter(Boolean)) {
          const [k, v] = part.split("=");
          if (!k || v === undefined) fail("name=number pairs separated by commas");
          (value as Record<string, unknown>)[k!.trim()] = Number(v);
        }
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) fail("an object of numbers");
      for (const v of Object.values(value as object)) {
        if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail("an object of positive numbers");
      }
      return Object.freeze({ ...(value as Record<string, number>) });
    }
  }
}

export function loadConfig<S extends ConfigSpec>(spec: S, sources: ConfigSources = {}): ConfigOf<S> {
  const file = sources.file ?? {};
  for (const key of Object.keys(file)) {
    if (!(key in spec)) throw new ConfigError(key, `unknown setting in config file (known: ${Object.keys(spec).join(", ")})`);
  }
  const flagToField = new Map<string, string>();
  for (const [field, f] of Object.entries(spec)) if (f.flag) flagToField.set(f.flag, field);
  for (const flag of Object.keys(sources.flags ?? {})) {
    if (!flagToField.has(flag)) throw new ConfigError(`--${flag}`, "unknown option (see --help)");
  }
  const out: Record<string, unknown> = {};
  for (const [field, f] of Object.entries(spec)) {
    let value: unknown = f.type === "list" || f.type === "map" ? coerce(field, f, f.default, "default") : f.default;
    if (field in file) value = coerce(field, f, file[field], "config file");
    const envValue = f.env ? sources.env?.(f.env) : undefined;
    if (envValue !== undefined && (envValue !== "" || (f.type === "string" && f.optional))) value = coerce(field, f, envValue, `env ${f.env}`);
    const flagValue = f.flag ? sources.flags?.[f.flag] : undefined;
    if (flagValue !== undefined) value = coerce(field, f, flagValue, `--${f.flag}`);
    out[field] = value;
  }
  return Object.freeze(out) as ConfigOf<S>;
}

/** A Markdown table of every setting (README and --help stay true to the code). */
export function describeConfig(spec: ConfigSpec): { field: string; flag: string; env: string; default: string; description: string }[] {
  return Object.entries(spec).map(([field, f]) => ({
    field,
    flag: f.flag ? `--${f.flag}` : "",
    env: f.env ?? "",
    default: f.type === "map" ? JSON.stringify(f.default) : Array.isArray(f.default) ? f.default.join(",") : f.type === "string" && f.optional && f.default === "" ? "(unset)" : String(f.default),
    description: f.description,
  }));
}

/** Option checks shared by components that validate their own options (transports). */
export function positive(field: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new ConfigError(field, `must be a positive number, got ${value}`);
  return value;
}

export function nonNegative(field: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new ConfigError(field, `must be a non-negative number, got ${value}`);
  return value;
}
