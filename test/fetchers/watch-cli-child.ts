/** Runs `malist watch` (src/cli/watch.ts) with the given arguments, for the SIGTERM test. */
import watchCommand from '../../src/cli/watch.ts';

process.exit(await watchCommand(process.argv.slice(2)));
