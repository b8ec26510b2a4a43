/**
 * Notice texts. A template is plain text with `{name}` placeholders; an unknown name is left
 * as written so a typo shows instead of vanishing. Lists override a text by its key.
 */
import { endsInList } from '../list/phrase.ts';

/**
 * Substitutes `{name}` placeholders; values are used as given (plain text, no HTML). A
 * `{list_name} list` whose name already ends in "list" says it once ("the Pipe list").
 */
export function renderTemplate(template: string, vars: Record<string, string | undefined>): string {
  const name = vars.list_name;
  const once =
    name !== undefined && endsInList(name)
      ? template.replace(/\{list_name\} list\b/g, '{list_name}')
      : template;
  return once.replace(/\{([a-z_]+)\}/g, (whole, key: string) => vars[key] ?? whole);
}

/** The built-in notice texts, by key. */
export const DEFAULT_TEMPLATES = {
  rejected_subject: 'Your message to {list_address} was rejected',
  rejected: `Your message to the {list_name} list ({list_address}) was not delivered:

    {reason}

Your message is attached. Questions go to {owner_address}.
`,
  held_subject: 'Your message to {list_address} awaits moderator approval',
  held: `Your message to the {list_name} list ({list_address}) is held until a moderator
looks at it, because:

    {reason}

You will hear back if it is rejected, or if no moderator decides within {expiry_days} days.
Subject: {subject}
`,
  moderator_subject: 'confirm {token}',
  moderator: `A post to {list_address} is held for your approval.

    From:    {from}
    Subject: {subject}
    Reason:  {reason}

To approve it, reply to this message keeping the subject ("confirm {token}"),
or send "approve {token}" to {request_address}.
To reject it (the poster is told), send "reject {token}" to {request_address}.
To drop it silently, send "discard {token}" to {request_address}.
From a shell: malist held approve|reject|discard {held_id}

Without a decision the post expires on {expires}. The post is attached.
`,
  owner_forward_subject: 'Automated mail to {list_address}: {subject}',
  owner_forward: `A machine, not a person, wrote to the {list_name} list ({list_address}), so it
was not sent to the members:

    From:    {from}
    Subject: {subject}
    Reason:  {reason}

It is attached, for you to see whose mailbox answers the list (an out-of-office reply,
a delivery report, a challenge-response robot). Nothing needs to be done.
`,
  dead_letters_subject: '{count} undeliverable on {list_address}',
  dead_letters: `{count} recipient(s) of posts to the {list_name} list ({list_address}) could
not be delivered: the mail server refused them for good, or they waited too long and expired:

{dead_letters}

The messages are kept as dead letters in {where}; \`malist queue list\` shows them.
Refused members are counted by the bounce handling (and disabled after repeated
bounces). If every recipient of a post is refused, look at the mail server's log.
This notice comes at most once per {period}, summing up what happened since the last.
`,
  expired_subject: 'Your message to {list_address} expired unmoderated',
  expired: `Your message to the {list_name} list ({list_address}) was held for a moderator
for {expiry_days} days without a decision, and has been dropped.

Subject: {subject}
`,
  token_refused_subject: 'Moderation request for {list_address} not carried out',
  token_refused: `Your request ({action}) for {list_address} was not carried out:

    {reason}

Nothing was changed.
`,
  token_done_subject: 'Moderation request for {list_address} done',
  token_done: `The held post "{subject}" from {from} was {done}.
`,
} as const;

export type TemplateKey = keyof typeof DEFAULT_TEMPLATES;

/** A list's text for `key`: its override, else the built-in one. */
export function templateText(
  key: TemplateKey,
  overrides?: Partial<Record<string, string>>,
): string {
  return overrides?.[key] ?? DEFAULT_TEMPLATES[key];
}
