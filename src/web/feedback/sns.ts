/**
 * Amazon SNS messages as an HTTP endpoint receives them, checked as AWS documents: the
 * signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over the canonical
 * string of the message's fields, against the certificate at SigningCertURL, which must
 * be https on sns.REGION.amazonaws.com (or a host the configuration names, for tests);
 * certificates are fetched once and kept. The topic must be on the allow-list. A
 * SubscriptionConfirmation is confirmed by fetching its SubscribeURL, only on the same
 * hosts.
 */
import { createVerify, X509Certificate } from 'node:crypto';

export interface SnsMessage {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
}

export interface SnsSettings {
  /** Topic ARNs whose messages are taken. */
  topics: string[];
  /** Hosts (host or host:port) allowed for the certificate and SubscribeURL instead of sns.*.amazonaws.com; http is then allowed too (tests). */
  sns_hosts?: string[];
}

const AWS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** Whether `url` is one SNS may send us to (certificates, subscription confirmation). */
export function snsUrlAllowed(url: string, settings: SnsSettings): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (settings.sns_hosts?.length)
    return (
      (u.protocol === 'https:' || u.protocol === 'http:') && settings.sns_hosts.includes(u.host)
    );
  return u.protocol === 'https:' && AWS_HOST.test(u.hostname) && u.port === '';
}

const FIELDS = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
} as const;

/** The string SNS signs for `m` (pure). */
export function stringToSign(m: SnsMessage): string {
  const fields = FIELDS[m.Type] ?? FIELDS.Notification;
  let out = '';
  for (const f of fields) {
    const v = (m as unknown as Record<string, unknown>)[f];
    if (v === undefined) continue;
    out += `${f}\n${String(v)}\n`;
  }
  return out;
}

/** Parses a body as an SNS message; undefined when it is not one. */
export function parseSns(text: string): SnsMessage | undefined {
  let m: Partial<SnsMessage>;
  try {
    m = JSON.parse(text) as Partial<SnsMessage>;
  } catch {
    return undefined;
  }
  const strings = [
    'Type',
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ] as const;
  if (!m || typeof m !== 'object' || strings.some((k) => typeof m[k] !== 'string'))
    return undefined;
  if (!(m.Type! in FIELDS)) return undefined;
  return m as SnsMessage;
}

/** Fetches and keeps signing certificates by URL. */
export function certificateCache(fetchCert: (url: string) => Promise<string> = fetchPem) {
  const kept = new Map<string, Promise<X509Certificate>>();
  return (url: string): Promise<X509Certificate> => {
    let cert = kept.get(url);
    if (!cert) {
      cert = fetchCert(url).then((pem) => new X509Certificate(pem));
      // A failed fetch is tried again next time, not kept.
      cert.catch(() => kept.delete(url));
      if (kept.size > 100) kept.clear();
      kept.set(url, cert);
    }
    return cert;
  };
}

async function fetchPem(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
  if (!response.ok) throw new Error(`certificate ${url}: HTTP ${response.status}`);
  const text = await response.text();
  if (text.length > 64 * 1024 || !text.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`certificate ${url}: not a PEM certificate`);
  return text;
}

/** Why `m` is refused; undefined when its topic is allowed and its signature verifies. */
export async function snsProblem(
  m: SnsMessage,
  settings: SnsSettings,
  certificate: (url: string) => Promise<X509Certificate>,
): Promise<string | undefined> {
  if (!settings.topics.includes(m.TopicArn)) return `topic ${m.TopicArn} is not on the allow-list`;
  if (!snsUrlAllowed(m.SigningCertURL, settings))
    return `certificate URL ${m.SigningCertURL} is not on an SNS host`;
  const algorithm =
    m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : '';
  if (!algorithm) return `unknown SignatureVersion ${m.SignatureVersion}`;
  let cert: X509Certificate;
  try {
    cert = await certificate(m.SigningCertURL);
  } catch (error) {
    return `cannot fetch the signing certificate: ${(error as Error).message}`;
  }
  const ok = createVerify(algorithm)
    .update(stringToSign(m), 'utf8')
    .verify(cert.publicKey, m.Signature, 'base64');
  return ok ? undefined : 'bad signature';
}
