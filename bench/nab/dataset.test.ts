/** loadNab on a tiny NAB-shaped temp directory (never the real DEV data), and splitHalves. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadNab, splitHalves } from "./dataset.ts";
import { makeTempDir, removeDir } from "../../test/helpers/tmp.ts";

/** `rows` rows at 5-minute steps from 2020-01-01 00:00:00, in NAB's CSV format. */
function csv(rows: number): string {
  const lines = ["timestamp,value"];
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2020, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace("T", " ");
    lines.push(`${t},${i}`);
  }
  return lines.join("\n") + "\n";
}

async function nabDir(labels: Record<string, [string, string][]>, rows: Record<string, number>): Promise<string> {
  const dir = await makeTempDir("tw-nab-");
  await mkdir(join(dir, "labels"));
  await writeFile(join(dir, "labels", "combined_windows.json"), JSON.stringify(labels));
  for (const [name, n] of Object.entries(rows)) {
    await mkdir(join(dir, "data", name.split("/")[0]!), { recursive: true });
    await writeFile(join(dir, "data", name), csv(n));
  }
  return dir;
}

test("loadNab matches each window's ends to row indices, files in name order", async () => {
  const dir = await nabDir(
    {
      "realB/two.csv": [
        ["2020-01-01 00:10:00.000000", "2020-01-01 00:20:00.000000"], // rows 2–4
        ["2020-01-01 01:00:00.000000", "2020-01-01 01:00:00.000000"], // row 12 alone
      ],
      "artificialA/one.csv": [],
    },
    { "realB/two.csv": 20, "artificialA/one.csv": 10 },
  );
  try {
    const files = loadNab(dir);
    assert.equal(files.map((f) => [f.name, f.category, f.rows.length]), [
      ["artificialA/one.csv", "artificialA", 10],
      ["realB/two.csv", "realB", 20],
    ]);
    assert.equal(files[0]!.windows, []);
    assert.equal(files[1]!.windows, [[2, 4], [12, 12]]);
    assert.is(files[1]!.rows[2]!.ts, Date.UTC(2020, 0, 1, 0, 10));
  } finally {
    await removeDir(dir);
  }
});

test("loadNab rejects a window end that is not a row timestamp, naming the file", async () => {
  const dir = await nabDir({ "realB/two.csv": [["2020-01-01 00:10:00.000000", "2020-01-01 00:12:00.000000"]] }, { "realB/two.csv": 20 });
  try {
    assert.throws(() => loadNab(dir), /realB\/two\.csv: window 2020-01-01 00:10:00\.000000 – 2020-01-01 00:12:00\.000000/);
  } finally {
    await removeDir(dir);
  }
});

test("splitHalves puts every category in both halves and no file in both", () => {
  // The DEV subset's shape: 5, 6, 7 and 6 files per category.
  const counts: Record<string, number> = { artificialNoAnomaly: 5, artificialWithAnomaly: 6, realKnownCause: 7, realAdExchange: 6 };
  const files = Object.entries(counts).flatMap(([category, n]) => Array.from({ length: n }, (_, i) => ({ name: `${category}/f${i}.csv`, category })));
  const [a, b] = splitHalves(files);
  const names = (h: typeof files) => new Set(h.map((f) => f.name));
  assert.is(a.length + b.length, files.length);
  assert.ok([...names(a)].every((n) => !names(b).has(n)), "a file is in both halves");
  assert.equal(new Set([...names(a), ...names(b)]), names(files));
  for (const [category, n] of Object.entries(counts)) {
    const inA = a.filter((f) => f.category === category).length;
    const inB = b.filter((f) => f.category === category).length;
    assert.ok(inA > 0 && inB > 0, `${category} missing from a half`);
    assert.ok(Math.abs(inA - inB) <= 1 && inA + inB === n, `${category} split ${inA}/${inB}`);
  }
});

test.run();
