/**
 * Tags in a batch are checked and copied with interning (copyTags with a trie, and its fast
 * path for the batch's first tag names): the result must be what checking each event alone
 * gives, and equal tags (same names in the same order, same values of the same types) must
 * share one copy while different ones never do.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseEvent, parseEventColumns } from "./event.ts";
import { mulberry32 } from "../test/helpers/random.ts";

const receivedAt = Date.UTC(2026, 10, 22, 12);

const pool: unknown[] = [
  { region: "eu", device: "mobile", beta: true },
  { region: "eu", device: "mobile", beta: false },
  { region: "us", device: "mobile", beta: true },
  { region: "eu", device: "desktop", beta: true },
  { region: "eu", device: "mobile", beta: 1 }, // 1 is not true: another set
  { region: "eu", device: "mobile", beta: "true" },
  { device: "mobile", region: "eu", beta: true }, // same pairs, other order: another set
  { region: "eu", device: "mobile" }, // a prefix of the shape
  { region: "eu", device: "mobile", beta: true, extra: 2 }, // the shape and more
  { region: "eu", "bad name": "mobile", beta: true }, // invalid name in the shape's place
  { region: "eu", device: null, beta: true }, // invalid value
  { region: "eu", device: "x".repeat(300), beta: true }, // value too long
  { region: "eu", device: Number.NaN, beta: true },
  {},
  JSON.parse('{"region":"eu","__proto__":"odd","beta":true}'),
  JSON.parse('{"region":"eu","__proto__":"odd","beta":true}'),
  Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`t${i}`, i])), // too many
  "not an object",
];

/** The identity of a tag set for sharing: names in order with typed values. */
function identity(tags: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(tags).map((k) => [k, typeof tags[k], tags[k]]));
}

test("tags interned in a batch: the same result as each event alone; equal tags share one copy, different ones never do", () => {
  const random = mulberry32(7);
  for (let round = 0; round < 400; round++) {
    const n = 2 + Math.floor(random() * 30);
    // Mostly one shape, as producers send; sometimes the batch starts with an odd one.
    const events = Array.from({ length: n }, (_, i) => {
      const pick = random() < 0.6 && !(i === 0 && random() < 0.3) ? Math.floor(random() * 4) : Math.floor(random() * pool.length);
      const tags = pool[pick];
      return { key: `k${i}`, tags: typeof tags === "object" && tags !== null ? { ...tags } : tags };
    });
    const { columns, invalid } = parseEventColumns(events, { receivedAt });
    const alone = events.map((e, i) => parseEvent(e, { receivedAt, path: `/${i}` }));
    assert.equal(invalid.map((x) => x.index), alone.flatMap((r, i) => (r.ok ? [] : [i])), "the same events are invalid");
    assert.equal(invalid.map((x) => x.issues), alone.flatMap((r) => (r.ok ? [] : [r.issues])), "with the same issues");
    const valid = alone.flatMap((r) => (r.ok ? [r.event] : []));
    assert.is(columns.length, valid.length);
    const tagsAt = (j: number) => columns.tags?.[j] ?? undefined;
    for (let j = 0; j < valid.length; j++) assert.equal(tagsAt(j), valid[j]!.tags, `event ${j}'s tags`);
    for (let a = 0; a < valid.length; a++) {
      for (let b = a + 1; b < valid.length; b++) {
        const ta = tagsAt(a);
        const tb = tagsAt(b);
        if (ta === undefined || tb === undefined) continue;
        assert.is(ta === tb, identity(ta) === identity(tb), `events ${a} and ${b}: ${identity(ta)} / ${identity(tb)}`);
      }
    }
    for (const [j, e] of events.entries()) if (typeof e.tags === "object" && e.tags !== null) assert.ok(!Object.is(e.tags, tagsAt(j)), "a copy, never the input");
  }
});

test("the __proto__ tag name is copied as a property, not as the prototype, on the fast path too", () => {
  const tags = JSON.parse('{"region":"eu","__proto__":"odd"}');
  const { columns } = parseEventColumns([{ key: "a", tags }, { key: "b", tags: JSON.parse('{"region":"eu","__proto__":"odd"}') }], { receivedAt });
  const copy = columns.tags![1]!;
  assert.is(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal(Object.keys(copy), ["region", "__proto__"]);
  assert.is(columns.tags![0], copy, "shared");
});

test.run();
