/**
 * Finds the parts of a report (message/delivery-status, text/rfc822-headers, …) in raw
 * bytes without trusting the MIME structure: real bounces come with truncated boundary
 * parameters, unclosed boundaries and base64 where nobody expects it. A part is found by
 * its Content-Type line at the start of a part header, read until the next boundary-looking
 * line (`--…`) or the end.
 */

export interface ReportPart {
  /** The lower-cased media type, e.g. `message/delivery-status`. */
  type: string;
  /** The part's header lines, unfolded, lower-cased names. */
  headers: Record<string, string>;
  /** The body, transfer-decoded (base64 / quoted-printable) as latin1 text. */
  body: string;
}

/** Unfolds a header block (text) into name → value (first wins), names lower-cased. */
export function parseFieldBlock(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const unfolded = text.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^([!-9;-~]+)[ \t]*:[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    if (!(name in out)) out[name] = m[2]!.trim();
  }
  return out;
}

function decodeBody(body: string, encoding: string | undefined): string {
  const cte = (encoding ?? '').trim().toLowerCase();
  if (cte === 'base64')
    return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1');
  if (cte === 'quoted-printable') {
    return body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  }
  return body;
}

/** Every part of one of `types` found in `text` (the whole message as latin1). */
export function findParts(text: string, types: readonly string[]): ReportPart[] {
  const parts: ReportPart[] = [];
  const pattern = /^content-type:[ \t]*([\w.+-]+\/[\w.+-]+)/gim;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const type = m[1]!.toLowerCase();
    if (!types.includes(type)) continue;
    // The part header runs to the first blank line after the Content-Type line.
    const headerEnd = /\r?\n\r?\n/.exec(text.slice(m.index));
    if (!headerEnd) continue;
    const headerText = text.slice(m.index, m.index + headerEnd.index);
    const bodyStart = m.index + headerEnd.index + headerEnd[0].length;
    const rest = text.slice(bodyStart);
    const boundary = /^--[^\s]/m.exec(rest);
    const body = boundary ? rest.slice(0, boundary.index) : rest;
    const headers = parseFieldBlock(headerText);
    parts.push({ type, headers, body: decodeBody(body, headers['content-transfer-encoding']) });
  }
  return parts;
}

/** The top-level Content-Type value of a header block (lower-cased, unfolded), or ''. */
export function topContentType(headerText: string): string {
  return (parseFieldBlock(headerText)['content-type'] ?? '').toLowerCase();
}
