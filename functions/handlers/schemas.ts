import { z } from 'zod';

/**
 * Task-state inputs, validated at the handler boundary. The shapes come from our own earlier states,
 * so validation is structural: it catches a mis-wired state machine, not hostile input (ingest does that).
 */
const record = z.record(z.string(), z.unknown());

export const eventSchema = z
  .object({
    eventId: z.string().min(1),
    eventName: z.string(),
    action: z.string(),
    service: z.string(),
    account: z.string().regex(/^\d{12}$/),
    region: z.string(),
    time: z.string(),
    actor: record,
    resources: z.object({ functionName: z.string().optional(), qualifier: z.string().optional() }).loose(),
    requestParameters: record,
    origin: z.enum(['event', 'sweep', 'scan']),
  })
  .loose();

export const snapshotInput = z.object({ account: z.string(), region: z.string(), responses: record });

export const evaluationSchema = z
  .object({
    route: z.enum(['none', 'report', 'approve', 'auto']),
    findings: z.array(record),
    planDigest: z.string(),
    results: z.array(record),
  })
  .loose();

export const remediationSchema = z
  .object({
    status: z.enum(['applied', 'resource-changed', 'failed', 'nothing-to-do']),
    steps: z.array(record),
  })
  .loose();

export const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO time');
