/**
 * Partition ownership: instance `index` of `count` owns every partition p with
 * p % count === index — fixed, so no coordination is needed, and an instance restarted by the
 * scheduler (same index) takes back exactly its partitions.
 */
export function ownedPartitions(index: number, count: number, partitions: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`instances must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`instance must be in 0..${count - 1}, got ${index}`);
  const owned: number[] = [];
  for (let p = index; p < partitions; p += count) owned.push(p);
  return owned;
}

/**
 * Subject filters and consumer groups covering `owned` partitions of `prefix`: one wildcard
 * consumer when all are owned, else one consumer per partition (group `<group>-p<n>`), so
 * partitions move between instances without sharing a consumer.
 */
export function partitionInputs(prefix: string, owned: number[], partitions: number, group: string): { filter: string; group: string }[] {
  if (owned.length === partitions) return [{ filter: `${prefix}.>`, group }];
  return owned.map((p) => ({ filter: `${prefix}.${p}`, group: `${group}-p${p}` }));
}
