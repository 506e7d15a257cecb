import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectorConfig, newKeyState, observe, type KeyState } from "./detector.ts";
import { BLOCK_SLOTS, HOT_WIDTH, StateSlab } from "./state_slab.ts";
import { SEASON_BUCKETS } from "./likelihood.ts";
import { LARGE_BINARY } from "../../runtime/codec/large_binaries.ts";
import { mulberry32 } from "../../test/helpers/random.ts";

const config = detectorConfig({ warmupWindows: 5 });
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);

/** Count-like, real-valued and gappy keys: every part of the state (long layer, seasonal profile, gaps) moves. */
function series(kind: number, w: number, random: () => number): { x: number; gap: number } {
  if (kind === 0) return { x: 20 + Math.floor(random() * 8) + (w === 150 ? 90 : 0), gap: 0 };
  if (kind === 1) return { x: 50 + 10 * Math.sin(w / 4) + random() - (w === 170 ? 30 : 0), gap: 0 };
  return { x: 3 + Math.floor(random() * 3), gap: w % 7 === 0 ? 2 : 0 };
}

test("a key's state in a slab slot scores bit for bit as a plain state, and reads back as one", () => {
  const slab = new StateSlab(2 * BLOCK_SLOTS + 8); // + 3 for the adopted copies
  const slots = Array.from({ length: 2 * BLOCK_SLOTS + 5 }, () => slab.acquire());
  // Two keys share a block (and its working slot), the third has one of its own; their windows
  // interleave, so whatever one leaves in the working slot must not leak into another.
  const handles = [slots[0]!, slots[1]!, slots[BLOCK_SLOTS + 2]!];
  const plains = handles.map(() => newKeyState());
  const randoms = handles.map((_, kind) => mulberry32(kind + 1));
  for (let w = 0; w < 330; w++) {
    for (let kind = 0; kind < 3; kind++) {
      const { x, gap } = series(kind, w, randoms[kind]!);
      // Kind 2 goes silent for 105 windows once (gap ≥ LEARN: its long layer starts afresh).
      const skip = kind === 2 && w === 250 ? 105 : gap;
      const ts = T0 + (w + (kind === 2 && w >= 250 ? 105 : 0)) * HOUR;
      const a = observe(plains[kind]!, x, config, skip, ts);
      const b = observe(slab.load(handles[kind]!, ts), x, config, skip, ts);
      slab.store(handles[kind]!);
      assert.is(JSON.stringify(b), JSON.stringify(a), `window ${w} of kind ${kind}`);
      if (skip >= 100) assert.is(plains[kind]!.long.n, 1, "the long gap reset kind 2's long layer");
    }
  }
  for (let kind = 0; kind < 3; kind++) {
    const handle = handles[kind]!;
    const plain = plains[kind]!;
    assert.equal(JSON.parse(JSON.stringify(handle)), JSON.parse(JSON.stringify(plain)));
    assert.equal(handle as KeyState, slab.adopt(plain) as KeyState, "deep equality compares the numbers");
    assert.is(handle.long.season.length, 168);
  }
});

test("slots: acquired fresh (equal to newKeyState), released and reused, bounded by capacity", () => {
  const slab = new StateSlab(3);
  const a = slab.acquire();
  const fresh = JSON.parse(JSON.stringify(newKeyState()));
  assert.equal(JSON.parse(JSON.stringify(a)), fresh);
  observe(slab.load(a, T0), 10, config, 0, T0);
  slab.store(a);
  assert.is(a.n, 1);
  slab.acquire();
  slab.acquire();
  assert.throws(() => slab.acquire(), RangeError);
  slab.release(a);
  assert.is(slab.used, 2);
  const again = slab.acquire();
  assert.is(again, a, "the freed slot");
  assert.equal(JSON.parse(JSON.stringify(again)), fresh, "reset on reuse");
  assert.is(slab.blocks().reduce((n, b) => n + b.length, 0), 3 * HOT_WIDTH, "state blocks hold the used slots, not the working one");
  assert.is(slab.profiles().reduce((n, b) => n + b.length, 0), 3 * SEASON_BUCKETS, "profile blocks: one profile a slot (none for the working one)");
});

test("a full block's state part and profile part are each large enough for the checkpoint encoder to write them uncopied", () => {
  assert.ok(BLOCK_SLOTS * HOT_WIDTH * 8 >= LARGE_BINARY, `${BLOCK_SLOTS * HOT_WIDTH * 8} bytes`);
  assert.ok(BLOCK_SLOTS * SEASON_BUCKETS * 8 >= LARGE_BINARY);
});

test.run();
