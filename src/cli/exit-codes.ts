/** sysexits(3) codes: an MTA running `malist receive` acts on them. */
export const EX = {
  /** Handled: distributed, queued, held, rejected with notice or discarded. */
  OK: 0,
  /**
   * Done, but something needs the operator (`malist run`: nothing delivered for a reason
   * waiting will not cure, dead letters, mail queued too long; `send-test`: not a 250).
   */
  ATTENTION: 1,
  /** Wrong command-line usage. */
  USAGE: 64,
  /** The input could not be read as a message. */
  DATAERR: 65,
  /** An input file named on the command line does not exist or cannot be read. */
  NOINPUT: 66,
  /** Unknown list (the MTA bounces: "user unknown"). */
  NOUSER: 67,
  /** Internal software error. */
  SOFTWARE: 70,
  /** An operating-system error: `malist lmtp` cannot listen on its address. */
  OSERR: 71,
  /** Cannot write a file it must (operating system error). */
  CANTCREAT: 73,
  /** Temporary failure: the MTA keeps the mail and tries again later. */
  TEMPFAIL: 75,
  /** Configuration error. */
  CONFIG: 78,
} as const;
