/**
 * The archive benchmarks' history of a list (bench/archive.ts, bench/pg-archive.ts): `n`
 * generated posts over three years — threads with References and quoted parents,
 * signatures, a Zipf vocabulary, one post in ten in German, French, Russian or Japanese,
 * HTML alternatives, attachments — and 100 searches over them (words common and rare,
 * phrases, prefixes, author and date filters). Seeded: the same `n` gives the same posts.
 */
import { createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SearchOptions } from '../src/archive/search.ts';
import { mboxRecord } from '../src/mail/mbox.ts';

export async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path)) total += await sizeOf(join(path, name));
  return total;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The generator of `N` posts (its random numbers drawn in one order: vocabulary, authors, posts, queries). */
export function archiveCorpus(N: number) {
  let seed = 42;
  function random(): number {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  }
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const SYLLABLES =
    'ka lo mi ne ra to su pe di vo ga li mo ru sa te bi no fa ze pro con ser ver net mail list'.split(
      ' ',
    );
  const TECH =
    'build release patch kernel server config mailbox thread archive search index bounce digest queue header footer unicode charset certificate deploy rollback backup storage network latency'.split(
      ' ',
    );
  const VOCABULARY = [
    ...TECH,
    ...Array.from(
      { length: 6000 },
      () => pick(SYLLABLES) + pick(SYLLABLES) + (random() < 0.5 ? pick(SYLLABLES) : ''),
    ),
  ];
  /** Zipf: word k is drawn with weight 1/k. */
  function word(): string {
    const k = Math.floor(Math.exp(random() * Math.log(VOCABULARY.length)));
    return VOCABULARY[Math.min(k, VOCABULARY.length - 1)]!;
  }
  const sentence = () => {
    const words = Array.from({ length: 6 + Math.floor(random() * 12) }, word);
    return `${words[0]![0]!.toUpperCase()}${words.join(' ').slice(1)}.`;
  };
  const FOREIGN = [
    'Die Konfiguration des Servers wurde geändert, bitte prüft die Einstellungen für Umlaute.',
    'Le serveur a été redémarré après la mise à jour ; merci de vérifier les règles.',
    'Сервер перезапущен после обновления, проверьте настройки почтовой рассылки.',
    'サーバーの設定を変更しました。メーリングリストの動作を確認してください。',
  ];
  const NAMES = [
    'Alice Martin',
    'Bob Smith',
    'Jürgen Müller',
    'Renée Dupré',
    'Анна Петрова',
    '山田 太郎',
    'Carol White',
    'Dan Brown',
  ];
  const AUTHORS = Array.from({ length: 2000 }, (_, i) => ({
    name: `${pick(NAMES)} ${i}`,
    address: `user${i}@example${i % 50}.org`,
  }));

  interface Made {
    id: string;
    subject: string;
    refs: string[];
    body: string;
  }

  function encodedName(name: string): string {
    return /^[\x20-\x7e]*$/.test(name)
      ? `"${name}"`
      : `=?UTF-8?B?${Buffer.from(name).toString('base64')}?=`;
  }

  function makePost(i: number, start: number, recent: Made[]): { bytes: Buffer; made: Made } {
    const author = pick(AUTHORS);
    const date = new Date(start + i * ((3 * 365 * 86_400_000) / N));
    const reply = recent.length > 0 && random() < 0.7 ? pick(recent) : undefined;
    const id = `${i}.${Math.floor(random() * 1e9)}@example.org`;
    const subject = reply
      ? `Re: ${reply.subject.replace(/^Re: /, '')}`
      : `${word()} ${word()} ${word()}`;
    const own = [sentence(), sentence(), random() < 0.1 ? pick(FOREIGN) : sentence()].join(' ');
    const quoted = reply
      ? `\n\nOn ${date.toUTCString()}, someone wrote:\n${reply.body
          .split('\n')
          .slice(0, 8)
          .map((l) => `> ${l}`)
          .join('\n')}`
      : '';
    const body = `${own.replace(/(.{1,70})(\s|$)/g, '$1\n').trim()}${quoted}\n\n-- \n${author.name}`;
    const refs = reply ? [...reply.refs.slice(-8), reply.id] : [];
    const head = [
      `From: ${encodedName(author.name)} <${author.address}>`,
      'To: bench@list.example.com',
      `Subject: ${subject}`,
      `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${id}>`,
      ...(reply
        ? [`In-Reply-To: <${reply.id}>`, `References: ${refs.map((r) => `<${r}>`).join(' ')}`]
        : []),
      'MIME-Version: 1.0',
    ];
    let mime: string;
    const kind = random();
    if (kind < 0.05) {
      mime = `Content-Type: multipart/alternative; boundary="b${i}"\n\n--b${i}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${body}\n--b${i}\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>${body.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\n/g, '<br>')}</p></body></html>\n--b${i}--\n`;
    } else if (kind < 0.07) {
      const data = Buffer.alloc(3000, i % 251)
        .toString('base64')
        .replace(/(.{76})/g, '$1\n');
      mime = `Content-Type: multipart/mixed; boundary="m${i}"\n\n--m${i}\nContent-Type: text/plain; charset=utf-8\n\n${body}\n--m${i}\nContent-Type: application/octet-stream; name="log${i}.bin"\nContent-Disposition: attachment; filename="log${i}.bin"\nContent-Transfer-Encoding: base64\n\n${data}\n--m${i}--\n`;
    } else {
      mime = `Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${body}\n`;
    }
    return {
      bytes: Buffer.from(`${head.join('\n')}\n${mime}`),
      made: { id, subject, refs, body: own },
    };
  }

  async function writeSource(path: string): Promise<void> {
    const out = createWriteStream(path);
    const recent: Made[] = [];
    const start = Date.UTC(2023, 0, 1);
    for (let i = 0; i < N; i++) {
      const { bytes, made } = makePost(i, start, recent);
      recent.push(made);
      if (recent.length > 200) recent.shift();
      if (!out.write(mboxRecord(bytes, 'bench@example.org')))
        await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
  }

  function queries(): SearchOptions[] {
    const out: SearchOptions[] = [];
    for (let i = 0; i < 100; i++) {
      const kind = i % 10;
      if (kind < 3) out.push({ q: word() });
      else if (kind < 5) out.push({ q: `${word()} ${word()}` });
      else if (kind === 5) out.push({ q: `"${pick(TECH)} ${word()}"` });
      else if (kind === 6) out.push({ q: `${pick(TECH).slice(0, 4)}*` });
      else if (kind === 7) out.push({ q: word(), from: pick(AUTHORS).address });
      else if (kind === 8)
        out.push({ q: pick(['Umlaute', '"mise à jour"', 'рассылки', 'メーリングリスト']) });
      else out.push({ q: pick(TECH), after: '2024-03', before: '2024-08' });
    }
    return out;
  }
  return { writeSource, queries, pick };
}
