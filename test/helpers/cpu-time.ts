/**
 * CPU time, for the tests that bound the cost of a pathological input (quadratic parsing,
 * catastrophic regular expressions). Unlike the wall clock it does not grow when other
 * processes take the machine, so the bound holds under load; speed itself is `npm run bench`.
 */

/** Runs `work` and returns the CPU milliseconds (user + system) this process spent on it. */
export function cpuMs(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}
