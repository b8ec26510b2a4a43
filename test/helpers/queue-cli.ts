/**
 * Runs `malist queue …` in a child process without the main dispatcher:
 * `node --import tsx test/helpers/queue-cli.ts run --spool DIR --smtp 127.0.0.1:PORT`.
 */
import queueCommand from '../../src/cli/queue.ts';

process.exitCode = await queueCommand(process.argv.slice(2));
