/**
 * Reading Authentication-Results fields (RFC 8601): whose they are (the authserv-id) and what
 * a trusted MTA found. A list fed by POP3, IMAP or a pipe never sees the connecting IP, so
 * SPF is what the receiving MTA recorded, read only from fields carrying an authserv-id the
 * operator named as trusted (RFC 8601 section 5: any other field may be forged).
 */
import { type ParsedTags, parseDkimHeaders } from './mailauth.ts';

/** One method result reported in an Authentication-Results field. */
export interface ReportedMethod {
  result: string;
  /** `smtp.mailfrom`, `smtp.helo`, `header.d`, `header.from`, … as reported. */
  props: Record<string, string>;
  comment?: string;
}

/** The results one Authentication-Results field reports. */
export interface ReportedResults {
  authservId: string;
  spf?: ReportedMethod;
  dkim: ReportedMethod[];
  dmarc?: ReportedMethod;
  arc?: ReportedMethod;
}

/** The authserv-id of a field value (its first token, lower case, version number dropped). */
export function authservIdOf(fieldOrValue: Buffer | string): string {
  const parsed = parseDkimHeaders(asField(fieldOrValue)).parsed;
  const value = typeof parsed.value === 'string' ? parsed.value : '';
  return value.split(/\s+/)[0]?.replace(/^"|"$/g, '').toLowerCase() ?? '';
}

/** What an Authentication-Results field (whole field or value) reports. */
export function reportedResults(fieldOrValue: Buffer | string): ReportedResults {
  const parsed = parseDkimHeaders(asField(fieldOrValue)).parsed;
  return resultsFrom(parsed, authservIdOf(fieldOrValue), 'value');
}

/**
 * Results from a parse by mailauth: its header parser keeps a method's result under
 * `value`, its ARC verifier (the newest ARC-Authentication-Results) under `result`.
 */
export function resultsFrom(
  parsed: ParsedTags,
  authservId: string,
  resultKey: 'value' | 'result',
): ReportedResults {
  const one = (entry: unknown) => (entry === undefined ? undefined : method(entry, resultKey));
  const dkim = Array.isArray(parsed.dkim) ? parsed.dkim.map((d) => method(d, resultKey)) : [];
  return {
    authservId,
    spf: one(parsed.spf),
    dkim: dkim.filter((d): d is ReportedMethod => d !== undefined),
    dmarc: one(parsed.dmarc),
    arc: one(parsed.arc),
  };
}

/**
 * The results of the topmost field (the last one added, by the MTA nearest to the list)
 * whose authserv-id is trusted, or undefined when no trusted MTA reported anything.
 */
export function trustedResults(
  fields: readonly Buffer[],
  trustedIds: readonly string[],
): ReportedResults | undefined {
  const trusted = new Set(trustedIds.map((id) => id.toLowerCase()));
  for (const field of fields) {
    if (trusted.has(authservIdOf(field))) return reportedResults(field);
  }
  return undefined;
}

/** mailauth's parser wants a `Name: value` line to pick the RFC 8601 grammar. */
function asField(fieldOrValue: Buffer | string): string {
  const text = fieldOrValue.toString();
  return /^authentication-results\s*:/i.test(text) ? text : `Authentication-Results: ${text}`;
}

function method(entry: unknown, resultKey: 'value' | 'result'): ReportedMethod | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  const tags = entry as ParsedTags;
  const props: Record<string, string> = {};
  for (const ptype of ['smtp', 'header', 'policy', 'body']) {
    const group = tags[ptype];
    if (!group || typeof group !== 'object') continue;
    for (const [prop, value] of Object.entries(group)) {
      if (typeof value === 'string') props[`${ptype}.${prop}`] = value;
    }
  }
  const raw = tags[resultKey];
  const result = typeof raw === 'string' ? raw.toLowerCase() : '';
  const comment = typeof tags.comment === 'string' ? tags.comment : undefined;
  return { result, props, ...(comment ? { comment } : {}) };
}
