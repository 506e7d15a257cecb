/** The machine a bench ran on, printed first and included in the JSON result. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  node: string;
  os: string;
  arch: string;
  loadAverage1m: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    ramBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    loadAverage1m: os.loadavg()[0]!,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `machine: ${m.cpuModel}, ${m.cores} cores, ${(m.ramBytes / 2 ** 30).toFixed(1)} GiB RAM, Node ${m.node}, ${m.os} ${m.arch}, load ${m.loadAverage1m.toFixed(2)}`;
}

let clockTicks: number | undefined;
/** Kernel clock ticks per second (the unit of /proc CPU times). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU time every process on the machine has used since boot (ms, summed over cores), from
 * /proc/stat; undefined elsewhere. Benches subtract their own processes' share to show how
 * much other load competed with the measurement.
 */
export function machineBusyCpuMs(): number | undefined {
  try {
    const first = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).slice(1).map(Number);
    return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / ticksPerSecond();
  } catch {
    return undefined;
  }
}
