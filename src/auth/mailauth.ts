/**
 * The one door to mailauth: every other file of src/auth/ takes mailauth's functions from here.
 *
 * Why deep paths through `createRequire` rather than `import { … } from 'mailauth'`: the
 * package's main module also loads its BIMI code, which needs undici 8, which does not load
 * on Node.js 20 (`webidl.util.markAsUncloneable is not a function`). The DKIM, SPF, DMARC and
 * ARC modules do not touch undici, so they are required one by one. mailauth has no
 * `exports` map, so these paths are public; the types of the modules that ship no `.d.ts`
 * (the canonicalisation helpers of `lib/tools.js`, the body hasher) are declared here, only
 * as far as src/auth/ uses them.
 */
import { createRequire } from 'node:module';
import type {
  ARCOptions,
  ARCResult,
  DKIMVerifyOptions,
  DKIMVerifyResult,
  DMARCOptions,
  DMARCResult,
  SPFOptions,
  SPFResult,
} from 'mailauth';
import type { HeaderRow } from './header-fields.ts';
import type { DnsResolver } from './resolver.ts';

const require = createRequire(import.meta.url);

/** mailauth's options with our resolver type (mailauth declares TXT answers only). */
type WithResolver<T> = Omit<T, 'resolver'> & { resolver: DnsResolver };

/** One header field as mailauth's parser gives it: lower-case key, name as written, bytes. */
export type ParsedHeaderRow = HeaderRow;

/** mailauth's parsed header block. */
export interface ParsedHeaders {
  parsed: ParsedHeaderRow[];
  original: Buffer;
}

/** A parsed tag-list or Authentication-Results value: `{ tag: { value, … } }`. */
export type ParsedTags = Record<string, unknown>;

interface Tools {
  parseHeaders(buf: Buffer): ParsedHeaders;
  formatRelaxedLine(line: Buffer | string, suffix?: string): Buffer;
  stripSignatureValue(line: Buffer, strict?: boolean): Buffer;
  /** With `verify`, the fields an h= list covers, each instance used once, last first. */
  getSigningHeaderLines(
    rows: ParsedHeaderRow[],
    fieldNames: string,
    verify: true,
  ): { headers: ParsedHeaderRow[] };
  parseDkimHeaders(line: Buffer | string): { parsed: ParsedTags };
  formatAuthHeaderRow(
    method: string,
    status: { result: string; comment?: string } & Record<string, unknown>,
  ): string;
}

interface BodyHasher {
  update(chunk: Buffer): void;
  digest(encoding: 'base64'): string;
}

/**
 * Each mailauth module is required on its first use, not at start: `malist receive` for a
 * list that neither verifies nor signs never loads mailauth (and joi under it), ~0.3 CPU-s.
 */
function lazy<T>(path: string): () => T {
  let module: T | undefined;
  return () => {
    module ??= require(path) as T;
    return module;
  };
}

/**
 * `lib/tools.js` loads joi, tldts, libmime and punycode: ~0.3 s of CPU. Only verification of
 * incoming mail needs it; signing and the self-check use header-fields.ts and the two light
 * modules below (the tag-list parser and the body canonicaliser), which require none of it.
 */
const tools = lazy<Tools>('mailauth/lib/tools.js');
const tagList = lazy<Tools['parseDkimHeaders']>('mailauth/lib/parse-dkim-headers.js');
const body = lazy<{
  dkimBody(canon: 'relaxed' | 'simple', hash: 'sha256', maxLength: false): BodyHasher;
}>('mailauth/lib/dkim/body/index.js');
const dkim = lazy<{
  dkimVerify(input: Buffer, options: WithResolver<DKIMVerifyOptions>): Promise<DKIMVerifyResult>;
}>('mailauth/lib/dkim/verify.js');
const spfModule = lazy<{ spf(options: WithResolver<SPFOptions>): Promise<SPFResult> }>(
  'mailauth/lib/spf/index.js',
);
const dmarcModule = lazy<{
  evaluateDmarc(options: WithResolver<DMARCOptions>): Promise<{
    response: DMARCResult | false;
    reason?: string;
  }>;
}>('mailauth/lib/dmarc/index.js');
const arcModule = lazy<{
  arc(data: unknown, options: WithResolver<ARCOptions>): Promise<ARCResult>;
}>('mailauth/lib/arc/index.js');

/** mailauth's header functions: the reference header-fields.ts is tested against. */
export const parseHeaders: Tools['parseHeaders'] = (buf) => tools().parseHeaders(buf);
export const formatRelaxedLine: Tools['formatRelaxedLine'] = (line, suffix) =>
  tools().formatRelaxedLine(line, suffix);
export const stripSignatureValue: Tools['stripSignatureValue'] = (line, strict) =>
  tools().stripSignatureValue(line, strict);
export const getSigningHeaderLines: Tools['getSigningHeaderLines'] = (rows, names, verify) =>
  tools().getSigningHeaderLines(rows, names, verify);
/** mailauth's tag-list (and Authentication-Results) parser, without `lib/tools.js`. */
export const parseDkimHeaders: Tools['parseDkimHeaders'] = (line) => tagList()(line);
export const formatAuthHeaderRow: Tools['formatAuthHeaderRow'] = (method, status) =>
  tools().formatAuthHeaderRow(method, status);
export const dkimVerify = (input: Buffer, options: WithResolver<DKIMVerifyOptions>) =>
  dkim().dkimVerify(input, options);
export const spf = (options: WithResolver<SPFOptions>) => spfModule().spf(options);
export const evaluateDmarc = (options: WithResolver<DMARCOptions>) =>
  dmarcModule().evaluateDmarc(options);
export const verifyArc = (data: unknown, options: WithResolver<ARCOptions>) =>
  arcModule().arc(data, options);

/** The relaxed/sha256 body hash (base64) of DKIM and ARC, by mailauth's canonicaliser. */
export function relaxedBodyHash(bodyBytes: Buffer): string {
  const hasher = body().dkimBody('relaxed', 'sha256', false);
  hasher.update(bodyBytes);
  return hasher.digest('base64');
}
