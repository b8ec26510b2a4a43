/**
 * Polls until `check` holds: how the tests that start servers and processes wait for a
 * condition. `ms` only bounds a hung test (no timing is asserted); `every` is the poll.
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 120_000,
  every = 25,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
