import { createHash } from 'node:crypto';
import type { ApprovalResult, ApprovalSubject, DocumentDiff, StepPreview } from './approval.ts';

/**
 * One renderer for the approval email (HTML and text) and the approval pages, so the page shows
 * exactly what the email showed. Every value from outside (ARNs, summaries, parameters, comments,
 * addresses) is HTML-escaped. The pages carry no script at all; the task token and the link
 * signature are never given to these functions, so they cannot appear in what they render.
 */

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = [
  'body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}',
  'h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}h3{font-size:1rem}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}',
  'pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;font-size:.85rem}code{font-size:.9rem}',
  '.del{color:#a40000;background:#fde8e8;display:block}.add{color:#0a5d00;background:#e6f6e6;display:block}',
  '.muted{color:#555;font-size:.9rem}.sev{font-weight:700}',
  'form{margin-top:2rem;padding:1rem;border:1px solid #ccc}textarea{width:100%;min-height:5rem}',
  'button{font-size:1rem;padding:.5rem 1rem;margin:.5rem .5rem 0 0}',
].join('');

/** `style-src` allows exactly this stylesheet, by hash; nothing else (no script at all). */
export const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src '${STYLE_HASH}'`,
  "img-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Sent with every response of the approval endpoint, whatever the status. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const json = (v: unknown) => JSON.stringify(v, null, 2) ?? 'null';

const ruleList = (s: ApprovalSubject) => [...new Set(s.findings.map((f) => f.ruleId))].join(', ');

const actorLine = (s: ApprovalSubject) => {
  const a = s.event.actor;
  return `${a.arn ?? a.type}${a.invokedBy ? ` (via ${a.invokedBy})` : ''}`;
};

function stepHtml(step: StepPreview, i: number): string {
  const change =
    'before' in step
      ? `<p class="muted">Before:</p><pre>${escapeHtml(json(step.before))}</pre><p class="muted">After:</p><pre>${escapeHtml(
          'after' in step ? (step.after === null ? '(removed)' : json(step.after)) : '(not previewed)',
        )}</pre>`
      : '';
  return `<li><p><code>${escapeHtml(`${step.service}:${step.operation}`)}</code> (step ${i + 1}): ${escapeHtml(step.reason)}</p><p class="muted">Request parameters:</p><pre>${escapeHtml(json(step.parameters))}</pre>${change}</li>`;
}

function diffHtml(d: DocumentDiff): string {
  const lines = d.lines
    .map((l) => {
      const text = escapeHtml(`${l.op} ${l.text}`);
      return l.op === '-'
        ? `<span class="del">${text}</span>`
        : l.op === '+'
          ? `<span class="add">${text}</span>`
          : text;
    })
    .join('\n');
  return `<h3>${escapeHtml(d.title)}</h3><pre>${lines}</pre>`;
}

/** The part both the email and the page show: resource, trigger, findings, exact plan, diffs. */
export function subjectHtml(s: ApprovalSubject, expiresAt: string): string {
  const findings = s.findings
    .map(
      (f) =>
        `<h2><span class="sev">[${escapeHtml(f.severity)}]</span> ${escapeHtml(f.ruleId)}: ${escapeHtml(f.title)}</h2>` +
        `<p>${escapeHtml(f.summary)}</p>` +
        `<p class="muted">Resource: ${escapeHtml(f.resourceArn)}. Why a person decides: ${escapeHtml(f.modeReason)}.</p>` +
        `<h3>The plan: ${f.steps.length} API call(s), sent in this order and nothing else</h3>` +
        `<ol>${f.steps.map(stepHtml).join('')}</ol>`,
    )
    .join('');
  const diffs = s.diffs.length
    ? `<h2>What changes</h2>${s.diffs.map(diffHtml).join('')}`
    : '<h2>What changes</h2><p>(no document-level preview for these steps)</p>';
  return (
    '<dl>' +
    `<dt>Resource</dt><dd>${escapeHtml(s.resourceArn)}</dd>` +
    `<dt>Account, region</dt><dd>${escapeHtml(s.account)}, ${escapeHtml(s.region)}</dd>` +
    `<dt>Changed by</dt><dd>${escapeHtml(actorLine(s))}</dd>` +
    `<dt>Change</dt><dd>${escapeHtml(s.event.eventName)} at ${escapeHtml(s.event.time)} (CloudTrail event ${escapeHtml(s.event.eventId)})</dd>` +
    `<dt>Expires</dt><dd>${escapeHtml(expiresAt)}</dd>` +
    '</dl>' +
    findings +
    diffs +
    `<p class="muted">Plan digest ${escapeHtml(s.planDigest)}. The guardrail re-reads the resource before writing and applies nothing if it has changed since.</p>`
  );
}

function stepText(step: StepPreview, i: number): string[] {
  const lines = [
    `  ${i + 1}. ${step.service}:${step.operation}: ${step.reason}`,
    `     parameters: ${JSON.stringify(step.parameters)}`,
  ];
  if ('before' in step) {
    lines.push(`     before: ${JSON.stringify(step.before)}`);
    lines.push(
      `     after:  ${'after' in step ? (step.after === null ? '(removed)' : JSON.stringify(step.after)) : '(not previewed)'}`,
    );
  }
  return lines;
}

export function subjectText(s: ApprovalSubject, expiresAt: string): string {
  const lines = [
    `Resource:   ${s.resourceArn}`,
    `Account:    ${s.account}, ${s.region}`,
    `Changed by: ${actorLine(s)}`,
    `Change:     ${s.event.eventName} at ${s.event.time} (CloudTrail event ${s.event.eventId})`,
    `Expires:    ${expiresAt}`,
  ];
  for (const f of s.findings) {
    lines.push(
      '',
      `[${f.severity}] ${f.ruleId}: ${f.title}`,
      f.summary,
      `Why a person decides: ${f.modeReason}`,
    );
    lines.push(`The plan (${f.steps.length} API call(s), in this order and nothing else):`);
    f.steps.forEach((st, i) => {
      lines.push(...stepText(st, i));
    });
  }
  lines.push('', 'What changes:');
  for (const d of s.diffs) {
    lines.push(`--- ${d.title}`);
    for (const l of d.lines) lines.push(`${l.op} ${l.text}`);
  }
  lines.push('', `Plan digest ${s.planDigest}.`);
  return lines.join('\n');
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex,nofollow"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;

// ---- email ------------------------------------------------------------------------------------------

export interface EmailMessage {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** The approval link in this message (the local runtime prints it; SES ignores it). */
  link?: string;
}

export function approvalEmail(args: {
  subject: ApprovalSubject;
  approver: string;
  from: string;
  url: string;
  expiresAt: string;
}): EmailMessage {
  const { subject: s, url, expiresAt } = args;
  const title = `Approval needed: ${ruleList(s)} on ${s.resourceArn}`;
  const intro =
    'Lambda Guardrail found a problem it fixes only with a person’s approval. Review the exact plan below. ' +
    'Opening the link changes nothing: you decide on the page, with the Approve or Reject button.';
  const html = page(
    title,
    `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(intro)}</p>` +
      `<p><a href="${escapeHtml(url)}">Review and decide</a> (link for ${escapeHtml(args.approver)}, valid until ${escapeHtml(expiresAt)}; do not forward it).</p>` +
      subjectHtml(s, expiresAt),
  );
  const text = [
    title,
    '',
    intro,
    '',
    `Review and decide (link for ${args.approver}, valid until ${expiresAt}; do not forward it):`,
    url,
    '',
    subjectText(s, expiresAt),
  ].join('\n');
  return {
    from: args.from,
    to: args.approver,
    subject: `[Lambda Guardrail] ${title}`,
    html,
    text,
    link: url,
  };
}

export function expiredEmail(args: {
  subject: ApprovalSubject;
  approver: string;
  from: string;
  expiredAt: string;
}): EmailMessage {
  const { subject: s } = args;
  const title = `Approval expired: ${ruleList(s)} on ${s.resourceArn}`;
  const msg = `Nobody decided before ${args.expiredAt}. Nothing that needed approval was changed; the findings stay open and are recorded as expired in the ledger. A new change to the resource asks again.`;
  return {
    from: args.from,
    to: args.approver,
    subject: `[Lambda Guardrail] ${title}`,
    html: page(
      title,
      `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(msg)}</p>${subjectHtml(s, args.expiredAt)}`,
    ),
    text: [title, '', msg, '', subjectText(s, args.expiredAt)].join('\n'),
  };
}

// ---- pages --------------------------------------------------------------------------------------

export interface PageResult {
  status: number;
  html: string;
}

/** The confirmation page a GET shows: the plan, an optional comment, Approve and Reject. */
export function confirmationPage(args: {
  subject: ApprovalSubject;
  approver: string;
  expiresAt: string;
  csrf: string;
}): PageResult {
  const { subject: s } = args;
  const title = `Approve or reject: ${ruleList(s)} on ${s.resourceArn}`;
  const form =
    '<form method="post" autocomplete="off">' +
    `<input type="hidden" name="csrf" value="${escapeHtml(args.csrf)}">` +
    '<p><label for="comment">Comment (optional, recorded in the ledger)</label></p>' +
    '<textarea id="comment" name="comment" maxlength="1000"></textarea>' +
    '<p><button type="submit" name="decision" value="approve">Approve: apply this plan</button>' +
    '<button type="submit" name="decision" value="reject">Reject: change nothing</button></p>' +
    '</form>';
  return {
    status: 200,
    html: page(
      title,
      `<h1>${escapeHtml(title)}</h1><p>You are deciding as <strong>${escapeHtml(args.approver)}</strong>. Nothing has been decided yet: this page changes nothing until you press a button.</p>` +
        subjectHtml(s, args.expiresAt) +
        form,
    ),
  };
}

/** The page after a decision was recorded and the workflow told. */
export function decidedPage(args: { subject: ApprovalSubject; result: ApprovalResult }): PageResult {
  const r = args.result;
  const approved = r.decision === 'approved';
  const title = approved ? 'Approved' : 'Rejected';
  const what = approved
    ? 'The guardrail now re-reads the resource and applies the plan if it is unchanged; the result is recorded in the ledger.'
    : 'Nothing that needed approval will be changed. The decision is recorded in the ledger.';
  return {
    status: 200,
    html: page(
      title,
      `<h1>${title}</h1><p>${escapeHtml(what)}</p><dl><dt>Resource</dt><dd>${escapeHtml(args.subject.resourceArn)}</dd><dt>Findings</dt><dd>${escapeHtml(ruleList(args.subject))}</dd><dt>Decided by</dt><dd>${escapeHtml(r.decidedBy)}</dd><dt>At</dt><dd>${escapeHtml(r.decidedAt)}</dd>${r.comment ? `<dt>Comment</dt><dd>${escapeHtml(r.comment)}</dd>` : ''}</dl>`,
    ),
  };
}

export type RefusalKind =
  | 'malformed'
  | 'forged'
  | 'not-approver'
  | 'csrf'
  | 'cross-site'
  | 'bad-decision'
  | 'expired'
  | 'not-found'
  | 'already-decided'
  | 'timed-out'
  | 'method'
  | 'unavailable';

const REFUSALS: Record<RefusalKind, { status: number; title: string; text: string }> = {
  malformed: {
    status: 400,
    title: 'This is not a valid approval link',
    text: 'The link is incomplete or malformed. Open the link from your email exactly as you received it.',
  },
  forged: {
    status: 403,
    title: 'This approval link is not valid',
    text: 'Its signature does not match. Open the link from your email exactly as you received it.',
  },
  'not-approver': {
    status: 403,
    title: 'You cannot decide this approval',
    text: 'The address this link was made for is not (or no longer) an approver.',
  },
  csrf: {
    status: 403,
    title: 'This decision could not be verified',
    text: 'The form did not come from the approval page. Nothing was decided. Open the link from your email again.',
  },
  'cross-site': {
    status: 403,
    title: 'This decision could not be verified',
    text: 'The request came from another site. Nothing was decided. Open the link from your email again.',
  },
  'bad-decision': {
    status: 400,
    title: 'No decision',
    text: 'Press Approve or Reject on the approval page. Nothing was decided.',
  },
  expired: {
    status: 410,
    title: 'This approval link has expired',
    text: 'Nothing that needed approval was changed.',
  },
  'not-found': {
    status: 404,
    title: 'No such approval',
    text: 'It does not exist, or it was removed after its retention period.',
  },
  'already-decided': {
    status: 409,
    title: 'Already decided',
    text: 'This approval has already been decided; each approval can be decided once.',
  },
  'timed-out': {
    status: 410,
    title: 'The guardrail is no longer waiting for this approval',
    text: 'It timed out. Nothing that needed approval was changed.',
  },
  method: { status: 405, title: 'Method not allowed', text: 'Use the link from your email.' },
  unavailable: {
    status: 503,
    title: 'Could not reach the workflow',
    text: 'Nothing was decided. Try again in a minute.',
  },
};

export function refusalPage(kind: RefusalKind, detail?: string): PageResult {
  const r = REFUSALS[kind];
  return {
    status: r.status,
    html: page(
      r.title,
      `<h1>${escapeHtml(r.title)}</h1><p>${escapeHtml(r.text)}</p>${detail ? `<p>${escapeHtml(detail)}</p>` : ''}`,
    ),
  };
}
