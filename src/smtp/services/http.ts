/**
 * What both services' calls share: a POST with a deadline, and a network failure as a
 * deferral. A connection cut off after the request went out may have been taken by the
 * service, so it is never tried again here: the queue decides, as with an SMTP
 * transaction cut off before the final reply.
 */
import type { CallAnswer } from './api-transport.ts';

export interface Answered {
  status: number;
  headers: Headers;
  text: string;
}

/** POSTs and reads the answer; a network error or the deadline is a `deferred` answer. */
export async function post(
  url: string,
  init: { headers: Record<string, string>; body: BodyInit },
  timeoutMs: number,
): Promise<Answered | CallAnswer> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    return { kind: 'deferred', status: 0, reason: `no answer from ${new URL(url).host}: ${why}` };
  }
}

/** The JSON `message` (or `Message`) of an error answer, else its text, shortened. */
export function reasonOf(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; Message?: unknown };
    const m = body.message ?? body.Message;
    if (typeof m === 'string' && m) return m.slice(0, 500);
  } catch {
    // not JSON: the text itself
  }
  return text.trim().slice(0, 500) || 'no reason given';
}
