/**
 * The property tests' seed. Under CI (`CI=true`) every run draws the same inputs, so a red
 * build is the code's and never a new draw's; elsewhere each run draws afresh and explores,
 * and fast-check prints the seed of a failure. `MALIST_PROPERTY_SEED=N` replays one.
 * Imported for its effect by each *.property.test.ts.
 */
import fc from 'fast-check';

/** The seed CI runs with (changed on purpose, to explore a new draw in CI). */
export const CI_PROPERTY_SEED = 20261206;

const given = process.env.MALIST_PROPERTY_SEED;
const seed =
  given !== undefined ? Number(given) : process.env.CI === 'true' ? CI_PROPERTY_SEED : undefined;
if (seed !== undefined && Number.isFinite(seed)) fc.configureGlobal({ seed });
