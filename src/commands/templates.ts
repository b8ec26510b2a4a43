/**
 * The texts of membership mail (confirmation, welcome, goodbye, help, results). Plain text
 * with `{name}` placeholders (rendered by the notices' `renderTemplate`); a list overrides
 * any of them by key in its YAML (`templates: { welcome: "…" }`).
 */

export const COMMAND_TEMPLATES = {
  confirm_subscribe: `Someone (probably you) asked to subscribe {address} to the {list_name}
mailing list ({list_address}).

To confirm, reply to this message keeping the subject ("confirm {token}"),
or send a message to {request_address} containing the line:

    confirm {token}

If you did not ask for this, ignore this message: nothing happens without your reply.
This request expires on {expires}.
`,
  confirm_unsubscribe: `Someone (probably you) asked to unsubscribe {address} from the {list_name}
mailing list ({list_address}).

To confirm, reply to this message keeping the subject ("confirm {token}"),
or send "confirm {token}" to {request_address}.

If you did not ask for this, ignore this message: you stay subscribed.
This request expires on {expires}.
`,
  confirm_set: `Someone (probably you) asked to change your options on the {list_name} list:

    set {option} {value}

To confirm, reply keeping the subject ("confirm {token}"), or send
"confirm {token}" to {request_address}. This request expires on {expires}.
`,
  approve_subscribe: `{address} asks to join the {list_name} list ({list_address}).

To approve, reply keeping the subject ("confirm {token}"), or send
"confirm {token}" to {request_address}. To refuse, send "reject {token}".
This request expires on {expires}.
`,
  welcome_subject: 'Welcome to the {list_name} list',
  welcome: `Welcome to the {list_name} mailing list!

To post, write to {list_address}.
To leave, send "unsubscribe" to {request_address} (or write to {leave_address}).
Send "help" to {request_address} for the other commands.
`,
  goodbye_subject: 'You have left the {list_name} list',
  goodbye: `{address} is no longer subscribed to the {list_name} list ({list_address}).
To come back, send "subscribe" to {request_address}.
`,
  help_subject: 'Help for the {list_name} list',
  help: `Commands for the {list_name} list ({list_address}), sent to {request_address}
in the subject or one a line in the body:

    subscribe [address] [digest]   join (a confirmation is mailed to the address;
                                   digest=plain for plain-text digests)
    unsubscribe [address]          leave (likewise confirmed)
    set digest on|off              get digests instead of single posts
    set plain on|off               digests as plain text (RFC 1153) instead of MIME
    set nomail on|off              stop or resume mail while staying a member
    set notmetoo on|off            do not send me my own posts
    set mail                       resume mail (after bounces stopped it)
    confirm TOKEN                  confirm a request
    help                           this text

You can also write to {join_address} to join and {leave_address} to leave.
`,
  results_subject: 'Results of your request to {list_address}',
  results_intro: 'The results of your request to {request_address}:\n',
  subscribe_pending: '- subscribe {address}: a confirmation request was mailed to that address.',
  subscribe_approval: '- subscribe {address}: waiting for the approval of the list owners.',
  unsubscribe_pending:
    '- unsubscribe {address}: a confirmation request was mailed to that address.',
  set_pending: '- set {option} {value}: a confirmation request was mailed to {address}.',
  not_member: '- {command}: {address} is not a member of the list.',
  confirmed_subscribe: '- confirm: {address} is now subscribed.',
  confirmed_unsubscribe: '- confirm: {address} is unsubscribed.',
  confirmed_set: '- confirm: set {option} {value} for {address}.',
  rejected_request: '- {command}: the request for {address} was cancelled.',
  bad_token:
    '- {command}: this token is unknown, used, expired or not for this list; nothing was done.',
  bad_address: '- {command}: the address cannot be subscribed here: {reason}.',
  one_confirmation:
    '- {command}: not done: one message carries at most one request that needs a confirmation; send each in a message of its own.',
  no_commands: 'No command was found in your message.\n',
  unknown_lines: '\n{count} line(s) of your message were not understood, and were ignored.\n',
} as const;

export type CommandTemplateKey = keyof typeof COMMAND_TEMPLATES;

/** A list's text for `key`: its override, else the built-in one. */
export function commandTemplate(
  key: CommandTemplateKey,
  overrides?: Partial<Record<string, string>>,
): string {
  return overrides?.[key] ?? COMMAND_TEMPLATES[key];
}
