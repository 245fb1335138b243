import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_ID_PATTERN,
  type ApprovalLink,
  approvalDigest,
  approvalSubject,
  approvalTimeoutSeconds,
  approvalUrl,
  buildApprovalRecord,
  cleanComment,
  csrfToken,
  expiryOf,
  findingsToApply,
  isApprover,
  MAX_COMMENT,
  normalizeApproval,
  parseApprovalRequest,
  signLink,
  verifyCsrfToken,
  verifyLinkSignature,
  withApprovalTimeout,
} from '../../functions/core/approval.ts';
import { diffLines, previewApproval } from '../../functions/core/approval-preview.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { buildLedgerRecord } from '../../functions/core/ledger.ts';
import { decideOutcome } from '../../functions/core/outcome.ts';
import { planDigest } from '../../functions/core/plan.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import {
  ACCOUNT,
  DEFAULT_CORS,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  publicInvokeStatement,
  publicUrlPair,
  REGION,
  serviceStatement,
} from './helpers.ts';

const KEY = 'k'.repeat(64);
const OTHER_KEY = 'o'.repeat(64);
const ID = '0123456789abcdef0123456789abcdef';
const LINK: ApprovalLink = { approvalId: ID, expires: 1_750_000_000, approver: 'alice@example.com' };
const APPROVERS = { approvers: ['alice@example.com', 'bob@example.com'], approvalSender: 'g@example.com' };

const EVENT: NormalizedEvent = {
  eventId: 'e-1',
  eventName: 'CreateFunctionUrlConfig',
  action: 'CreateFunctionUrlConfig',
  service: 'lambda',
  account: ACCOUNT,
  region: REGION,
  time: '2025-06-15T11:59:00Z',
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/mallory` },
  resources: { functionName: FUNCTION_NAME },
  requestParameters: {},
  origin: 'event',
};

const publicSnapshot = () =>
  functionSnapshot({
    urls: [{ authType: 'NONE' }],
    policies: {
      '': {
        statements: [
          ...publicUrlPair(),
          publicInvokeStatement('backdoor'),
          serviceStatement('s3', 's3.amazonaws.com', { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' } }),
        ],
      },
    },
  });

const approveUrlConfig = (extra: Record<string, unknown> = APPROVERS) =>
  parseConfig({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } }, ...extra });

describe('link signatures', () => {
  it('verify under the key that signed them, and under the previous key during a rotation', () => {
    const sig = signLink(KEY, LINK);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyLinkSignature({ current: KEY }, LINK, sig)).toBe(true);
    expect(verifyLinkSignature({ current: OTHER_KEY, previous: KEY }, LINK, sig)).toBe(true);
    expect(verifyLinkSignature({ current: OTHER_KEY }, LINK, sig)).toBe(false);
  });

  it('bind the id, the expiry and the approver: changing any one breaks the signature', () => {
    const sig = signLink(KEY, LINK);
    for (const tampered of [
      { ...LINK, approvalId: `${ID.slice(0, -1)}0` },
      { ...LINK, expires: LINK.expires + 3600 },
      { ...LINK, approver: 'mallory@example.com' },
    ]) {
      expect(verifyLinkSignature({ current: KEY }, tampered, sig)).toBe(false);
    }
    // Addresses are compared case-insensitively, as mail systems do.
    expect(verifyLinkSignature({ current: KEY }, { ...LINK, approver: 'Alice@Example.com' }, sig)).toBe(true);
  });

  it('the CSRF token is bound to the same link but is a different value from its signature', () => {
    const token = csrfToken(KEY, LINK);
    expect(token).not.toBe(signLink(KEY, LINK));
    expect(verifyCsrfToken({ current: KEY }, LINK, token)).toBe(true);
    expect(verifyCsrfToken({ current: KEY }, { ...LINK, approver: 'bob@example.com' }, token)).toBe(false);
    expect(verifyCsrfToken({ current: KEY }, LINK, signLink(KEY, LINK))).toBe(false);
    expect(verifyCsrfToken({ current: KEY }, LINK, '')).toBe(false);
  });

  it('approvalUrl builds a link that parses back to the same fields, without any token', () => {
    const url = approvalUrl('https://abc.lambda-url.us-east-1.on.aws/', KEY, LINK);
    expect(url).toBe(
      `https://abc.lambda-url.us-east-1.on.aws/approvals/${ID}?e=${LINK.expires}&a=alice%40example.com&s=${signLink(KEY, LINK)}`,
    );
    const u = new URL(url);
    const parsed = parseApprovalRequest(u.pathname, u.search.slice(1));
    expect(parsed).toEqual({ ok: true, link: LINK, signature: signLink(KEY, LINK) });
    expect(approvalUrl('http://127.0.0.1:8080', KEY, LINK)).toMatch(
      /^http:\/\/127\.0\.0\.1:8080\/approvals\//,
    );
  });

  it.each([
    ['/', 'e=1&a=x@y&s=z', /not an approval link/],
    ['/approvals/XYZ', '', /approval id is malformed/],
    [`/approvals/${ID.toUpperCase()}`, '', /approval id is malformed/],
    [`/approvals/${ID}00`, '', /approval id is malformed/],
    [`/approvals/${ID}`, 'a=alice%40example.com&s=' + 'x'.repeat(43), /expiry/],
    [`/approvals/${ID}`, 'e=abc&a=alice%40example.com&s=' + 'x'.repeat(43), /expiry/],
    [`/approvals/${ID}`, 'e=1750000000&a=alice&s=' + 'x'.repeat(43), /approver/],
    [`/approvals/${ID}`, 'e=1750000000&a=alice%40example.com', /signature/],
    [`/approvals/${ID}`, 'e=1750000000&a=alice%40example.com&s=short', /signature/],
  ])('refuses %s?%s as malformed', (path, query, reason) => {
    const r = parseApprovalRequest(path, query);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });

  it('approval ids are 128 bits of lower-case hex', () => {
    expect(APPROVAL_ID_PATTERN.test(ID)).toBe(true);
    expect(APPROVAL_ID_PATTERN.test(ID.slice(1))).toBe(false);
  });
});

describe('approvers, comments, timeouts', () => {
  it('isApprover compares addresses case-insensitively', () => {
    expect(isApprover(['Alice@Example.com'], 'alice@example.com')).toBe(true);
    expect(isApprover(['alice@example.com'], 'mallory@example.com')).toBe(false);
  });

  it('cleanComment removes control characters and caps the length', () => {
    expect(cleanComment('  ok\u0000 then\u0007  ')).toBe('ok then');
    expect(cleanComment('')).toBeUndefined();
    expect(cleanComment('   ')).toBeUndefined();
    expect(cleanComment('x'.repeat(MAX_COMMENT + 50))).toHaveLength(MAX_COMMENT);
    expect(cleanComment('line one\nline two')).toBe('line one\nline two');
  });

  it('the timeout in seconds, and the expiry it gives', () => {
    expect(approvalTimeoutSeconds({ approvalTimeoutHours: 72 })).toBe(259_200);
    expect(approvalTimeoutSeconds({ approvalTimeoutHours: 0.0001 })).toBe(1);
    expect(expiryOf(NOW, { approvalTimeoutHours: 1.5 })).toBe('2025-06-15T13:30:00.000Z');
  });

  it('the config: approvers need a sender; addresses, limits and repeats are checked', () => {
    expect(parseConfig({}).approvers).toEqual([]);
    expect(parseConfig({}).approvalTimeoutHours).toBe(72);
    expect(() => parseConfig({ approvers: ['a@example.com'] })).toThrow(/approvalSender: is required/);
    expect(() => parseConfig({ ...APPROVERS, approvers: ['not-an-address'] })).toThrow(/approvers\.0/);
    expect(() => parseConfig({ ...APPROVERS, approvers: ['a@x.com', 'A@x.com'] })).toThrow(/repeat/);
    expect(() => parseConfig({ approvalTimeoutHours: 0 })).toThrow(/approvalTimeoutHours/);
    expect(() => parseConfig({ approvalTimeoutHours: 721 })).toThrow(/720/);
  });
});

describe('evaluate and the approval route', () => {
  it('with approvers, findings in approve mode set evaluation.approval (digest of exactly those findings)', () => {
    const e = evaluate({ snapshot: publicSnapshot(), config: approveUrlConfig(), now: NOW, event: EVENT });
    expect(e.route).toBe('approve');
    const needing = e.findings.filter((f) => f.mode === 'approve');
    expect(needing.map((f) => f.ruleId)).toEqual(['LAMBDA.URL.PUBLIC']);
    expect(e.approval).toEqual({ planDigest: planDigest(needing), findings: 1 });
    expect(approvalDigest(e.findings)).toBe(e.approval?.planDigest);
  });

  it('without approvers there is no approval to ask for: the finding is only recorded', () => {
    const e = evaluate({ snapshot: publicSnapshot(), config: approveUrlConfig({}), now: NOW, event: EVENT });
    expect(e.route).toBe('approve');
    expect(e.approval).toBeUndefined();
  });

  it('findingsToApply: automatic findings always, findings that need approval only when approved', () => {
    const e = evaluate({ snapshot: publicSnapshot(), config: approveUrlConfig(), now: NOW, event: EVENT });
    const ids = (a?: Parameters<typeof findingsToApply>[1]) =>
      findingsToApply(e.findings, a).map((f) => f.ruleId);
    expect(ids()).toEqual(['LAMBDA.POLICY.PUBLIC']);
    expect(ids({ decision: 'rejected' })).toEqual(['LAMBDA.POLICY.PUBLIC']);
    expect(ids({ decision: 'expired' })).toEqual(['LAMBDA.POLICY.PUBLIC']);
    expect(ids({ decision: 'approved' })).toEqual(['LAMBDA.URL.PUBLIC', 'LAMBDA.POLICY.PUBLIC']);
  });
});

describe('decisions in the ledger', () => {
  const evaluation = evaluate({
    snapshot: publicSnapshot(),
    config: approveUrlConfig(),
    now: NOW,
    event: EVENT,
  });
  const cause = JSON.stringify({
    approvalId: ID,
    decidedBy: 'bob@example.com',
    decidedAt: NOW,
    comment: 'not during the freeze',
  });

  it('normalizeApproval reads the approved output, the rejection Pass state and the expiry', () => {
    expect(
      normalizeApproval({
        decision: 'approved',
        approvalId: ID,
        decidedBy: 'a@x.com',
        decidedAt: NOW,
        planDigest: 'd',
      }),
    ).toEqual({
      decision: 'approved',
      approvalId: ID,
      decidedBy: 'a@x.com',
      decidedAt: NOW,
      planDigest: 'd',
    });
    expect(normalizeApproval({ decision: 'rejected', cause })).toEqual({
      decision: 'rejected',
      approvalId: ID,
      decidedBy: 'bob@example.com',
      decidedAt: NOW,
      comment: 'not during the freeze',
    });
    expect(normalizeApproval({ decision: 'rejected', cause: 'not json' })).toEqual({ decision: 'rejected' });
    expect(normalizeApproval({ decision: 'expired', approvalId: ID, expiredAt: NOW, notified: 2 })).toEqual({
      decision: 'expired',
      approvalId: ID,
      expiredAt: NOW,
      notified: 2,
    });
    expect(normalizeApproval({ decision: 'maybe' })).toBeUndefined();
    expect(normalizeApproval(undefined)).toBeUndefined();
    // Nothing but the known fields is kept (a token could never slip through).
    expect(normalizeApproval({ decision: 'approved', taskToken: 'AQ-secret' })).toEqual({
      decision: 'approved',
    });
  });

  it.each([
    [
      'rejected, automatic findings applied and verified',
      { decision: 'rejected' },
      'applied',
      true,
      'rejected',
    ],
    ['rejected, nothing applied', { decision: 'rejected' }, 'nothing-to-do', undefined, 'rejected'],
    ['expired', { decision: 'expired' }, 'nothing-to-do', undefined, 'expired'],
    ['approved and applied', { decision: 'approved' }, 'applied', true, 'remediated'],
    ['approved, kill switch on meanwhile', { decision: 'approved' }, 'nothing-to-do', undefined, 'reported'],
    [
      'approved, resource changed',
      { decision: 'approved' },
      'resource-changed',
      undefined,
      'resource-changed',
    ],
    ['rejected, verification failed', { decision: 'rejected' }, 'applied', false, 'failed'],
  ] as const)('outcome: %s', (_label, approval, status, verified, outcome) => {
    expect(
      decideOutcome({
        evaluation,
        approval,
        remediation: { status, steps: [] },
        ...(verified === undefined ? {} : { verification: { verified, remaining: [] } }),
      }),
    ).toBe(outcome);
  });

  it('the ledger record keeps who decided, when and the comment', () => {
    const r = buildLedgerRecord({
      executionName: 'x',
      recordedAt: NOW,
      state: {
        event: EVENT,
        evaluation,
        approval: { decision: 'rejected', cause },
        remediation: { status: 'nothing-to-do', steps: [] },
      },
    });
    expect(r.outcome).toBe('rejected');
    expect(r.approval).toEqual({
      decision: 'rejected',
      approvalId: ID,
      decidedBy: 'bob@example.com',
      decidedAt: NOW,
      comment: 'not during the freeze',
    });
  });
});

describe('approval records and previews', () => {
  const evaluation = evaluate({
    snapshot: publicSnapshot(),
    config: approveUrlConfig(),
    now: NOW,
    event: EVENT,
  });
  const needing = evaluation.findings.filter((f) => f.mode === 'approve');

  it('buildApprovalRecord: PENDING, keyed by id, TTL after expiry, digest of what is approved', () => {
    const subject = approvalSubject({
      event: EVENT,
      evaluation,
      previews: previewApproval(needing, publicSnapshot()),
    });
    const r = buildApprovalRecord({
      approvalId: ID,
      taskToken: 'AQ-token',
      executionName: 'exec-1',
      approvers: APPROVERS.approvers,
      createdAt: NOW,
      expiresAt: '2025-06-18T12:00:00.000Z',
      subject,
    });
    expect(r).toMatchObject({
      pk: `APPROVAL#${ID}`,
      status: 'PENDING',
      planDigest: approvalDigest(evaluation.findings),
    });
    expect(r.ttl).toBe(Date.parse('2025-06-18T12:00:00.000Z') / 1000 + 30 * 86400);
    expect(subject.resourceArn).toBe(functionArn());
    expect(subject.event.actor.arn).toContain('mallory');
    expect(JSON.stringify(subject)).not.toContain('AQ-token');
    expect(() => buildApprovalRecord({ ...r, approvalId: 'nope', subject } as never)).toThrow(
      /32 lower-case hex/,
    );
  });

  it('previewApproval shows each step with before and after, and whole-document diffs', () => {
    const snap = functionSnapshot({
      urls: [{ authType: 'NONE', cors: DEFAULT_CORS }],
      policies: {
        '': {
          statements: [
            ...publicUrlPair(),
            serviceStatement('s3', 's3.amazonaws.com', { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' } }),
          ],
        },
      },
    });
    const e = evaluate({ snapshot: snap, config: approveUrlConfig(), now: NOW, event: EVENT });
    const p = previewApproval(
      e.findings.filter((f) => f.mode === 'approve'),
      snap,
    );
    const [update, remove1, remove2] = p.findings[0].steps;
    expect(update).toMatchObject({
      operation: 'UpdateFunctionUrlConfig',
      before: { AuthType: 'NONE', Cors: DEFAULT_CORS },
      after: { AuthType: 'AWS_IAM', Cors: DEFAULT_CORS },
    });
    expect(remove1).toMatchObject({ operation: 'RemovePermission', after: null });
    expect((remove1.before as { Sid: string }).Sid).toBe(publicUrlPair()[0].Sid);
    expect(remove2.after).toBeNull();
    const [urlDiff, policyDiff] = p.diffs;
    expect(urlDiff.title).toMatch(/Function URL configuration of orders-api/);
    expect(urlDiff.lines.filter((l) => l.op !== ' ').map((l) => `${l.op}${l.text.trim()}`)).toEqual([
      '-"AuthType": "NONE",',
      '+"AuthType": "AWS_IAM",',
    ]);
    expect(policyDiff.title).toMatch(/Resource policy/);
    const removed = policyDiff.lines
      .filter((l) => l.op === '-')
      .map((l) => l.text)
      .join('\n');
    const kept = policyDiff.lines
      .filter((l) => l.op === ' ')
      .map((l) => l.text)
      .join('\n');
    expect(removed).toContain('FunctionURLAllowPublicAccess');
    expect(removed).not.toContain('"s3"');
    expect(kept).toContain('"Sid": "s3"');
  });

  it('diffLines: common lines kept, changes marked', () => {
    expect(diffLines('a\nb\nc', 'a\nx\nc')).toEqual([
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: '+', text: 'x' },
      { op: ' ', text: 'c' },
    ]);
  });
});

describe('the ASL approval timeout', () => {
  const asl = readFileSync(new URL('../../state-machines/guardrail.asl.json', import.meta.url), 'utf8');

  it('the file holds the 72 h default as a literal (valid JSON and ASL as written)', () => {
    expect(JSON.parse(asl).States.RequestApproval.TimeoutSeconds).toBe(259_200);
    expect(withApprovalTimeout(asl, 259_200)).toBe(asl);
  });

  it('withApprovalTimeout sets exactly that field', () => {
    const out = JSON.parse(withApprovalTimeout(asl, 3600));
    const original = JSON.parse(asl);
    original.States.RequestApproval.TimeoutSeconds = 3600;
    expect(out).toEqual(original);
    expect(() => withApprovalTimeout(asl, 0)).toThrow();
    expect(() => withApprovalTimeout('{"States":{}}', 5)).toThrow(/RequestApproval/);
  });
});
