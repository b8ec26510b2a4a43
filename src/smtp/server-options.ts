/** How to reach an SMTP server: the keys both SMTP clients (nodemailer's and the bulk one) take. */
export interface SmtpServerOptions {
  /** Server host name or address. @default 'localhost' */
  host?: string;
  /** Server port. @default 465 with `secure`, else 25 */
  port?: number;
  /** Implicit TLS from the first byte (port 465 style). @default false */
  secure?: boolean;
  /**
   * STARTTLS policy when not `secure`: `required` fails rather than talk in clear text,
   * `opportunistic` upgrades when offered, `never` does not try.
   * @default 'required' when `auth` is set, else 'opportunistic'
   */
  starttls?: 'required' | 'opportunistic' | 'never';
  /** TLS settings: a private CA (PEM text or a file path), or (tests only) not verifying the certificate. */
  tls?: { ca?: string | Buffer; reject_unauthorized?: boolean; servername?: string };
  /** SMTP AUTH credentials; the password is already resolved (password_env / password_file) and never logged. */
  auth?: { user: string; pass: string; method?: string };
  /** Name to send with EHLO. @default the machine's host name */
  name?: string;
}
