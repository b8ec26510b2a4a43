/**
 * One thread of the signer pool (signer-pool.ts): loads the keys from their files itself (no
 * key crosses a message port), then signs the copies it is sent, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createCopySigner } from './copy-signer.ts';
import { type DkimKeyOptions, loadSigningKey } from './keys.ts';
import { SelfCheckError } from './self-check.ts';
import type { SignRequest, SignResponse, WorkerSetup } from './signer-pool.ts';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const load = (key: DkimKeyOptions) => loadSigningKey(key);

const ready = (async () =>
  createCopySigner({
    dkim: await Promise.all(setup.dkim.map(load)),
    arc: setup.arc ? await load(setup.arc) : undefined,
    selfCheck: setup.selfCheck,
  }))();

port.on('message', async ({ id, raw, seal }: SignRequest) => {
  let reply: SignResponse;
  try {
    const signed = await (await ready).sign(
      Buffer.from(raw.buffer, raw.byteOffset, raw.length),
      seal,
    );
    reply = { id, raw: signed };
  } catch (error) {
    reply = {
      id,
      error: error instanceof Error ? error.message : String(error),
      ...(error instanceof SelfCheckError
        ? { problems: [...error.problems], messageId: error.messageId }
        : {}),
    };
  }
  port.postMessage(reply);
});
