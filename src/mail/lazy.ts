/**
 * Libraries only some mails need, loaded on first use: mailparser alone adds ~29 MB to a
 * process, and a list that never sees a command mail or sends a digest never needs it.
 */
import { createRequire } from 'node:module';

let mailparser: Promise<typeof import('mailparser')> | undefined;

/** mailparser (command mail bodies, digest summaries). */
export function loadMailparser(): Promise<typeof import('mailparser')> {
  mailparser ??= import('mailparser');
  return mailparser;
}

const require = createRequire(import.meta.url);

let libmimeModule: typeof import('libmime').default | undefined;

/**
 * libmime (RFC 2047 words, header parameters), required on first use: with iconv-lite and
 * encoding-japanese it costs a process ~0.1 CPU-s to load, and a plain-ASCII post to a
 * list without a content filter never needs it. Synchronous: its callers are.
 */
export function libmime(): typeof import('libmime').default {
  libmimeModule ??= require('libmime') as typeof import('libmime').default;
  return libmimeModule;
}

type CharsetModule = typeof import('libmime/lib/charset.js');
let charsetModule: CharsetModule | undefined;

/**
 * libmime's charset decoder (the archive's text of a part in a legacy charset), required on
 * first use as libmime is: loaded at the archive modules' start, it brought iconv-lite and
 * encoding-japanese into every `malist receive` (+75 ms of CPU a process, measured).
 */
export function libmimeCharset(): CharsetModule {
  charsetModule ??= require('libmime/lib/charset.js') as CharsetModule;
  return charsetModule;
}

let entitiesModule: typeof import('entities') | undefined;

/** entities (HTML parts' text for the archive), required on first use, as libmime is. */
export function htmlEntities(): typeof import('entities') {
  entitiesModule ??= require('entities') as typeof import('entities');
  return entitiesModule;
}

type MailComposerClass = typeof import('nodemailer/lib/mail-composer').default;
let mailComposer: MailComposerClass | undefined;

/**
 * nodemailer's MailComposer (notices, the library's mailer), required on first use: it loads
 * most of nodemailer, which a post that makes no notice never needs.
 */
export function loadMailComposer(): MailComposerClass {
  mailComposer ??= require('nodemailer/lib/mail-composer') as MailComposerClass;
  return mailComposer;
}
