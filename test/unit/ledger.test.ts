import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../../functions/core/config.ts';
import { type Evaluation, evaluate } from '../../functions/core/evaluate.ts';
import { normalizeEvent } from '../../functions/core/event.ts';
import { buildLedgerRecord, rejectionRecord, type WorkflowState } from '../../functions/core/ledger.ts';
import { EXEMPT_REASON_TAG, EXEMPT_TAG, EXEMPT_UNTIL_TAG } from '../../functions/core/mode.ts';
import { decideOutcome, type Remediation } from '../../functions/core/outcome.ts';
import { redactSnapshot } from '../../functions/core/redact.ts';
import { lambdaPolicyPublic } from '../../functions/core/rules/lambda-policy-public.ts';
import { lambdaUrlPublic } from '../../functions/core/rules/lambda-url-public.ts';
import { functionArn, functionSnapshot, NOW, publicUrlPair } from './helpers.ts';

const RULES_UNDER_TEST = [lambdaUrlPublic, lambdaPolicyPublic];
const FIXTURE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'cloudtrail',
  'stratus-red-team__AddPermission20150331v2__1.json',
);
const event = normalizeEvent(JSON.parse(readFileSync(FIXTURE, 'utf8')));
const RECORDED_AT = '2025-06-15T12:00:05.123Z';
const EXEC = 'b67a9bba-d9da-4980-bf74-baed881b117d';

const openSnapshot = (tags: Record<string, string> = {}) =>
  functionSnapshot({ tags, urls: [{ authType: 'NONE' }], policies: { '': { statements: publicUrlPair() } } });
const evaluation = (
  opts: { tags?: Record<string, string>; config?: typeof DEFAULT_CONFIG; open?: boolean } = {},
) =>
  evaluate({
    snapshot:
      opts.open === false
        ? functionSnapshot({ urls: [{ authType: 'AWS_IAM' }], policies: { '': null } })
        : openSnapshot(opts.tags),
    config: opts.config ?? DEFAULT_CONFIG,
    now: NOW,
    rules: RULES_UNDER_TEST,
  });

function applied(ev: Evaluation): Remediation {
  return {
    status: 'applied',
    steps: ev.findings.flatMap((f) =>
      f.plan.steps.map((st) => ({
        ruleId: f.ruleId,
        resourceArn: f.resourceArn,
        service: st.service,
        operation: st.operation,
        parameters: st.parameters,
        status: 'applied' as const,
        ...(st.inverse
          ? {
              inverse: {
                service: st.inverse.service,
                operation: st.inverse.operation,
                parameters: st.inverse.parameters,
              },
            }
          : {}),
      })),
    ),
  };
}

const record = (state: WorkflowState) =>
  buildLedgerRecord({
    executionId: `arn:aws:states:us-east-1:123456789012:execution:guardrail:${EXEC}`,
    executionName: EXEC,
    startedAt: '2025-06-15T12:00:00.000Z',
    recordedAt: RECORDED_AT,
    state,
  });

describe('buildLedgerRecord', () => {
  it('keys and dates the record by execution', () => {
    const r = record({ event, evaluation: evaluation({ open: false }) });
    expect(r).toMatchObject({
      pk: `EXEC#${EXEC}`,
      sk: 'RECORD',
      day: '2025-06-15',
      recordedAt: RECORDED_AT,
      executionName: EXEC,
      executionId: expect.stringContaining(EXEC),
      startedAt: '2025-06-15T12:00:00.000Z',
      eventId: event.eventId,
      event,
    });
  });

  it('compliant: no findings', () => {
    const r = record({ event, evaluation: evaluation({ open: false }) });
    expect(r.outcome).toBe('compliant');
    expect(r.findings).toEqual([]);
    expect(r.route).toBe('none');
    expect(r.target).toEqual({ kind: 'function', arn: functionArn() });
    expect(r).not.toHaveProperty('error');
  });

  it('reported: report mode keeps the planned steps', () => {
    const r = record({
      event,
      collected: { killSwitch: false },
      evaluation: evaluation({ config: parseConfig({ mode: 'report' }) }),
    });
    expect(r.outcome).toBe('reported');
    expect(r.route).toBe('report');
    expect(r.killSwitch).toBe(false);
    expect(r.findings[0].plan.steps.map((s) => s.operation)).toEqual([
      'UpdateFunctionUrlConfig',
      'RemovePermission',
      'RemovePermission',
    ]);
  });

  it('reported under the kill switch records that it was on', () => {
    const ev = evaluate({
      snapshot: openSnapshot(),
      config: DEFAULT_CONFIG,
      now: NOW,
      killSwitch: true,
      rules: RULES_UNDER_TEST,
    });
    const r = record({ event, collected: { killSwitch: true }, evaluation: ev });
    expect(r.outcome).toBe('reported');
    expect(r.killSwitch).toBe(true);
  });

  it('approval-required: an approve-mode finding without a decision yet', () => {
    const r = record({ event, evaluation: evaluation({ config: parseConfig({ mode: 'approve' }) }) });
    expect(r.outcome).toBe('approval-required');
  });

  it('exempt: every finding exempt', () => {
    const r = record({
      event,
      evaluation: evaluation({
        tags: {
          [EXEMPT_TAG]: 'LAMBDA.URL.PUBLIC',
          [EXEMPT_REASON_TAG]: 'webhook',
          [EXEMPT_UNTIL_TAG]: '2025-12-31',
        },
      }),
    });
    expect(r.outcome).toBe('exempt');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].exempt).toBe(true);
  });

  it('an expired exemption is not exempt: the finding goes on to remediation', () => {
    const ev = evaluation({
      tags: {
        [EXEMPT_TAG]: 'LAMBDA.URL.PUBLIC',
        [EXEMPT_REASON_TAG]: 'webhook',
        [EXEMPT_UNTIL_TAG]: '2025-01-31',
      },
    });
    expect(record({ event, evaluation: ev }).outcome).not.toBe('exempt');
    expect(record({ event, evaluation: ev, remediation: applied(ev) }).outcome).toBe('remediated');
  });

  it('remediated: steps applied and verified', () => {
    const ev = evaluation();
    const remediation = applied(ev);
    const r = record({ event, evaluation: ev, remediation, verification: { verified: true, remaining: [] } });
    expect(r.outcome).toBe('remediated');
    expect(r.remediation).toEqual(remediation);
    expect(r.verification).toEqual({ verified: true, remaining: [] });
    expect(r.remediation?.steps.filter((s) => s.inverse).length).toBe(3);
  });

  it('applied but not verified is a failure', () => {
    const ev = evaluation();
    const r = record({
      event,
      evaluation: ev,
      remediation: applied(ev),
      verification: {
        verified: false,
        remaining: [{ ruleId: 'LAMBDA.URL.PUBLIC', resourceArn: functionArn(), summary: 'still public' }],
      },
    });
    expect(r.outcome).toBe('failed');
  });

  it('resource-changed: preconditions failed on the fresh read', () => {
    const r = record({
      event,
      evaluation: evaluation(),
      remediation: {
        status: 'resource-changed',
        steps: [],
        drift: ['the URL of $LATEST still has AuthType NONE: found AWS_IAM'],
      },
    });
    expect(r.outcome).toBe('resource-changed');
    expect(r.remediation?.drift).toHaveLength(1);
  });

  it('failed: a Step Functions error whose Cause is a Lambda error JSON', () => {
    const cause = JSON.stringify({
      errorType: 'PreconditionFailedException',
      errorMessage: 'The Revision Id provided does not match the latest Revision Id.',
      trace: [
        'PreconditionFailedException: The Revision Id provided ...',
        '    at de_PreconditionFailedExceptionRes',
      ],
    });
    const r = record({
      event,
      evaluation: evaluation(),
      error: { Error: 'PreconditionFailedException', Cause: cause },
    });
    expect(r.outcome).toBe('failed');
    expect(r.error).toEqual({
      error: 'PreconditionFailedException',
      cause: 'PreconditionFailedException: The Revision Id provided does not match the latest Revision Id.',
    });
    expect(r.error?.cause).not.toContain('trace');
  });

  it('failed: a plain-text Cause is kept, bounded to 1000 characters', () => {
    const r = record({ event, error: { Error: 'States.Timeout', Cause: 'x'.repeat(5000) } });
    expect(r.outcome).toBe('failed');
    expect(r.error?.error).toBe('States.Timeout');
    expect(r.error?.cause).toHaveLength(1000);
    expect(r.findings).toEqual([]);
  });

  it('failed: missing Error and Cause still give a record', () => {
    const r = record({ error: {} });
    expect(r.outcome).toBe('failed');
    expect(r.error).toEqual({ error: 'Error', cause: '' });
    expect(r).not.toHaveProperty('eventId');
  });

  it('a failed remediation is failed even without a workflow error', () => {
    const r = record({
      event,
      evaluation: evaluation(),
      remediation: { status: 'failed', steps: [], error: 'boom' },
    });
    expect(r.outcome).toBe('failed');
  });
});

describe('rejectionRecord', () => {
  it('keeps malformed input on record with its reason', () => {
    const r = rejectionRecord({
      id: 'evt-123',
      recordedAt: RECORDED_AT,
      reason: 'recipientAccountId must be a 12-digit account id, got "XXX"',
    });
    expect(r).toEqual({
      pk: 'REJECTED#evt-123',
      sk: 'RECORD',
      day: '2025-06-15',
      recordedAt: RECORDED_AT,
      executionName: 'rejected-evt-123',
      findings: [],
      outcome: 'rejected-input',
      error: { error: 'InvalidEvent', cause: 'recipientAccountId must be a 12-digit account id, got "XXX"' },
    });
  });

  it('bounds the reason', () => {
    expect(
      rejectionRecord({ id: 'x', recordedAt: RECORDED_AT, reason: 'y'.repeat(3000) }).error?.cause,
    ).toHaveLength(1000);
  });
});

describe('decideOutcome', () => {
  it('rejected input wins over everything', () => {
    expect(decideOutcome({ rejected: true, error: new Error('x') })).toBe('rejected-input');
  });

  it('a live report finding beside an exempt one is reported', () => {
    const ev = evaluation({
      tags: {
        [EXEMPT_TAG]: 'LAMBDA.URL.PUBLIC',
        [EXEMPT_REASON_TAG]: 'webhook',
        [EXEMPT_UNTIL_TAG]: '2025-12-31',
      },
      config: parseConfig({ mode: 'report' }),
    });
    const withLive = { ...ev, findings: [...ev.findings, { ...ev.findings[0], exempt: false }] };
    expect(decideOutcome({ evaluation: withLive })).toBe('reported');
  });
});

describe('redactSnapshot', () => {
  it('keeps environment variable names and drops values', () => {
    const s = functionSnapshot({ environment: { DB_PASSWORD: 'hunter2', STAGE: 'prod' } });
    const r = redactSnapshot(s);
    const cfg = r.responses['GetFunctionConfiguration'] as {
      Environment: { Variables: Record<string, string> };
    };
    expect(cfg.Environment.Variables).toEqual({ DB_PASSWORD: '[redacted]', STAGE: '[redacted]' });
    expect(JSON.stringify(r)).not.toContain('hunter2');
    // The input is not changed.
    expect(JSON.stringify(s)).toContain('hunter2');
  });

  it('leaves a snapshot without environment or without a function unchanged', () => {
    const s = functionSnapshot({});
    expect(redactSnapshot(s)).toEqual(s);
    const none = {
      account: '123456789012',
      region: 'us-east-1',
      responses: { GetFunctionConfiguration: null },
    };
    expect(redactSnapshot(none)).toEqual(none);
  });
});
