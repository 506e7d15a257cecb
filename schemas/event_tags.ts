/**
 * Event tags: checking a producer's tags and copying them, interned per batch so that events
 * with equal tags share one copy. The messages for bad tags are built only when asked for
 * (tagIssues), after copyTags refused them: valid tags, the common case, cost no strings.
 */
import { describe, isPlainObject, pointer, type ValidationIssue } from "./issues.ts";
import type { EventLimits } from "./event.ts";
import type { TagValue } from "./types.ts";
import { utf8ByteLength } from "./utf8.ts";

const TAG_NAME = /^[A-Za-z0-9_.:-]+$/;

/**
 * Tag names seen valid, so the pattern runs once per distinct name rather than once per tag
 * (producers reuse a handful of names). Bounded: cleared when full.
 */
const knownTagNames = new Set<string>();
const MAX_KNOWN_TAG_NAMES = 4096;

function validTagName(name: string, limits: EventLimits): boolean {
  if (name.length === 0 || name.length > limits.maxTagNameLength) return false;
  if (knownTagNames.has(name)) return true;
  if (!TAG_NAME.test(name)) return false;
  if (knownTagNames.size >= MAX_KNOWN_TAG_NAMES) knownTagNames.clear();
  knownTagNames.add(name);
  return true;
}

/**
 * Tag sets already copied in one batch, as a trie over their (name, value) pairs in order, so
 * that equal tags (same names in the same order, same values of the same types) get one shared
 * copy: events of a batch mostly repeat a few tag sets, and a shared copy costs no allocation
 * here and is written once per batch downstream (event_batch.ts).
 */
export interface TagNode {
  next: Map<string, Map<TagValue, TagNode>> | undefined;
  tags: Record<string, TagValue> | undefined;
  /**
   * The root's: the tag names, in order, of the batch's first valid tags, and a trie over the
   * values alone for tags with exactly those names (see copyTagsOfShape).
   */
  shape?: { names: string[]; root: ValueNode };
}

/** A trie node over tag values, for one shape's tags. */
interface ValueNode {
  next: Map<TagValue, ValueNode> | undefined;
  tags: Record<string, TagValue> | undefined;
}

export function newTagNode(): TagNode {
  return { next: undefined, tags: undefined };
}

/** copyTagsOfShape's answer for tags whose names are not the batch's shape. */
const OTHER_SHAPE = Symbol("other shape");

/**
 * copyTags for the common case: a batch's events carry the same tag names in the same order
 * (producers build them alike, and JSON.parse gives them one hidden class). The names are
 * checked once per batch, when the shape is taken from its first valid tags; after that an
 * event's tags cost a comparison per name and a trie step per value (half the lookups of the
 * general trie, and no name check: a JSON batch of 1000 events with 3 tags each, 152 → ~110 ns
 * an event in parseEventColumns). Equal tags share one copy as in the general trie: equal tags
 * have equal names in the same order, so they always take the same path.
 */
function copyTagsOfShape(x: Record<string, unknown>, limits: EventLimits, seen: TagNode): Record<string, TagValue> | undefined | typeof OTHER_SHAPE {
  let shape = seen.shape;
  if (shape === undefined) {
    const names: string[] = [];
    for (const name in x) {
      if (names.length >= limits.maxTags || !validTagName(name, limits)) return OTHER_SHAPE; // the general path says why
      names.push(name);
    }
    shape = seen.shape = { names, root: { next: undefined, tags: undefined } };
  }
  const names = shape.names;
  let node = shape.root;
  let i = 0;
  for (const name in x) {
    if (i >= names.length || names[i] !== name) return OTHER_SHAPE;
    const v = x[name];
    if (!validTagValue(v, limits)) return undefined;
    const next = (node.next ??= new Map());
    let child = next.get(v as TagValue);
    if (child === undefined) next.set(v as TagValue, (child = { next: undefined, tags: undefined }));
    node = child;
    i++;
  }
  if (i !== names.length) return OTHER_SHAPE;
  return (node.tags ??= copyOf(x));
}

function validTagValue(v: unknown, limits: EventLimits): boolean {
  if (typeof v === "string") return !(v.length * 3 > limits.maxTagValueBytes && utf8ByteLength(v) > limits.maxTagValueBytes);
  return typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

function copyOf(x: Record<string, unknown>): Record<string, TagValue> {
  const out: Record<string, TagValue> = {};
  for (const name in x) {
    // -0 as 0: the tries above (Maps) take them for one value, so which an event got depended on
    // which came first in its batch; and JSON and MessagePack write both as 0 anyway.
    const v = x[name] === 0 ? 0 : (x[name] as TagValue);
    // "__proto__" is a legal tag name; plain assignment would set the prototype instead.
    if (name === "__proto__") Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
    else out[name] = v;
  }
  return out;
}

/**
 * Copies that checkedTagsCopy made, by the limits they were checked under: a body reader keeps
 * them and hands the validator the same copy for every event with the same tags
 * (json_events.ts finds them by their bytes), and copyTags returns it as it is.
 */
const checkedTags = new WeakMap<object, EventLimits>();

/** copyTags without a batch's trie, the copy frozen and known to copyTags as checked under `limits`. */
export function checkedTagsCopy(x: unknown, limits: EventLimits): Readonly<Record<string, TagValue>> | undefined {
  const copy = copyTags(x, limits, undefined);
  if (copy === undefined) return undefined;
  checkedTags.set(Object.freeze(copy), limits);
  return copy;
}

/**
 * A copy of valid tags (never aliasing the input), or undefined if anything is wrong (see
 * tagIssues). With `seen`, tags equal to ones copied before get that earlier copy. A copy
 * from checkedTagsCopy under the same limits comes back as it is.
 */
export function copyTags(x: unknown, limits: EventLimits, seen: TagNode | undefined): Record<string, TagValue> | undefined {
  if (!isPlainObject(x)) return undefined;
  if (checkedTags.get(x) === limits) return x as Record<string, TagValue>;
  if (seen !== undefined) {
    const shaped = copyTagsOfShape(x, limits, seen);
    if (shaped !== OTHER_SHAPE) return shaped;
  }
  let count = 0;
  let node = seen;
  // for-in rather than Object.keys: no array per event (x is a plain object, see isPlainObject).
  for (const name in x) {
    if (++count > limits.maxTags) return undefined;
    if (!validTagName(name, limits)) return undefined;
    const v = x[name];
    if (!validTagValue(v, limits)) return undefined;
    if (node !== undefined) {
      const next = (node.next ??= new Map());
      let byValue = next.get(name);
      if (byValue === undefined) next.set(name, (byValue = new Map()));
      let child = byValue.get(v as TagValue);
      if (child === undefined) byValue.set(v as TagValue, (child = newTagNode()));
      node = child;
    }
  }
  if (node?.tags !== undefined) return node.tags;
  const out = copyOf(x);
  if (node !== undefined) node.tags = out;
  return out;
}

/** Appends the issues of tags copyTags refused. */
export function tagIssues(x: unknown, path: string, limits: EventLimits, issues: ValidationIssue[]): void {
  if (!isPlainObject(x)) {
    issues.push({ path, message: `expected an object of at most ${limits.maxTags} tags, got ${describe(x)}` });
    return;
  }
  const names = Object.keys(x);
  if (names.length > limits.maxTags) {
    // Checking each of an unbounded number of tags would only repeat the point.
    issues.push({ path, message: `expected at most ${limits.maxTags} tags, got ${names.length}` });
    return;
  }
  for (const name of names) {
    if (issues.length >= limits.maxIssuesPerEvent) break;
    if (!validTagName(name, limits)) {
      const found = name.length > limits.maxTagNameLength ? `${name.length} characters` : describe(name);
      issues.push({ path: pointer(path, name), message: `expected a tag name of 1..${limits.maxTagNameLength} characters [A-Za-z0-9_.:-], got ${found}` });
      continue;
    }
    const v = x[name];
    if (typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) continue;
    if (typeof v === "string") {
      const bytes = utf8ByteLength(v);
      if (bytes > limits.maxTagValueBytes) {
        issues.push({ path: pointer(path, name), message: `expected a tag value of at most ${limits.maxTagValueBytes} UTF-8 bytes, got ${bytes} bytes` });
      }
      continue;
    }
    issues.push({ path: pointer(path, name), message: `expected a tag value that is a string, a finite number or a boolean, got ${describe(v)}` });
  }
}
