/**
 * Which list files a mail to one envelope recipient could be for, read from each file's
 * text without parsing it (pure). `malist receive` runs a process per mail: parsing and
 * checking every list of a site for each one cost ~5 ms of CPU a list (a site of 50 lists,
 * 250 ms a mail), where the mail needs one. The loader (load.ts) reads in full only the
 * files this keeps, and finds the list among them as before (intake.ts, listForRecipient).
 *
 * It may keep too many, never too few: every address a list answers to (LIST@, LIST-request@,
 * LIST-owner@, LIST-bounces+…@, LIST+subscribe@, …) begins with the local part of its
 * `address:`, and the fallback by local part matches the address's local part or the file's
 * name. A file whose `address:` is not one plain line at the top level (quoted key, anchor,
 * merge key, written twice, a display name…), or that names a `bounce_address`, is kept.
 */

/** The one top-level `address:` line's value, or undefined when it cannot be told. */
function plainAddress(text: string): string | undefined {
  const lines = [...text.matchAll(/^address[ \t]*:(.*)$/gm)];
  if (lines.length !== 1) return undefined;
  const written = lines[0]![1]!.trim();
  const value =
    /^"([^"\\]*)"[ \t]*(?:#.*)?$/.exec(written)?.[1] ??
    /^'([^']*)'[ \t]*(?:#.*)?$/.exec(written)?.[1] ??
    /^([^\s#'"&*!|>{}[\],%@`][^\s#]*)(?:[ \t]+#.*)?$/.exec(written)?.[1];
  return value && /^[^\s<>"]+@[^\s<>"@]+$/.test(value) ? value : undefined;
}

/** The part of an address before its last '@', in lower case. */
function localPart(address: string): string {
  const bare = address.trim().replace(/^<(.*)>$/, '$1');
  const at = bare.lastIndexOf('@');
  return (at < 0 ? bare : bare.slice(0, at)).normalize('NFC').toLowerCase();
}

/**
 * For a mail to `recipient`: whether it could be for the list whose file, named `name`
 * (without .yaml), holds `text`. The recipient is read once, for every file of the site.
 */
export function listFilter(recipient: string): (text: string, name: string) => boolean {
  const local = localPart(recipient);
  return (text, name) => {
    if (local.startsWith(name.toLowerCase())) return true;
    if (/bounce_address/.test(text)) return true;
    const address = plainAddress(text);
    return address === undefined || local.startsWith(localPart(address));
  };
}
