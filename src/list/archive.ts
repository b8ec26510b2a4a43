/**
 * Where a list's web archive is, derived from its `archive:` settings: the list's archive
 * page (List-Archive, RFC 2369; `{archive_url}` in footers) and each post's permalink by
 * Message-ID (Archived-At, RFC 5064; `{permalink}`), `URL/archive/LIST/m/MESSAGE-ID`. A
 * `private` archive is on no page, so no header points at it. Pure.
 */
import type { ListSettings } from './settings.ts';

/** Who may read a list's archive on the web. */
export type ArchiveVisibility = 'public' | 'members' | 'private';

export const ARCHIVE_VISIBILITY = ['public', 'members', 'private'] as const;

export interface ArchiveSettings {
  /** Who reads the archive on the web (`malist serve`): anyone; the list's members once signed in, and its owners and moderators; or only its owners and moderators. @default 'members' */
  web?: ArchiveVisibility;
  /** The web front's public base URL, e.g. https://lists.example.com (pages under /archive/LIST/). */
  url?: string;
}

/** A list's archive visibility on the web. */
export function archiveVisibility(list: ListSettings): ArchiveVisibility {
  return list.archive?.web ?? 'members';
}

/** The web archive's base, when the list has one the web shows. */
function webBase(list: ListSettings): string | undefined {
  const url = list.archive?.url;
  if (!url || archiveVisibility(list) === 'private') return undefined;
  return `${url.replace(/\/+$/, '')}/archive/${encodeURIComponent(list.name)}/`;
}

/** The list's archive page: an explicit `archive_url`, else malist's web archive, else undefined. */
export function listArchiveUrl(list: ListSettings): string | undefined {
  return list.archive_url ?? webBase(list);
}

/**
 * A Message-ID as a path segment: percent-encoded, but `@`, `+`, `=`, `$` and `!` kept (legal
 * in a path, and how public-inbox and HyperKitty show them), so a permalink stays readable.
 */
export function messageIdSegment(messageId: string): string {
  return encodeURIComponent(messageId).replace(/%(40|2B|3D|24|21)/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** A post's permalink in malist's web archive (undefined: the list has none). */
export function permalink(list: ListSettings, messageId: string | undefined): string | undefined {
  const base = webBase(list);
  if (!base || !messageId) return undefined;
  return `${base}m/${messageIdSegment(messageId)}`;
}
