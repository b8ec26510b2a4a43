/** In-memory units for testing play() and pipelines without servers. */
import { NothingMore } from '../../src/errors.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import type {
  DeliveryReport,
  Distributor,
  Fetched,
  Fetcher,
  ListMail,
  Reactor,
  RecipientStatus,
  StageFailure,
} from '../../src/types.ts';

/** A source of raw mails; `acked` shows what play() removed. Like a mailbox, un-acked mail stays. */
export class MemorySource {
  readonly mails = new Map<string, Buffer>();
  readonly acked: string[] = [];
  private next = 0;
  add(raw: string | Buffer): string {
    const id = `m${++this.next}`;
    this.mails.set(id, Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
    return id;
  }
  /** A new session over what is in the source now. */
  fetcher(opts: { failAck?: boolean } = {}): Fetcher & { closed: number } {
    const ids = [...this.mails.keys()];
    const source = this;
    return {
      name: 'memory',
      closed: 0,
      async fetch(): Promise<Fetched> {
        const id = ids.shift();
        if (id === undefined) throw new NothingMore();
        const mail = createListMail(source.mails.get(id)!, { fetcher: 'memory', id });
        return {
          mail,
          ack: async () => {
            if (opts.failAck) throw new Error('connection lost before ack');
            source.mails.delete(id);
            source.acked.push(id);
          },
        };
      },
      async close() {
        this.closed++;
      },
    };
  }
}

/** Records every (recipient, subject) it is given; `behave` decides each recipient's status. */
export class RecordingDistributor implements Distributor {
  readonly name = 'recording';
  readonly sent: { recipient: string; mail: ListMail }[] = [];
  constructor(
    private behave: (recipient: string, mail: ListMail) => RecipientStatus | 'throw' = () =>
      'delivered',
  ) {}
  async distribute(mail: ListMail): Promise<DeliveryReport> {
    const results = [];
    for (const recipient of mail.ml_send_to ?? []) {
      const status = this.behave(recipient, mail);
      if (status === 'throw') throw new Error('transport exploded');
      if (status === 'delivered' || status === 'queued') this.sent.push({ recipient, mail });
      results.push({
        recipient,
        status,
        distributor: this.name,
        code: status === 'failed' ? 550 : undefined,
      });
    }
    return { results };
  }
  countFor(recipient: string): number {
    return this.sent.filter((s) => s.recipient === recipient).length;
  }
}

export class RecordingReactor implements Reactor {
  readonly seen: StageFailure[] = [];
  constructor(readonly name = 'recording-reactor') {}
  react(failure: StageFailure): void {
    this.seen.push(failure);
  }
}

export function post(
  opts: { from?: string; to?: string; subject?: string; body?: string; id?: string } = {},
): string {
  return [
    `From: ${opts.from ?? 'Alice <alice@example.com>'}`,
    `To: ${opts.to ?? 'red@list.example.com'}`,
    `Subject: ${opts.subject ?? 'Hello'}`,
    `Message-ID: <${opts.id ?? Math.random().toString(36).slice(2)}@example.com>`,
    '',
    opts.body ?? 'Hi all.',
    '',
  ].join('\r\n');
}
