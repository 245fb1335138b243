import { createHmac, timingSafeEqual } from 'node:crypto';
import type { GuardrailConfig } from './config.ts';
import { actionable, type Evaluation } from './evaluate.ts';
import { planDigest } from './plan.ts';
import type { Actor, Finding, NormalizedEvent, PlanStep } from './types.ts';

/**
 * Approvals, the pure part: what an approval is about, how its links are signed and checked, and
 * what a decision does to the workflow. No clock (times are arguments), no I/O.
 *
 * A link carries the approval id, its expiry and the approver's address, plus an HMAC-SHA256 over
 * the three made with a key only the guardrail holds. It never carries the Step Functions task
 * token: that stays in the approvals table and is used only by the callback, after a POST.
 */

export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED';

/** 128 random bits, lower-case hex. Anything else is a malformed id. */
export const APPROVAL_ID_PATTERN = /^[0-9a-f]{32}$/;

/** The error name `SendTaskFailure` uses for a rejection; the state machine catches it by name. */
export const REJECTED_ERROR = 'ApprovalRejected';

/** Longest comment an approver can leave (longer ones are cut, never refused). */
export const MAX_COMMENT = 1000;

/** The approval timeout in whole seconds (Step Functions `TimeoutSeconds` takes a positive integer). */
export function approvalTimeoutSeconds(config: Pick<GuardrailConfig, 'approvalTimeoutHours'>): number {
  return Math.max(1, Math.round(config.approvalTimeoutHours * 3600));
}

/** Findings a person must decide: live (not exempt) findings in `approve` mode. */
export const findingsNeedingApproval = (findings: readonly Finding[]) => actionable(findings, 'approve');

/** Digest of exactly what an approver approves: the steps of the findings that need approval. */
export const approvalDigest = (findings: readonly Finding[]) => planDigest(findingsNeedingApproval(findings));

// ---- what an approval is about --------------------------------------------------------------------

/** One plan step as shown to approvers, with the state it changes before and after. */
export interface StepPreview {
  service: string;
  operation: string;
  parameters: Record<string, unknown>;
  reason: string;
  /** The setting or statement this step changes, as read when the finding was evaluated. */
  before?: unknown;
  /** The same after the step (null: removed). Absent when the change cannot be previewed. */
  after?: unknown;
}

/** A line diff of a whole document (a resource policy, a URL configuration) before and after the plan. */
export interface DocumentDiff {
  title: string;
  lines: { op: ' ' | '-' | '+'; text: string }[];
}

export interface ApprovalFinding {
  ruleId: string;
  title: string;
  severity: string;
  resourceArn: string;
  summary: string;
  modeReason: string;
  steps: StepPreview[];
}

/** Everything an approver is shown. Built from the evaluation; holds no token and no secret value. */
export interface ApprovalSubject {
  account: string;
  region: string;
  resourceArn: string;
  event: { eventId: string; eventName: string; time: string; actor: Actor };
  findings: ApprovalFinding[];
  diffs: DocumentDiff[];
  planDigest: string;
}

/** The approvals-table item. The task token lives here and nowhere else. */
export interface ApprovalRecord {
  pk: string;
  approvalId: string;
  taskToken: string;
  executionId?: string;
  executionName: string;
  planDigest: string;
  approvers: string[];
  createdAt: string;
  expiresAt: string;
  /** DynamoDB TTL (epoch seconds): the item is deleted some time after this; the ledger keeps the decision. */
  ttl: number;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
  /** When the emails went out (a retried request does not send them twice). */
  notifiedAt?: string;
  subject: ApprovalSubject;
}

/** How long an item outlives its expiry before DynamoDB's TTL may delete it. */
export const RECORD_RETENTION_DAYS = 30;

export const approvalKey = (approvalId: string) => `APPROVAL#${approvalId}`;
export const executionPointerKey = (executionName: string) => `EXEC#${executionName}`;

export function expiryOf(now: string, config: Pick<GuardrailConfig, 'approvalTimeoutHours'>): string {
  return new Date(Date.parse(now) + approvalTimeoutSeconds(config) * 1000).toISOString();
}

export function buildApprovalRecord(args: {
  approvalId: string;
  taskToken: string;
  executionId?: string;
  executionName: string;
  approvers: readonly string[];
  createdAt: string;
  expiresAt: string;
  subject: ApprovalSubject;
}): ApprovalRecord {
  if (!APPROVAL_ID_PATTERN.test(args.approvalId))
    throw new Error('approval id must be 32 lower-case hex digits');
  return {
    pk: approvalKey(args.approvalId),
    approvalId: args.approvalId,
    taskToken: args.taskToken,
    ...(args.executionId ? { executionId: args.executionId } : {}),
    executionName: args.executionName,
    planDigest: args.subject.planDigest,
    approvers: [...args.approvers],
    createdAt: args.createdAt,
    expiresAt: args.expiresAt,
    ttl: Math.floor(Date.parse(args.expiresAt) / 1000) + RECORD_RETENTION_DAYS * 86400,
    status: 'PENDING',
    subject: args.subject,
  };
}

/** The subject of an approval, from the evaluation and the previews of its steps. */
export function approvalSubject(args: {
  event: NormalizedEvent;
  evaluation: Pick<Evaluation, 'findings' | 'target'>;
  previews: { findings: ApprovalFinding[]; diffs: DocumentDiff[] };
}): ApprovalSubject {
  const { event, evaluation, previews } = args;
  return {
    account: event.account,
    region: event.region,
    resourceArn: evaluation.target?.arn ?? previews.findings[0]?.resourceArn ?? '',
    event: { eventId: event.eventId, eventName: event.eventName, time: event.time, actor: event.actor },
    findings: previews.findings,
    diffs: previews.diffs,
    planDigest: approvalDigest(evaluation.findings),
  };
}

// ---- links --------------------------------------------------------------------------------------

export interface ApprovalLink {
  approvalId: string;
  /** Expiry, epoch seconds. */
  expires: number;
  /** The approver this link was sent to (compared case-insensitively). */
  approver: string;
}

/** The HMAC keys: `current` signs, `previous` (during a rotation) still verifies. */
export interface ApprovalKeys {
  current: string;
  previous?: string;
}

const normalizeAddress = (a: string) => a.trim().toLowerCase();

/** Length-prefixed fields, so no two different links can produce the same signed text. */
function message(purpose: 'link' | 'csrf', l: ApprovalLink): string {
  return ['guardrail-approval-v1', purpose, l.approvalId, String(l.expires), normalizeAddress(l.approver)]
    .map((f) => `${f.length}:${f}`)
    .join('|');
}

const hmac = (key: string, text: string) =>
  createHmac('sha256', key).update(text, 'utf8').digest('base64url');

export const signLink = (key: string, l: ApprovalLink) => hmac(key, message('link', l));

/** The CSRF token of a link's page: bound to the same id, expiry and approver, but a different value. */
export const csrfToken = (key: string, l: ApprovalLink) => hmac(key, message('csrf', l));

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const keyList = (keys: ApprovalKeys) => [keys.current, ...(keys.previous ? [keys.previous] : [])];

/** True if `signature` is this link's signature under the current or the previous key. */
export function verifyLinkSignature(keys: ApprovalKeys, l: ApprovalLink, signature: string): boolean {
  return keyList(keys).some((k) => safeEqual(signLink(k, l), signature));
}

export function verifyCsrfToken(keys: ApprovalKeys, l: ApprovalLink, token: string): boolean {
  return keyList(keys).some((k) => safeEqual(csrfToken(k, l), token));
}

/** `<base>/approvals/<id>?e=<expiry>&a=<approver>&s=<signature>` */
export function approvalUrl(baseUrl: string, key: string, l: ApprovalLink): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = new URL(`approvals/${l.approvalId}`, base);
  url.searchParams.set('e', String(l.expires));
  url.searchParams.set('a', l.approver);
  url.searchParams.set('s', signLink(key, l));
  return url.toString();
}

export type ParsedLink = { ok: true; link: ApprovalLink; signature: string } | { ok: false; reason: string };

const EMAIL = /^[^\s@<>"',;]{1,64}@[^\s@<>"',;]{1,253}$/;

/** Parses a request path and query string into a link, or says what is malformed. */
export function parseApprovalRequest(rawPath: string, rawQuery: string): ParsedLink {
  const m = /^\/approvals\/([^/]+)\/?$/.exec(rawPath);
  if (!m) return { ok: false, reason: 'not an approval link' };
  const approvalId = m[1];
  if (!APPROVAL_ID_PATTERN.test(approvalId)) return { ok: false, reason: 'the approval id is malformed' };
  const q = new URLSearchParams(rawQuery);
  const e = q.get('e') ?? '';
  const a = q.get('a') ?? '';
  const s = q.get('s') ?? '';
  if (!/^\d{9,11}$/.test(e)) return { ok: false, reason: 'the expiry is missing or malformed' };
  if (!EMAIL.test(a)) return { ok: false, reason: 'the approver is missing or malformed' };
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) return { ok: false, reason: 'the signature is missing or malformed' };
  return { ok: true, link: { approvalId, expires: Number(e), approver: a }, signature: s };
}

export const isApprover = (approvers: readonly string[], who: string) =>
  approvers.some((a) => normalizeAddress(a) === normalizeAddress(who));

/** Comments are free text: control characters removed, length capped. */
export function cleanComment(raw: string | undefined | null): string | undefined {
  if (!raw) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const text = raw.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '').trim();
  return text ? text.slice(0, MAX_COMMENT) : undefined;
}

// ---- decisions and the workflow -------------------------------------------------------------------

export type Decision = 'approve' | 'reject';

/** What `SendTaskSuccess` returns to the workflow on approval (it becomes `$.approval`). */
export interface ApprovedOutput {
  decision: 'approved';
  approvalId: string;
  decidedBy: string;
  decidedAt: string;
  comment?: string;
  planDigest: string;
}

/** The `cause` of `SendTaskFailure` on rejection (JSON text). */
export interface RejectedCause {
  approvalId: string;
  decidedBy: string;
  decidedAt: string;
  comment?: string;
}

/** The approval as recorded in the ledger and used by Remediate: never a token, never a signature. */
export interface ApprovalResult {
  decision: 'approved' | 'rejected' | 'expired';
  approvalId?: string;
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
  planDigest?: string;
  /** Expired: when, and how many approvers were told. */
  expiredAt?: string;
  notified?: number;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * Reads `$.approval` as the workflow left it: the approval output, the Pass state's
 * `{decision: 'rejected', cause}` or the expiry output. Unknown shapes give `undefined`.
 */
export function normalizeApproval(raw: unknown): ApprovalResult | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  let fields: Record<string, unknown> = r;
  if (r.decision === 'rejected' && typeof r.cause === 'string') {
    try {
      fields = { ...(JSON.parse(r.cause) as Record<string, unknown>), decision: 'rejected' };
    } catch {
      fields = { decision: 'rejected' };
    }
  }
  const decision = fields.decision;
  if (decision !== 'approved' && decision !== 'rejected' && decision !== 'expired') return undefined;
  const out: ApprovalResult = { decision };
  for (const k of ['approvalId', 'decidedBy', 'decidedAt', 'comment', 'planDigest', 'expiredAt'] as const) {
    const v = str(fields[k]);
    if (v) out[k] = v;
  }
  if (typeof fields.notified === 'number') out.notified = fields.notified;
  return out;
}

/** The findings Remediate may apply after a decision: automatic ones always, approved ones too. */
export function findingsToApply(findings: readonly Finding[], approval?: ApprovalResult): Finding[] {
  return findings.filter(
    (f) => !f.exempt && (f.mode === 'auto' || (f.mode === 'approve' && approval?.decision === 'approved')),
  );
}

/** A short, human line per plan step (`lambda:RemovePermission backdoor`). */
export function stepLabel(s: Pick<PlanStep, 'service' | 'operation' | 'parameters'>): string {
  const target = s.parameters['StatementId'] ?? s.parameters['Qualifier'] ?? s.parameters['FunctionName'];
  return `${s.service}:${s.operation}${typeof target === 'string' ? ` ${target}` : ''}`;
}

// ---- the state machine --------------------------------------------------------------------------

/** The `.waitForTaskToken` state that waits for a decision. */
export const APPROVAL_STATE = 'RequestApproval';

/**
 * The ASL text with the approval state's `TimeoutSeconds` set. The file keeps a literal default
 * (72 h) so it is valid JSON and valid ASL as written; the deployment (lib/state-machine.ts) and the
 * local runtime set the configured value. Unchanged text when the value is already the same.
 */
export function withApprovalTimeout(aslText: string, seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new Error('the approval timeout must be a positive integer');
  const def = JSON.parse(aslText) as { States?: Record<string, { TimeoutSeconds?: number }> };
  const state = def.States?.[APPROVAL_STATE];
  if (!state) throw new Error(`the state machine has no ${APPROVAL_STATE} state`);
  if (state.TimeoutSeconds === seconds) return aslText;
  state.TimeoutSeconds = seconds;
  return JSON.stringify(def, null, 2);
}
