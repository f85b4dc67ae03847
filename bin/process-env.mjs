/**
 * Process-wide settings every tracoco entry point (bin/tracoco.js, the test and bench runners)
 * applies before the native addon loads; the library itself never writes the environment.
 *
 * OpenMP threads that spin while waiting starve everything else on a shared machine (another
 * worker, a test, a second run): measured 2.5x slower steps with two processes on two cores.
 * Sleeping waiters cost ~10% on an idle machine; OMP_WAIT_POLICY=active restores spinning.
 * libgomp reads the variable when it is loaded, i.e. with the addon, after this has run.
 */
export function applyProcessDefaults(env = process.env) {
  env.OMP_WAIT_POLICY ??= 'passive';
  return env;
}
