/** Prints a CPU profile summary (see cpuprofile.ts): top self-time functions, then time by area. */
import type { ProfileSummary } from "./cpuprofile.ts";
import { formatTable } from "./table.ts";

export function printProfile(p: ProfileSummary): void {
  console.log(`\nCPU profile ${p.file}: ${(p.wallMs / 1000).toFixed(1)} s wall, main thread busy ${(p.busyMs / 1000).toFixed(1)} s, idle ${(p.idleMs / 1000).toFixed(1)} s`);
  console.log(
    formatTable(
      ["self ms", "share of busy", "function", "location", "area"],
      p.top.map((h) => [h.selfMs.toFixed(0), `${(h.share * 100).toFixed(1)} %`, h.function, h.location, h.area]),
      [true, true, false, false, false],
    ),
  );
  console.log("\nOur functions by inclusive time (which stage the time above is spent for):");
  console.log(
    formatTable(
      ["incl. ms", "share of busy", "function", "location"],
      p.ours.map((h) => [h.selfMs.toFixed(0), `${(h.share * 100).toFixed(1)} %`, h.function, h.location]),
      [true, true, false, false],
    ),
  );
  console.log("");
  console.log(
    formatTable(
      ["area", "self ms", "share of busy"],
      p.areas.slice(0, 20).map((a) => [a.area, a.selfMs.toFixed(0), `${(a.share * 100).toFixed(1)} %`]),
      [false, true, true],
    ),
  );
}
