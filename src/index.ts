/**
 * The public API of malist (`import { … } from 'malist'`). What is exported here is the
 * contract with applications and custom units, versioned by semver; everything else under
 * src/ is internal and may move. By folder (the order below):
 * - the loop: `play` (play.ts); the contracts (`Fetcher`, `Processor`, `Distributor`,
 *   `Reactor`, `ListMail`, …: types.ts) and the signals and error codes (errors.ts);
 * - the built-in units, each a default factory with its options type, and the registries
 *   that a YAML `type:` names (fetchers/, processors/ with the pipeline units, distributors/,
 *   reactors/);
 * - the application API: `createMailer` (mailer.ts), mail through the durable queue;
 * - configuration loading as `malist check` does it: `loadConfig`, `openConfig` (config/);
 * - what a custom unit needs to read and edit mail (mail/), and the list services (members,
 *   bounces, requests, digests, archives, the one-click HTTP endpoint).
 */

export { exportArchive } from './archive/export.ts';
export { type BounceVerdict, classifyBounce } from './bounces/classify.ts';
export { default as createBounceHandler } from './bounces/handler.ts';
export { withRefusalRecording } from './bounces/refusals.ts';
export { default as createRequestHandler } from './commands/request.ts';
export { loadSecret } from './commands/secret.ts';
export { type LoadedConfig, type LoadedList, type LoadOptions, loadConfig } from './config/load.ts';
export { type Opened, openConfig } from './config/open.ts';
export { type ConfigProblem, formatProblem } from './config/problem.ts';
export { buildListServices } from './config/services.ts';
export { default as createDigestCollector } from './digest/collector.ts';
export { sendDigest } from './digest/send.ts';
export { type DigestCollection, DigestStore } from './digest/store.ts';
export {
  type ArchiveOptions,
  default as createArchiveDistributor,
} from './distributors/archive.ts';
export { type DeliverToOptions, default as createDeliverTo } from './distributors/deliver-to.ts';
export {
  default as createImapAppendDistributor,
  type ImapAppendOptions,
} from './distributors/imap-append.ts';
export { type DistributorType, distributors } from './distributors/index.ts';
export { default as createLogDistributor, type LogOptions } from './distributors/log.ts';
export {
  default as createMaildirDistributor,
  type MaildirDistributorOptions,
} from './distributors/maildir.ts';
export { default as createMboxDistributor, type MboxOptions } from './distributors/mbox.ts';
export { default as createMultiple, type MultipleOptions } from './distributors/multiple.ts';
export {
  default as createQueueDistributor,
  type QueueDistributorOptions,
} from './distributors/queue.ts';
export {
  default as createSendmailDistributor,
  type SendmailOptions,
} from './distributors/sendmail.ts';
export { default as createSmtpDistributor } from './distributors/smtp.ts';
export * from './errors.ts';
export { default as createImapFetcher, type ImapOptions } from './fetchers/imap.ts';
export { type FetcherType, fetchers } from './fetchers/index.ts';
export {
  default as createMaildirFetcher,
  type MaildirFetcherOptions,
} from './fetchers/maildir.ts';
export { default as createPop3Fetcher, type Pop3Options } from './fetchers/pop3.ts';
export { default as createStdinFetcher, type StdinOptions } from './fetchers/stdin.ts';
export type { ListSettings } from './list/settings.ts';
export { normalizeAddress, parseAddressList, sameAddress } from './mail/address.ts';
export { HeaderBlock } from './mail/header-block.ts';
export { createListMail, mailBytes, messageId } from './mail/list-mail.ts';
export {
  createMailer,
  type Envelope,
  type Mailer,
  type MailerOptions,
  type MailerTransaction,
  type MessageObject,
  type SendResult,
} from './mailer.ts';
export { memberStores, openMemberStore } from './members/index.ts';
export type { Member, MemberOptions, MemberStore } from './members/store.ts';
export {
  type ListCounts,
  type OutcomeEvent,
  type PlayOptions,
  type PlaySummary,
  play,
} from './play.ts';
export { type ApprovedOptions, default as createApproved } from './processors/approved.ts';
export {
  type ContentFilterOptions,
  default as createContentFilter,
} from './processors/content-filter.ts';
export { type DmarcOptions, default as createDmarc } from './processors/dmarc.ts';
export { default as createEnvelope, type EnvelopeOptions } from './processors/envelope.ts';
export {
  default as createExplicitDestination,
  type ExplicitDestinationOptions,
} from './processors/explicit-destination.ts';
export { default as createFooter, type FooterOptions } from './processors/footer.ts';
export { type ProcessorType, processors } from './processors/index.ts';
export {
  default as createListHeaders,
  type ListHeadersOptions,
} from './processors/list-headers.ts';
export { default as createLoopGuard, type LoopGuardOptions } from './processors/loop-guard.ts';
export { default as createManyLists, type ManyListsOptions } from './processors/many-lists.ts';
export {
  default as createMaxRecipients,
  type MaxRecipientsOptions,
} from './processors/max-recipients.ts';
export { default as createMaxSize, type MaxSizeOptions } from './processors/max-size.ts';
export {
  default as createPostingPolicy,
  type PostingPolicyOptions,
} from './processors/posting-policy.ts';
export { default as createReplyTo, type ReplyToOptions } from './processors/reply-to.ts';
export { default as createSingleList, type SingleListOptions } from './processors/single-list.ts';
export {
  default as createStripHeaders,
  type StripHeadersOptions,
} from './processors/strip-headers.ts';
export {
  default as createSubjectPrefix,
  type SubjectPrefixOptions,
} from './processors/subject-prefix.ts';
export { DEFAULT_PIPELINE, type UnitFactory, type UnitName, units } from './processors/units.ts';
export { type ReactorType, reactors } from './reactors/index.ts';
export { default as createJsonLog, type JsonLogOptions } from './reactors/json-log.ts';
export {
  default as createNotifyModerators,
  type NotifyModeratorsOptions,
} from './reactors/notify-moderators.ts';
export {
  default as createNotifyPoster,
  type NotifyPosterOptions,
} from './reactors/notify-poster.ts';
export { default as createQuarantine, type QuarantineOptions } from './reactors/quarantine.ts';
export {
  default as createStderrLogger,
  type StderrLoggerOptions,
} from './reactors/stderr-logger.ts';
export type { SmtpOptions } from './smtp/server-options.ts';
export { unsubscribeToken } from './state/unsubscribe-token.ts';
export type * from './types.ts';
export { serve } from './web/server.ts';
