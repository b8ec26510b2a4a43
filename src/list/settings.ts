/**
 * What a list is, as every unit and service sees it: the validated settings of one
 * `lists/NAME.yaml`, with defaults applied. Units take it through their factory.
 */
import type { DkimKeyOptions } from '../auth/keys.ts';
import type { MemberStore } from '../members/store.ts';
import type { ArchiveSettings } from './archive.ts';

export type PostingPolicy = 'open' | 'members' | 'moderated' | 'announce';
export type NonMemberAction = 'hold' | 'reject' | 'discard' | 'accept';

export interface ListSettings {
  /** The short name: the YAML file's name (`red` for lists/red.yaml). Keys state on disk. */
  name: string;
  /** The posting address, e.g. red@list.example.com. */
  address: string;
  /** The display name, e.g. "Red mail list". @default the short name */
  display_name?: string;
  /** Member addresses. */
  members: string[];
  /** Who may post. @default 'members' */
  posting?: PostingPolicy;
  /** What happens to a non-member's post on a `members` list. @default 'hold' */
  non_member_action?: NonMemberAction;
  /** Who may post to an `announce` list (and, on any list, who may post without being a member). */
  posters?: string[];
  /** Moderators (get held-mail notices; decide held posts on the web). */
  moderators?: string[];
  /** Owners: manage members, settings and the queue on the web, and moderate. */
  owners?: string[];
  /** Added to the subject, never stacked. @example "[Red] " */
  subject_prefix?: string;
  /** The envelope sender of distributed mail. @default LOCAL-bounces@DOMAIN */
  bounce_address?: string;
  /**
   * VERP: each member's copy goes out from its own bounce address with a cookie
   * (LOCAL-bounces+alice=example.com+COOKIE@DOMAIN, list/verp.ts), so a bounce names its
   * member whatever the bouncing system wrote. `false`: one shared sender, batched
   * transactions, and bounces attributed by the parser and the sent index. @default true
   */
  verp?: boolean;
  /** The character between the bounce address's local part and what VERP adds: `+` or `-`. @default '+' */
  verp_delimiter?: '+' | '-';
  /**
   * The moderators' password for pre-approved posts (an `Approved:` header). Resolved by the
   * config loader from `moderator_password_env` / `moderator_password_file`, never in YAML.
   */
  moderator_password?: string;
  /** Posts larger than this many bytes are held. 0 or unset: no limit. */
  max_message_size?: number;
  /** Posts with more To + Cc addresses than this are held. 0 or unset: no limit. */
  max_recipients?: number;
  /** Hold posts that do not name the list (or an `acceptable_aliases` entry) in To or Cc. @default false */
  require_explicit_destination?: boolean;
  /** Other addresses that count as the list for `require_explicit_destination`. */
  acceptable_aliases?: string[];
  /** Held posts expire (poster told) after this many days. @default 14 */
  held_expiry_days?: number;
  /** The RFC 2919 list label. @default the address with '@' replaced by '.' */
  list_id?: string;
  /** Web page of the list's archive (List-Archive), when it is not malist's own (`archive`). */
  archive_url?: string;
  /**
   * malist's web archive of the list: who may read it (`web: public | members | private`)
   * and the web front's base URL (`url`), from which List-Archive, Archived-At and the
   * footer's `{archive_url}` and `{permalink}` are made.
   */
  archive?: ArchiveSettings;
  /** Help page (List-Help, with the mailto "help" command). */
  help_url?: string;
  /** Subscribe page (List-Subscribe, with the mailto form). */
  subscribe_url?: string;
  /**
   * Unsubscribe URL (List-Unsubscribe, next to the mailto form). A template: `{list}`,
   * `{member}` and `{token}`; with `{member}` or `{token}` it is personalised per recipient
   * and gets `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
   */
  unsubscribe_url?: string;
  /**
   * The state directory (from malist.yaml), set by the config loader: units keep per-list
   * state under it (post numbers, DMARC cache). Unset: such state lives in memory only.
   */
  state_dir?: string;
  /**
   * Options for the units named in the pipeline, by unit name, so a list can tune units of
   * the default pipeline without restating it. @example { footer: { text: "-- \n{list_name}" } }
   */
  unit_options?: Record<string, Record<string, unknown>>;
  /**
   * The live member store (src/members), set by the config loader. When present, units read
   * members and their options from it at each post (a subscription by mail counts at once)
   * instead of the static `members` above.
   */
  member_store?: MemberStore;
  /**
   * How people join by mail: `confirm` (double opt-in), `approve` (the moderators approve),
   * `confirm-approve` (both), `open` (no confirmation). @default 'confirm'
   */
  subscribe_policy?: 'confirm' | 'approve' | 'confirm-approve' | 'open';
  /** `open`: an unsubscribe from the member's own address is done at once. @default 'confirm' */
  unsubscribe_policy?: 'confirm' | 'open';
  /** Hours a confirmation token lives. @default 72 */
  confirm_hours?: number;
  /** Overrides of membership and bounce texts by key (src/commands/templates.ts, bounces/handler.ts). */
  templates?: Record<string, string>;
  /** Bounce scoring (src/bounces/score.ts): threshold, weights, daily_cap, quiet_days, half_life_days. */
  bounces?: BounceSettings;
  /** Digests (src/digest/send.ts): format mime|plain, size_kb, max_age_hours, footer. */
  digest?: DigestSettings;
  /**
   * Header rules (src/processors/header-match.ts), in order: the site's (malist.yaml,
   * `site: true`) first, then the list's own; the first match decides.
   */
  header_matches?: Array<{
    header: string;
    pattern: string;
    action: 'hold' | 'discard' | 'reject' | 'accept';
    site?: boolean;
  }>;
  /**
   * Whose posts count as from a member only when their From is authenticated (a passing,
   * aligned DKIM signature or SPF, or a trusted sealer's ARC chain): `true` every poster,
   * a list of domains the posters of those domains (and their subdomains). Others get
   * `non_member_action` with the reason "From not authenticated". @default false
   */
  require_authenticated_from?: boolean | string[];
  /** Forwarders whose ARC seal (cv=pass) the list believes, by domain. @default [] */
  arc_trusted_sealers?: string[];
  /**
   * The keys every copy is DKIM-signed with (several: one signature each, dual-sign). Key
   * files only, made by `malist dkim keygen`; `previous:` keeps a rotated-out selector
   * published and checked.
   */
  dkim?: DkimKeyOptions | DkimKeyOptions[];
  /**
   * The ARC sealer of posts: `false` seals nothing; a key (rsa-sha256) seals with it.
   * @default the first rsa-sha256 key of `dkim`, when the installation verifies posts
   */
  arc?: false | ArcKeyOptions;
  /**
   * Verify every signed copy against the public half of its key before it leaves (no DNS);
   * a copy that fails is deferred and the operator told. Off only for very large lists.
   * @default true
   */
  signature_self_check?: boolean;
}

/** The key a list seals posts with (RFC 8617: rsa-sha256 only). */
export interface ArcKeyOptions {
  /** @default the domain of the first `dkim` key */
  domain?: string;
  selector: string;
  /** PEM file of the private RSA key, relative to the YAML file that names it. */
  key_file: string;
}

/** Bounce scoring of a list (used by src/bounces/score.ts). */
export interface BounceSettings {
  /** Score at which the member is set to nomail. @default 5 */
  threshold?: number;
  /** Weight of a hard bounce. @default 1 */
  hard_weight?: number;
  /** Weight of a soft bounce. @default 0.5 */
  soft_weight?: number;
  /** Weight of a delay warning (`Action: delayed`). @default 0 */
  delay_weight?: number;
  /** Most score added in one UTC day. @default 1 */
  daily_cap?: number;
  /** Days without bounces before the score starts to fade. @default 7 */
  quiet_days?: number;
  /** Once fading, days after which the score has halved. @default 7 */
  half_life_days?: number;
  /**
   * At the threshold the member is probed first; a probe that has not bounced after this
   * many days has passed (the score starts again from 0). @default 7
   */
  probe_days?: number;
}

/** Digests of a list (used by src/digest/send.ts). */
export interface DigestSettings {
  /** MIME (multipart/digest) or plain text (RFC 1153). @default 'mime' */
  format?: 'mime' | 'plain';
  /** Send when the pending posts reach this size, in KiB. @default 30 */
  size_kb?: number;
  /** Send when the oldest pending post is this old, in hours. @default 24 */
  max_age_hours?: number;
  /** Text at the end of each digest. @default how to unsubscribe or leave digest mode */
  footer?: string;
}
