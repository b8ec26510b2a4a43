/** The sign-in pages: a mailed link for list people, a password for site admins. */
import type { FC } from 'hono/jsx';
import { Csrf } from './layout.tsx';

export const LoginForm: FC<{ csrf: string }> = ({ csrf }) => (
  <>
    <p>
      Owners, moderators and members sign in with a link mailed to their address. The link works
      once, for 15 minutes.
    </p>
    <form method="post" action="/login">
      <Csrf token={csrf} />
      <label>
        Your address <input type="email" name="address" required autocomplete="email" />
      </label>{' '}
      <button type="submit">Mail me a sign-in link</button>
    </form>
    <p>
      <a href="/admin/login">Site administrators sign in with a password.</a>
    </p>
  </>
);

export const VerifyForm: FC<{ csrf: string; token: string; address: string }> = (p) => (
  <form method="post" action="/login/verify">
    <Csrf token={p.csrf} />
    <input type="hidden" name="token" value={p.token} />
    <p>
      Sign in as <strong>{p.address}</strong>?
    </p>
    <button type="submit">Sign in</button>
  </form>
);

export const AdminLoginForm: FC<{ csrf: string }> = ({ csrf }) => (
  <form method="post" action="/admin/login">
    <Csrf token={csrf} />
    <p>
      <label>
        Name <input name="user" value="admin" required autocomplete="username" />
      </label>
    </p>
    <p>
      <label>
        Password <input type="password" name="password" required autocomplete="current-password" />
      </label>
    </p>
    <button type="submit">Sign in</button>
  </form>
);
