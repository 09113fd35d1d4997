/** Pieces every memoryless acting policy shares. */
import { UserError } from "../errors.js";
import type { ObsStats } from "../data/store.js";

/**
 * A raw observation as the network's input: z-scored with the checkpoint's statistics (as the training batches
 * were), or as is without them; one UserError line when its size is not the network's.
 */
export function networkInput(obs: Float32Array | Uint8Array, stats: ObsStats | null, obsDim: number): Float32Array {
  if (obs.length !== obsDim) throw new UserError(`policy: observation has ${obs.length} values, the network expects ${obsDim}`);
  return Float32Array.from({ length: obsDim }, (_, i) => (stats ? (obs[i] - stats.mean[i]) / stats.std[i] : obs[i]));
}
