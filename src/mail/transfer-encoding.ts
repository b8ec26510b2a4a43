/** Minimal Content-Transfer-Encoding helpers for the parts malist rewrites itself. */

/** Quoted-printable (RFC 2045 §6.7) of `data`, lines ending in `eol`, at most 76 columns. */
export function qpEncode(data: Buffer, eol: string): string {
  const lines = data.toString('latin1').split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    const codes = [...line].map((ch, i) => {
      const c = ch.charCodeAt(0);
      const last = i === line.length - 1;
      if ((c === 0x20 || c === 0x09) && !last) return ch;
      if (c >= 0x21 && c <= 0x7e && c !== 0x3d) return ch;
      return `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
    });
    let encoded = '';
    for (const code of codes) {
      if (current.length + code.length > 75) {
        encoded += `${current}=${eol}`;
        current = '';
      }
      current += code;
    }
    out.push(encoded + current);
  }
  return out.join(eol);
}

/** Decodes a base64 body (line breaks and junk ignored, as mail readers do). */
export function base64Decode(body: Buffer): Buffer {
  return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
}

/** Base64 in lines of 76 characters, each ending in `eol`. */
export function base64Encode(data: Buffer, eol: string): string {
  const text = data.toString('base64');
  let out = '';
  for (let i = 0; i < text.length; i += 76) out += text.slice(i, i + 76) + eol;
  return out;
}
