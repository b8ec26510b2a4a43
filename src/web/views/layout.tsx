/**
 * The frame of every page: no inline script or style (the CSP forbids both), the site's
 * stylesheet, a navigation for the list at hand, and the sign-out form. Every value is
 * escaped by hono/jsx; nothing here takes raw HTML.
 */
import { raw } from 'hono/html';
import type { Child, FC } from 'hono/jsx';

export interface Viewer {
  /** Shown in the header: an address or `admin NAME`. */
  label?: string;
  csrf: string;
}

export interface ListNav {
  name: string;
  /** The areas this viewer may open. */
  areas: Array<'held' | 'members' | 'settings' | 'queue' | 'stats'>;
  current?: string;
}

const AREA_LABEL = {
  held: 'Held posts',
  members: 'Members',
  settings: 'Settings',
  queue: 'Queue',
  stats: 'Statistics',
};

export const Csrf: FC<{ token: string }> = ({ token }) => (
  <input type="hidden" name="_csrf" value={token} />
);

export const Layout: FC<{
  title: string;
  viewer: Viewer;
  nav?: ListNav;
  notice?: string;
  error?: string;
  scripts?: string[];
  children?: Child;
}> = (props) => (
  <>
    {raw('<!doctype html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${props.title} · malist`}</title>
        <link rel="stylesheet" href="/static/app.css" />
        {(props.scripts ?? []).map((src) => (
          <script src={src} defer />
        ))}
      </head>
      <body>
        <header>
          <a href="/" class="brand">
            malist
          </a>
          {props.viewer.label ? (
            <form method="post" action="/logout" class="whoami">
              <span>{props.viewer.label}</span> <a href="/me">my lists</a>{' '}
              <Csrf token={props.viewer.csrf} />
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        {props.nav ? (
          <nav>
            <a href={`/lists/${props.nav.name}`}>
              <strong>{props.nav.name}</strong>
            </a>
            {props.nav.areas.map((area) => (
              <a
                href={`/lists/${props.nav!.name}/${area}`}
                class={props.nav!.current === area ? 'current' : undefined}
              >
                {AREA_LABEL[area]}
              </a>
            ))}
          </nav>
        ) : null}
        <main>
          <h1>{props.title}</h1>
          {props.notice ? <p class="notice">{props.notice}</p> : null}
          {props.error ? <p class="error">{props.error}</p> : null}
          {props.children}
        </main>
      </body>
    </html>
  </>
);

export const Message: FC<{ title: string; viewer: Viewer; text: string; status?: string }> = (
  p,
) => (
  <Layout title={p.title} viewer={p.viewer}>
    <p>{p.text}</p>
  </Layout>
);
