/**
 * Subject helpers of the in-process transport: which streams a consume filter reaches, whether
 * a publish subject is well formed, and turning names into safe file names.
 */

/** True when some subject matches both NATS-style filters `a` and `b`. */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; ; i++) {
    if (x[i] === ">") return y.length > i;
    if (y[i] === ">") return x.length > i;
    if (i >= x.length || i >= y.length) return x.length === y.length;
    if (x[i] !== y[i] && x[i] !== "*" && y[i] !== "*") return false;
  }
}

/** A publishable subject: non-empty tokens, no wildcards. */
export function isLiteralSubject(subject: string): boolean {
  if (subject === "") return false;
  for (const token of subject.split(".")) {
    if (token === "" || token === "*" || token === ">" || /\s/.test(token)) return false;
  }
  return true;
}

/** A filter: non-empty tokens, `>` only last. */
export function isValidFilter(filter: string): boolean {
  if (filter === "") return false;
  const tokens = filter.split(".");
  return tokens.every((t, i) => t !== "" && !/\s/.test(t) && (t !== ">" || i === tokens.length - 1));
}

/** Letters, digits, `_` and `-` stay; every other byte becomes `%XX`: no `/`, no `..`. */
export function fileSafe(name: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
