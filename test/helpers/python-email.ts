/**
 * A second, independent MIME reader for the tests: CPython's `email` package (Debian's
 * /usr/bin/python3, which `.ci/run` installs with python3-dkim). It needs no terminal, so
 * what it reports does not depend on timing or load, unlike a mail reader driven by keys.
 * When it is missing the checks are skipped loudly — and fail under CI=true.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's interpreter: the first python3 on PATH may be another one. */
const PYTHON = '/usr/bin/python3';

/** True when the reader can run; false (with a loud note) to skip; throws under CI. */
export function pythonEmailAvailable(): boolean {
  if (existsSync(PYTHON)) return true;
  const why = `${PYTHON} is not installed: the Python email checks are SKIPPED`;
  if (process.env.CI === 'true')
    throw new Error(`${why}; CI must have it (apt-get install python3)`);
  process.stderr.write(`\n*** ${why} ***\n\n`);
  return false;
}

// Each message is parsed and written again by the same generator (compat32, no re-folding,
// no From_ mangling), so what the reader normalises is the same on both sides of a compare.
const SCRIPT = `
import base64, email, io, json, sys
from email import policy
from email.generator import BytesGenerator

def written(msg):
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, maxheaderlen=0, policy=policy.compat32).flatten(msg)
    return base64.b64encode(out.getvalue()).decode()

def read(path):
    with open(path, 'rb') as f:
        return email.message_from_binary_file(f, policy=policy.compat32)

digest = read(sys.argv[1])
found = [p for p in digest.walk() if p.get_content_type() == 'multipart/digest']
entries = [written(p.get_payload(0)) for p in found[0].get_payload()] if found else []
print(json.dumps({
    'type': digest.get_content_type(),
    'digestTypes': [p.get_content_type() for p in found[0].get_payload()] if found else [],
    'entries': entries,
    'originals': [written(read(path)) for path in sys.argv[2:]],
}))
`;

export interface PythonDigest {
  /** The digest's own content type. */
  type: string;
  /** The content type of each part of its multipart/digest (message/rfc822 by default). */
  digestTypes: string[];
  /** Each message of the multipart/digest, as Python's email package writes it. */
  entries: Buffer[];
  /** Each original post, parsed and written the same way. */
  originals: Buffer[];
}

/** Reads a MIME digest and the posts it should carry with Python's email package. */
export async function pythonDigest(digest: Buffer, posts: Buffer[]): Promise<PythonDigest> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-python-'));
  const files = [join(dir, 'digest.eml'), ...posts.map((_, i) => join(dir, `post-${i}.eml`))];
  await Promise.all([digest, ...posts].map((bytes, i) => writeFile(files[i]!, bytes)));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      PYTHON,
      ['-c', SCRIPT, ...files],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
  });
  const parsed = JSON.parse(stdout) as Omit<PythonDigest, 'entries' | 'originals'> & {
    entries: string[];
    originals: string[];
  };
  const decode = (b64: string) => Buffer.from(b64, 'base64');
  return {
    ...parsed,
    entries: parsed.entries.map(decode),
    originals: parsed.originals.map(decode),
  };
}
