/**
 * Sweeps on a Redis queue (issue 16) against a real redis-server on a free loopback port, started here with a temp
 * folder and no persistence. Skipped with its reason where redis-server is not installed (.ci/run installs it).
 * CLAP_RL_QUEUE_LOCK_MS=2000 lowers BullMQ's lockDuration and stalled-check interval (30 s) so a killed worker's job is
 * handed out again in seconds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { queueStatus } from "../../src/cli/queue.js";
import { lockStep } from "../../src/cli/worker.js";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, cliAsync, manifestOf, scalars, tempDir } from "./helpers.js";

const HAS_REDIS = spawnSync("redis-server", ["--version"]).status === 0;
const FAST_LOCK = { CLAP_RL_QUEUE_LOCK_MS: "2000" };
const RUN = ["--preset", "tiny", "--set", "model.steps=300", "--set", "agent.steps=10", "--set", "train.checkpointEvery=10", "--set", "eval.every=0", "--set", "eval.maxSteps=20", "--set", "train.logEvery=5"];

test("lockStep: free, wait for a live owner here, take over only the lock of this job's stalled attempt elsewhere", () => {
  const alive = (pid: number) => pid === 1;
  assert.equal(lockStep(null, "a", null, alive), "free");
  assert.equal(lockStep({ pid: 1, host: "a" }, "a", null, alive), "wait");
  assert.equal(lockStep({ pid: 2, host: "a" }, "a", null, alive), "free", "a dead owner on this host: train takes the lock over");
  assert.equal(lockStep({ pid: 7, host: "b" }, "a", { host: "b", worker: 6, pid: 7 }, alive), "take-over");
  assert.equal(lockStep({ pid: 7, host: "b" }, "a", { host: "b", worker: 6, pid: 8 }, alive), "refuse");
  assert.equal(lockStep({ pid: 7, host: "b" }, "a", 0, alive), "refuse", "a job never started has no attempt to take over from");
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child's stdout so far, kept as it arrives. */
function collect(child: ChildProcess): { text: string } {
  const out = { text: "" };
  child.stdout!.on("data", (d) => (out.text += String(d)));
  child.stderr!.on("data", (d) => (out.text += String(d)));
  return out;
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 90_000, context: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function modelStepOf(run: string): number {
  try {
    return (JSON.parse(readFileSync(join(run, "checkpoint", "state.json"), "utf8")) as { modelStep: number }).modelStep;
  } catch {
    return 0;
  }
}

const statusOf = (run: string) => (existsSync(join(run, "manifest.json")) ? manifestOf(run).status : undefined);

test(
  "a queued grid on two workers: one SIGKILLed mid-run, one stopped by Ctrl-C; every run finishes once with an uninterrupted run's metrics; a bad request fails without retries; enqueueing again adds nothing",
  { skip: HAS_REDIS ? false : "redis-server is not installed (apt-get install redis-server)", timeout: 240_000 },
  async (t) => {
    const dir = tempDir(t, "clap-rl-queue-");
    const port = await freePort();
    const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
    const redisOut = collect(redis);
    const workers: ChildProcess[] = [];
    t.after(() => {
      for (const w of workers) w.kill("SIGKILL");
      redis.kill("SIGKILL");
    });
    await until("redis-server to start", () => /Ready to accept connections/.test(redisOut.text), 20_000);
    const url = `redis://127.0.0.1:${port}/0`;

    const data = join(dir, "synth-a-medium.hdf5");
    await writeSyntheticD4rl(data, 11, 3);
    // Hopper-sized observations for halfcheetah: a request error that only the run itself finds.
    const bad = join(dir, "synth-bad-medium.hdf5");
    await writeSyntheticD4rl(bad, 11, 3);
    const enqueue = ["sweep", "--queue", url, "--datasets", data, "--seeds", "0-1", "--env", "hopper", ...RUN];
    const first = cli(enqueue);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /sweep: 2 of 2 runs added/);
    const second = cli(enqueue);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /sweep: 0 of 2 runs added/);
    assert.equal(second.stdout.match(/already in the queue \(waiting\)/g)?.length, 2, second.stdout);
    const other = cli([...enqueue.slice(0, -1), "train.logEvery=10"]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /2 run\(s\) are already queued with a different request, first synth-a-medium-clap-tiny-s0 \(queued with 'train\.logEvery=5', now 'train\.logEvery=10'\)/);
    assert.equal(cli(["sweep", "--queue", url, "--datasets", bad, "--seeds", "0", "--env", "halfcheetah", ...RUN]).code, 0);

    const notShared = join(dir, "a-file");
    writeFileSync(notShared, "");
    const refused = cli(["worker", "--queue", url, "--runs", join(notShared, "runs")]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^clap-rl: --runs '.*a-file\/runs': cannot take a run lock and rename a file there \(.*\); workers need a folder they all share/);

    // Uninterrupted references, trained alongside.
    const references = [0, 1].map((seed) => {
      const out = join(dir, `reference-s${seed}`);
      const child = cliAsync(["train", "--dataset", data, "--env", "hopper", "--seed", String(seed), ...RUN, "--out", out, "--quiet"]);
      return { out, done: new Promise<number | null>((r) => child.on("exit", r)) };
    });

    const runs = join(dir, "runs");
    const startWorker = (...extra: string[]) => {
      const w = cliAsync(["worker", "--queue", url, "--runs", runs, ...extra], FAST_LOCK);
      workers.push(w);
      return { w, out: collect(w), exit: new Promise<number | null>((r) => w.on("exit", (code) => r(code))) };
    };
    const started = (o: { text: string }) => /\[start \] (\S+)/.exec(o.text)?.[1];
    const a = startWorker();
    const b = startWorker();
    const runA = join(runs, await until("worker A's run", () => started(a.out)));
    const runB = join(runs, await until("worker B's run", () => started(b.out)));
    assert.notEqual(runA, runB);

    const logOf = (run: string) => readFileSync(join(runs, "logs", `${run.split("/").pop()}.log`), "utf8");
    await until("a checkpoint in worker A's run", () => modelStepOf(runA) >= 20, 90_000, () => a.out.text + logOf(runA));
    await until("a checkpoint in worker B's run", () => modelStepOf(runB) >= 20, 90_000, () => b.out.text + logOf(runB));
    // In-process (the CLI's start-up would take longer than the tiny run has left on a busy machine).
    const status = async () => {
      const lines: string[] = [];
      await queueStatus(url, (l) => lines.push(l));
      return lines.join("\n");
    };
    const runningB = new RegExp(`running  ${runB.split("/").pop()}: on ${hostname()} \\(worker ${b.w.pid}, run pid \\d+\\), model step \\d+`);
    let shown = "";
    const deadline = Date.now() + 60_000;
    while (!runningB.test((shown = await status())) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(shown, runningB);
    assert.equal(statusOf(runA), "running");
    a.w.kill("SIGKILL");
    b.w.kill("SIGINT");
    // A's train child, orphaned, stops after a checkpoint instead of training beside the worker that takes the job.
    await until("the orphaned run to stop", () => statusOf(runA) === "stopped", 30_000, () => logOf(runA));
    assert.match(logOf(runA), /the worker that started this run is gone: saving a checkpoint/);
    assert.equal(await b.exit, 130, b.out.text);
    assert.match(b.out.text, /\[back  \] \S+: stopped after a checkpoint \(\d+ s\); returned to the queue/);
    assert.equal(statusOf(runB), "stopped");
    const between = cli(["sweep", "status", "--queue", url]).stdout;
    assert.match(between, new RegExp(`waiting  ${runB.split("/").pop()}\\n`), between);

    const c = startWorker("--concurrency", "2");
    const finalStatus = await until(
      "every job to finish",
      () => {
        const s = cli(["sweep", "status", "--queue", url]).stdout;
        return /2 done, 1 failed/.test(s) && s;
      },
      150_000,
    );
    c.w.kill("SIGINT");
    assert.equal(await c.exit, 130);
    assert.match(finalStatus, /failed   synth-bad-medium-clap-tiny-s0: --dataset .*synth-bad-medium\.hdf5 has observations of 11 values .* environment 'halfcheetah' has 17 .* \(after 1 attempt\(s\)\)/);
    assert.match(c.out.text, /\[FAILED\] synth-bad-medium-clap-tiny-s0: .* \(not retried: an error in the request/);
    assert.match(c.out.text, new RegExp(`\\[start \\] ${runA.split("/").pop()} \\(attempt 1 of 3, handed out again after its worker was lost \\(1×\\)\\)`));

    for (const [i, seed] of [0, 1].entries()) {
      const run = join(runs, `synth-a-medium-clap-tiny-s${seed}`);
      assert.match(finalStatus, new RegExp(`done     synth-a-medium-clap-tiny-s${seed}: score -?[\\d.]+ ± [\\d.]+`));
      const m = manifestOf(run);
      assert.equal(m.status, "done");
      assert.equal(m.resumes.length, 1, `${run} was continued once from its checkpoint`);
      assert.equal(await references[i].done, 0);
      assert.deepEqual(scalars(run), scalars(references[i].out), `${run}: the metrics of an uninterrupted run`);
    }

    const again = cli(enqueue);
    assert.match(again.stdout, /sweep: 0 of 2 runs added/);
    assert.equal(again.stdout.match(/already in the queue \(done\)/g)?.length, 2, again.stdout);

    const report = cli(["sweep", "report", "--queue", url, "--runs", runs]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(readFileSync(join(runs, "comparison.html"), "utf8"), /synth-a-medium/);
  },
);
