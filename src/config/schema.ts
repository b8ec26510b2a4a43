/**
 * The shape of `malist.yaml` and of `lists/NAME.yaml`, as zod schemas. Every mapping is
 * strict: an unknown key is an error, so a typo never passes silently. Unit options (a
 * `type:` mapping) are checked later, against the `schema` its unit file exports.
 */
import { z } from 'zod';
import { DKIM_ALGORITHMS } from '../auth/keys.ts';
import { BOUNCE_TEMPLATES } from '../bounces/notices.ts';
import { COMMAND_TEMPLATES } from '../commands/templates.ts';
import { unitSpec } from '../distributors/multiple.ts';
import { ARCHIVE_VISIBILITY } from '../list/archive.ts';
import { addressOption as address } from '../mail/address-option.ts';
import { deferred, lazySchema } from '../mail/deferred-option.ts';
import { once } from '../mail/lazy.ts';
import {
  optionalBoolean,
  optionalName,
  optionalPositive,
  optionalText,
} from '../mail/shared-options.ts';
import { DEFAULT_TEMPLATES } from '../notices/templates.ts';
import { webhookSchema } from '../notices/webhooks/outbox.ts';
import { rulesSchema } from '../processors/header-match.ts';

export { address, unitSpec };

/*
 * `malist receive` (a process per mail) loads this module, and every zod schema object costs
 * it ~44 µs with its garbage: this module built 349 of them at load. So a section a plain
 * configuration seldom writes (storage, web, DKIM, bounces …) is `deferred()`, built when a
 * file has it, and the keys that check the same thing share one schema (zod's schemas are
 * immutable: sharing is the same check). The two files' schemas are built on their first
 * read (`lazySchema`): a receive answered by the check cache (config/check-cache.ts)
 * checks nothing and builds none of them.
 */
const addresses = lazySchema(() => z.array(address, { error: 'expected a list of addresses' }));
const optionalAddresses = lazySchema(() => addresses.optional());
const optionalCount = lazySchema(() => z.number().int().min(0).optional());

/**
 * A unit by name: `stderr-logger`, or a mapping with `type:` and the unit's options.
 * `server:` names an entry of `servers:` whose settings the unit takes.
 */
export type UnitSpecValue = z.infer<typeof unitSpec>;

const oneOrMany = lazySchema(() =>
  z.union([unitSpec, z.array(unitSpec)], {
    error: 'expected a unit (type: …) or a list of units',
  }),
);

export const POSTING = ['open', 'members', 'moderated', 'announce'] as const;
export const NON_MEMBER_ACTION = ['hold', 'reject', 'discard', 'accept'] as const;

/** Bounce scoring (src/bounces/score.ts); a typo is an unknown key. */
const bounces = () => {
  const optionalNonNegative = z.number().min(0).optional();
  return z.strictObject({
    /** Score at which a member is set to nomail. @default 5 */
    threshold: optionalPositive,
    hard_weight: optionalNonNegative,
    soft_weight: optionalNonNegative,
    delay_weight: optionalNonNegative,
    /** Most score added in one UTC day. @default 1 */
    daily_cap: optionalPositive,
    quiet_days: optionalNonNegative,
    half_life_days: optionalPositive,
    /** Days a probe has to bounce before it counts as delivered. @default 7 */
    probe_days: optionalPositive,
  });
};

/** Digests (src/digest/send.ts). */
const digest = () =>
  z.strictObject({
    /** MIME (multipart/digest) or plain text (RFC 1153). @default mime */
    format: z.enum(['mime', 'plain']).optional(),
    /** Send when the pending posts reach this size, in KiB. @default 30 */
    size_kb: optionalPositive,
    /** Send when the oldest pending post is this old, in hours. @default 24 */
    max_age_hours: optionalPositive,
    footer: optionalText,
  });

/** malist's web archive of a list (src/list/archive.ts). */
const archive = () =>
  z.strictObject({
    /** Who reads the archive on the web (`malist serve`): anyone; the list's members once signed in, and its owners and moderators; or only its owners and moderators. @default members */
    web: z.enum(ARCHIVE_VISIBILITY).optional(),
    /** The web front's public base URL (https://lists.example.com): pages under /archive/LIST/. */
    url: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+[^\s?#]*$/, {
        error: 'expected an http(s) URL without query, e.g. https://lists.example.com',
      })
      .optional(),
  });

/**
 * Text overrides by key: membership (commands/templates.ts), bounce and notice texts. One
 * schema for every key's text, not one each: 2 objects instead of ~100.
 */
const templates = () =>
  z.strictObject(
    Object.fromEntries(
      [
        ...Object.keys(COMMAND_TEMPLATES),
        ...Object.keys(BOUNCE_TEMPLATES),
        ...Object.keys(DEFAULT_TEMPLATES),
      ].map((key) => [key, optionalText]),
    ),
  );

/** A DNS domain name (an IDN in Unicode or A-labels), e.g. list.example.com. */
const domain = once(() =>
  z
    .string({ error: 'expected a domain name, e.g. list.example.com' })
    .regex(/^(?=.{1,253}\.?$)[^\s@.,;:/\\]+(\.[^\s@.,;:/\\]+)+\.?$/, {
      error: 'expected a domain name, e.g. list.example.com',
    }),
);
/** A DKIM selector: dot-separated labels of letters, digits, - and _ (RFC 6376 3.1). */
const selector = once(() =>
  z
    .string({ error: 'expected a selector, e.g. s2025' })
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, {
      error: 'expected a selector: letters, digits, - and _ (e.g. s2025)',
    }),
);
const keyFile = once(() => z.string({ error: 'expected the path of a PEM key file' }).min(1));

/** One DKIM signing key (src/auth/keys.ts DkimKeyOptions); the key itself only in a file. */
const dkimKey = () =>
  z.strictObject({
    domain: domain(),
    selector: selector(),
    /** PEM private key, relative to the YAML file (malist dkim keygen writes one). */
    key_file: keyFile(),
    algorithm: z.enum(DKIM_ALGORITHMS).optional(),
    /** The selector this key replaced: still published and checked, never signing. */
    previous: z.strictObject({ selector: selector(), key_file: keyFile() }).optional(),
  });

/** The settings a list may take from `defaults:` in malist.yaml. */
const listDefaults = once(() => ({
  /**
   * Posts count as from a member only with an authenticated From: true, false, or the
   * From domains it applies to. @default false
   */
  require_authenticated_from: deferred(() =>
    z.union([z.boolean(), z.array(domain()).min(1)], {
      error: 'expected true, false or a list of domains',
    }),
  ),
  /** Forwarders whose ARC seal (cv=pass) vouches for a post's From. */
  arc_trusted_sealers: deferred(() => z.array(domain(), { error: 'expected a list of domains' })),
  /** The DKIM key(s) every copy is signed with (several: dual-sign). */
  dkim: deferred(() => {
    const key = dkimKey();
    return z.union([key, z.array(key).min(1)], {
      error: 'expected a key { domain, selector, key_file } or a list of them',
    });
  }),
  /** The ARC sealing key (rsa-sha256), or false. @default the first rsa-sha256 dkim key */
  arc: deferred(() =>
    z.union(
      [
        z.literal(false),
        z.strictObject({
          domain: domain().optional(),
          selector: selector(),
          key_file: keyFile(),
        }),
      ],
      {
        error: 'expected false or a key { selector, key_file }',
      },
    ),
  ),
  /** Verify each signed copy before it leaves (no DNS). @default true */
  signature_self_check: optionalBoolean,
  /** How people join by mail: confirm (double opt-in), approve, confirm-approve, open. @default confirm */
  subscribe_policy: z.enum(['confirm', 'approve', 'confirm-approve', 'open']).optional(),
  /** open: an unsubscribe from the member's own address is done at once. @default confirm */
  unsubscribe_policy: z.enum(['confirm', 'open']).optional(),
  /** Hours a confirmation token lives. @default 72 */
  confirm_hours: optionalPositive,
  templates: deferred(templates),
  bounces: deferred(bounces),
  /** VERP with a cookie per member (one transaction each); false: batched. @default true */
  verp: optionalBoolean,
  /** Between the bounce address's local part and the VERP part. @default + */
  verp_delimiter: z.enum(['+', '-']).optional(),
  digest: deferred(digest),
  /** The web archive: visibility and base URL (List-Archive, Archived-At). */
  archive: deferred(archive),
  /** Who may post. @default members */
  posting: z.enum(POSTING).optional(),
  /** What happens to a non-member's post on a `members` list. @default hold */
  non_member_action: z.enum(NON_MEMBER_ACTION).optional(),
  /** Allowed to post without being members (and the only posters of an announce list). */
  posters: optionalAddresses,
  /** Get held-mail notices. */
  moderators: optionalAddresses,
  /** Manage members, settings and the queue on the web (`malist serve`), and moderate. */
  owners: optionalAddresses,
  /** Extra fixed recipients of every post (an archive). */
  deliver_to: optionalAddresses,
  /** The processor units, in order, replacing the default pipeline. */
  pipeline: z.array(unitSpec, { error: 'expected a list of unit names' }).optional(),
  /** Options for units of the pipeline by unit name, without restating the pipeline. */
  unit_options: deferred(() =>
    z.record(z.string(), z.record(z.string(), z.unknown()), {
      error: 'expected a mapping of unit name to its options',
    }),
  ),
}));

/** `lists/NAME.yaml`: one list; NAME is its short name. */
export const listSchema = lazySchema(() =>
  z.strictObject({
    /** The posting address. */
    address,
    /** Shown in From/List-Id. @default the short name */
    display_name: optionalName,
    /** Free text for operators and `malist check`. */
    description: optionalText,
    /** Members, inline. */
    /**
     * Members: `a@example.com`, `Alice <a@example.com>`, or `{ address: …, nomail: … }`. An
     * entry that is not a member is a warning (config/members.ts): the others still get mail.
     */
    members: z.array(z.unknown(), { error: 'expected a list of members' }).optional(),
    /** A file of member addresses, one a line (# comments), relative to this file. */
    members_file: optionalName,
    /**
     * Where the envelope reads members at each post (subscriptions by mail count at once):
     * `yaml` (this file's members:, or `{ type: yaml, file: … }`) or `memory`.
     */
    member_store: unitSpec.optional(),
    /** Added to the subject, never stacked, e.g. "[Red] ". */
    subject_prefix: optionalText,
    /** The envelope sender of distributed mail. @default LOCAL-bounces@DOMAIN */
    bounce_address: address.optional(),
    /** From moderator_password_env / moderator_password_file (never written in YAML). */
    moderator_password: optionalText,
    /** Posts larger than this many bytes are held. 0: no limit. */
    max_message_size: optionalCount,
    /** Posts with more To + Cc addresses than this are held. 0: no limit. */
    max_recipients: optionalCount,
    /** Hold posts that do not name the list (or an acceptable alias) in To or Cc. */
    require_explicit_destination: optionalBoolean,
    acceptable_aliases: optionalAddresses,
    /** Held posts expire after this many days. @default 14 */
    held_expiry_days: optionalPositive,
    /** The RFC 2919 list label. @default the address with @ replaced by . */
    list_id: optionalName,
    archive_url: optionalName,
    help_url: optionalName,
    subscribe_url: optionalName,
    unsubscribe_url: optionalName,
    /** Header rules `{ header, pattern, action }`, after the site's (malist.yaml header_matches:). */
    header_matches: deferred(rulesSchema),
    ...listDefaults(),
  }),
);
export type ListYaml = z.infer<typeof listSchema>;

/** `web:` (below). */
const webSettings = () =>
  z.strictObject({
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
  });

/** `feedback:` (below). */
const feedbackSettings = () =>
  z.strictObject({
    ses: z
      .strictObject({
        /** The SNS topic ARNs SES publishes to; messages of other topics are refused. */
        topics: z
          .array(
            z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, {
              error:
                'expected a topic ARN, e.g. arn:aws:sns:eu-west-1:123456789012:malist-feedback',
            }),
          )
          .min(1),
        /** Hosts (host:port) to take certificates and SubscribeURLs from instead of sns.*.amazonaws.com (tests only). */
        sns_hosts: z.array(z.string().min(1)).optional(),
      })
      .optional(),
    mailgun: z
      .strictObject({
        /** Mailgun's HTTP webhook signing key: signing_key_env / signing_key_file. */
        signing_key: z.string().min(1),
        /** Older signatures are refused. @default 300 */
        max_age_seconds: z.number().positive().max(86_400).optional(),
      })
      .optional(),
    complaints: z
      .strictObject({
        /** Unsubscribe a member who complains (false: delivery off). @default true */
        unsubscribe: z.boolean().optional(),
        /** Warn past this share of a day's deliveries. @default 0.001 (0.1%) */
        warn_rate: z.number().min(0).max(1).optional(),
        /** Hold new posts while the day's rate is past this. @default none */
        hold_rate: z.number().min(0).max(1).optional(),
      })
      .optional(),
  });

/** `malist.yaml`. Relative paths are relative to the file's directory. */
export const mainSchema = lazySchema(() =>
  z.strictObject({
    /** Journal, held mail, quarantine, the run lock. @default var/state */
    state_dir: optionalName,
    /** Where the list files are. @default lists */
    lists_dir: optionalName,
    /**
     * Where malist keeps its state: `files` under state_dir (the default, no server needed),
     * or `postgres` for several hosts sharing one database (`url_env: DATABASE_URL` or
     * `url_file: PATH` holds the postgres:// URL; never the URL in YAML, it may carry a
     * password: secrets.ts resolves either into `url`).
     */
    storage: deferred(() =>
      z.discriminatedUnion(
        'type',
        [
          z.strictObject({ type: z.literal('files') }),
          z.strictObject({
            type: z.literal('postgres'),
            url: z
              .string({
                error:
                  'expected url_env: DATABASE_URL (or url_file: PATH) naming the postgres:// URL',
              })
              .regex(/^$|^postgres(ql)?:\/\//, {
                error: 'expected a postgres:// or postgresql:// URL',
              }),
            /** Connections each malist process opens. @default 4 */
            pool: z.number().int().min(1).max(100).optional(),
          }),
        ],
        { error: 'expected type: files or type: postgres' },
      ),
    ),
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
    concurrency: deferred(() =>
      z
        .number({ error: 'expected a whole number of mails, 1 to 64' })
        .int({ error: 'expected a whole number of mails, 1 to 64' })
        .min(1, { error: 'expected at least 1 (one mail at a time)' })
        .max(64, { error: 'expected at most 64' }),
    ),
    /** How list mail leaves (several: every one gets every mail). */
    distribute: oneOrMany,
    /** Defaults for every `type: queue` distributor (spool dir, retry, expiry); `malist run` runs it. */
    queue: z
      .record(z.string(), z.unknown(), { error: 'expected a mapping of queue settings' })
      .optional(),
    /** Told of every failure and signal. @default [stderr-logger] */
    reactors: z.array(unitSpec, { error: 'expected a list of reactors' }).optional(),
    /** One line per delivery: time, list, Message-ID, recipients, outcome. */
    delivery_log: optionalName,
    /** A mail addressed to none of the lists. @default hold */
    no_match: z.enum(['hold', 'reject', 'discard']).optional(),
    /**
     * Verifying incoming posts (DKIM, SPF, DMARC, ARC; the `authenticate` unit): on when
     * this is present. `authserv_id` names this host in Authentication-Results (@default the
     * host name); `trusted_authserv_ids` the MTAs in front whose SPF result is believed
     * when the connecting IP is unknown (POP3, IMAP, a pipe without it).
     */
    authentication: deferred(() =>
      z.strictObject({
        authserv_id: optionalName,
        trusted_authserv_ids: z.array(z.string().min(1)).optional(),
      }),
    ),
    /**
     * The DNS servers verification, `dmarc` and `malist check` ask (`ip` or `ip:port`).
     * @default the system's resolvers
     */
    dns: deferred(() =>
      z.strictObject({
        servers: z.array(z.string().min(1)).min(1).optional(),
        timeout_ms: z.number().int().positive().optional(),
      }),
    ),
    /**
     * Worker threads that sign per-member copies (0: the sending thread signs). RSA
     * signatures cost ~1-2 ms of CPU each; threads let several cores sign. @default 0
     */
    signing_threads: deferred(() => z.number().int().min(0).max(16)),
    /** Header rules every list checks first, before its own (Mailman's site header_matches). */
    header_matches: deferred(rulesSchema),
    /** Settings every list takes unless it sets its own. */
    defaults: deferred(() => z.strictObject(listDefaults())),
    /** `malist serve`: the web pages, the REST API and one-click unsubscribe. */
    web: deferred(webSettings),
    /** Endpoints told of events (signed JSON POSTs, delivered through their own durable queue). */
    webhooks: deferred(() => z.array(webhookSchema(), { error: 'expected a list of webhooks' })),
    /**
     * The sending services' bounce and complaint reports, taken by `malist serve` at
     * /feedback/ses (SNS) and /feedback/mailgun, and what a complaint does.
     */
    feedback: deferred(feedbackSettings),
  }),
);
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
  key: 'DKIM keys never sit in YAML: write key_file: PATH (malist dkim keygen writes one)',
  private_key: 'DKIM keys never sit in YAML: write key_file: PATH (malist dkim keygen writes one)',
  verp: 'VERP is a list setting (on by default, with a cookie): write verp: false in lists/NAME.yaml or under defaults: to batch; remove it here',
  verp_delimiter:
    'the VERP delimiter is a list setting: write verp_delimiter in lists/NAME.yaml or under defaults:',
};
