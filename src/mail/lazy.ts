/**
 * What only some mails or commands need, made on first use: mailparser alone adds ~29 MB to
 * a process, and a list that never sees a command mail or sends a digest never needs it. A
 * process per mail (`malist receive`) pays for every module it loads and every schema it
 * builds, so the composition root and the units make theirs through `once()` too.
 */
import { createRequire } from 'node:module';

/** A value made once, on first use: a module required, a schema built, a store opened. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/** mailparser (command mail bodies, digest summaries). */
export const loadMailparser = once(() => import('mailparser'));

const require = createRequire(import.meta.url);

/**
 * libmime (RFC 2047 words, header parameters), required on first use: with iconv-lite and
 * encoding-japanese it costs a process ~0.1 CPU-s to load, and a plain-ASCII post to a
 * list without a content filter never needs it. Synchronous: its callers are.
 */
export const libmime = once(() => require('libmime') as typeof import('libmime').default);

/**
 * libmime's charset decoder (the archive's text of a part in a legacy charset), required on
 * first use as libmime is: loaded at the archive modules' start, it brought iconv-lite and
 * encoding-japanese into every `malist receive` (+75 ms of CPU a process, measured).
 */
export const libmimeCharset = once(
  () => require('libmime/lib/charset.js') as typeof import('libmime/lib/charset.js'),
);

/** entities (HTML parts' text for the archive), required on first use, as libmime is. */
export const htmlEntities = once(() => require('entities') as typeof import('entities'));

/**
 * nodemailer's MailComposer (notices, the library's mailer), required on first use: it loads
 * most of nodemailer, which a post that makes no notice never needs.
 */
export const loadMailComposer = once(
  () =>
    require('nodemailer/lib/mail-composer') as typeof import('nodemailer/lib/mail-composer').default,
);

/**
 * node:readline (a text file of members, read line by line), required on first use: a
 * receive on a list whose members are in its YAML loaded it, and six more of Node's
 * modules, for nothing.
 */
export const nodeReadline = once(() => require('node:readline') as typeof import('node:readline'));
