/**
 * A bare address as a YAML option (no display name, no brackets), in the one address
 * grammar (`addressProblem`), with a message that says what is wrong.
 */
import { z } from 'zod';
import { addressProblem } from './address.ts';
import { lazySchema } from './deferred-option.ts';

export const addressOption = lazySchema(() =>
  z.string({ error: 'expected an address like name@example.com' }).superRefine((value, ctx) => {
    const problem = addressProblem(value);
    if (problem)
      ctx.addIssue({
        code: 'custom',
        message: `expected a bare address like name@example.com (no display name, no brackets): ${problem}`,
      });
  }),
);
