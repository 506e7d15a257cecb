/**
 * Validation results: issues located by JSON Pointer (RFC 6901) and the one error type of this
 * folder. Validators return issues (so a batch can report every bad field at once); callers
 * that want an exception use assertValid.
 */

export interface ValidationIssue {
  /** JSON Pointer relative to what was validated, e.g. `/events/3/tags/region`; "" = the value itself. */
  path: string;
  /** What was expected and what was found. */
  message: string;
}

/** Data that does not match its schema. `issues` says where and why. */
export class ValidationError extends Error {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[], options?: { cause?: unknown }) {
    super(summarize(issues), options);
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** A validator of one message body: empty result = valid. */
export type Validator = (x: unknown) => ValidationIssue[];

/** Returns `x` typed as `T` when `validate` finds no issue; throws ValidationError otherwise. */
export function assertValid<T>(validate: Validator, x: unknown): T {
  const issues = validate(x);
  if (issues.length > 0) throw new ValidationError(issues);
  return x as T;
}

function summarize(issues: ValidationIssue[]): string {
  if (issues.length === 0) return "invalid";
  const shown = issues.slice(0, 3).map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ");
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : "";
  return `${issues.length} validation issue${issues.length === 1 ? "" : "s"}: ${shown}${more}`;
}

/** Appends one reference token to a JSON Pointer, escaping `~` and `/` as RFC 6901 requires. */
export function pointer(base: string, token: string | number): string {
  if (typeof token === "number") return `${base}/${token}`;
  if (token.indexOf("~") === -1 && token.indexOf("/") === -1) return `${base}/${token}`;
  return `${base}/${token.replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

/** Names what was found, for "…, got X" messages. Strings are quoted and cut to stay readable. */
export function describe(x: unknown): string {
  switch (typeof x) {
    case "string":
      return x.length === 0 ? "an empty string" : `string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + "…" : x)}`;
    case "number":
      return Number.isFinite(x) ? `number ${x}` : String(x);
    case "boolean":
      return `boolean ${x}`;
    case "bigint":
      return `bigint ${x}`;
    case "undefined":
      return "undefined";
    case "object":
      if (x === null) return "null";
      if (Array.isArray(x)) return "array";
      if (x instanceof Uint8Array) return "Uint8Array";
      return "object";
    default:
      return typeof x;
  }
}

/** True for `{…}` literals, JSON.parse and MessagePack map output; false for arrays, class instances, null. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
