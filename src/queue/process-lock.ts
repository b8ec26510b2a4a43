/**
 * Who holds a claim, and whether that holder is provably gone: a lock, not a clock. A
 * holder is the host, the PID and the process start time (from /proc, so a recycled PID
 * is not mistaken for the old process). A claim from another host is never taken over:
 * this host cannot prove that process dead.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Holder {
  host: string;
  pid: number;
  /** Start time in clock ticks since boot ('0' where /proc is not available). */
  start: string;
}

/** The start time of `pid` from /proc/<pid>/stat, or undefined when it cannot be read. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

let self: Holder | undefined;

/** This process as a holder. */
export function currentHolder(): Holder {
  if (!self || self.pid !== process.pid) {
    self = {
      host: hostname().replace(/[@/\s]/g, '_') || 'localhost',
      pid: process.pid,
      start: processStartTime(process.pid) ?? '0',
    };
  }
  return self;
}

/** `host@pid@start`, the suffix of a claimed entry's name. */
export function formatHolder(holder: Holder): string {
  return `${holder.host}@${holder.pid}@${holder.start}`;
}

/** Parses `host@pid@start`, or undefined for anything else. */
export function parseHolder(text: string): Holder | undefined {
  const parts = text.split('@');
  if (parts.length < 3) return undefined;
  const start = parts.pop() as string;
  const pid = Number(parts.pop());
  const host = parts.join('@');
  if (!Number.isInteger(pid) || pid <= 0 || host === '') return undefined;
  return { host, pid, start };
}

/** True only when the holder's process certainly no longer exists. */
export function isHolderGone(holder: Holder): boolean {
  if (holder.host !== currentHolder().host) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const start = processStartTime(holder.pid);
  return start !== undefined && holder.start !== '0' && start !== holder.start;
}
