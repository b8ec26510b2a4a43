/**
 * `header-match` — Mailman's `header_matches` and mlmmj's access rules: an ordered list of
 * `{ header, pattern, action }` (a regular expression, case-insensitive; `hold`, `discard`,
 * `reject`, or `accept`: the post skips the rules that would hold it). The site's rules
 * (malist.yaml `header_matches:`) come first, then the list's; the first rule that matches
 * decides. A rule sees the message's own header and the headers of every MIME part (a
 * `Content-Type` of an attachment, an `X-Mailer` of a forwarded part), encoded words
 * decoded. A moderator's pre-approval passes untouched.
 *
 * Patterns are RE2 (re2js, a linear-time engine: no backreferences, no lookaround), so no
 * pattern is catastrophic on any input; each value a pattern sees is also cut to
 * MAX_VALUE characters, each rule reads at most MAX_SCAN characters of a mail, and at most
 * MAX_PARTS parts are looked at (what is not read counts as a match, see firstMatch).
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';
import { z } from 'zod';
import { Discard, Hold, Reject } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { decodeWords } from '../mail/encoded-words.ts';
import type { HeaderBlock } from '../mail/header-block.ts';
import { once } from '../mail/lazy.ts';
import { type MimePart, parseMime } from '../mail/mime-tree.ts';
import type { ListMail, Processor } from '../types.ts';

export type HeaderMatchAction = 'hold' | 'discard' | 'reject' | 'accept';

export interface HeaderMatchRule {
  /** The field name, any case (`X-Spam-Flag`). */
  header: string;
  /** A regular expression (RE2 syntax), matched case-insensitively anywhere in the value. */
  pattern: string;
  /** What a match does. */
  action: HeaderMatchAction;
  /** Set by the loader on the rules of malist.yaml (they come first), for the log. */
  site?: boolean;
}

/** The longest part of a value a pattern is run on. */
export const MAX_VALUE = 8 * 1024;
/** The most MIME parts whose headers are looked at. */
export const MAX_PARTS = 1000;
/** The most characters of header values one rule reads in one mail. */
export const MAX_SCAN = 64 * 1024;

let re2js: typeof RE2JS | undefined;

/** re2js (~0.26 MB of JavaScript), required when the first rule is compiled: a list without rules never loads it. */
function engine(): typeof RE2JS {
  re2js ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS;
  return re2js;
}

/** Why `pattern` is not usable, or undefined. */
export function patternProblem(pattern: string): string | undefined {
  try {
    const RE2 = engine();
    RE2.compile(pattern, RE2.CASE_INSENSITIVE);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * One rule as written in YAML; a bad pattern is refused with why (for `malist check`). Built
 * on first use: only a configuration with header_matches: needs it (config/schema.ts).
 */
export const ruleSchema = once(() =>
  z.strictObject({
    header: z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, {
      error: 'expected a header field name, e.g. X-Spam-Flag',
    }),
    pattern: z.string().superRefine((pattern, ctx) => {
      const problem = patternProblem(pattern);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: `not a valid pattern (${problem}); patterns are RE2 regular expressions: no backreferences or lookaround`,
        });
    }),
    action: z.enum(['hold', 'discard', 'reject', 'accept']),
  }),
);

/** The list of rules a list file or malist.yaml takes. */
export const rulesSchema = once(() =>
  z.array(ruleSchema(), {
    error: 'expected a list of { header, pattern, action } rules',
  }),
);

interface Compiled extends HeaderMatchRule {
  re: RE2JS;
}

/** Every header a rule looks at: the message's, then its parts' (bounded). */
function headers(mail: ListMail): { blocks: HeaderBlock[]; truncated: boolean } {
  const blocks: HeaderBlock[] = [mail.header];
  let truncated = false;
  const walk = (part: MimePart) => {
    for (const child of part.children) {
      if (blocks.length > MAX_PARTS) {
        truncated = true;
        return;
      }
      blocks.push(child.header);
      walk(child);
    }
  };
  walk(parseMime(mail.header, mail.body));
  return { blocks, truncated };
}

/**
 * The first rule that matches `mail`, and the value it matched; undefined when none does.
 * Each rule reads at most MAX_SCAN characters of a mail's header values (a linear engine
 * still costs about a microsecond a character: 1,000 parts of 8 KB headers under 40 rules
 * took minutes, bench/guards.ts). What a rule could not read — past that budget or past
 * MAX_PARTS parts — counts as a match for hold/discard/reject rules, so padding cannot
 * hide a header from them; `accept` rules never match on what they did not read. Pure.
 */
export function firstMatch(
  rules: readonly Compiled[],
  mail: ListMail,
): { rule: HeaderMatchRule; value: string; part: boolean } | undefined {
  if (rules.length === 0) return undefined;
  const { blocks, truncated } = headers(mail);
  const unread = { value: `(more MIME parts or header text than the rules read)`, part: true };
  for (const rule of rules) {
    let budget = MAX_SCAN;
    let spent = false;
    scan: for (const [i, block] of blocks.entries()) {
      for (const raw of block.getAll(rule.header)) {
        if (budget <= 0) {
          spent = true;
          break scan;
        }
        const value = decodeWords(raw.slice(0, MAX_VALUE * 4)).slice(
          0,
          Math.min(MAX_VALUE, budget),
        );
        budget -= value.length;
        if (rule.re.matcher(value).find()) return { rule, value, part: i > 0 };
      }
    }
    if ((spent || truncated) && rule.action !== 'accept') return { rule, ...unread };
  }
  return undefined;
}

/** Compiles rules (already checked by the config). */
export function compileRules(rules: readonly HeaderMatchRule[]): Compiled[] {
  if (rules.length === 0) return [];
  const RE2 = engine();
  return rules.map((r) => ({ ...r, re: RE2.compile(r.pattern, RE2.CASE_INSENSITIVE) }));
}

export type HeaderMatchOptions = Record<string, never>;

/** The options of `type: header-match` as written in YAML (the rules are the list's `header_matches:`). */
export const schema = lazySchema(() => z.strictObject({}));

export default function createHeaderMatch(
  list: ListSettings,
  _options: HeaderMatchOptions = {},
): Processor {
  const rules = compileRules(list.header_matches ?? []);
  return {
    name: 'header-match',
    async process(mail) {
      if (mail.ml_approved || rules.length === 0) return mail;
      const hit = firstMatch(rules, mail);
      if (!hit) return mail;
      const { rule } = hit;
      const reason =
        `${rule.site ? 'site' : 'list'} header rule: ${rule.header}` +
        `${hit.part ? ' (of a MIME part)' : ''} ${JSON.stringify(hit.value.slice(0, 80))} matches /${rule.pattern}/`;
      if (rule.action === 'accept') {
        mail.ml_approved = `header-match: ${rule.header}`;
        return mail;
      }
      if (rule.action === 'reject') throw new Reject(reason);
      if (rule.action === 'discard') throw new Discard(reason);
      throw new Hold(reason);
    },
  };
}
