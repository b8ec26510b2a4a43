/**
 * Sending a list's digest: claim the issue (numbered, durable), build it in the list's
 * format, hand it to the distributor for the members who take digests, then close the
 * issue. The digest's key derives from the list and its number, so a resend after a crash
 * is the same mail to the distributor, which sends it once per recipient.
 */
import { createHash } from 'node:crypto';
import { bounceAddress, requestAddress } from '../list/addresses.ts';
import type { DigestSettings, ListSettings } from '../list/settings.ts';
import { formatMailbox } from '../mail/address.ts';
import { createListMail } from '../mail/list-mail.ts';
import { digestRecipients, type MemberStore } from '../members/store.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import { buildMimeDigest, buildPlainDigest, type DigestSpec } from './build.ts';
import type { DigestNumber } from './numbering.ts';
import { summarisePost } from './post-summary.ts';
import { DigestClaimLost, type DigestCollection, type DigestIssue } from './store.ts';

/** A list's `digest:` settings, documented where lists are (processors/list.ts). */
export type DigestOptions = DigestSettings;

export interface SendDigestInput {
  list: ListSettings;
  store: DigestCollection;
  members: MemberStore;
  distributor: Distributor;
  options?: DigestOptions;
  now?: Date;
}

export interface SentDigest {
  number: DigestNumber;
  /** The digest mails sent: MIME to most, plain text to members with `plain`. */
  mails: ListMail[];
  /** How many members it went to. */
  recipients: number;
  report: DeliveryReport;
}

/** The digest as a ListMail (bytes and key), for sending or for a test. */
export async function buildDigestMail(
  list: ListSettings,
  number: DigestNumber,
  posts: Buffer[],
  options: DigestOptions = {},
  date = new Date(),
): Promise<ListMail> {
  const spec: DigestSpec = {
    listName: list.display_name ?? list.name,
    listAddress: list.address,
    from: formatMailbox(`${list.display_name ?? list.name}`, requestAddress(list)),
    number,
    date,
    posts: await Promise.all(posts.map(summarisePost)),
    footer:
      options.footer ??
      `To leave digest mode, send "set digest off" to ${requestAddress(list)}.\nTo leave the list, send "unsubscribe" to ${requestAddress(list)}.`,
  };
  const format = options.format ?? 'mime';
  const raw = format === 'plain' ? buildPlainDigest(spec) : buildMimeDigest(spec);
  const key = createHash('sha256')
    .update(`digest:${list.name}:${number.volume}:${number.issue}:${format}`)
    .digest('hex');
  return {
    ...createListMail(raw, {
      fetcher: 'malist',
      id: `digest:${list.name}:${number.volume}:${number.issue}`,
    }),
    key,
    ml_list: formatMailbox(list.display_name ?? list.name, list.address),
    ml_list_name: list.name,
    ml_sender: bounceAddress(list),
  };
}

/** Sends the next digest if there are posts; undefined when there were none. */
export async function sendDigest(input: SendDigestInput): Promise<SentDigest | undefined> {
  const date = input.now ?? new Date();
  const issue = await input.store.claim(date);
  if (!issue) return undefined;
  try {
    return await sendIssue(input, issue);
  } finally {
    // Finished, or failed and left open for the next try: the claim goes either way.
    await input.store.release?.(issue);
  }
}

async function sendIssue(input: SendDigestInput, issue: DigestIssue): Promise<SentDigest> {
  const posts = await input.store.postBytes(issue);
  const members = digestRecipients(await input.members.list());
  // The list's format for everyone, except members who asked for plain text.
  const listFormat = input.options?.format ?? 'mime';
  const byFormat = {
    mime: members.filter((m) => !m.plain && listFormat === 'mime').map((m) => m.address),
    plain: members.filter((m) => m.plain || listFormat === 'plain').map((m) => m.address),
  };
  const mails: ListMail[] = [];
  const results: DeliveryReport['results'] = [];
  for (const format of ['mime', 'plain'] as const) {
    if (byFormat[format].length === 0) continue;
    const options = { ...input.options, format };
    const mail = await buildDigestMail(
      input.list,
      issue.number,
      posts,
      options,
      new Date(issue.date),
    );
    mail.ml_send_to = byFormat[format];
    // Another process may have taken the issue over (our claim's session is gone): it sends.
    if (input.store.stillClaimed && !(await input.store.stillClaimed(issue)))
      throw new DigestClaimLost(input.list.name, issue.number, 'nothing more sent');
    results.push(...(await input.distributor.distribute(mail)).results);
    mails.push(mail);
  }
  // Deferred recipients are the distributor's to retry (the queue); a throw leaves the issue open.
  await input.store.finish(issue);
  return { number: issue.number, mails, recipients: members.length, report: { results } };
}

/** True when the pending posts call for a digest now. */
export async function digestDue(
  store: DigestCollection,
  options: DigestOptions = {},
  now = Date.now(),
): Promise<boolean> {
  const pending = await store.pending();
  if (pending.length === 0) return false;
  const size = pending.reduce((sum, p) => sum + p.size, 0);
  if (size >= (options.size_kb ?? 30) * 1024) return true;
  return now - pending[0]!.time >= (options.max_age_hours ?? 24) * 3_600_000;
}
