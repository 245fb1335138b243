import * as z from 'zod/mini';
import '../core/zod.ts';

/**
 * Task-state inputs, validated at the handler boundary. The shapes come from our own earlier states,
 * so validation is structural: it catches a mis-wired state machine, not hostile input (ingest does that).
 */
const record = z.record(z.string(), z.unknown());
const optionalString = z.optional(z.string());

export const eventSchema = z.looseObject({
  eventId: z.string().check(z.minLength(1)),
  eventName: z.string(),
  action: z.string(),
  service: z.string(),
  account: z.string().check(z.regex(/^\d{12}$/)),
  region: z.string(),
  time: z.string(),
  actor: record,
  resources: z.looseObject({ functionName: optionalString, qualifier: optionalString }),
  requestParameters: record,
  origin: z.enum(['event', 'sweep', 'scan']),
});

export const snapshotInput = z.object({ account: z.string(), region: z.string(), responses: record });

export const evaluationSchema = z.looseObject({
  route: z.enum(['none', 'report', 'approve', 'auto']),
  findings: z.array(record),
  planDigest: z.string(),
  results: z.array(record),
});

export const remediationSchema = z.looseObject({
  status: z.enum(['applied', 'resource-changed', 'failed', 'nothing-to-do']),
  steps: z.array(record),
});

export const isoTime = z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO time'));
