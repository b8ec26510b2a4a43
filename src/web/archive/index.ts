/**
 * The web archive (issue 21): its pages and its downloads, one router for the app to mount.
 * Downloads first: their routes are the longer shapes of the pages' (`/m/:id/raw`).
 */
import { Hono } from 'hono';
import type { WebDeps, WebEnv } from '../env.ts';
import { archiveDownloads } from './downloads.ts';
import { archivePages } from './pages.ts';

export function archiveRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.route('/', archiveDownloads(deps));
  app.route('/', archivePages(deps));
  return app;
}
