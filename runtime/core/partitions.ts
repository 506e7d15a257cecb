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
 * Subject filters and consumer groups covering `owned` partitions of `prefix`: one consumer per
 * partition (group `<group>-p<n>`), whatever the instance count, so the set of durable
 * consumers is the same for every deployment and partitions move between instances without
 * orphaning a consumer (which would pin messages under interest retention).
 */
export function partitionInputs(prefix: string, owned: number[], group: string): { filter: string; group: string }[] {
  return owned.map((p) => ({ filter: `${prefix}.${p}`, group: `${group}-p${p}` }));
}
