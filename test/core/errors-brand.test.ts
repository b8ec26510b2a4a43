/**
 * The signals and errors are recognised by brand, not by identity: the `malist` command runs
 * a bundle with its own copy of src/errors.ts, and a custom unit throws the package's classes
 * (`import { Reject } from 'malist'`). A second copy of the module stands for the other side.
 */
import { describe, expect, it } from 'vitest';
import { SelfCheckError } from '../../src/auth/self-check.ts';
import {
  Discard,
  describeError,
  Hold,
  isSignal,
  NothingMore,
  Reject,
  Signal,
  StageError,
} from '../../src/errors.ts';

// The same source as a second module instance (its own classes), as the package's copy is.
const other: typeof import('../../src/errors.ts') = await import(
  // @ts-expect-error: a query string makes vite load the module a second time
  '../../src/errors.ts?copy'
);

describe('errors and signals from another copy of the module', () => {
  it('is a second copy with its own classes', () => {
    expect(other.Reject).not.toBe(Reject);
  });

  it('a Reject, Discard or Hold of the other copy is that signal here, and no other', () => {
    const reject = new other.Reject('no thanks', 'custom');
    expect(reject instanceof Reject).toBe(true);
    expect(reject instanceof Signal).toBe(true);
    expect(isSignal(reject)).toBe(true);
    expect(reject instanceof Discard).toBe(false);
    expect(reject instanceof Hold).toBe(false);
    expect(describeError(reject)).toBe('reject: no thanks');
    const discard = new other.Discard('robot', 'custom', 'owner');
    expect(discard instanceof Discard && discard.forward === 'owner').toBe(true);
    expect(discard instanceof Reject).toBe(false);
    expect(new other.Hold('look') instanceof Hold).toBe(true);
  });

  it('a StageError or NothingMore of the other copy is one here', () => {
    const error = new other.StageError('down', { code: 'ECONNECTION', unit: 'x', temporary: true });
    expect(error instanceof StageError).toBe(true);
    expect(error instanceof Error).toBe(true);
    expect(new other.NothingMore() instanceof NothingMore).toBe(true);
    expect(new other.NothingMore() instanceof StageError).toBe(false);
  });

  it('look-alikes and subclasses are told apart', () => {
    expect({ kind: 'reject', reason: 'x' } instanceof Signal).toBe(false);
    expect((null as unknown as object) instanceof Signal).toBe(false);
    expect(new Error('x') instanceof StageError).toBe(false);
    expect(new Reject('x') instanceof other.Reject).toBe(true);
    // A subclass without a brand of its own: ordinary instanceof.
    const check = new SelfCheckError(['bad'], undefined);
    expect(check instanceof StageError).toBe(true);
    expect(check instanceof SelfCheckError).toBe(true);
    expect(new StageError('x', { code: 'EUNIT', unit: 'u' }) instanceof SelfCheckError).toBe(false);
  });
});
