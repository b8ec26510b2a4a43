/**
 * A distributor that records every delivery (one log line per call, the raw bytes in a
 * file), so a test can count deliveries at the receiving side; and a processor that gives
 * every mail one recipient. Shared by in-process tests and the crash child.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { play } from '../../src/play.ts';
import type {
  DeliveryReport,
  Distributor,
  Fetcher,
  ListMail,
  Processor,
  StageFailure,
} from '../../src/types.ts';

export function recordingDistributor(dir: string): Distributor {
  mkdirSync(dir, { recursive: true });
  return {
    name: 'recording',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      writeFileSync(join(dir, `${mail.key}.eml`), mail.raw);
      appendFileSync(join(dir, 'deliveries.log'), `${mail.key} ${mail.origin.id}\n`);
      return {
        results: (mail.ml_send_to ?? []).map((recipient) => ({
          recipient,
          status: 'delivered' as const,
          distributor: 'recording',
        })),
      };
    },
  };
}

/** The keys delivered, one per distribute() call, in order. */
export function deliveries(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'deliveries.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[0]!);
  } catch {
    return [];
  }
}

/** The raw bytes the distributor received for a mail key. */
export function delivered(dir: string, key: string): Buffer {
  return readFileSync(join(dir, `${key}.eml`));
}

export const toArchive: Processor = {
  name: 'to-archive',
  async process(mail) {
    mail.ml_sender = 'list-bounces@example.test';
    mail.ml_send_to = ['archive@example.test'];
    return mail;
  },
};

/**
 * play() over `fetcher` into the recording distributor with one reactor that keeps what it
 * is told: for the fetcher-failure tests (the failure reaches the reactor, the mail stays).
 */
export async function playReporting(fetcher: Fetcher, outDir: string, stateDir: string) {
  const seen: StageFailure[] = [];
  const summary = await play({
    fetcher,
    processor: toArchive,
    distributor: recordingDistributor(outDir),
    reactor: [{ name: 'a', react: (f) => void seen.push(f) }],
    stateDir,
  });
  return { summary, seen };
}
