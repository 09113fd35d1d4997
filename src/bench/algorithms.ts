/** `bench method`: each registered algorithm's own benchmark section, keyed by its name. */
import { ALGORITHM_NAMES, algorithm } from "../algorithms/registry.js";

export async function benchAlgorithms(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of ALGORITHM_NAMES) {
    const bench = algorithm(name).bench;
    if (bench) out[name] = await bench();
  }
  return out;
}
