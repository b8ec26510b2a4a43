/**
 * SMTP replies from a byte stream (RFC 5321 4.2): `250-first`, `250 last`. Replies are
 * handed out in the order they arrive, which with pipelining is the order the commands
 * were sent; a caller waiting for one gets it as soon as its last line is in.
 */
export interface Reply {
  code: number;
  /** Every line, code included, joined with '\n' (as servers' replies are logged). */
  text: string;
  /** The lines' text after the code and separator (EHLO keywords). */
  lines: string[];
}

/** The longest line a reply may have before the stream is declared broken (RFC: 512). */
const MAX_LINE = 64 * 1024;

export class ReplyParser {
  #partial = '';
  #lines: string[] = [];
  #raw: string[] = [];

  /** Parses a chunk; calls `onReply` per complete reply. Throws on a malformed line. */
  push(chunk: Buffer, onReply: (reply: Reply) => void): void {
    let text = this.#partial + chunk.toString('latin1');
    let start = 0;
    let end = text.indexOf('\n');
    while (end !== -1) {
      const line =
        text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
      end = text.indexOf('\n', start);
      const code = Number(line.slice(0, 3));
      if (
        !/^[2-5]\d\d$/.test(line.slice(0, 3)) ||
        (line.length > 3 && line[3] !== ' ' && line[3] !== '-')
      ) {
        throw new Error(
          `the server sent a line that is not an SMTP reply: ${JSON.stringify(line.slice(0, 100))}`,
        );
      }
      this.#raw.push(line);
      this.#lines.push(line.slice(4));
      if (line[3] === '-') continue;
      const reply: Reply = { code, text: this.#raw.join('\n'), lines: this.#lines };
      this.#raw = [];
      this.#lines = [];
      onReply(reply);
    }
    text = text.slice(start);
    if (text.length > MAX_LINE)
      throw new Error(`the server sent a line longer than ${MAX_LINE} bytes`);
    this.#partial = text;
  }
}
