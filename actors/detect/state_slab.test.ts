import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectorConfig, newKeyState, observe, type KeyState } from "./detector.ts";
import { BLOCK_SLOTS, SLOT_WIDTH, StateSlab } from "./state_slab.ts";
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
  // Keys spread over blocks (the working slot is per block).
  const slots = Array.from({ length: 2 * BLOCK_SLOTS + 5 }, () => slab.acquire());
  for (let kind = 0; kind < 3; kind++) {
    const handle = slots[kind * BLOCK_SLOTS + kind]!;
    const plain = newKeyState();
    const random = mulberry32(kind + 1);
    for (let w = 0; w < 220; w++) {
      const { x, gap } = series(kind, w, random);
      const ts = T0 + w * HOUR;
      const a = observe(plain, x, config, gap, ts);
      const b = observe(slab.load(handle), x, config, gap, ts);
      slab.store(handle);
      assert.is(JSON.stringify(b), JSON.stringify(a), `window ${w} of kind ${kind}`);
    }
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
  observe(slab.load(a), 10, config, 0, T0);
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
  assert.is(slab.blocks().reduce((n, b) => n + b.length, 0), 3 * SLOT_WIDTH, "blocks hold the used slots, not the working one");
});

test.run();
