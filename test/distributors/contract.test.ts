/**
 * Every built-in distributor through the contract suite (contract.ts): local ones on temp
 * directories, the SMTP family against the fault-injecting SMTP server, imap-append against
 * a real Dovecot.
 */
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import createArchiveDistributor from '../../src/distributors/archive.ts';
import createDeliverTo from '../../src/distributors/deliver-to.ts';
import createImapAppendDistributor from '../../src/distributors/imap-append.ts';
import createLogDistributor from '../../src/distributors/log.ts';
import createMaildirDistributor from '../../src/distributors/maildir.ts';
import createMboxDistributor from '../../src/distributors/mbox.ts';
import createMultiple from '../../src/distributors/multiple.ts';
import createPipeDistributor from '../../src/distributors/pipe.ts';
import createQueueDistributor from '../../src/distributors/queue.ts';
import createSendmailDistributor from '../../src/distributors/sendmail.ts';
import createSmtpDistributor from '../../src/distributors/smtp.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { freePort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { testDistributor } from './contract.ts';

async function temp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'malist-contract-'));
}

/** A path that cannot be written: it lies below a regular file (ENOTDIR, even as root). */
async function unusable(): Promise<string> {
  const file = join(await temp(), 'a-file');
  await writeFile(file, '');
  return join(file, 'below');
}

/** Every file below `dir`, recursively. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** How often `Message-ID: <id>` occurs in `text`. */
function occurrences(text: string, messageId: string): number {
  return text.split(`Message-ID: <${messageId}>`).length - 1;
}

async function countIn(files: string[], messageId: string): Promise<number> {
  let n = 0;
  for (const f of files) n += occurrences(await readFile(f, 'latin1'), messageId);
  return n;
}

/** Per recipient folder `dir/<recipient>/`: copies of the post. */
async function perRecipientMaildir(dir: string, messageId: string) {
  const out: Record<string, number> = {};
  for (const box of await readdir(dir).catch(() => [] as string[])) {
    const n = await countIn(await filesBelow(join(dir, box)), messageId);
    if (n > 0) out[box] = n;
  }
  return out;
}

async function single(
  files: Promise<string[]>,
  messageId: string,
): Promise<Record<string, number>> {
  const n = await countIn(await files, messageId);
  return n > 0 ? { '*': n } : {};
}

testDistributor('maildir', async (broken) => {
  const dir = broken ? await unusable() : await temp();
  return {
    distributor: createMaildirDistributor({ dir }),
    received: (id) => perRecipientMaildir(dir, id),
  };
});

testDistributor(
  'mbox',
  async (broken) => {
    const path = join(broken ? await unusable() : await temp(), 'list.mbox');
    return {
      distributor: createMboxDistributor({ path, lock_timeout_ms: 500 }),
      received: (id) => single(Promise.resolve([path]), id),
    };
  },
  { single: true },
);

testDistributor(
  'archive',
  async (broken) => {
    const dir = broken ? await unusable() : await temp();
    return {
      distributor: createArchiveDistributor({ dir }),
      received: (id) => single(filesBelow(dir), id),
    };
  },
  { silent: true, single: true },
);

testDistributor(
  'log',
  async (broken) => {
    const file = join(broken ? await unusable() : await temp(), 'deliveries.log');
    return {
      distributor: createLogDistributor({ file }),
      async received(id) {
        const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n');
        const out: Record<string, number> = {};
        for (const line of lines.filter((l) => l.includes(`message-id=<${id}>`))) {
          const to = /to=<([^>]*)>/.exec(line)?.[1] ?? '';
          out[to] = (out[to] ?? 0) + 1;
        }
        return out;
      },
    };
  },
  { notIdempotent: 'a log line per call (it records, it does not deliver)' },
);

testDistributor(
  'sendmail',
  async (broken) => {
    const dir = await temp();
    const path = join(dir, 'sendmail');
    // Each call appends its recipients and its input, as a sendmail that queued it would.
    await writeFile(
      path,
      broken
        ? '#!/bin/sh\ncat >/dev/null\necho "queue unavailable" >&2\nexit 75\n'
        : `#!/bin/sh\nshift 4\nn=$(date +%s%N)\nprintf '%s\\n' "$@" > "${dir}/rcpt.$n"\ncat > "${dir}/msg.$n"\n`,
    );
    await chmod(path, 0o755);
    return {
      distributor: createSendmailDistributor({ path }),
      async received(id) {
        const out: Record<string, number> = {};
        for (const f of (await readdir(dir)).filter((n) => n.startsWith('msg.'))) {
          if (occurrences(await readFile(join(dir, f), 'latin1'), id) === 0) continue;
          const rcpts = (await readFile(join(dir, f.replace('msg.', 'rcpt.')), 'utf8'))
            .split('\n')
            .filter(Boolean);
          for (const r of rcpts) out[r] = (out[r] ?? 0) + 1;
        }
        return out;
      },
    };
  },
  { notIdempotent: 'sendmail keeps no record; play()’s journal stops the repeat' },
);

testDistributor(
  'pipe',
  async (broken) => {
    const dir = await temp();
    const path = join(dir, 'archiver');
    // An archiver that files each post it is given under the list's name.
    await writeFile(
      path,
      broken
        ? '#!/bin/sh\ncat >/dev/null\necho "archive locked" >&2\nexit 75\n'
        : `#!/bin/sh\ncat > "${dir}/$MALIST_LIST.$(date +%s%N)"\n`,
    );
    await chmod(path, 0o755);
    return {
      distributor: createPipeDistributor({ command: path }),
      received: (id) => single(filesBelow(dir), id),
    };
  },
  { single: true, notIdempotent: 'the program keeps no record; play()’s journal stops the repeat' },
);

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp?.stop());

/** Copies the SMTP server accepted, per recipient. */
function smtpReceived(id: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of smtp.accepted.filter((a) => a.messageId === id))
    for (const r of m.to) out[r] = (out[r] ?? 0) + 1;
  return Promise.resolve(out);
}

async function smtpTarget(broken: boolean | undefined) {
  const port = broken ? await freePort() : smtp.port;
  smtp.clearRules();
  return {
    server: { host: '127.0.0.1', port, connection_timeout_ms: 2000 },
    refuse: (recipient: string) =>
      smtp.addRule({
        stage: 'rcpt',
        recipient,
        reply: { code: 550, message: '5.1.1 no such user' },
      }),
  };
}

testDistributor(
  'smtp',
  async (broken) => {
    const target = await smtpTarget(broken);
    const distributor = createSmtpDistributor(target.server);
    return {
      distributor,
      received: smtpReceived,
      refuse: target.refuse,
      close: () => distributor.close?.() ?? Promise.resolve(),
    };
  },
  { notIdempotent: 'without the queue there is no sent-log; use type: queue' },
);

testDistributor('queue', async (broken) => {
  const target = await smtpTarget(broken);
  const distributor = createQueueDistributor({ dir: await temp(), smtp: target.server });
  return {
    distributor,
    received: smtpReceived,
    refuse: target.refuse,
    close: () => distributor.close?.() ?? Promise.resolve(),
  };
});

testDistributor(
  'multiple (two maildirs)',
  async (broken) => {
    const [a, b] = [await temp(), broken ? await unusable() : await temp()];
    return {
      distributor: createMultiple({
        distributors: [createMaildirDistributor({ dir: a }), createMaildirDistributor({ dir: b })],
      }),
      async received(id) {
        // Both copies arrive: each recipient holds one in each maildir.
        const [x, y] = [await perRecipientMaildir(a, id), await perRecipientMaildir(b, id)];
        const out: Record<string, number> = {};
        for (const r of new Set([...Object.keys(x), ...Object.keys(y)]))
          out[r] = Math.min(x[r] ?? 0, y[r] ?? 0);
        return out;
      },
    };
  },
  { composite: true },
);

testDistributor(
  'deliver-to (maildir)',
  async (broken) => {
    const dir = broken ? await unusable() : await temp();
    const inner = createMaildirDistributor({ dir });
    return {
      // The fixed recipients are the list's own: the suite's recipients plus nobody else.
      distributor: createDeliverTo({
        to: ['bob@example.test', 'carol@example.org'],
        distributor: inner,
      }),
      received: (id) => perRecipientMaildir(dir, id),
    };
  },
  { composite: true },
);

let dovecot: Dovecot | undefined;
const haveDovecot = dovecotAvailable();
beforeAll(async () => {
  if (haveDovecot) dovecot = await startDovecot({ users: ['archive'] });
}, 30_000);
afterAll(() => dovecot?.stop());

testDistributor(
  'imap-append',
  async (broken) => {
    const d = dovecot!;
    const distributor = createImapAppendDistributor({
      host: d.host,
      port: broken ? await freePort() : d.ports.imaps,
      auth: { user: d.address('archive'), pass: d.password('archive') },
      folder: 'Contract',
      tls: { ca: d.caFile, servername: 'localhost' },
      timeout_ms: 3000,
    });
    return {
      distributor,
      async received(id): Promise<Record<string, number>> {
        const n = (await d.messages('archive', 'Contract')).filter(
          (m) => occurrences(m.raw.toString('latin1').replace(/\n/g, '\r\n'), id) > 0,
        ).length;
        return n > 0 ? { '*': n } : {};
      },
    };
  },
  { single: true, skip: !haveDovecot },
);
