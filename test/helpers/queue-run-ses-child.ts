/**
 * A queue runner sending through the SES transport (fast to start, no config loader), for
 * the crash tests: `node --import tsx queue-run-ses-child.ts SPOOL ENDPOINT`, one recipient
 * a call and one call at a time, so a crash point can fall between two calls.
 */
import { createQueue } from '../../src/queue/queue.ts';
import { createSesTransport } from '../../src/smtp/services/ses.ts';
import { TEST_AWS } from './fake-services.ts';

const [spool, endpoint] = process.argv.slice(2);
const queue = createQueue(
  { dir: spool as string },
  {
    transport: createSesTransport(
      {
        region: TEST_AWS.region,
        endpoint: endpoint as string,
        access_key_id: TEST_AWS.keyId,
        secret_access_key: TEST_AWS.secret,
        max_recipients_per_call: 1,
        max_connections: 1,
      },
      {},
    ),
  },
);
const summary = await queue.run();
await queue.close();
process.exitCode = summary.errors.length > 0 ? 75 : 0;
