/**
 * Mail commands (pure): what a mail to LIST-request@ (or LIST-join@, LIST-leave@,
 * LIST+subscribe@) asks for. Commands come from the sub-address, the Subject (a reply to a
 * confirmation keeps "Re: confirm TOKEN") and the body's lines; quoted lines (`>`), the
 * signature (after `-- `) and anything after `end` are ignored, and parsing stops after a
 * few lines that are not commands (a letter, not a command list).
 */
import type { Command, SetOption } from '../list/commands.ts';

export interface ParsedRequest {
  commands: Command[];
  /** Lines that looked like commands but were not understood (to be told about). */
  unknown: string[];
}

export interface ParseRequestInput {
  /** The decoded Subject. */
  subject?: string;
  /** The text of the body (the first text/plain part, decoded). */
  body?: string;
  /** A command implied by the address: `join`/`subscribe`, `leave`/`unsubscribe`, `confirm+TOKEN`. */
  addressCommand?: Command;
}

export interface ParseRequestOptions {
  /** Stop after this many lines that are not commands. @default 5 */
  maxUnknown?: number;
  /** Never more than this many commands from one mail. @default 10 */
  maxCommands?: number;
}

const TOKEN = /^[0-9a-f]{32}-[0-9a-f]{24}$/i;
const REPLY_PREFIX = /^\s*((re|aw|sv|fw|fwd|antw|vs)\s*(\[\d+\])?\s*:\s*)+/i;

function onOff(word: string | undefined): boolean | undefined {
  if (word === undefined || /^(on|yes|true|1)$/i.test(word)) return true;
  if (/^(off|no|false|0)$/i.test(word)) return false;
  return undefined;
}

/** One line as a command, `'end'` for the end marker, or undefined. */
export function parseCommandLine(line: string): Command | 'end' | undefined {
  const words = line
    .trim()
    .replace(/^\/+/, '')
    .split(/\s+/)
    .filter((w) => w !== '');
  const verb = words[0]?.toLowerCase();
  if (!verb) return undefined;
  const args = words.slice(1);
  switch (verb) {
    case 'end':
    case 'stop':
    case 'thanks':
    case '--':
      return args.length === 0 ? 'end' : undefined;
    case 'help':
    case 'info':
      return args.length === 0 ? { verb: 'help' } : undefined;
    case 'subscribe':
    case 'join':
    case 'sub': {
      const digest = args.some((a) => /^digest(=(yes|true|on|mime|plain))?$/i.test(a));
      const plain = args.some((a) => /^digest=plain$/i.test(a));
      const address = args
        .find((a) => a.includes('@'))
        ?.replace(/^address=/i, '')
        .replace(/[<>]/g, '');
      if (args.some((a) => !a.includes('@') && !/^digest/i.test(a) && !/^nodigest$/i.test(a)))
        return undefined;
      return {
        verb: 'subscribe',
        ...(address ? { address } : {}),
        ...(digest ? { digest } : {}),
        ...(plain ? { plain } : {}),
      };
    }
    case 'unsubscribe':
    case 'leave':
    case 'signoff':
    case 'unsub': {
      const address = args
        .find((a) => a.includes('@'))
        ?.replace(/^address=/i, '')
        .replace(/[<>]/g, '');
      if (args.length > (address ? 1 : 0)) return undefined;
      return { verb: 'unsubscribe', ...(address ? { address } : {}) };
    }
    case 'confirm':
    case 'approve':
    case 'reject':
    case 'discard': {
      const token = args[0];
      if (args.length !== 1 || !token || !TOKEN.test(token)) return undefined;
      return { verb, token: token.toLowerCase() };
    }
    case 'set': {
      const option = args[0]?.toLowerCase();
      if (!['digest', 'plain', 'nomail', 'notmetoo', 'mail'].includes(option ?? ''))
        return undefined;
      const value = onOff(args[1]);
      if (value === undefined || args.length > 2) return undefined;
      return { verb: 'set', option: option as SetOption, value };
    }
    default:
      return undefined;
  }
}

/** The commands a request mail carries, in order, without repeats. */
export function parseRequest(
  input: ParseRequestInput,
  options: ParseRequestOptions = {},
): ParsedRequest {
  const maxUnknown = options.maxUnknown ?? 5;
  const maxCommands = options.maxCommands ?? 10;
  const commands: Command[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  const push = (command: Command) => {
    const key = JSON.stringify(command);
    if (seen.has(key) || commands.length >= maxCommands) return;
    seen.add(key);
    commands.push(command);
  };
  if (input.addressCommand) push(input.addressCommand);
  const subject = (input.subject ?? '').replace(REPLY_PREFIX, '').trim();
  const fromSubject = subject ? parseCommandLine(subject) : undefined;
  if (fromSubject && fromSubject !== 'end') push(fromSubject);
  for (const raw of (input.body ?? '').split(/\r?\n/)) {
    // A signature, or the start of a quoted original that has no '>' (Outlook).
    if (raw === '-- ' || raw === '--' || raw === '__') break;
    if (
      /^\s*(-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}|_{10,})\s*$/i.test(
        raw,
      )
    )
      break;
    const line = raw.trim();
    if (line === '' || line.startsWith('>') || line.startsWith('|')) continue;
    const command = parseCommandLine(line);
    if (command === 'end') break;
    if (command) {
      push(command);
      continue;
    }
    // "On Monday, Alice wrote:" above a quote is not worth a complaint.
    if (!/wrote:\s*$|schrieb:\s*$|a écrit\s*:\s*$/i.test(line)) unknown.push(line.slice(0, 200));
    if (unknown.length >= maxUnknown) break;
  }
  return { commands, unknown: commands.length > 0 ? unknown.slice(0, 3) : unknown };
}
