/**
 * Auth: DKIM, ARC, DMARC and SPF for list mail (issue 19), on mailauth 7 (MIT; its DKIM,
 * SPF, DMARC and ARC modules, required by path: see mailauth.ts). Every DNS question goes
 * through an injected `DnsResolver` (`systemResolver()` in production, `staticResolver()` in
 * tests and in nothing that leaves the machine). Keys come from files only.
 *
 * ## Intake: a processor unit, for every post
 *
 *   const verdict = await verifyIncoming(mail.raw, {
 *     resolver, authservId: 'list.example.org',          // the list's own authserv-id
 *     ip, helo, sender,                                  // LMTP / `receive` envelope, when known
 *     trustedAuthservIds: ['mx.example.org'],            // POP3/IMAP/pipe: the MTA's SPF result
 *   });
 *   stampAuthResults(mail.header, verdict);              // one Authentication-Results of ours,
 *                                                        // forged ones claiming our id removed
 *   if (requiresAuthentication(list.require_authenticated_from, verdict.from.domains[0])) {
 *     const from = authenticatedFrom(verdict, { trustedSealers: list.arc_trusted_sealers });
 *     if (!from.authenticated) → the non-member action, reason `from.reason`
 *   }                                                    // ("From not authenticated: …")
 *   journal ← verdict (a plain JSON record); spool ← sealPlanFor(verdict) for the queue
 *
 * `verdict.dmarc.policy` (none | quarantine | reject, RFC 9989: tree walk, sp/np, t=) is what
 * the `dmarc` processor's `when: p=reject` can read instead of its own lookup.
 *
 * DMARC: mailauth 7.1 implements RFC 9989 (DMARCbis) where it differs from RFC 7489: the DNS
 * tree walk (at most 8 queries) for the policy record and the organisational domain instead
 * of the Public Suffix List, psd=, np= (with the RFC 9989 A.4 existence test), t= in place of
 * pct=, and no evaluation for a From with no or several author domains. Not covered: DMARC
 * reports (rua/ruf) are not sent, and `authenticatedFrom()` aligns by the PSL (pure, no DNS)
 * but also accepts DMARC's own tree-walk pass, so a psd= boundary only the tree walk knows
 * is still honoured for a domain that publishes DMARC.
 *
 * ## Hand-off: the queue's per-recipient step, for every copy
 *
 *   const signer = createCopySigner({ dkim: keys, arc: arcKey, selfCheck: true });
 *   // or, when one core cannot keep up: createSignerPool({ dkim: keyOptions, arc, threads })
 *   const bytes = await signer.sign(copyBytes, sealPlan);  // sealed (if a plan), DKIM-signed
 *                                                          // once per key, self-checked
 *   SelfCheckError (code ESIGNATURE, temporary) → defer that delivery, tell the operator.
 *
 * A batched copy (the same bytes for many members) is signed once and shared; a personal
 * copy (footer, one-click URL) is sealed and signed for itself, in every retry too, since
 * the ARC-Message-Signature and the DKIM signature both cover the body.
 * `createDkimSigner` / `createArcSealer` / `createSelfCheck` are the three steps on their own.
 *
 * ## Keys: `malist dkim keygen` and `malist check`
 *
 *   const record = await generateKey({ algorithm, file, domain, selector });  // 0600, new file
 *   print(record.zone)                                   // `sel._domainkey.dom. IN TXT ( "…" )`
 *   for (const k of keyRoles(list.dkim).published)       // signing keys and `previous` ones
 *     checkPublishedKey(await loadSigningKey(k), resolver)  // match | mismatch | missing | error
 *
 * `dkim:` is one `DkimKeyOptions` or several (dual-sign: one signature each, typically
 * rsa-sha256 and ed25519-sha256); rotation: a key's `previous: { selector, key_file }` stays
 * published and checked, the key itself signs. ARC seals with an rsa-sha256 key only.
 */
export {
  type ChainValidation,
  createArcSealer,
  type SealOutcome,
  type SealPlan,
  sealPlanFor,
} from './arc-seal.ts';
export {
  authservIdOf,
  type ReportedMethod,
  type ReportedResults,
  reportedResults,
  trustedResults,
} from './auth-results.ts';
export {
  type AuthenticatedFromOptions,
  aligned,
  authenticatedFrom,
  type FromAuthentication,
  organisationalDomain,
  requiresAuthentication,
} from './authenticated-from.ts';
export { type CopySigner, type CopySignerOptions, createCopySigner } from './copy-signer.ts';
export { createDkimSigner, type DkimSigner, OVERSIGNED, SIGNED_IF_PRESENT } from './dkim-sign.ts';
export {
  DKIM_ALGORITHMS,
  type DkimAlgorithm,
  type DkimKeyOptions,
  type DkimTxtRecord,
  dkimTxtRecord,
  generateKey,
  keyRoles,
  loadSigningKey,
  type SigningKey,
  signingKeyFrom,
} from './keys.ts';
export { checkPublishedKey, type PublishedKeyCheck } from './published-key.ts';
export { type DnsResolver, staticResolver, systemResolver } from './resolver.ts';
export { authResultsValue, stampAuthResults } from './results-header.ts';
export { createSelfCheck, type SelfCheck, SelfCheckError } from './self-check.ts';
export { createSignerPool, type SignerPool, type SignerPoolOptions } from './signer-pool.ts';
export {
  type ArcCheck,
  type AuthVerdict,
  type DkimCheck,
  type DmarcCheck,
  type SpfCheck,
  type VerifyOptions,
  verifyIncoming,
} from './verify.ts';
