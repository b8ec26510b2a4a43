/** A malist.yaml for tests: one queue (spool `DIR/spool`) delivering to a test SMTP server. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function writeQueueConfig(
  dir: string,
  port: number,
  smtp: Record<string, number | string | boolean> = {},
): Promise<{ config: string; spool: string }> {
  await mkdir(join(dir, 'lists'), { recursive: true });
  const server = Object.entries({ host: '127.0.0.1', port, starttls: 'never', ...smtp })
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  await writeFile(
    join(dir, 'malist.yaml'),
    `state_dir: state\nservers:\n  out:\n${server}\ndistribute:\n  type: queue\n  server: out\nqueue:\n  dir: spool\n`,
  );
  return { config: dir, spool: join(dir, 'spool') };
}
