import * as z from 'zod/mini';
import { loadApprovalKeys } from '../aws/approval-keys.ts';
import { decideApproval, expireApproval, getApproval, undoDecision } from '../aws/approvals-store.ts';
import { errorName } from '../aws/clients.ts';
import { sendTaskResult, TASK_GONE_ERRORS, type TaskResult } from '../aws/task-result.ts';
import {
  type ApprovalKeys,
  type ApprovalLink,
  type ApprovalRecord,
  type ApprovedOutput,
  cleanComment,
  csrfToken,
  isApprover,
  parseApprovalRequest,
  REJECTED_ERROR,
  type RejectedCause,
  verifyCsrfToken,
  verifyLinkSignature,
} from '../core/approval.ts';
import {
  confirmationPage,
  decidedPage,
  type PageResult,
  type RefusalKind,
  refusalPage,
  SECURITY_HEADERS,
} from '../core/approval-render.ts';
import '../core/zod.ts';
import { envDeps, type HandlerDeps, logger } from './deps.ts';

/**
 * The approval endpoint, behind a Lambda function URL with AuthType NONE (docs/approvals.md says why
 * that is safe). GET shows the plan and a form, HEAD and OPTIONS answer with headers only: none of
 * them writes anything. POST verifies the link's signature and expiry, the CSRF token bound to the
 * link and the approver, flips the approval PENDING -> APPROVED/REJECTED with a conditional write
 * (single use), then sends the decision to the waiting workflow. Every response carries
 * `Cache-Control: no-store`, `Referrer-Policy: no-referrer` and a strict CSP.
 * The request (its query string holds the signature) is never logged.
 */

const urlEvent = z.looseObject({
  rawPath: z.string(),
  rawQueryString: z._default(z.string(), ''),
  headers: z._default(z.record(z.string(), z.string()), {}),
  body: z.optional(z.nullable(z.string())),
  isBase64Encoded: z._default(z.boolean(), false),
  requestContext: z.looseObject({ http: z.looseObject({ method: z.string() }) }),
});
type UrlEvent = z.output<typeof urlEvent>;

export interface UrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

const ALLOW = 'GET, HEAD, POST, OPTIONS';
const MAX_BODY = 16 * 1024;

function respond(page: PageResult, extra: Record<string, string> = {}): UrlResponse {
  return {
    statusCode: page.status,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', ...extra },
    body: page.html,
    isBase64Encoded: false,
  };
}

type Checked =
  | { ok: true; link: ApprovalLink; record: ApprovalRecord; keys: ApprovalKeys }
  | { ok: false; page: PageResult };

const refuse = (kind: RefusalKind, detail?: string): { ok: false; page: PageResult } => ({
  ok: false,
  page: refusalPage(kind, detail),
});

function decidedDetail(r: ApprovalRecord): string {
  return `${r.status === 'APPROVED' ? 'Approved' : 'Rejected'} by ${r.decidedBy ?? 'an approver'} at ${r.decidedAt ?? 'an earlier time'}.`;
}

/** Everything GET, HEAD and POST check, reading only. */
async function check(d: HandlerDeps, ev: UrlEvent): Promise<Checked> {
  const parsed = parseApprovalRequest(ev.rawPath, ev.rawQueryString);
  if (!parsed.ok) return refuse('malformed', parsed.reason);
  const { link, signature } = parsed;
  const table = d.approvalsTable;
  const secret = d.approvalKeySecret;
  if (!table || !secret) throw new Error('APPROVALS_TABLE and APPROVAL_KEY_SECRET must be set');
  let keys = await loadApprovalKeys(d.clients, d.homeRegion, secret);
  if (!verifyLinkSignature(keys, link, signature)) {
    // The key may have been rotated since it was cached: read it again once.
    keys = await loadApprovalKeys(d.clients, d.homeRegion, secret, { refresh: true });
    if (!verifyLinkSignature(keys, link, signature)) return refuse('forged');
  }
  const now = Date.parse(d.now());
  if (link.expires * 1000 <= now)
    return refuse('expired', `It expired at ${new Date(link.expires * 1000).toISOString()}.`);
  if (!isApprover(d.config.approvers, link.approver)) return refuse('not-approver');
  const record = await getApproval(d.clients, d.homeRegion, table, link.approvalId);
  if (!record) return refuse('not-found');
  if (!isApprover(record.approvers, link.approver)) return refuse('not-approver');
  if (Math.floor(Date.parse(record.expiresAt) / 1000) !== link.expires) return refuse('forged');
  if (record.status === 'APPROVED' || record.status === 'REJECTED')
    return refuse('already-decided', decidedDetail(record));
  if (record.status === 'EXPIRED') return refuse('timed-out');
  if (Date.parse(record.expiresAt) <= now) return refuse('expired', `It expired at ${record.expiresAt}.`);
  return { ok: true, link, record, keys };
}

async function view(d: HandlerDeps, ev: UrlEvent): Promise<PageResult> {
  const c = await check(d, ev);
  if (!c.ok) return c.page;
  return confirmationPage({
    subject: c.record.subject,
    approver: c.link.approver,
    expiresAt: c.record.expiresAt,
    csrf: csrfToken(c.keys.current, c.link),
  });
}

/**
 * A browser says where a form came from: `Sec-Fetch-Site`, else `Origin`. Anything from another site
 * is refused before any check. `Origin: null` is what a browser sends for its own form under
 * `Referrer-Policy: no-referrer`, so it proves nothing either way; the CSRF token still decides.
 */
function crossSite(ev: UrlEvent): boolean {
  const h = ev.headers;
  const site = h['sec-fetch-site'];
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = h['origin'];
  if (!origin || origin === 'null') return false;
  const proto = h['x-forwarded-proto'] ?? 'https';
  return origin !== `${proto}://${h['host'] ?? ''}`;
}

function formBody(ev: UrlEvent): URLSearchParams | undefined {
  const raw = ev.body ?? '';
  const text = ev.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (text.length > MAX_BODY) return undefined;
  return new URLSearchParams(text);
}

async function decide(d: HandlerDeps, ev: UrlEvent): Promise<PageResult> {
  if (crossSite(ev)) return refusalPage('cross-site');
  const c = await check(d, ev);
  if (!c.ok) return c.page;
  const { link, record, keys } = c;
  const form = formBody(ev);
  if (!form) return refusalPage('bad-decision');
  const csrf = form.get('csrf') ?? '';
  if (!csrf || !verifyCsrfToken(keys, link, csrf)) return refusalPage('csrf');
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'reject') return refusalPage('bad-decision');
  const comment = cleanComment(form.get('comment'));
  const table = d.approvalsTable!;
  const decidedAt = d.now();
  const status = decision === 'approve' ? 'APPROVED' : 'REJECTED';
  const r = await decideApproval(d.clients, d.homeRegion, table, {
    approvalId: record.approvalId,
    status,
    decidedBy: link.approver,
    decidedAt,
    ...(comment ? { comment } : {}),
  });
  if (!r.decided) {
    const cur = r.current;
    if (!cur) return refusalPage('not-found');
    if (cur.status === 'APPROVED' || cur.status === 'REJECTED')
      return refusalPage('already-decided', decidedDetail(cur));
    if (cur.status === 'EXPIRED') return refusalPage('timed-out');
    return refusalPage('expired', `It expired at ${cur.expiresAt}.`);
  }
  const result: TaskResult =
    decision === 'approve'
      ? {
          taskToken: r.record.taskToken,
          success: true,
          output: {
            decision: 'approved',
            approvalId: record.approvalId,
            decidedBy: link.approver,
            decidedAt,
            ...(comment ? { comment } : {}),
            planDigest: record.planDigest,
          } satisfies ApprovedOutput,
        }
      : {
          taskToken: r.record.taskToken,
          success: false,
          error: REJECTED_ERROR,
          cause: JSON.stringify({
            approvalId: record.approvalId,
            decidedBy: link.approver,
            decidedAt,
            ...(comment ? { comment } : {}),
          } satisfies RejectedCause),
        };
  try {
    await (d.sendTaskResult ?? ((t: TaskResult) => sendTaskResult(d.clients, d.homeRegion, t)))(result);
  } catch (err) {
    if (TASK_GONE_ERRORS.has(errorName(err))) {
      await expireApproval(d.clients, d.homeRegion, table, record.approvalId, decidedAt);
      logger.info('approval arrived after the workflow stopped waiting', { approvalId: record.approvalId });
      return refusalPage('timed-out');
    }
    await undoDecision(d.clients, d.homeRegion, table, record.approvalId, status, decidedAt);
    logger.error('could not send the decision to the workflow', {
      approvalId: record.approvalId,
      error: errorName(err),
    });
    return refusalPage('unavailable');
  }
  logger.info('approval decided', {
    approvalId: record.approvalId,
    decision: status,
    decidedBy: link.approver,
  });
  return decidedPage({
    subject: record.subject,
    result: {
      decision: decision === 'approve' ? 'approved' : 'rejected',
      decidedBy: link.approver,
      decidedAt,
      ...(comment ? { comment } : {}),
    },
  });
}

export const makeApprovalCallback =
  (deps: () => HandlerDeps) =>
  async (raw: unknown): Promise<UrlResponse> => {
    const parsed = urlEvent.safeParse(raw);
    if (!parsed.success) return respond(refusalPage('malformed'));
    const ev = parsed.data;
    ev.headers = Object.fromEntries(Object.entries(ev.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const method = ev.requestContext.http.method.toUpperCase();
    if (method === 'OPTIONS') {
      return {
        statusCode: 204,
        headers: { ...SECURITY_HEADERS, Allow: ALLOW },
        body: '',
        isBase64Encoded: false,
      };
    }
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST')
      return respond(refusalPage('method'), { Allow: ALLOW });
    try {
      const d = deps();
      const page = method === 'POST' ? await decide(d, ev) : await view(d, ev);
      const response = respond(page);
      return method === 'HEAD' ? { ...response, body: '' } : response;
    } catch (err) {
      // The name only: an AWS error message may quote request values.
      logger.error('approval endpoint error', { error: errorName(err) });
      return respond(refusalPage('unavailable'));
    }
  };

export const handler = makeApprovalCallback(envDeps);
