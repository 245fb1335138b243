import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ApprovalSubject, approvalSubject } from '../../functions/core/approval.ts';
import { previewApproval } from '../../functions/core/approval-preview.ts';
import {
  approvalEmail,
  CONTENT_SECURITY_POLICY,
  confirmationPage,
  decidedPage,
  escapeHtml,
  expiredEmail,
  refusalPage,
  SECURITY_HEADERS,
  STYLE_HASH,
} from '../../functions/core/approval-render.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { ACCOUNT, FUNCTION_NAME, functionSnapshot, NOW, publicUrlPair, REGION } from './helpers.ts';

const HOSTILE = '<script>alert(1)</script>"\'&';
const EVENT: NormalizedEvent = {
  eventId: 'e-2',
  eventName: 'CreateFunctionUrlConfig',
  action: 'CreateFunctionUrlConfig',
  service: 'lambda',
  account: ACCOUNT,
  region: REGION,
  time: '2025-06-15T11:59:00Z',
  // Event fields come from CloudTrail, i.e. from whoever made the change: treat them as hostile.
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${HOSTILE}`, invokedBy: HOSTILE },
  resources: { functionName: FUNCTION_NAME },
  requestParameters: {},
  origin: 'event',
};

function subject(): ApprovalSubject {
  const snapshot = functionSnapshot({
    urls: [{ authType: 'NONE' }],
    policies: { '': { statements: publicUrlPair() } },
  });
  const config = parseConfig({
    rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } },
    approvers: ['alice@example.com'],
    approvalSender: 'g@example.com',
  });
  const evaluation = evaluate({ snapshot, config, now: NOW, event: EVENT });
  const needing = evaluation.findings.filter((f) => f.mode === 'approve');
  needing[0].summary = `${needing[0].summary} ${HOSTILE}`;
  return approvalSubject({ event: EVENT, evaluation, previews: previewApproval(needing, snapshot) });
}

const URL_ = 'https://abc.lambda-url.us-east-1.on.aws/approvals/0123?e=1&a=alice%40example.com&s=SIG';
const EXPIRES = '2025-06-18T12:00:00.000Z';

describe('escaping', () => {
  it('escapes the five HTML special characters', () => {
    expect(escapeHtml(HOSTILE)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    expect(escapeHtml(undefined)).toBe('');
  });

  it('no hostile value reaches the email or the page unescaped', () => {
    const s = subject();
    const mail = approvalEmail({
      subject: s,
      approver: 'alice@example.com',
      from: 'g@example.com',
      url: URL_,
      expiresAt: EXPIRES,
    });
    const page = confirmationPage({
      subject: s,
      approver: 'alice@example.com',
      expiresAt: EXPIRES,
      csrf: 'CSRF',
    });
    for (const html of [mail.html, page.html]) {
      expect(html).not.toContain('<script');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
  });
});

describe('the approval email', () => {
  const s = subject();
  const mail = approvalEmail({
    subject: s,
    approver: 'alice@example.com',
    from: 'g@example.com',
    url: URL_,
    expiresAt: EXPIRES,
  });

  it('is addressed to one approver, with a subject naming the rule and the resource', () => {
    expect(mail).toMatchObject({ from: 'g@example.com', to: 'alice@example.com', link: URL_ });
    expect(mail.subject).toBe(`[Lambda Guardrail] Approval needed: LAMBDA.URL.PUBLIC on ${s.resourceArn}`);
  });

  it.each(['html', 'text'] as const)('%s: resource, finding, exact plan, diff, actor and expiry', (part) => {
    const body = mail[part];
    expect(body).toContain(s.resourceArn);
    expect(body).toContain('LAMBDA.URL.PUBLIC');
    expect(body).toContain('lambda:UpdateFunctionUrlConfig');
    expect(body).toContain('lambda:RemovePermission');
    expect(body).toContain('FunctionURLAllowPublicAccess');
    expect(body).toContain(
      part === 'html' ? '&quot;AuthType&quot;: &quot;AWS_IAM&quot;' : '"AuthType": "AWS_IAM"',
    );
    expect(body).toContain('What changes');
    expect(body).toContain(EXPIRES);
    expect(body).toContain(part === 'html' ? escapeHtml(EVENT.actor.arn) : EVENT.actor.arn);
    expect(body).toContain(part === 'html' ? escapeHtml(URL_) : URL_);
    expect(body).toMatch(/changes nothing/);
  });

  it('the expiry notice says nothing that needed approval was changed, and carries no link', () => {
    const m = expiredEmail({
      subject: s,
      approver: 'alice@example.com',
      from: 'g@example.com',
      expiredAt: EXPIRES,
    });
    expect(m.subject).toMatch(/Approval expired/);
    expect(m.text).toMatch(/Nothing that needed approval was changed/);
    expect(m.html).not.toContain('/approvals/');
    expect(m.link).toBeUndefined();
  });
});

describe('the pages', () => {
  const s = subject();

  it('the confirmation page: the plan, a plain POST form to the same URL, a CSRF field, no script', () => {
    const { status, html } = confirmationPage({
      subject: s,
      approver: 'alice@example.com',
      expiresAt: EXPIRES,
      csrf: 'CSRF-TOKEN',
    });
    expect(status).toBe(200);
    expect(html).toContain('<form method="post" autocomplete="off">');
    expect(html).not.toMatch(/<form[^>]*action=/);
    expect(html).toContain('<input type="hidden" name="csrf" value="CSRF-TOKEN">');
    expect(html).toContain('name="decision" value="approve"');
    expect(html).toContain('name="decision" value="reject"');
    expect(html).toContain('<textarea id="comment" name="comment" maxlength="1000">');
    expect(html).not.toMatch(/<script|javascript:|on(load|click|submit)=/i);
    expect(html).toContain('lambda:UpdateFunctionUrlConfig');
  });

  it('the result page shows the decision, and escapes the comment', () => {
    const { status, html } = decidedPage({
      subject: s,
      result: { decision: 'rejected', decidedBy: 'bob@example.com', decidedAt: NOW, comment: HOSTILE },
    });
    expect(status).toBe(200);
    expect(html).toContain('<h1>Rejected</h1>');
    expect(html).toContain(escapeHtml(HOSTILE));
  });

  it.each([
    ['malformed', 400],
    ['forged', 403],
    ['not-approver', 403],
    ['csrf', 403],
    ['cross-site', 403],
    ['bad-decision', 400],
    ['not-found', 404],
    ['method', 405],
    ['already-decided', 409],
    ['expired', 410],
    ['timed-out', 410],
    ['unavailable', 503],
  ] as const)('refusal %s is HTTP %i with a clear title', (kind, status) => {
    const page = refusalPage(kind, HOSTILE);
    expect(page.status).toBe(status);
    expect(page.html).toMatch(/<h1>[A-Z][^<]+<\/h1>/);
    expect(page.html).not.toContain('<script>');
  });
});

describe('response headers', () => {
  it('no-store, no-referrer, a strict CSP with frame-ancestors none and form-action self', () => {
    expect(SECURITY_HEADERS['Cache-Control']).toBe('no-store');
    expect(SECURITY_HEADERS['Referrer-Policy']).toBe('no-referrer');
    expect(SECURITY_HEADERS['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY.split('; ')).toEqual([
      "default-src 'none'",
      `style-src '${STYLE_HASH}'`,
      "img-src 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]);
    expect(SECURITY_HEADERS['X-Frame-Options']).toBe('DENY');
  });

  it('the style hash matches the one inline stylesheet the pages carry', () => {
    const { html } = refusalPage('forged');
    const css = /<style>([^<]*)<\/style>/.exec(html)?.[1] ?? '';
    expect(`sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}`).toBe(STYLE_HASH);
  });
});
