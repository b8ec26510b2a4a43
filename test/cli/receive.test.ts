/**
 * `malist receive`: the exit codes an MTA acts on, and that a temporary failure loses
 * nothing — the MTA still has the mail, and giving it again later distributes it once.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MALIST, malist, post, runCommand, tempConfig } from './run-malist.ts';

async function delivered(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const rcpt of await readdir(join(dir, 'out')).catch(() => [])) {
    for (const f of await readdir(join(dir, 'out', rcpt, 'new'))) out.push(`${rcpt}/new/${f}`);
  }
  return out.sort();
}

describe.concurrent('malist receive', () => {
  it('distributes a member post: exit 0, one copy per member and the archive, a delivery-log line', async () => {
    const dir = await tempConfig();
    const input = await readFile(post('01-member-post.eml'));
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = await delivered(dir);
    expect(files.map((f) => f.split('/')[0])).toEqual([
      'alice@example.org',
      'archive@list.example.com',
      'bob@example.net',
      'carol@example.org',
    ]);
    const copy = await readFile(join(dir, 'out', files[0]!), 'utf8');
    expect(copy).toContain('Subject: [Red] Meeting notes for Thursday');
    const log = await readFile(join(dir, 'delivery.log'), 'utf8');
    expect(log).toMatch(
      /^\S+Z list=red outcome=distributed recipients=4 refused=0 deferred=0 delivered=4 queued=0 message-id=<20261123091244\.4711@mail\.example\.org>( reply="[^"]*")?\n$/,
    );
  });

  it('reads the whole mail from a non-blocking standard input that arrives in parts', async () => {
    // fd 0 set O_NONBLOCK by the writer, the mail written in two parts: the second only once
    // the first was read (FIONREAD on the pipe is 0) and 0.3 s more, so the sync read meets
    // EAGAIN, and the rest comes through process.stdin.
    const dir = await tempConfig();
    const input = await readFile(post('01-member-post.eml'));
    const cut = Math.floor(input.length / 2);
    const feed = [
      'import fcntl, os, struct, subprocess, sys, termios, time',
      'r, w = os.pipe()',
      'fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)',
      'data = sys.stdin.buffer.read()',
      'p = subprocess.Popen(sys.argv[2:], stdin=r)',
      `os.write(w, data[:${cut}])`,
      'deadline = time.time() + 100',
      "while struct.unpack('i', fcntl.ioctl(r, termios.FIONREAD, b'0000'))[0] and time.time() < deadline:",
      '    time.sleep(0.02)',
      'os.close(r)',
      'time.sleep(0.3)',
      `os.write(w, data[${cut}:])`,
      'os.close(w)',
      'sys.exit(p.wait())',
    ].join('\n');
    const r = await runCommand(
      'python3',
      ['-c', feed, '--', process.execPath, MALIST, 'receive', '--config', dir, '--list', 'red'],
      { input },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = await delivered(dir);
    expect(files).toHaveLength(4);
    const copy = await readFile(join(dir, 'out', files[0]!), 'utf8');
    // The last line of the post's body: the second part arrived.
    const lastLine = input.toString('utf8').trimEnd().split('\n').pop()!;
    expect(copy).toContain(lastLine.trim());
  });

  it('reads a mail larger than one read of standard input', async () => {
    const dir = await tempConfig();
    const text = (await readFile(post('01-member-post.eml'), 'utf8')).trimEnd();
    // ~600 KB of body: three reads of 256 KiB.
    const input = Buffer.from(`${text}\n${'x'.repeat(70).concat('\n').repeat(8_500)}-- end --\n`);
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(r.code).toBe(0);
    const files = await delivered(dir);
    const copy = await readFile(join(dir, 'out', files[0]!), 'utf8');
    expect(copy).toContain('-- end --');
    expect(copy.length).toBeGreaterThan(600_000);
  });

  it('holds a non-member post (exit 0: handled) and routes by the envelope recipient the MTA sets', async () => {
    const dir = await tempConfig();
    const input = await readFile(post('03-non-member.eml'));
    // Postfix local(8) sets ORIGINAL_RECIPIENT; the alias domain differs from the list's.
    const r = await malist(['receive', '--config', dir], {
      input,
      env: { ORIGINAL_RECIPIENT: 'red@mail.example.com' },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/hold list=red <offer-88213@elsewhere\.example>/);
    // No member gets the post: only the moderator's notice and the poster's "held" notice.
    expect((await delivered(dir)).map((f) => f.split('/')[0])).toEqual([
      'carol@example.org',
      'mallory@elsewhere.example',
    ]);
    expect((await readdir(join(dir, 'state/held/red'))).sort()).toHaveLength(2);
  });

  it('routes by LOCAL+DOMAIN (procmail/Postfix) and by --recipient', async () => {
    const dir = await tempConfig();
    const input = await readFile(post('04-utf8-announcement.eml'));
    const viaEnv = await malist(['receive', '--config', dir], {
      input,
      env: { LOCAL: 'announce', DOMAIN: 'list.example.com', ORIGINAL_RECIPIENT: '', RECIPIENT: '' },
    });
    expect(viaEnv.code).toBe(0);
    expect((await delivered(dir)).filter((f) => f.includes('.announce.'))).toHaveLength(4);
    const unknown = await malist(
      ['receive', '--config', dir, '--recipient', 'nobody@list.example.com'],
      {
        input,
      },
    );
    expect(unknown.code).toBe(67);
    expect(unknown.stderr).toContain('no list has the address nobody@list.example.com');
  });

  it('without --list or an envelope recipient, routes by To/Cc: a cross-post reaches both lists', async () => {
    const dir = await tempConfig();
    const input = (await readFile(post('01-member-post.eml'), 'utf8')).replace(
      'To: Red mail list <red@list.example.com>',
      'To: Red mail list <red@list.example.com>\nCc: dev@list.example.com',
    );
    const none = { ORIGINAL_RECIPIENT: '', RECIPIENT: '', LOCAL: '', DOMAIN: '' };
    const r = await malist(['receive', '--config', dir], { input, env: none });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = await delivered(dir);
    expect(files.filter((f) => f.includes('.red.'))).toHaveLength(4);
    expect(files.filter((f) => f.includes('.dev.'))).toHaveLength(2);
    const stray = await malist(['receive', '--config', dir], {
      input: 'From: a@example.org\nTo: someone@example.com\nSubject: x\n\nx\n',
      env: none,
    });
    expect(stray.code).toBe(67);
  });

  it('a cross-post the MTA pipes once per list (same bytes) reaches every list; a retry of one sends nothing twice', async () => {
    const dir = await tempConfig();
    // Sent to an alias the MTA expands to both lists: To/Cc name neither, and Postfix
    // `pipe` (one recipient per call) hands over identical bytes once per list.
    const input = (await readFile(post('01-member-post.eml'), 'utf8')).replace(
      'To: Red mail list <red@list.example.com>',
      'To: Everyone <everyone@example.org>',
    );
    for (const how of [
      ['--list', 'red'],
      ['--list', 'dev'],
      ['--list', 'red'],
    ]) {
      const r = await malist(['receive', '--config', dir, ...how], { input });
      expect(r.code, r.stderr).toBe(0);
    }
    const byRecipient = ['--recipient', 'dev@list.example.com'];
    expect((await malist(['receive', '--config', dir, ...byRecipient], { input })).code).toBe(0);
    const files = await delivered(dir);
    expect(files.filter((f) => f.includes('.red.'))).toHaveLength(4);
    expect(files.filter((f) => f.includes('.dev.'))).toHaveLength(2);
  });

  it('exits 67 for an unknown --list, naming the lists there', async () => {
    const dir = await tempConfig();
    const r = await malist(['receive', '--config', dir, '--list', 'green'], {
      input: 'Subject: x\n\nx\n',
    });
    expect(r.code).toBe(67);
    expect(r.stderr).toContain("unknown list 'green'; lists here: announce, dev, red");
  });

  it("exits 78 on a configuration error of the mail's list, printing file:line:col; another list's mail goes on", async () => {
    const dir = await tempConfig();
    await writeFile(
      join(dir, 'lists/dev.yaml'),
      'address: dev@list.example.com\nposting: everyone\n',
    );
    for (const args of [
      ['--list', 'dev'],
      ['--recipient', 'dev@list.example.com'],
    ]) {
      const r = await malist(['receive', '--config', dir, ...args], {
        input: await readFile(post('01-member-post.eml')),
      });
      expect(r.code).toBe(78);
      expect(r.stderr).toContain(
        "lists/dev.yaml:2:10 posting: expected one of open | members | moderated | announce, got 'everyone'",
      );
    }
    // Postfix bounces on 78: the MTA examples ask for 75 instead, and the mail waits.
    const deferred = await malist(
      ['receive', '--config', dir, '--list', 'dev', '--defer-config-errors'],
      { cwd: dir, input: await readFile(post('01-member-post.eml')) },
    );
    expect(deferred.code).toBe(75);
    expect(await delivered(dir)).toEqual([]);
    // dev's mistake stops no other list: receive reads the list the mail is for.
    const red = await malist(['receive', '--config', dir, '--list', 'red'], {
      input: await readFile(post('01-member-post.eml')),
    });
    expect(red.stderr).toBe('');
    expect(red.code).toBe(0);
    expect(await delivered(dir)).toHaveLength(4);
  });

  it('finds the list by the envelope among many lists, reading only those whose address could be it', async () => {
    const dir = await tempConfig();
    // 30 lists whose files are broken (read, each would stop the mail with 78), and one
    // whose bounce address is on another domain (its file is read: it names one).
    for (let i = 0; i < 30; i++)
      await writeFile(
        join(dir, `lists/team${i}.yaml`),
        `address: team${i}@list.example.com\nposting: everyone\n`,
      );
    await writeFile(
      join(dir, 'lists/blue.yaml'),
      'address: blue@list.example.com\nbounce_address: blue-errors@mail.example.net\nposting: open\nmembers: [dave@example.com]\n',
    );
    const input = await readFile(post('01-member-post.eml'));
    for (const recipient of ['red@list.example.com', 'RED@lists.example.net']) {
      const r = await malist(['receive', '--config', dir, '--recipient', recipient], { input });
      expect(r.stderr, recipient).toBe('');
      expect(r.code, recipient).toBe(0);
    }
    expect(await delivered(dir)).toHaveLength(4);
    // A bounce to the address only blue's file names reaches blue: read, never posted.
    const bounce = await malist(
      ['receive', '--config', dir, '--recipient', 'blue-errors@mail.example.net'],
      { input: 'From: MAILER-DAEMON@example.org\nSubject: Undelivered\n\nfailed\n' },
    );
    expect(bounce.code).toBe(0);
    expect(bounce.stderr).toContain('list=blue: discard: unrecognised bounce');
    expect(await delivered(dir)).toHaveLength(4);
    // A recipient no list read has: every list is read, and their problems are the answer.
    const unknown = await malist(
      ['receive', '--config', dir, '--recipient', 'nobody@list.example.com'],
      { input },
    );
    expect(unknown.code).toBe(78);
    expect(unknown.stderr).toContain('lists/team0.yaml:2:10 posting');
  });

  it('exits 75 when the state directory cannot be written (also as root), and the MTA still has the mail: a retry distributes it once', async () => {
    // A path below a regular file fails with ENOTDIR for every user, root included.
    const dir = await tempConfig(
      'state_dir: blocked/state\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n',
    );
    await writeFile(join(dir, 'blocked'), 'a regular file\n');
    const input = await readFile(post('02-reply.eml'));
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(r.code).toBe(75);
    expect(r.stderr).toContain('ENOTDIR');
    expect(r.stderr).toContain('the MTA keeps the mail and retries');
    expect(await delivered(dir)).toEqual([]);

    // The MTA tries again once the operator fixed the directory: delivered, exactly once.
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n',
    );
    const retry = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(retry.code).toBe(0);
    expect(await delivered(dir)).toHaveLength(4);
    const again = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(again.code).toBe(0);
    expect(await delivered(dir)).toHaveLength(4);
  });

  it('exits 65 on empty input', async () => {
    const dir = await tempConfig();
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input: '' });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('standard input was empty');
  });
});
