/**
 * What `malist` does with a failure a command lets through: an expected one (a StageError,
 * an errno) is one line and a sysexits code; only an internal error keeps its stack.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EX } from '../../src/cli/exit-codes.ts';
import { commands, main } from '../../src/cli/main.ts';
import { ErrorCode, StageError } from '../../src/errors.ts';

function failing(error: unknown) {
  commands['fails-for-test'] = {
    summary: 'a command that throws',
    load: async () => ({
      default: async () => {
        throw error;
      },
    }),
  };
}

async function run(): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(['fails-for-test']), stderr };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  delete commands['fails-for-test'];
});

describe('malist: failures a command lets through', () => {
  it('a configuration error: one line, exit 78', async () => {
    failing(
      new Error('malist.yaml:3: pop3: bad', {
        cause: new StageError('cannot read the CA file (ca_file) /x: ENOENT', {
          code: ErrorCode.CONFIG,
          unit: 'pop3',
        }),
      }),
    );
    expect(await run()).toEqual({
      code: EX.CONFIG,
      stderr: 'malist fails-for-test: malist.yaml:3: pop3: bad\n',
    });
  });

  it('a temporary failure: 75; a file it cannot write: 73', async () => {
    failing(
      new StageError('server down', { code: ErrorCode.CONNECTION, unit: 'smtp', temporary: true }),
    );
    expect(await run()).toEqual({
      code: EX.TEMPFAIL,
      stderr: 'malist fails-for-test: smtp: server down\n',
    });
    failing(Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' }));
    expect(await run()).toEqual({
      code: EX.CANTCREAT,
      stderr: "malist fails-for-test: EACCES: permission denied, open '/x'\n",
    });
  });

  it('an internal error keeps its stack, to be reported', async () => {
    failing(new TypeError('x is undefined'));
    const r = await run();
    expect(r.code).toBe(EX.SOFTWARE);
    expect(r.stderr).toMatch(
      /^malist fails-for-test: internal error \(please report it\): TypeError: x is undefined\n {4}at /,
    );
  });
});
