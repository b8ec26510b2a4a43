/**
 * A list's DKIM keys and ARC key, from its `dkim:` / `arc:` settings to what signs its
 * copies. Keys are read from files only (paths relative to the YAML file that names them)
 * when the configuration is checked, so `malist check` names the file and line of a key
 * that is missing, unreadable, of the wrong type or too short; the runtime then signs with
 * the keys already parsed (or, with `signing_threads`, worker threads read the same files).
 *
 * What signs where: the queue signs each round's copies itself (`signer`, see
 * queue/signing.ts); any other distributor gets the post signed (and sealed) once before it
 * is handed over (`wrap`).
 */

import { type SealPlan, sealPlanFor } from '../auth/arc-seal.ts';
import { type CopySigner, createCopySigner } from '../auth/copy-signer.ts';
import { type KeyPins, keyFingerprint, mismatchProblem } from '../auth/key-pins.ts';
import {
  type DkimKeyOptions,
  dkimTxtRecord,
  keyRoles,
  loadSigningKey,
  type SigningKey,
} from '../auth/keys.ts';
import { checkPublishedKey } from '../auth/published-key.ts';
import type { DnsResolver } from '../auth/resolver.ts';
import { messageIdOf, SelfCheckError } from '../auth/self-check.ts';
import { createSignerPool } from '../auth/signer-pool.ts';
import { HeaderBlock } from '../mail/header-block.ts';
import { mailBytes } from '../mail/list-mail.ts';
import type { QueueDeps } from '../queue/queue.ts';
import type { Distributor, ListMail } from '../types.ts';
import type { LoadedConfig, LoadedList } from './load.ts';
import { type ConfigProblem, keyPath } from './problem.ts';
import { displayPath, type YamlSource } from './source.ts';

/** A key and where the configuration names it (`file:line`). */
export interface NamedKey {
  key: SigningKey;
  where: string;
  role: 'signing' | 'previous' | 'arc';
}

/** A list's keys, loaded and checked. */
export interface SigningPlan {
  /** The keys that sign, one signature each. */
  dkim: SigningKey[];
  /** Their settings (files), for signer threads that load them themselves. */
  dkimOptions: DkimKeyOptions[];
  /** The rsa-sha256 key that seals verified posts. */
  arc?: SigningKey;
  arcOptions?: DkimKeyOptions;
  selfCheck: boolean;
  /** Every key whose DNS record must be published (signing, previous and ARC keys). */
  published: NamedKey[];
}

/** Where a setting of `list` was written: its own file, or `defaults:` in malist.yaml. */
function origin(list: LoadedList, config: LoadedConfig, key: string) {
  const own = (list.source.value as Record<string, unknown> | undefined)?.[key] !== undefined;
  return own
    ? { source: list.source, base: [key] as PropertyKey[] }
    : { source: config.source, base: ['defaults', key] as PropertyKey[] };
}

function located(source: YamlSource, path: PropertyKey[]) {
  const at = source.locate(path);
  return { file: source.file, ...at, key: keyPath(path), where: `${source.file}:${at.line}` };
}

/** Why a key file cannot be used, in the operator's words. */
function keyProblem(error: unknown, file: string): string {
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  if (cause?.code) return `cannot read the key file ${displayPath(file)}: ${cause.code}`;
  return (error as Error).message.replace(file, displayPath(file));
}

/**
 * Loads the keys a list names; problems (file:line, key, fix) go to `problems` and the
 * list then signs with nothing. Undefined when the list names no key.
 */
export async function planSigning(
  list: LoadedList,
  config: LoadedConfig,
  problems: ConfigProblem[],
): Promise<SigningPlan | undefined> {
  const settings = list.settings;
  if (!settings.dkim) return undefined;
  const { source, base } = origin(list, config, 'dkim');
  const many = Array.isArray(settings.dkim);
  const configured = [settings.dkim].flat();
  const before = problems.length;
  const load = async (options: DkimKeyOptions, path: PropertyKey[], role: NamedKey['role']) => {
    const at = located(source, [...path, 'key_file']);
    try {
      return { key: await loadSigningKey(options), where: at.where, role };
    } catch (error) {
      const { where: _w, ...place } = at;
      problems.push({
        ...place,
        message: keyProblem(error, options.key_file),
        fix: `run malist dkim keygen --list ${list.name} (it writes a key and prints its DNS record), or fix the path: it is relative to ${source.file}`,
      });
      return undefined;
    }
  };
  try {
    keyRoles(configured);
  } catch (error) {
    problems.push({
      ...located(source, base),
      message: (error as Error).message,
      fix: 'give each key its own selector',
    });
  }
  const signing: NamedKey[] = [];
  const published: NamedKey[] = [];
  for (const [i, options] of configured.entries()) {
    const path = many ? [...base, i] : base;
    const key = await load(options, path, 'signing');
    if (key) signing.push(key);
    const previous = options.previous;
    if (previous) {
      const old = await load(
        { ...options, ...previous, previous: undefined },
        [...path, 'previous'],
        'previous',
      );
      if (old) published.push(old);
    }
  }
  const arc = await planArc(list, config, signing, problems);
  if (problems.length > before) return undefined;
  return {
    dkim: signing.map((k) => k.key),
    dkimOptions: configured.map(({ previous: _p, ...k }) => k),
    ...(arc ? { arc: arc.key.key, arcOptions: arc.options } : {}),
    selfCheck: settings.signature_self_check ?? true,
    published: [...signing, ...published, ...(arc && arc.role === 'own' ? [arc.key] : [])],
  };
}

/** The ARC key: `arc:` when given (rsa-sha256 only), else the first rsa-sha256 DKIM key. */
async function planArc(
  list: LoadedList,
  config: LoadedConfig,
  signing: NamedKey[],
  problems: ConfigProblem[],
): Promise<{ key: NamedKey; options: DkimKeyOptions; role: 'own' | 'dkim' } | undefined> {
  const setting = list.settings.arc;
  if (setting === false) return undefined;
  if (setting === undefined) {
    const rsa = signing.find((k) => k.key.algorithm === 'rsa-sha256');
    if (!rsa) return undefined;
    const { domain, selector, keyFile } = rsa.key;
    return { key: rsa, options: { domain, selector, key_file: keyFile }, role: 'dkim' };
  }
  const { source, base } = origin(list, config, 'arc');
  const domain = setting.domain ?? signing[0]?.key.domain ?? list.settings.address.split('@')[1]!;
  const options: DkimKeyOptions = {
    domain,
    selector: setting.selector,
    key_file: setting.key_file,
  };
  const at = located(source, [...base, 'key_file']);
  const { where, ...place } = at;
  try {
    const key = await loadSigningKey({ ...options, algorithm: 'rsa-sha256' });
    return { key: { key, where, role: 'arc' }, options, role: 'own' };
  } catch (error) {
    problems.push({
      ...place,
      message: keyProblem(error, setting.key_file),
      fix: `ARC seals with an RSA key (RFC 8617): run malist dkim keygen --list ${list.name} --selector ${setting.selector}, or fix the path: it is relative to ${source.file}`,
    });
    return undefined;
  }
}

/** Signs the copies of the lists that have keys; `close()` ends signer threads. */
export interface ListSigning {
  /** The queue's `signer` (QueueDeps). */
  signer: NonNullable<QueueDeps['signer']>;
  /** A distributor other than the queue, handed each list post signed and sealed once. */
  wrap(distributor: Distributor): Distributor;
  close(): Promise<void>;
}

/**
 * What signs the copies of `lists` (by short name); undefined when no list has keys.
 * `threads` > 0: each list signs in that many worker threads (started at its first copy).
 * `pins`: the selectors' recorded keys (auth/key-pins.ts); a list whose key is not its
 * selector's recorded one signs nothing (its copies fail as ESIGNATURE, temporary: deferred,
 * the operator told), checked again at each round until it matches (`malist dkim accept-key`).
 */
export function listSigning(
  lists: ReadonlyMap<string, SigningPlan>,
  opts: {
    threads?: number;
    pins?: KeyPins;
    /** Sign a throwaway copy when the event loop is next free (threads 0). @default true */
    warm?: boolean;
  } = {},
): ListSigning | undefined {
  if (lists.size === 0) return undefined;
  const threads = opts.threads ?? 0;
  const started = new Map<string, CopySigner & { close?(): Promise<void> }>();
  /** Each list's key check: kept once it passes, made again at a round's first copy while it fails. */
  const checks = new Map<string, { problems: Promise<string[]>; passed: boolean }>();
  const checkKeys = (name: string, plan: SigningPlan) => {
    const pins = opts.pins;
    if (!pins) return undefined;
    const known = checks.get(name);
    if (known?.passed) return undefined;
    if (known) return known.problems;
    const check = {
      passed: false,
      problems: pins.check([...plan.dkim, ...(plan.arc ? [plan.arc] : [])]).then((found) => {
        if (found.length === 0) check.passed = true;
        return found.map((m) => mismatchProblem(m, name));
      }),
    };
    checks.set(name, check);
    // A round takes its check once (signerOf): a failed one is made again by the next round
    // (after an accept-key), not by every copy of this one.
    const forget = () => {
      if (!check.passed && checks.get(name) === check) checks.delete(name);
    };
    check.problems.then(forget, forget);
    return check.problems;
  };
  const signerOf = (name: string | undefined) => {
    const plan = name === undefined ? undefined : lists.get(name);
    if (!plan || name === undefined) return undefined;
    const keyCheck = checkKeys(name, plan);
    const signer = startSigner(name, plan);
    const sealer = plan.arc !== undefined;
    const sign = (raw: Buffer, seal?: SealPlan) => signer.sign(raw, sealer ? seal : undefined);
    if (!keyCheck) return sign;
    return async (raw: Buffer, seal?: SealPlan) => {
      const problems = await keyCheck;
      if (problems.length > 0) throw new SelfCheckError(problems, messageIdOf(raw));
      return sign(raw, seal);
    };
  };
  const startSigner = (name: string, plan: SigningPlan) => {
    let signer = started.get(name);
    if (!signer) {
      signer =
        threads > 0
          ? createSignerPool({
              dkim: plan.dkimOptions,
              arc: plan.arcOptions,
              selfCheck: plan.selfCheck,
              threads,
              // The keys as loaded now: a worker finding another key in a file signs nothing.
              expect: { dkim: plan.dkim.map((k) => k.publicKey), arc: plan.arc?.publicKey },
            })
          : createCopySigner({ dkim: plan.dkim, arc: plan.arc, selfCheck: plan.selfCheck });
      started.set(name, signer);
    }
    return signer;
  };
  let closed = false;
  // A process's first signed copy compiles the signing code and makes each key operation's
  // first use: 5–9 ms of CPU, on the first post's path. Signing on this thread, that is done
  // beforehand, with a copy of no one's, when the event loop is next free (a run is reading
  // and spooling its first post then, and opening its SMTP connection). Signer threads do
  // their own when they start; the key check (pins) is not made for it, and nothing is kept.
  if (threads === 0 && opts.warm !== false)
    setImmediate(() => {
      const first = lists.entries().next().value;
      if (closed || !first) return;
      const [name, plan] = first;
      const key = plan.dkim[0];
      if (!key) return;
      const warmUp = Buffer.from(
        `From: <warm-up@${key.domain}>\nTo: <warm-up@${key.domain}>\nSubject: warm-up\n` +
          `Date: ${new Date().toUTCString()}\nMessage-ID: <warm-up@${key.domain}>\n\nwarm-up\n`,
      );
      const seal = plan.arc
        ? { authResults: `${key.domain}; none`, cv: 'none' as const }
        : undefined;
      startSigner(name, plan)
        .sign(warmUp, seal)
        .catch(() => {});
    }).unref();
  return {
    signer(entry) {
      const sign = signerOf(entry.list);
      return sign && ((raw) => sign(raw, entry.seal));
    },
    wrap(distributor) {
      return {
        name: distributor.name,
        async distribute(mail: ListMail) {
          const sign = signerOf(mail.ml_list_name);
          if (!sign) return distributor.distribute(mail);
          const signed = await sign(mailBytes(mail), mail.ml_auth && sealPlanFor(mail.ml_auth));
          const { header, bodyStart } = HeaderBlock.parse(signed);
          return distributor.distribute({ ...mail, header, body: signed.subarray(bodyStart) });
        },
        ...(distributor.close ? { close: () => distributor.close!() } : {}),
      };
    },
    async close() {
      closed = true;
      await Promise.all([...started.values()].map((s) => s.close?.()));
      started.clear();
    },
  };
}

/**
 * `malist check`'s DNS warnings: every key a list publishes (signing, `previous`, ARC)
 * compared with its TXT record through `resolver`, one line for each that does not match,
 * is missing or could not be looked up, naming where the key is configured and the record
 * to publish. A warning, not a problem: DNS may lag a new key by its TTL. With `pins` (the
 * selectors' recorded keys), also a line for each signing key that is not the one its
 * selector has signed with: its copies would be deferred until `malist dkim accept-key`.
 */
export async function publishedKeyWarnings(
  plans: { lists: ReadonlyArray<{ list: { name: string }; signing?: SigningPlan }> },
  resolver: DnsResolver,
  pins?: Pick<KeyPins, 'read'>,
): Promise<string[]> {
  const pinned = plans.lists.flatMap(({ list, signing }) =>
    (signing?.published ?? [])
      .filter(({ role }) => role !== 'previous' && pins)
      .map(async ({ key, where }) => {
        const pin = await pins!.read(key);
        const fingerprint = keyFingerprint(key.publicKey);
        if (!pin || pin.spki_sha256 === fingerprint) return undefined;
        return `${where}: warning: list ${list.name}: ${mismatchProblem({ key, pinned: pin, fingerprint }, list.name)}; until then its copies are deferred`;
      }),
  );
  const checks = plans.lists.flatMap(({ list, signing }) =>
    (signing?.published ?? []).map(async ({ key, where, role }) => {
      const check = await checkPublishedKey(key, resolver);
      if (check.status === 'match') return undefined;
      const publish = check.status === 'error' ? '' : `; publish: ${dkimTxtRecord(key).zone}`;
      return `${where}: warning: list ${list.name}: the ${role === 'arc' ? 'ARC' : 'DKIM'} key ${key.selector} (${key.domain}): ${check.detail}${publish}`;
    }),
  );
  return (await Promise.all([...checks, ...pinned])).filter((w): w is string => w !== undefined);
}
