import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hold, StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import createJsonLog from './json-log.ts';

const mail = createListMail(
  Buffer.from('Message-ID: <m1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n'),
  {
    fetcher: 'test',
    id: '1',
  },
);
mail.ml_list_name = 'red';

describe('json-log', () => {
  it('appends one JSON object per failure or signal', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'malist-jsonlog-')), 'log/events.jsonl');
    const log = createJsonLog({ file });
    await log.react({
      stage: 'processor',
      unit: 'posting-policy',
      error: new Hold('not a member'),
      mail,
    });
    await log.react({
      stage: 'distributor',
      unit: 'smtp',
      error: new StageError('connection refused', {
        code: 'ECONNECTION',
        unit: 'smtp',
        temporary: true,
      }),
    });
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        time: expect.any(String),
        stage: 'processor',
        unit: 'posting-policy',
        kind: 'hold',
        list: 'red',
        message_id: 'm1@example.com',
        message: 'hold: not a member',
      },
      {
        time: expect.any(String),
        stage: 'distributor',
        unit: 'smtp',
        kind: 'error',
        code: 'ECONNECTION',
        temporary: true,
        message: 'smtp: connection refused',
      },
    ]);
  });

  it('skips signals with signals: false', async () => {
    const written: string[] = [];
    const log = createJsonLog({
      signals: false,
      output: {
        write: (s: string) => written.push(s),
      } as unknown as NodeJS.WritableStream as never,
    });
    await log.react({ stage: 'processor', unit: 'x', error: new Hold('h'), mail });
    expect(written).toEqual([]);
  });
});
