/**
 * The installation's HMAC key for confirmation and unsubscribe tokens: `MALIST_SECRET`
 * (hex or text, at least 16 bytes) when set, else `STATE/secret`, created once with 32
 * random bytes (mode 0600) and kept. Never logged.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../state/durable.ts';

export async function loadSecret(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Buffer> {
  const fromEnv = env.MALIST_SECRET;
  if (fromEnv) {
    const secret =
      /^[0-9a-f]+$/i.test(fromEnv) && fromEnv.length % 2 === 0
        ? Buffer.from(fromEnv, 'hex')
        : Buffer.from(fromEnv);
    if (secret.length < 16) throw new Error('MALIST_SECRET must be at least 16 bytes');
    return secret;
  }
  const file = join(stateDir, 'secret');
  try {
    const secret = await readFile(file);
    if (secret.length >= 16) return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await writeFileDurable(file, randomBytes(32), { mode: 0o600 });
  return readFile(file);
}
