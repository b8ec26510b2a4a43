/**
 * A private test CA and one server certificate it signed (for 127.0.0.1 and `localhost`), as
 * an operator's internal CA would be: a client trusts the server only when given the CA's
 * certificate (`ca_file`). EC keys, so it is made in milliseconds with the `openssl` command.
 *
 * ```ts
 * const ca = makeTestCa(dir);     // dir/ca.pem, dir/server.pem, dir/server.key
 * … server: { cert: ca.certFile, key: ca.keyFile }; client: { ca_file: ca.caFile } …
 * ```
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** The CA's certificate (PEM): what a client must trust. */
  caFile: string;
  /** The server's certificate (PEM), signed by the CA; SAN `localhost` and `127.0.0.1`. */
  certFile: string;
  /** The server's private key (PEM). */
  keyFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Writes a CA and a server certificate it signed into `dir` (which must exist). */
export function makeTestCa(dir: string): TestCa {
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  openssl([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    '/CN=malist test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    caKey,
    '-out',
    caFile,
  ]);
  openssl(['req', ...EC, '-subj', '/CN=localhost', '-keyout', keyFile, '-out', csr]);
  writeFileSync(
    ext,
    'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    certFile,
  ]);
  for (const file of [caFile, certFile]) chmodSync(file, 0o644);
  return { caFile, certFile, keyFile };
}
