/**
 * An evaluation worker thread (started by evaluate.ts, which resolves this compiled file next to itself).
 *
 * On start it makes the environment and loads the policy from `workerData` (a `WorkerInit`), then says "ready";
 * each "run" message plays one episode with the seeds it carries and answers with the result. Any failure is sent
 * back as an "error" message (name, message, stack) so the parent can reject with a clear error; the parent
 * terminates the thread when the evaluation ends.
 */
import { parentPort, workerData } from "node:worker_threads";
import { makeEnv } from "../envs/registry.js";
import { loadPolicy } from "./policy.js";
import { runEpisode, type FromWorker, type ToWorker, type WorkerInit } from "./evaluate.js";

const port = parentPort;
if (port === null) throw new Error("worker.ts must run as a worker thread (started by evaluate())");

function send(msg: FromWorker): void {
  port!.postMessage(msg);
}

function sendError(index: number | null, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ type: "error", index, name: err.name, message: err.message, stack: err.stack });
}

const init = workerData as WorkerInit;
try {
  const env = await makeEnv(init.envId, init.envOptions);
  const policy = await loadPolicy(init.spec, { obsShape: [...env.observationSpace.shape], actDim: env.actionSpace.dim });
  port.on("message", (msg: ToWorker) => {
    try {
      send({ type: "result", result: runEpisode(env, policy, msg.index, msg.seeds, init.maxSteps) });
    } catch (e) {
      sendError(msg.index, e);
    }
  });
  send({ type: "ready" });
} catch (e) {
  sendError(null, e);
}
