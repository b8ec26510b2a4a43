/**
 * What the queue needs from a network transport (SMTP, LMTP): send one message to many
 * recipients and say, per recipient, what the server answered. The queue owns durability;
 * a transport owns the protocol.
 */
import type { RecipientResult } from '../types.ts';

export interface SendJob {
  /** Envelope sender; '' is the null sender (bounces). */
  from: string;
  /** Envelope recipients, already deduplicated by the caller. */
  to: string[];
  /** The wire bytes, sent as they are. */
  raw: Buffer;
  /** For error messages and logs. */
  messageId?: string;
  /**
   * Called once per finished transaction with that transaction's outcomes, before `send`
   * resolves, so the caller can record the server's 250 durably (the sent-log) while later
   * transactions are still going.
   */
  onTransaction?(results: RecipientResult[]): Promise<void>;
  /**
   * Each recipient's own bytes instead of `raw` (a footer naming the member, a personal
   * unsubscribe URL): one transaction per recipient, its bytes made just before it is sent.
   */
  personalise?(recipient: string): Buffer;
  /**
   * Each recipient's own envelope sender (a list's VERP address with its cookie): one
   * transaction per recipient. Made by the caller, who holds the secret; a transport only
   * uses it, and never encodes a sender again.
   */
  senderFor?(recipient: string): string;
  /**
   * Asked before each transaction starts: true once the caller may send nothing more of
   * this job (the queue's claim was lost with its lease: another worker has the rest).
   * What is not started comes back `deferred`; transactions under way finish and are told
   * to `onTransaction` as usual.
   */
  stopped?(): boolean;
}

export interface Transport {
  readonly name: string;
  /** One result per recipient of `job.to`; never throws for a server's answer or a network error. */
  send(job: SendJob): Promise<RecipientResult[]>;
  close(): Promise<void>;
}
