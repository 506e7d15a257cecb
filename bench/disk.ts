/**
 * `npm run bench -- disk`: the Node adapter's two file systems side by side, buffered
 * (`nodeFileSystem`) and O_DIRECT (`nodeDirectFileSystem`, what `--direct-io auto` gives the
 * data directory; README, Disk writes), through the product's own calls:
 *
 * (1) Whole files: `--files` objects of `--mb` MB in all, each `--parts` parts (an archive object
 * of request bodies), written with writeFileAtomic and synced, after `--pause` seconds idle (on a
 * VM whose host takes back free guest memory, pages freed long enough ago fault in the host
 * when touched again: the cost this measures). Buffered and direct alternate, `--rounds` each;
 * the files are removed after each round. Reported: wall time, and the machine's kernel CPU
 * (/proc/stat, all processes: writeback runs in kernel threads) and this process's CPU.
 * (2) Synced appends: `--appends` appends of `--append-bytes` each to one log segment
 * (openAppend, blocking, as the stages thread's log), each followed by a sync: µs per append
 * (median and p99) and CPU per append.
 *
 * Prints the machine, the tables and, last, one JSON object.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describeMachine, machineInfo, ticksPerSecond } from "./machine.ts";
import { formatTable } from "./table.ts";
import { BenchUsageError, intFlag, secondsFlag } from "./flags.ts";
import { nodeDirectFileSystem, nodeFileSystem } from "../runtime/platform/node.ts";
import type { FileSystem } from "../runtime/platform/platform.ts";
import { directIoStats } from "../runtime/platform/node_direct_io.ts";

export const diskHelp = `Usage: npm run bench -- disk [options]

Buffered vs O_DIRECT writes through the Node adapter's file systems (nodeFileSystem,
nodeDirectFileSystem): whole synced files after a pause, and synced small appends.

Options:
  --dir <path>          where to write (default: a new directory under the OS temp dir; use the
                        data directory's file system to measure it)
  --mb 860              MB written per round of whole files
  --files 10            files per round (each --mb / --files MB)
  --parts 1000          parts per file (written with one writeFileAtomic call)
  --rounds 2            rounds per file system, alternating
  --pause 20            seconds idle before each round
  --appends 2000        synced appends per file system
  --append-bytes 2500   bytes per append
`;

const known = ["dir", "mb", "files", "parts", "rounds", "pause", "appends", "append-bytes"];

/** Kernel (system) CPU of every process on the machine since boot, ms; undefined off Linux. */
function machineKernelCpuMs(): number | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/);
    return (Number(fields[3]) * 1000) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

interface WholeRound {
  fs: string;
  round: number;
  wallMs: number;
  machineKernelMs: number | undefined;
  processCpuMs: number;
  /** Files of the round opened with O_DIRECT (0 where the file system refused it: then both rows are buffered). */
  directFiles: number;
}

interface AppendResult {
  fs: string;
  appends: number;
  medianUs: number;
  p99Us: number;
  cpuUsPerAppend: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function wholeFiles(fs: FileSystem, dir: string, files: number, parts: Uint8Array[]): Promise<Omit<WholeRound, "fs" | "round">> {
  const opens0 = directIoStats().directOpens;
  const kernel0 = machineKernelCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < files; i++) await fs.writeFileAtomic(join(dir, `object-${i}.msgpack`), parts, { sync: true });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const kernel1 = machineKernelCpuMs();
  return { wallMs, machineKernelMs: kernel0 === undefined || kernel1 === undefined ? undefined : kernel1 - kernel0, processCpuMs: (cpu.user + cpu.system) / 1000, directFiles: directIoStats().directOpens - opens0 };
}

async function appends(fs: FileSystem, path: string, n: number, bytes: number): Promise<Omit<AppendResult, "fs">> {
  const file = await fs.openAppend(path, { blocking: true });
  const chunk = new Uint8Array(bytes).fill(97);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await file.write([chunk]);
      await file.sync();
      times.push((performance.now() - t0) * 1000);
    }
  } finally {
    await file.close();
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { appends: n, medianUs: times[Math.floor(n / 2)]!, p99Us: times[Math.min(n - 1, Math.floor(n * 0.99))]!, cpuUsPerAppend: (cpu.user + cpu.system) / n };
}

export async function diskBench(flags: Record<string, string | boolean>): Promise<void> {
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new BenchUsageError(`unknown option --${name}`);
  const mb = intFlag(flags, "mb", 860, 1);
  const files = intFlag(flags, "files", 10, 1);
  const partsPerFile = intFlag(flags, "parts", 1000, 1);
  const rounds = intFlag(flags, "rounds", 2, 1);
  const pauseS = secondsFlag(flags, "pause", 20, 0);
  const appendCount = intFlag(flags, "appends", 2000, 1);
  const appendBytes = intFlag(flags, "append-bytes", 2500, 1);
  if (flags.dir !== undefined && typeof flags.dir !== "string") throw new BenchUsageError("--dir needs a path");
  const dir = mkdtempSync(join(typeof flags.dir === "string" ? flags.dir : tmpdir(), "trendwire-bench-disk-"));
  const machine = machineInfo();
  console.log(describeMachine(machine));
  console.log(`writing under ${dir}`);
  const systems: [string, FileSystem][] = [["buffered", nodeFileSystem], ["direct", nodeDirectFileSystem]];
  const partBytes = Math.max(1, Math.floor((mb * 1e6) / files / partsPerFile));
  const part = new Uint8Array(partBytes).map((_, i) => i % 251);
  const parts = Array.from({ length: partsPerFile }, () => part);
  const whole: WholeRound[] = [];
  const appended: AppendResult[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [name, fs] of round % 2 === 1 ? systems : [...systems].reverse()) {
        console.log(`round ${round}, ${name}: ${pauseS} s idle, then ${files} files of ${((partBytes * partsPerFile) / 1e6).toFixed(1)} MB`);
        await sleep(pauseS * 1000);
        whole.push({ fs: name, round, ...(await wholeFiles(fs, dir, files, parts)) });
        for (let i = 0; i < files; i++) rmSync(join(dir, `object-${i}.msgpack`), { force: true });
      }
    }
    for (const [name, fs] of systems) {
      console.log(`${name}: ${appendCount} synced appends of ${appendBytes} bytes`);
      appended.push({ fs: name, ...(await appends(fs, join(dir, `${name}.log`), appendCount, appendBytes)) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const totalMb = (partBytes * partsPerFile * files) / 1e6;
  console.log(`\nWhole files: ${files} × ${partsPerFile} parts of ${partBytes} bytes (${totalMb.toFixed(0)} MB) per round, written and synced after ${pauseS} s idle`);
  console.log(formatTable(
    ["file system", "round", "files O_DIRECT", "wall ms", "MB/s", "machine kernel CPU ms", "this process CPU ms"],
    whole.map((w) => [w.fs, w.round, `${w.directFiles} of ${files}`, w.wallMs.toFixed(0), (totalMb / (w.wallMs / 1000)).toFixed(0), w.machineKernelMs?.toFixed(0) ?? "–", w.processCpuMs.toFixed(0)]),
  ));
  console.log(`\nSynced appends of ${appendBytes} bytes (write, then sync, one after another, on this thread):`);
  console.log(formatTable(
    ["file system", "appends", "median µs", "p99 µs", "CPU µs per append"],
    appended.map((a) => [a.fs, a.appends, a.medianUs.toFixed(0), a.p99Us.toFixed(0), a.cpuUsPerAppend.toFixed(0)]),
  ));
  console.log(JSON.stringify({ bench: "disk", at: new Date().toISOString(), machine, config: { mb, files, parts: partsPerFile, partBytes, rounds, pauseS, appends: appendCount, appendBytes }, whole, appends: appended }));
}
