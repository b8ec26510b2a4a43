/**
 * SigV4 checked the way AWS checks it, written from the specification with node:crypto
 * alone (not with aws4, which signs malist's requests: a bug there must not hide here).
 * The fake SES service (fake-ses.ts) refuses what this does not accept.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data).digest();

export interface SignedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** RFC 3986 encoding of one path segment or query part, as SigV4 wants it. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The signature SigV4 gives `request` with `secret`, for the scope and signed headers named. */
export function sigv4Signature(
  request: SignedRequest,
  secret: string,
  scope: { date: string; region: string; service: string },
  signedHeaders: string[],
  amzDate: string,
): string {
  const [path = '/', query = ''] = request.url.split('?');
  const canonicalPath = path
    .split('/')
    .map((seg) => encode(decodeURIComponent(seg)))
    .join('/');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((kv) => kv.split('=').map((p) => encode(decodeURIComponent(p ?? ''))))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : 1))
    .map(([k, v]) => `${k}=${v ?? ''}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map((h) => {
      const v = request.headers[h];
      const value = (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
      return `${h}:${value}\n`;
    })
    .join('');
  const canonical = [
    request.method,
    canonicalPath,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    sha256(request.body),
  ].join('\n');
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, scope.date), scope.region), scope.service),
    'aws4_request',
  );
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** Why `request` is not signed by `keyId`/`secret` for `service` in `region`; undefined when it is. */
export function sigv4Problem(
  request: SignedRequest,
  keys: { keyId: string; secret: string; region: string; service: string },
): string | undefined {
  const auth = String(request.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return 'IncompleteSignature';
  const [, keyId, date, region, service, signed, signature] = m as unknown as string[];
  if (keyId !== keys.keyId) return 'UnrecognizedClientException';
  if (region !== keys.region || service !== keys.service) return 'SignatureDoesNotMatch';
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date!)) return 'SignatureDoesNotMatch';
  const names = signed!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'SignatureDoesNotMatch';
  const expected = sigv4Signature(
    request,
    keys.secret,
    { date: date!, region: region!, service: service! },
    names,
    amzDate,
  );
  const ok = timingSafeEqual(Buffer.from(expected), Buffer.from(signature!));
  return ok ? undefined : 'SignatureDoesNotMatch';
}
