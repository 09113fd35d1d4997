import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { lambdaReturns, nStepReturns, stepWeights } from "../../src/algorithms/clap/returns.js";

before(async () => {
  await initEngine();
});

// One rollout of H = 4 with two rows: row 0 never terminates, row 1 terminates on the transition into s_2 (ĉ_2 = 0).
const r = [
  [1, 2],
  [2, 3],
  [3, 4],
  [4, 5],
];
const c = [
  [1, 1],
  [1, 0],
  [1, 1],
  [1, 1],
];
const v = [
  [10, 20],
  [11, 21],
  [12, 22],
  [13, 23],
  [14, 24],
];
const g = 0.9;

function run(f: (rs: tf.Tensor[], cs: tf.Tensor[], vs: tf.Tensor[]) => tf.Tensor[]): number[][] {
  return tf.tidy(() => {
    const out = f(
      r.map((x) => tf.tensor1d(x)),
      c.map((x) => tf.tensor1d(x)),
      v.map((x) => tf.tensor1d(x)),
    );
    return out.map((t) => Array.from(t.dataSync()));
  });
}

function close(actual: number[][], expected: number[][]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, k) => row.forEach((x, i) => assert.ok(Math.abs(x - expected[k][i]) < 1e-4, `V_${k}[${i}] = ${x}, expected ${expected[k][i]}`)));
}

test("n-step targets with N = H match hand-computed values, a termination cutting the tail", () => {
  // Row 0: V_k = Σ γ^{j-k} r_{j+1} + γ^{4-k} v_4.
  const row0 = [
    1 + g * 2 + g ** 2 * 3 + g ** 3 * 4 + g ** 4 * 14,
    2 + g * 3 + g ** 2 * 4 + g ** 3 * 14,
    3 + g * 4 + g ** 2 * 14,
    4 + g * 14,
  ];
  // Row 1: ĉ_2 = 0, so from k = 0 only r_1 and r_2 count; from k ≥ 2 the rollout continues normally.
  const row1 = [2 + g * 3, 3, 4 + g * 5 + g ** 2 * 24, 5 + g * 24];
  close(
    run((rs, cs, vs) => nStepReturns(rs, cs, vs, g, 4)),
    row0.map((x, k) => [x, row1[k]]),
  );
});

test("n-step targets with N < H bootstrap from v(s_{k+N})", () => {
  const row0 = [1 + g * 2 + g ** 2 * 12, 2 + g * 3 + g ** 2 * 13, 3 + g * 4 + g ** 2 * 14, 4 + g * 14];
  const row1 = [2 + g * 3 + 0, 3 + 0, 4 + g * 5 + g ** 2 * 24, 5 + g * 24];
  close(
    run((rs, cs, vs) => nStepReturns(rs, cs, vs, g, 2)),
    row0.map((x, k) => [x, row1[k]]),
  );
});

test("λ-returns match the backward recursion computed by hand", () => {
  const lam = 0.5;
  const expected: number[][] = [];
  let next = [v[4][0], v[4][1]];
  for (let k = 3; k >= 0; k--) {
    next = [0, 1].map((i) => r[k][i] + g * c[k][i] * ((1 - lam) * v[k + 1][i] + lam * next[i]));
    expected[k] = next;
  }
  // Spot-check one value fully by hand: row 1, k = 1 (ĉ_2 = 0 → V = r_2).
  assert.ok(Math.abs(expected[1][1] - 3) < 1e-9);
  close(
    run((rs, cs, vs) => lambdaReturns(rs, cs, vs, g, lam)),
    expected,
  );
  // λ = 1 is the n-step target with N = H.
  close(
    run((rs, cs, vs) => lambdaReturns(rs, cs, vs, g, 1)),
    run((rs, cs, vs) => nStepReturns(rs, cs, vs, g, 4)),
  );
});

test("step weights drop states after a predicted termination", () => {
  const w = run((_rs, cs) => stepWeights(cs, g, "continuation"));
  close(w, [
    [1, 1],
    [1, 1],
    [1, 0],
    [1, 0],
  ]);
  const wd = run((_rs, cs) => stepWeights(cs, g, "discount"));
  close(wd, [
    [1, 1],
    [g, g],
    [g * g, 0],
    [g ** 3, 0],
  ]);
  close(
    run((_rs, cs) => stepWeights(cs, g, "none")),
    [
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ],
  );
});
