/** A bare address as a YAML option (no display name, no brackets), with a message that says so. */
import { z } from 'zod';

export const addressOption = z
  .string({ error: 'expected an address like name@example.com' })
  .regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+\.?[^\s@<>,;"]*$/, {
    error: 'expected a bare address like name@example.com (no display name, no brackets)',
  });
