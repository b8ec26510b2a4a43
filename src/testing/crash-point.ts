/**
 * Named crash points for the crash suite. Only the test harness sets MALIST_CRASH_AT
 * ("name" or "name:N" to crash at the Nth time the point is reached); then the process
 * kills itself with SIGKILL right there, as a power cut would. In production the variable
 * is unset and a crash point costs one property read.
 */
const hits = new Map<string, number>();

export function crashPoint(name: string): void {
  const at = process.env.MALIST_CRASH_AT;
  if (!at) return;
  const [point, nth] = at.split(':');
  if (point !== name) return;
  const count = (hits.get(name) ?? 0) + 1;
  hits.set(name, count);
  if (count >= Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
