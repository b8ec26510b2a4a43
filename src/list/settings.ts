/**
 * What a list is, as every unit and service sees it: the validated settings of one
 * `lists/NAME.yaml`, with defaults applied. Units take it through their factory.
 */
import type { MemberStore } from '../members/store.ts';

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
  /** Web page of the list's archive (List-Archive). */
  archive_url?: string;
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
