/**
 * Who is signed in, without a user database: a signed cookie naming an address (signed in
 * by a mailed link) or a site admin (signed in by password), with a random nonce and an
 * expiry. HttpOnly, SameSite=Strict, and Secure with the `__Host-` prefix when the site's
 * URL is https (behind the TLS proxy). Signing out revokes the nonce (kept on disk until
 * it would have expired anyway). Every form carries a CSRF token derived from the nonce —
 * of the session, or of a short "pre-session" cookie on the sign-in pages.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export type Who = { kind: 'admin'; name: string } | { kind: 'address'; address: string };

interface Payload {
  /** `a:ADDRESS` or `s:ADMIN`. */
  u: string;
  n: string;
  /** Expiry, seconds since the epoch. */
  e: number;
}

export interface Sessions {
  /** The signed-in user of the request, and the nonce its CSRF token comes from. */
  read(c: Context): Promise<{ who?: Who; nonce: string }>;
  start(c: Context, who: Who): void;
  end(c: Context): Promise<void>;
  /** The CSRF token for a nonce. */
  csrf(nonce: string): string;
  /** True when `token` is the CSRF token of `nonce`. */
  checkCsrf(nonce: string, token: string | undefined): boolean;
}

export interface SessionOptions {
  secret: Buffer;
  /** STATE/web, where revoked nonces are kept. */
  dir: string;
  /** Secure cookies (the site is https). */
  secure: boolean;
  /** @default 12 */
  hours?: number;
  now?: () => number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function createSessions(options: SessionOptions): Sessions {
  const key = createHmac('sha256', options.secret).update('malist web session').digest();
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('base64url');
  const now = options.now ?? Date.now;
  const name = options.secure ? '__Host-malist_session' : 'malist_session';
  const preName = options.secure ? '__Host-malist_pre' : 'malist_pre';
  const revokedFile = join(options.dir, 'revoked-sessions');
  let revoked: Promise<Set<string>> | undefined;
  const loadRevoked = () => {
    revoked ??= readFile(revokedFile, 'utf8').then(
      (text) => {
        const live = text
          .split('\n')
          .map((l) => l.split(' '))
          .filter(([n, e]) => n && Number(e) * 1000 > now());
        return new Set(live.map(([n]) => n!));
      },
      () => new Set<string>(),
    );
    return revoked;
  };
  const cookie = { httpOnly: true, secure: options.secure, sameSite: 'Strict' as const, path: '/' };
  const equal = (a: string, b: string) =>
    a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  function decode(value: string | undefined): Payload | undefined {
    if (!value) return undefined;
    const [body, sig] = value.split('.');
    if (!body || !sig || !equal(mac(body), sig)) return undefined;
    try {
      const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
      return p.e * 1000 > now() ? p : undefined;
    } catch {
      return undefined;
    }
  }
  function preNonce(c: Context): string {
    const value = getCookie(c, preName);
    if (value && /^[\w-]{22}\.[\w-]{43}$/.test(value)) {
      const [n, sig] = value.split('.') as [string, string];
      if (equal(mac(`pre:${n}`), sig)) return n;
    }
    const n = b64(randomBytes(16));
    setCookie(c, preName, `${n}.${mac(`pre:${n}`)}`, { ...cookie, maxAge: 3600 });
    return n;
  }
  return {
    async read(c) {
      const p = decode(getCookie(c, name));
      if (p && !(await loadRevoked()).has(p.n)) {
        const who: Who = p.u.startsWith('s:')
          ? { kind: 'admin', name: p.u.slice(2) }
          : { kind: 'address', address: p.u.slice(2) };
        return { who, nonce: p.n };
      }
      return { nonce: preNonce(c) };
    },
    start(c, who) {
      const hours = options.hours ?? 12;
      const p: Payload = {
        u: who.kind === 'admin' ? `s:${who.name}` : `a:${who.address}`,
        n: b64(randomBytes(16)),
        e: Math.floor(now() / 1000) + hours * 3600,
      };
      const body = b64(JSON.stringify(p));
      setCookie(c, name, `${body}.${mac(body)}`, { ...cookie, maxAge: hours * 3600 });
      deleteCookie(c, preName, cookie);
    },
    async end(c) {
      const p = decode(getCookie(c, name));
      deleteCookie(c, name, cookie);
      if (!p) return;
      (await loadRevoked()).add(p.n);
      await mkdir(dirname(revokedFile), { recursive: true, mode: 0o700 });
      await appendFile(revokedFile, `${p.n} ${p.e}\n`, { mode: 0o600 });
    },
    csrf: (nonce) => mac(`csrf:${nonce}`),
    checkCsrf: (nonce, token) => typeof token === 'string' && equal(mac(`csrf:${nonce}`), token),
  };
}
