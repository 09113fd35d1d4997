/** Settings of the tiny SAC runs the tests train (seconds, not hours). */
export const TINY = {
  seed: 3,
  checkpointEvery: 60,
  evalEpisodes: 1,
  randomSteps: 40,
  updateAfter: 40,
  sac: { hidden: [16, 16], batchSize: 16 },
};
