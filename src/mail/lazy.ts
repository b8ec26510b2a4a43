/**
 * Libraries only some mails need, loaded on first use: mailparser alone adds ~29 MB to a
 * process, and a list that never sees a command mail or sends a digest never needs it.
 */
let mailparser: Promise<typeof import('mailparser')> | undefined;

/** mailparser (command mail bodies, digest summaries). */
export function loadMailparser(): Promise<typeof import('mailparser')> {
  mailparser ??= import('mailparser');
  return mailparser;
}
