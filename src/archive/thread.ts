/**
 * Threads: which conversation a post belongs to, and how a conversation nests. A post joins
 * the thread of the nearest ancestor its References/In-Reply-To name that the archive holds;
 * when it names none the archive holds, its thread is the oldest ancestor it names (so the
 * replies to a post that was never archived still gather); when it names none at all, a
 * reply-looking subject ("Re: …", "AW: …", "[list] RE: …") joins the latest thread of the
 * same subject in the last 90 days, as pipermail and mail readers do. Pure.
 */

/** Reply and forward markers in the languages mail readers write them in. */
const REPLY = /^\s*(re|aw|sv|vs|antw|ref|rif|r|fw|fwd|wg|tr|enc)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*/i;
const TAG = /^\s*\[[^\]]{1,40}\]\s*/;

/** True when the subject starts like a reply ("Re:", "AW:", after any list tag). */
export function isReplySubject(subject: string): boolean {
  return REPLY.test(subject.replace(TAG, ''));
}

/** The subject without list tags and reply markers, case and blanks folded: the thread key. */
export function subjectKey(subject: string): string {
  let s = subject;
  for (let i = 0; i < 20; i++) {
    const next = s.replace(TAG, '').replace(REPLY, '');
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, ' ').trim().toLowerCase().slice(0, 200);
}

/** How long a subject-only reply may reach back for its thread. */
export const SUBJECT_WINDOW_MS = 90 * 24 * 3600 * 1000;

export interface Threadable {
  messageId: string;
  /** Named ancestors, oldest first. */
  refs: readonly string[];
  date: number;
}

export interface ThreadNode<T> {
  post: T;
  children: ThreadNode<T>[];
}

/** The nearest ancestor of `post` among `present`, or undefined. */
function nearestParent<T extends Threadable>(post: T, present: Map<string, T>): T | undefined {
  for (let i = post.refs.length - 1; i >= 0; i--) {
    const found = present.get(post.refs[i]!);
    if (found && found !== post) return found;
  }
  return undefined;
}

/**
 * The posts of one thread as a tree: each under its nearest archived ancestor, children by
 * date. A post naming no archived ancestor goes under the thread's first post (it joined by
 * subject, or its parent was never archived) unless it is that first post; reference loops
 * (forged or broken headers) are cut.
 */
export function assembleThread<T extends Threadable>(posts: readonly T[]): ThreadNode<T>[] {
  const sorted = [...posts].sort(
    (a, b) => a.date - b.date || a.messageId.localeCompare(b.messageId),
  );
  const present = new Map(sorted.map((p) => [p.messageId, p]));
  const parent = new Map<T, T | undefined>();
  for (const post of sorted) parent.set(post, nearestParent(post, present));
  // Cut loops: a post whose chain of parents comes back to it becomes a root.
  for (const post of sorted) {
    const seen = new Set<T>([post]);
    for (let p = parent.get(post); p; p = parent.get(p)) {
      if (seen.has(p)) {
        parent.set(post, undefined);
        break;
      }
      seen.add(p);
    }
  }
  const first = sorted[0];
  const nodes = new Map(sorted.map((p) => [p, { post: p, children: [] } as ThreadNode<T>]));
  const roots: ThreadNode<T>[] = [];
  for (const post of sorted) {
    const up = parent.get(post);
    const node = nodes.get(post)!;
    if (up) nodes.get(up)!.children.push(node);
    else if (post !== first && first && post.refs.length === 0)
      nodes.get(first)!.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** The nodes of a tree depth-first, with their depth (what a page lists, indented). */
export function flattenThread<T>(roots: ThreadNode<T>[]): { post: T; depth: number }[] {
  const out: { post: T; depth: number }[] = [];
  const visit = (node: ThreadNode<T>, depth: number) => {
    out.push({ post: node.post, depth });
    for (const child of node.children) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return out;
}
