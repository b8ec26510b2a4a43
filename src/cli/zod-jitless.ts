/**
 * zod without its compiled fast path, for a process that checks each schema once (`malist
 * receive`, a process per mail): the fast path is built with `new Function` on a schema's
 * first use (~15 ms for the configuration's), which costs more than it saves.
 *
 * A module of its own, loaded by main.ts before the command's module: zod reads the setting
 * when a schema is *made* (at its module's evaluation), so it must come before any schema
 * module is evaluated — a `z.config()` in the command's body came after them and changed
 * nothing (nor would a first `import` there: a bundle evaluates shared chunks first).
 */
import { z } from 'zod';

z.config({ jitless: true });
