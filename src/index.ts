/** The public API of malist: the loop, the contracts and the built-in units. */

export { default as createDeliverTo } from './distributors/deliver-to.ts';
export { distributors } from './distributors/index.ts';
export { default as createMaildirDistributor } from './distributors/maildir.ts';
export { default as createMultiple } from './distributors/multiple.ts';
export * from './errors.ts';
export { fetchers } from './fetchers/index.ts';
export { default as createMaildirFetcher } from './fetchers/maildir.ts';
export { default as createStdinFetcher } from './fetchers/stdin.ts';
export { normalizeAddress, parseAddressList, sameAddress } from './mail/address.ts';
export { HeaderBlock } from './mail/header-block.ts';
export { createListMail, mailBytes, messageId } from './mail/list-mail.ts';
export { type PlayOptions, type PlaySummary, play } from './play.ts';
export { processors } from './processors/index.ts';
export type { ListSettings } from './processors/list.ts';
export { default as createManyLists } from './processors/many-lists.ts';
export { default as createSingleList } from './processors/single-list.ts';
export { DEFAULT_PIPELINE, units } from './processors/units.ts';
export { reactors } from './reactors/index.ts';
export { default as createStderrLogger } from './reactors/stderr-logger.ts';
export type * from './types.ts';
