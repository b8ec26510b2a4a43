/**
 * HTML-only posts made safe to show: sanitize-html (a parser-based allowlist, well kept) keeps
 * text structure, links and tables and drops everything that runs, loads or styles — scripts,
 * event handlers, `javascript:` and protocol-relative URLs, forms, frames, objects, style
 * sheets and attributes, and remote images (trackers: only `data:` images stay). What is left
 * is shown inside a sandboxed iframe (no scripts, no same origin) whose document carries its
 * own CSP, so a hole in the allowlist would still run nothing. Pure.
 */
import sanitizeHtml from 'sanitize-html';

/** The CSP of the framed document (and of the page serving it): nothing loads, nothing runs. */
export const HTML_FRAME_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/** The iframe's `sandbox` attribute: no scripts, no same origin; links may open a new tab. */
export const HTML_FRAME_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'center', 'font', 'del', 'ins'],
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'target'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    td: ['colspan', 'rowspan', 'align', 'valign'],
    th: ['colspan', 'rowspan', 'align', 'valign'],
    table: ['border', 'cellpadding', 'cellspacing'],
    ol: ['start', 'type'],
    font: ['color'],
    '*': ['dir', 'lang'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'title',
    'template',
    'xmp',
    'noembed',
    'noframes',
    'iframe',
    'object',
    'svg',
    'math',
  ],
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }),
  },
  // An image whose source was dropped (remote, cid:) is nothing to show.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs['src'],
};

/** An HTML post's body as a safe fragment. */
export function safeHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}

/** A safe fragment as the document of a sandboxed iframe (its `srcdoc`, or served alone). */
export function framedDocument(fragment: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${HTML_FRAME_CSP}"><style>body{font-family:sans-serif;margin:0.5em;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style></head><body>${fragment}</body></html>`;
}
