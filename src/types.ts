/**
 * The contracts of malist (DESIGN.md, "The contracts"). Every unit depends on these, not
 * on other units (`node ../shared/tools/archcheck.mjs` holds the code to that).
 */
import type { AuthVerdict } from './auth/verify.ts';
import type { Signal } from './errors.ts';
import type { HeaderBlock } from './mail/header-block.ts';

/** The body bytes, passed through untouched unless a unit (footer) rewrites MIME. */
export type Body = Buffer;

/** Where a mail came from; `id` is stable for the source (imap:INBOX:uidvalidity:uid, pop3:UIDL). */
export interface Origin {
  fetcher: string;
  id: string;
  /** Envelope recipient when the source knows it (MTA hook `--recipient`, Delivered-To). */
  recipient?: string;
  /** Envelope sender (MAIL FROM; '' for the null sender) when the intake knows it. */
  sender?: string;
  /**
   * The SMTP client that handed the mail to the MTA in front (Postfix's `client_address`,
   * `client_helo`; an LMTP intake's), when the intake knows it: SPF is checked by it.
   */
  client?: { ip: string; helo?: string };
}

export interface ListMail {
  /** The bytes as fetched: never changed. */
  readonly raw: Buffer;
  /** Ordered, editable; untouched fields keep their original bytes. */
  header: HeaderBlock;
  body: Body;
  /** SMTP envelope sender for distribution (the list's bounce address). */
  ml_sender?: string;
  /** Envelope recipients. */
  ml_send_to?: string[];
  /** "Red mail list <red@list.example.com>" */
  ml_list?: string;
  /** The list's short name (the YAML file's name), set by single-list; keys the journal. */
  ml_list_name?: string;
  origin: Origin;
  /**
   * Set only by a router (`many-lists`) on the copy for one list of a cross-post whose
   * pipeline signalled: `play()` handles that copy as if the signal had been thrown.
   */
  ml_signal?: Signal;
  /**
   * Set when a moderator approved this post (a released held post, or a valid pre-approval
   * header): who or what approved it. Units that would hold a post for a moderator let it pass.
   */
  ml_approved?: string;
  /**
   * What the list verified of the post as it came in (DKIM, SPF, DMARC, ARC), set by the
   * `authenticate` unit: the posting policy and `dmarc` decide on it, the queue seals
   * copies with it, and the journal keeps it.
   */
  ml_auth?: AuthVerdict;
  /**
   * What units did to the mail that the operator should see in the delivery log ("added
   * Message-ID <…>", "added Date"), in order.
   */
  ml_notes?: string[];
  /** Stable key of the fetched bytes (sha256 hex of `raw`): the journal's and the spool's key. */
  readonly key: string;
}

/** A fetched mail and the way to remove it from its source. */
export interface Fetched {
  mail: ListMail;
  /** Removes the mail from the source. `play()` calls it only once the mail is durably handled. */
  ack(): Promise<void>;
}

export interface Fetcher {
  readonly name: string;
  /** The next mail, or throws `NothingMore`. A mail not acked is not fetched again in this session. */
  fetch(): Promise<Fetched>;
  /** Ends the session (POP3 QUIT commits deletions; IMAP expunge). Idempotent. */
  close(): Promise<void>;
}

export interface Processor {
  readonly name: string;
  /**
   * Sets the ml_* fields and rewrites headers, or throws a `Signal` (Reject, Discard, Hold).
   * A router (`many-lists`) may return one copy per list for a cross-posted mail.
   */
  process(mail: ListMail): Promise<ListMail | ListMail[]>;
}

/**
 * One recipient's outcome. `queued` means a durable copy owns the recipient now (the queue);
 * `deferred` is a temporary failure (4xx, network) to try again; `failed` is final (5xx).
 */
export type RecipientStatus = 'delivered' | 'queued' | 'deferred' | 'failed';

export interface RecipientResult {
  recipient: string;
  status: RecipientStatus;
  /** The distributor that produced this result. */
  distributor: string;
  /** SMTP reply code, when there was one. */
  code?: number;
  /** What the server or transport said. */
  response?: string;
}

export interface DeliveryReport {
  results: RecipientResult[];
}

export interface Distributor {
  readonly name: string;
  /**
   * Delivers `mail` to `mail.ml_send_to` from `mail.ml_sender`. Must be idempotent per
   * (mail.key, recipient): a repeat after a crash must not deliver twice.
   * Throws only when it cannot say anything per recipient (then nothing is assumed delivered).
   */
  distribute(mail: ListMail): Promise<DeliveryReport>;
  close?(): Promise<void>;
}

export type Stage = 'fetcher' | 'processor' | 'distributor';

/** A failure, or a control signal, at one stage, for every reactor to see. */
export interface StageFailure {
  stage: Stage;
  /** The name of the unit that failed or signalled. */
  unit: string;
  error: Error | Signal;
  mail?: ListMail;
}

export interface Reactor {
  readonly name: string;
  react(failure: StageFailure): Promise<void> | void;
}

/** What checks a unit's YAML options (a zod schema; custom units may bring any such object). */
export interface OptionsSchema {
  safeParse(value: unknown): { success: boolean; data?: unknown; error?: unknown };
}

/**
 * A unit's module, as the registries hold it and as a custom unit is loaded: its default
 * factory, and the schema of its YAML options whose output the factory takes.
 */
export interface UnitModule<F> {
  default: F;
  schema?: OptionsSchema;
  /**
   * The keys of the options as written that have a newer spelling (still read): where, and
   * what to write instead. `malist check` and `malist run` warn with file:line.
   */
  deprecated?: (options: Record<string, unknown>) => { path: PropertyKey[]; instead: string }[];
  /**
   * The options' whole schema, when `schema` leaves out keys few configurations write (the
   * queue's sending services), made on first call: options that `schema` refuses are checked
   * against it, so those that write such a key pass, and a mistake's message knows every key.
   */
  wholeSchema?: () => OptionsSchema;
}

/** A registry entry that loads its unit's module on first use (a process loads only what its configuration names). */
export type UnitLoader<F> = () => Promise<UnitModule<F>>;
