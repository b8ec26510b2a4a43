/**
 * The embedded default: what `malist run` uses when no malist.yaml is found, so a fresh
 * clone runs with no server — mail from the local maildir `var/demo/inbox`, delivered into
 * `var/demo/out/<recipient>/new/`, state in `var/demo/state`. Paths are relative to the
 * configuration directory (the working directory unless --config says otherwise).
 */
export const EMBEDDED_NAME = '(embedded default)';

export const EMBEDDED_DEFAULT = `# malist's embedded default: no server needed.
state_dir: var/demo/state
lists_dir: lists
fetch:
  - type: maildir
    dir: var/demo/inbox
distribute:
  type: maildir
  dir: var/demo/out
delivery_log: var/demo/delivery.log
reactors:
  - type: stderr-logger
    signals: false
  - type: json-log
    file: var/demo/malist.jsonl
`;

/** The demo inbox the embedded default fetches from (relative to the config directory). */
export const DEMO_INBOX = 'var/demo/inbox';
