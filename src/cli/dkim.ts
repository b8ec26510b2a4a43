/**
 * `malist dkim keygen --list NAME [--algorithm rsa-sha256|ed25519] [--selector S]` — makes a
 * list's DKIM key: writes the private key (PKCS#8 PEM, mode 0600, never over an existing
 * file) and prints the DNS TXT record to publish, as a zone-file line on stdout.
 *
 * `malist dkim accept-key --list NAME [--selector S]` — records the list's current keys as
 * their selectors' keys (state_dir/dkim-keys, auth/key-pins.ts): after a deliberate re-key of
 * a selector whose DNS record now publishes the new key, copies that were deferred because
 * the key file no longer held the selector's recorded key are signed again.
 *
 * Where the key goes: when the list's `dkim:` already names a key of that selector (or,
 * without --selector, one whose file does not exist yet), its `key_file`; otherwise
 * `keys/NAME.SELECTOR.pem` beside the list's YAML file, and the `dkim:` entry to add is
 * printed. The YAML never holds the key itself.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { keyFingerprint, keyPins } from '../auth/key-pins.ts';
import {
  type DkimAlgorithm,
  type DkimKeyOptions,
  dkimTxtRecord,
  generateKey,
} from '../auth/keys.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { displayPath } from '../config/source.ts';
import { describeError } from '../errors.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist dkim keygen --list NAME [options]
       malist dkim accept-key --list NAME [--selector S] [--config DIR]

keygen writes a new DKIM private key for the list (mode 0600) and prints the DNS TXT record
to publish at SELECTOR._domainkey.DOMAIN.

accept-key records the list's current key files as their selectors' keys. malist remembers
the key each selector first signed with (in state_dir/dkim-keys) and signs nothing with
another: replace a selector's key only with its new DNS record published, then run this.

options:
  --list NAME          the list
  --algorithm ALG      rsa-sha256 (2048 bits, the default) or ed25519 (ed25519-sha256)
  --selector S         the selector (default: the list's configured key without a file,
                       else s + the year and month, e.g. s202612; ed202612 for ed25519)
  --domain D           the signing domain (default: the configured key's, else the list's)
  --bits N             RSA modulus (default 2048; at least 1024)
  --config DIR         the configuration directory (malist.yaml, lists/)
  -h, --help           this text
`;

const ALGORITHMS: Record<string, DkimAlgorithm> = {
  rsa: 'rsa-sha256',
  'rsa-sha256': 'rsa-sha256',
  ed25519: 'ed25519-sha256',
  'ed25519-sha256': 'ed25519-sha256',
};

interface KeygenFlags {
  list?: string;
  algorithm?: string;
  selector?: string;
  domain?: string;
  bits?: string;
  config?: string;
}

function fail(code: number, text: string): number {
  process.stderr.write(`malist dkim: ${text}\n`);
  return code;
}

export default async function dkim(argv: string[]): Promise<number> {
  let parsed: { values: KeygenFlags & { help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        list: { type: 'string', short: 'l' },
        algorithm: { type: 'string', short: 'a' },
        selector: { type: 'string', short: 's' },
        domain: { type: 'string', short: 'd' },
        bits: { type: 'string' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(EX.USAGE, `${(error as Error).message}\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  const command = positionals[0];
  if ((command !== 'keygen' && command !== 'accept-key') || positionals.length > 1)
    return fail(EX.USAGE, `unknown command ${positionals.join(' ') || '(none)'}\n${usage}`);
  if (!values.list) return fail(EX.USAGE, `--list NAME is required\n${usage}`);
  if (command === 'accept-key') return acceptKey({ ...values, list: values.list });
  return keygen({ ...values, list: values.list });
}

/** The key the list's settings name for this run, if any. */
function configuredKey(
  keys: DkimKeyOptions[],
  algorithm: DkimAlgorithm | undefined,
  selector: string | undefined,
  exists: (file: string) => boolean,
): DkimKeyOptions | undefined {
  const all = keys.flatMap((k) => [k, ...(k.previous ? [{ ...k, ...k.previous }] : [])]);
  if (selector) return all.find((k) => k.selector === selector);
  return keys.find((k) => !exists(k.key_file) && (!algorithm || k.algorithm === algorithm));
}

function defaultSelector(algorithm: DkimAlgorithm, now = new Date()): string {
  const month = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${algorithm === 'ed25519-sha256' ? 'ed' : 's'}${month}`;
}

async function keygen(values: KeygenFlags & { list: string }): Promise<number> {
  const asked = values.algorithm === undefined ? undefined : ALGORITHMS[values.algorithm];
  if (values.algorithm !== undefined && !asked)
    return fail(EX.USAGE, `--algorithm ${values.algorithm}: expected rsa-sha256 or ed25519`);
  const bits = values.bits === undefined ? undefined : Number(values.bits);
  if (bits !== undefined && !(Number.isInteger(bits) && bits >= 1024 && bits <= 8192))
    return fail(EX.USAGE, `--bits ${values.bits}: expected a whole number from 1024 to 8192`);
  // Keys that do not exist yet are a configuration problem of their own: keygen mends it.
  const { config } = await openConfig(values.config ? { dir: values.config } : {});
  const loaded = config.lists.find((l) => l.name === values.list);
  if (!loaded)
    return fail(
      EX.NOUSER,
      `no list ${values.list} in ${displayPath(config.dir)} (lists: ${config.lists.map((l) => l.name).join(', ') || 'none'})`,
    );
  const keys = [loaded.settings.dkim ?? []].flat();
  const named = configuredKey(keys, asked, values.selector, existsSync);
  const algorithm = asked ?? named?.algorithm ?? 'rsa-sha256';
  const selector = values.selector ?? named?.selector ?? defaultSelector(algorithm);
  const domain = values.domain ?? named?.domain ?? loaded.settings.address.split('@')[1]!;
  const file =
    named?.key_file ?? join(dirname(loaded.source.path), 'keys', `${loaded.name}.${selector}.pem`);
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const record = await generateKey({
      algorithm,
      file,
      domain,
      selector,
      ...(bits ? { bits } : {}),
    });
    process.stdout.write(`${record.zone}\n`);
    process.stderr.write(
      `malist dkim: wrote the ${algorithm} private key to ${displayPath(file)} (mode 0600); publish the TXT record above at ${record.name}\n`,
    );
    if (!named)
      process.stderr.write(
        `malist dkim: then sign with it: add to ${displayPath(loaded.source.path)}\n` +
          `dkim:\n  - { domain: ${domain}, selector: ${selector}, key_file: ${join('keys', `${loaded.name}.${selector}.pem`)}${algorithm === 'ed25519-sha256' ? ', algorithm: ed25519-sha256' : ''} }\n`,
      );
    return EX.OK;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      return fail(
        EX.CANTCREAT,
        `${displayPath(file)} exists: a key is never overwritten; rotate with a new --selector (the old key stays until its record is retired)`,
      );
    return fail(EX.CANTCREAT, `cannot write ${displayPath(file)}: ${describeError(error)}`);
  }
}

/** Records the list's current keys (all, or `--selector`'s) as their selectors' keys. */
async function acceptKey(values: KeygenFlags & { list: string }): Promise<number> {
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const plan = plans.lists.find((l) => l.list.name === values.list);
  if (!plan)
    return fail(
      EX.NOUSER,
      `no list ${values.list} in ${displayPath(config.dir)} (lists: ${plans.lists.map((l) => l.list.name).join(', ') || 'none'})`,
    );
  const signing = plan.signing;
  const keys = signing ? [...signing.dkim, ...(signing.arc ? [signing.arc] : [])] : [];
  const chosen = keys.filter((k) => !values.selector || k.selector === values.selector);
  if (chosen.length === 0)
    return fail(
      EX.USAGE,
      `list ${values.list} signs with no key${values.selector ? ` of selector ${values.selector}` : ''} (its selectors: ${[...new Set(keys.map((k) => k.selector))].join(', ') || 'none'})`,
    );
  const pins = keyPins(config.main.state_dir);
  for (const { key, was } of await pins.accept(chosen)) {
    const name = `${key.selector}._domainkey.${key.domain}`;
    const now = keyFingerprint(key.publicKey).slice(0, 16);
    const change = !was
      ? 'first record'
      : was.spki_sha256.startsWith(now)
        ? 'unchanged'
        : `was SHA-256 ${was.spki_sha256.slice(0, 16)}… from ${was.key_file}`;
    process.stdout.write(
      `${name}: recorded ${displayPath(key.keyFile)} (SHA-256 ${now}…; ${change}); its DNS record must be: ${dkimTxtRecord(key).zone}\n`,
    );
  }
  process.stderr.write(
    'malist dkim: run malist check to compare the records with DNS; deferred copies are signed at their next retry\n',
  );
  return EX.OK;
}
