/**
 * The REST API's shapes, as zod schemas: the routes validate requests with them and the
 * OpenAPI document at /api/v1/openapi.json is generated from the very same objects.
 */
import { z } from '@hono/zod-openapi';
import { NON_MEMBER_ACTION, POSTING } from '../../config/schema.ts';

export const ErrorBody = z
  .object({
    error: z.string().openapi({ example: 'no such list' }),
    problems: z
      .array(z.string())
      .optional()
      .openapi({ description: 'What is wrong, one a line (file:line:col key: message (fix: …))' }),
  })
  .openapi('Error');

export const ListParam = z.object({
  list: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'list', in: 'path' }, example: 'red' }),
});

export const ListSummary = z
  .object({
    name: z.string(),
    address: z.string(),
    display_name: z.string().nullable(),
    members: z.number().int(),
    held: z.number().int(),
    queued: z.number().int(),
  })
  .openapi('ListSummary');

export const ListSettingsBody = z
  .object({
    subject_prefix: z.string().max(200).nullable().optional(),
    footer: z.string().max(10_000).nullable().optional(),
    posting: z.enum(POSTING).nullable().optional(),
    non_member_action: z.enum(NON_MEMBER_ACTION).nullable().optional(),
    moderators: z.array(z.string().max(320)).max(1000).nullable().optional(),
  })
  .strict()
  .openapi('ListSettings', { description: 'null removes a setting (its default applies again)' });

export const ListDetail = ListSummary.extend({
  settings: ListSettingsBody,
  owners: z.array(z.string()),
}).openapi('ListDetail');

export const MemberBody = z
  .object({
    address: z.string().min(3).max(320).openapi({ example: 'alice@example.org' }),
    name: z.string().max(200).optional(),
    digest: z.boolean().optional(),
    plain: z.boolean().optional(),
    nomail: z.boolean().optional(),
    nomail_reason: z.enum(['user', 'bounce', 'admin']).optional(),
    notmetoo: z.boolean().optional(),
    moderate: z.boolean().optional(),
  })
  .openapi('Member');

export const MemberPatchBody = MemberBody.omit({ address: true, nomail_reason: true })
  .strict()
  .openapi('MemberPatch');

export const MemberParam = ListParam.extend({
  address: z
    .string()
    .min(3)
    .max(320)
    .openapi({ param: { name: 'address', in: 'path' }, example: 'alice@example.org' }),
});

export const MemberPage = z
  .object({
    total: z.number().int(),
    matched: z.number().int(),
    offset: z.number().int(),
    members: z.array(MemberBody),
  })
  .openapi('MemberPage');

export const MemberQuery = z.object({
  q: z.string().max(320).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const BounceBody = z
  .object({
    address: z.string(),
    score: z.number(),
    threshold: z.number(),
    count: z.number().int(),
    last_bounce: z.string().nullable(),
    last_diagnostic: z.string().nullable(),
    disabled_at: z.string().nullable(),
  })
  .openapi('Bounce');

export const MemberDetail = MemberBody.extend({ bounce: BounceBody.nullable() }).openapi(
  'MemberDetail',
);

export const BulkBody = z
  .object({
    mode: z.enum(['add', 'sync']).openapi({
      description: 'add: new members join; sync: the list becomes exactly these members',
    }),
    csv: z
      .string()
      .max(20_000_000)
      .optional()
      .openapi({ description: 'a CSV file (header: address, name, options)' }),
    members: z.array(MemberBody).max(200_000).optional(),
    dry_run: z.boolean().optional().openapi({ description: 'only say what would change' }),
  })
  .refine((b) => (b.csv === undefined) !== (b.members === undefined), {
    message: 'give either csv or members',
  })
  .openapi('BulkMembers');

export const BulkResult = z
  .object({
    dry_run: z.boolean(),
    add: z.array(z.string()),
    remove: z.array(z.string()),
    change: z.array(z.string()),
    unchanged: z.number().int(),
    problems: z.array(z.object({ line: z.number().int(), message: z.string() })),
    applied: z
      .object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int() })
      .nullable(),
  })
  .openapi('BulkResult');

export const HeldSummary = z
  .object({
    id: z.string(),
    held_at: z.string(),
    from: z.string().nullable(),
    subject: z.string().nullable(),
    reason: z.string(),
    message_id: z.string().nullable(),
  })
  .openapi('Held');

export const HeldParam = ListParam.extend({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const HeldDetail = HeldSummary.extend({
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  text: z.string(),
  truncated: z.boolean(),
  attachments: z.array(
    z.object({ filename: z.string(), content_type: z.string(), size: z.number().int() }),
  ),
}).openapi('HeldDetail');

export const DecisionBody = z
  .object({
    ids: z.array(z.string().min(1).max(200)).min(1).max(1000),
    action: z.enum(['approve', 'reject', 'discard']),
    reason: z
      .string()
      .max(500)
      .optional()
      .openapi({ description: 'told to the poster of a rejected post' }),
  })
  .openapi('Decision');

export const DecisionResult = z
  .object({
    results: z.array(
      z.object({
        id: z.string(),
        status: z.enum(['done', 'already', 'missing', 'failed']),
        message: z.string(),
      }),
    ),
  })
  .openapi('DecisionResult');

export const QueueEntry = z
  .object({
    id: z.string(),
    state: z.enum(['waiting', 'delivering', 'first round', 'dead']),
    created: z.string(),
    pending: z.number().int(),
    failed: z.number().int(),
    delivered: z.number().int(),
    next_attempt: z.string().nullable(),
    last_error: z.string(),
    message_id: z.string().nullable(),
    refused: z.array(z.object({ address: z.string(), response: z.string() })),
  })
  .openapi('QueueEntry');

export const QueueParam = ListParam.extend({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const QueueVerbResult = z.object({ message: z.string() }).openapi('QueueVerbResult');

const Bucket = z.object({ label: z.string(), count: z.number().int() });
export const StatsBody = z
  .object({
    days: z.array(
      z.object({
        day: z.string(),
        posts: z.number().int(),
        held: z.number().int(),
        delivered: z.number().int(),
        deferred: z.number().int(),
        refused: z.number().int(),
      }),
    ),
    held_age: z.array(Bucket),
    bounce_scores: z.array(Bucket),
    queue_age: z.array(Bucket),
    dead_letters: z.number().int(),
    delivery_source: z.string(),
  })
  .openapi('Stats');
