/**
 * The shape of `malist.yaml` and of `lists/NAME.yaml`, as zod schemas. Every mapping is
 * strict: an unknown key is an error, so a typo never passes silently. Unit options (a
 * `type:` mapping) are checked later, against the `schema` its unit file exports.
 */
import { z } from 'zod';
import { BOUNCE_TEMPLATES } from '../bounces/handler.ts';
import { COMMAND_TEMPLATES } from '../commands/templates.ts';
import { unitSpec } from '../distributors/multiple.ts';
import { addressOption as address } from '../mail/address-option.ts';
import { DEFAULT_TEMPLATES } from '../notices/templates.ts';
import { webhookSchema } from '../notices/webhooks/outbox.ts';

export { address, unitSpec };

const addresses = z.array(address, { error: 'expected a list of addresses' });

/** A member: `a@example.com`, `Alice <a@example.com>`, or `{ address: …, name: …, nomail: … }`. */
export const member = z.union(
  [
    z.string().regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+$|<[^\s@<>,;"]+@[^\s@<>,;"]+>\s*$/, {
      error: 'expected a member: name@example.com or "Name <name@example.com>"',
    }),
    z.looseObject({ address, nomail: z.boolean().optional() }),
  ],
  { error: 'expected a member: name@example.com, "Name <name@example.com>" or { address: … }' },
);

/**
 * A unit by name: `stderr-logger`, or a mapping with `type:` and the unit's options.
 * `server:` names an entry of `servers:` whose settings the unit takes.
 */
export type UnitSpecValue = z.infer<typeof unitSpec>;

const oneOrMany = z.union([unitSpec, z.array(unitSpec)], {
  error: 'expected a unit (type: …) or a list of units',
});

export const POSTING = ['open', 'members', 'moderated', 'announce'] as const;
export const NON_MEMBER_ACTION = ['hold', 'reject', 'discard', 'accept'] as const;

const nonNegative = z.number().min(0);

/** Bounce scoring (src/bounces/score.ts); a typo is an unknown key. */
const bounces = z.strictObject({
  /** Score at which a member is set to nomail. @default 5 */
  threshold: z.number().positive().optional(),
  hard_weight: nonNegative.optional(),
  soft_weight: nonNegative.optional(),
  delay_weight: nonNegative.optional(),
  /** Most score added in one UTC day. @default 1 */
  daily_cap: z.number().positive().optional(),
  quiet_days: nonNegative.optional(),
  half_life_days: z.number().positive().optional(),
});

/** Digests (src/digest/send.ts). */
const digest = z.strictObject({
  /** MIME (multipart/digest) or plain text (RFC 1153). @default mime */
  format: z.enum(['mime', 'plain']).optional(),
  /** Send when the pending posts reach this size, in KiB. @default 30 */
  size_kb: z.number().positive().optional(),
  /** Send when the oldest pending post is this old, in hours. @default 24 */
  max_age_hours: z.number().positive().optional(),
  footer: z.string().optional(),
});

/** Text overrides by key: membership (commands/templates.ts), bounce and notice texts. */
const templates = z.strictObject(
  Object.fromEntries(
    [
      ...Object.keys(COMMAND_TEMPLATES),
      ...Object.keys(BOUNCE_TEMPLATES),
      ...Object.keys(DEFAULT_TEMPLATES),
    ].map((key) => [key, z.string().optional()]),
  ),
);

/** The settings a list may take from `defaults:` in malist.yaml. */
const listDefaults = {
  /** How people join by mail: confirm (double opt-in), approve, confirm-approve, open. @default confirm */
  subscribe_policy: z.enum(['confirm', 'approve', 'confirm-approve', 'open']).optional(),
  /** open: an unsubscribe from the member's own address is done at once. @default confirm */
  unsubscribe_policy: z.enum(['confirm', 'open']).optional(),
  /** Hours a confirmation token lives. @default 72 */
  confirm_hours: z.number().positive().optional(),
  templates: templates.optional(),
  bounces: bounces.optional(),
  digest: digest.optional(),
  /** Who may post. @default members */
  posting: z.enum(POSTING).optional(),
  /** What happens to a non-member's post on a `members` list. @default hold */
  non_member_action: z.enum(NON_MEMBER_ACTION).optional(),
  /** Allowed to post without being members (and the only posters of an announce list). */
  posters: addresses.optional(),
  /** Get held-mail notices. */
  moderators: addresses.optional(),
  /** Manage members, settings and the queue on the web (`malist serve`), and moderate. */
  owners: addresses.optional(),
  /** Extra fixed recipients of every post (an archive). */
  deliver_to: addresses.optional(),
  /** The processor units, in order, replacing the default pipeline. */
  pipeline: z.array(unitSpec, { error: 'expected a list of unit names' }).optional(),
  /** Options for units of the pipeline by unit name, without restating the pipeline. */
  unit_options: z
    .record(z.string(), z.record(z.string(), z.unknown()), {
      error: 'expected a mapping of unit name to its options',
    })
    .optional(),
};

/** `lists/NAME.yaml`: one list; NAME is its short name. */
export const listSchema = z.strictObject({
  /** The posting address. */
  address,
  /** Shown in From/List-Id. @default the short name */
  display_name: z.string().min(1).optional(),
  /** Free text for operators and `malist check`. */
  description: z.string().optional(),
  /** Members, inline. */
  members: z.array(member, { error: 'expected a list of members' }).optional(),
  /** A file of member addresses, one a line (# comments), relative to this file. */
  members_file: z.string().min(1).optional(),
  /**
   * Where the envelope reads members at each post (subscriptions by mail count at once):
   * `yaml` (this file's members:, or `{ type: yaml, file: … }`) or `memory`.
   */
  member_store: unitSpec.optional(),
  /** Added to the subject, never stacked, e.g. "[Red] ". */
  subject_prefix: z.string().optional(),
  /** The envelope sender of distributed mail. @default LOCAL-bounces@DOMAIN */
  bounce_address: address.optional(),
  /** From moderator_password_env / moderator_password_file (never written in YAML). */
  moderator_password: z.string().optional(),
  /** Posts larger than this many bytes are held. 0: no limit. */
  max_message_size: z.number().int().min(0).optional(),
  /** Posts with more To + Cc addresses than this are held. 0: no limit. */
  max_recipients: z.number().int().min(0).optional(),
  /** Hold posts that do not name the list (or an acceptable alias) in To or Cc. */
  require_explicit_destination: z.boolean().optional(),
  acceptable_aliases: addresses.optional(),
  /** Held posts expire after this many days. @default 14 */
  held_expiry_days: z.number().positive().optional(),
  /** The RFC 2919 list label. @default the address with @ replaced by . */
  list_id: z.string().min(1).optional(),
  archive_url: z.string().min(1).optional(),
  help_url: z.string().min(1).optional(),
  subscribe_url: z.string().min(1).optional(),
  unsubscribe_url: z.string().min(1).optional(),
  ...listDefaults,
});
export type ListYaml = z.infer<typeof listSchema>;

/** `malist.yaml`. Relative paths are relative to the file's directory. */
export const mainSchema = z.strictObject({
  /** Journal, held mail, quarantine, the run lock. @default var/state */
  state_dir: z.string().min(1).optional(),
  /** Where the list files are. @default lists */
  lists_dir: z.string().min(1).optional(),
  /** Named connection settings (host, port, user, password_env …) that units refer to by `server:`. */
  servers: z
    .record(
      z.string(),
      z.record(z.string(), z.unknown(), { error: 'expected a mapping of settings' }),
    )
    .optional(),
  /** Where `malist run` fetches mail, in order. */
  fetch: oneOrMany.optional(),
  /**
   * Mails `malist run` and `malist watch` handle at once (fetching and removal from the
   * source stay one at a time; posts may leave in a slightly different order). @default 4
   */
  concurrency: z
    .number({ error: 'expected a whole number of mails, 1 to 64' })
    .int({ error: 'expected a whole number of mails, 1 to 64' })
    .min(1, { error: 'expected at least 1 (one mail at a time)' })
    .max(64, { error: 'expected at most 64' })
    .optional(),
  /** How list mail leaves (several: every one gets every mail). */
  distribute: oneOrMany,
  /** Defaults for every `type: queue` distributor (spool dir, retry, expiry); `malist run` runs it. */
  queue: z
    .record(z.string(), z.unknown(), { error: 'expected a mapping of queue settings' })
    .optional(),
  /** Told of every failure and signal. @default [stderr-logger] */
  reactors: z.array(unitSpec, { error: 'expected a list of reactors' }).optional(),
  /** One line per delivery: time, list, Message-ID, recipients, outcome. */
  delivery_log: z.string().min(1).optional(),
  /** A mail addressed to none of the lists. @default hold */
  no_match: z.enum(['hold', 'reject', 'discard']).optional(),
  /** Settings every list takes unless it sets its own. */
  defaults: z.strictObject(listDefaults).optional(),
  /** `malist serve`: the web pages, the REST API and one-click unsubscribe. */
  web: z
    .strictObject({
      /** The public address of the pages (behind the TLS proxy), used in mailed links. @default http://LISTEN */
      url: z
        .url({
          protocol: /^https?$/,
          error: 'expected the public URL, e.g. https://lists.example.com',
        })
        .optional(),
      /** HOST:PORT to listen on. @default 127.0.0.1:8025 */
      listen: z
        .string()
        .regex(/^(\[[0-9a-f:.]+\]|[^\s:]+):\d{1,5}$/i, { error: 'expected HOST:PORT' })
        .optional(),
      /** Hours a sign-in lasts. @default 12 */
      session_hours: z.number().positive().max(720).optional(),
      /** Open connections at most. @default 256 */
      max_connections: z.number().int().positive().optional(),
    })
    .optional(),
  /** Endpoints told of events (signed JSON POSTs, delivered through their own durable queue). */
  webhooks: z.array(webhookSchema, { error: 'expected a list of webhooks' }).optional(),
});
export type MainYaml = z.infer<typeof mainSchema>;

/** Keys refused with a pointed fix instead of "unknown key". */
export const KEY_HINTS: Record<string, string> = {
  name: "use display_name: for the list's display name; its short name is the file name",
  password: 'secrets never sit in YAML: write password_env: VAR or password_file: PATH',
  pass: 'secrets never sit in YAML: write pass_env: VAR or pass_file: PATH',
  member: 'the key is members: (a list of addresses)',
  prefix: 'the key is subject_prefix:',
  policy: 'the key is posting:',
  state: 'the key is state_dir:',
  processors: 'the key is pipeline: (a list of unit names)',
};
