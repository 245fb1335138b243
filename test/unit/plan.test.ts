import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  digest,
  failedPreconditions,
  planDigest,
  sequencePlans,
} from '../../functions/core/plan.ts';
import { lambdaPolicyPublic } from '../../functions/core/rules/lambda-policy-public.ts';
import { lambdaUrlPublic } from '../../functions/core/rules/lambda-url-public.ts';
import type { Finding, Plan, PlanStep } from '../../functions/core/types.ts';
import {
  clone,
  FUNCTION_NAME,
  functionArn,
  functionSnapshot,
  NOW,
  policyRevision,
  publicInvokeStatement,
  publicUrlPair,
} from './helpers.ts';

const snapshot = functionSnapshot({
  aliases: ['live'],
  urls: [{ authType: 'NONE' }, { qualifier: 'live', authType: 'NONE' }],
  policies: {
    '': { statements: [...publicUrlPair(), publicInvokeStatement('backdoor')] },
    live: { statements: publicUrlPair('live') },
  },
});

function rawFindings(): Pick<Finding, 'ruleId' | 'resourceArn' | 'plan'>[] {
  return [lambdaUrlPublic, lambdaPolicyPublic].flatMap((rule) => {
    const r = rule.evaluate(snapshot, { now: NOW });
    return r.status === 'NON_COMPLIANT'
      ? r.findings.map((f) => ({ ruleId: rule.id, resourceArn: f.resourceArn, plan: f.plan }))
      : [];
  });
}

describe('canonicalJson', () => {
  it('is independent of key order at every depth', () => {
    const a = { b: 1, a: { y: [1, { q: 1, p: 2 }], x: 'x' } };
    const b = { a: { x: 'x', y: [1, { p: 2, q: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"x","y":[1,{"p":2,"q":1}]},"b":1}');
  });

  it('keeps array order and drops undefined values like JSON does', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(null)).toBe('null');
  });

  it('parses back to the same value', () => {
    const v = { z: [true, null, 1.5, 'é"\\'], a: {} };
    expect(JSON.parse(canonicalJson(v))).toEqual(v);
  });
});

describe('digest and planDigest', () => {
  it('digest is a sha256 of the canonical form', () => {
    expect(digest({ a: 1, b: 2 })).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digest({ a: 1, b: 2 })).toBe(digest({ b: 2, a: 1 }));
    expect(digest({ a: 1 })).not.toBe(digest({ a: 2 }));
  });

  const base = rawFindings();
  const baseDigest = planDigest(base);

  it('the fixture has several findings and steps to vary', () => {
    expect(base.length).toBe(3);
    expect(base.flatMap((f) => f.plan.steps).length).toBe(7);
  });

  it('is stable for an equal plan built again and for reordered keys', () => {
    expect(planDigest(rawFindings())).toBe(baseDigest);
    const reordered = base.map((f) => ({
      plan: {
        preconditions: f.plan.preconditions,
        steps: f.plan.steps.map((st) => ({
          ...(st.inverse ? { inverse: st.inverse } : {}),
          reason: st.reason,
          parameters: Object.fromEntries(Object.entries(st.parameters).reverse()),
          operation: st.operation,
          service: st.service,
        })),
      },
      resourceArn: f.resourceArn,
      ruleId: f.ruleId,
    }));
    expect(planDigest(reordered)).toBe(baseDigest);
  });

  // Every parameter of every step, one at a time.
  const cases = base.flatMap((f, fi) =>
    f.plan.steps.flatMap((st, si) =>
      Object.keys(st.parameters).map(
        (k) => [`finding ${fi} step ${si} ${st.operation}.${k}`, fi, si, k] as const,
      ),
    ),
  );

  it.each(cases)('changes when %s changes', (_label, fi, si, key) => {
    const changed = clone(base);
    const params = changed[fi].plan.steps[si].parameters;
    params[key] = typeof params[key] === 'string' ? `${params[key]}-changed` : { changed: params[key] };
    expect(planDigest(changed)).not.toBe(baseDigest);
  });

  it('changes when a parameter is added or removed', () => {
    const added = clone(base);
    added[0].plan.steps[0].parameters['Extra'] = 1;
    expect(planDigest(added)).not.toBe(baseDigest);
    const removed = clone(base);
    delete removed[0].plan.steps[0].parameters['Cors'];
    expect(planDigest(removed)).not.toBe(baseDigest);
  });

  it('changes with step order, operation, rule id or resource', () => {
    const swapped = clone(base);
    swapped[0].plan.steps.reverse();
    expect(planDigest(swapped)).not.toBe(baseDigest);
    const op = clone(base);
    op[0].plan.steps[1].operation = 'AddPermission';
    expect(planDigest(op)).not.toBe(baseDigest);
    const rule = clone(base);
    rule[0].ruleId = 'LAMBDA.POLICY.PUBLIC';
    expect(planDigest(rule)).not.toBe(baseDigest);
    const arn = clone(base);
    arn[0].resourceArn = `${arn[0].resourceArn}:v2`;
    expect(planDigest(arn)).not.toBe(baseDigest);
  });

  it('covers the steps as shown to approvers (reasons, inverses) but not the preconditions', () => {
    const noPre = clone(base);
    noPre[0].plan.preconditions = [];
    expect(planDigest(noPre)).toBe(baseDigest);
    const reworded = clone(base);
    reworded[0].plan.steps[0].reason = 'other words';
    expect(planDigest(reworded)).not.toBe(baseDigest);
    const inverse = clone(base);
    inverse[0].plan.steps[1].inverse!.parameters['Principal'] = 'arn:aws:iam::210987654321:root';
    expect(planDigest(inverse)).not.toBe(baseDigest);
  });
});

describe('sequencePlans', () => {
  const remove = (fn: string, sid: string, rev = 'r1'): PlanStep => ({
    service: 'lambda',
    operation: 'RemovePermission',
    parameters: { FunctionName: fn, StatementId: sid, RevisionId: rev },
    reason: 'test',
  });
  const plan = (...steps: PlanStep[]): { plan: Plan } => ({ plan: { steps, preconditions: [] } });

  it('defers every RevisionId after the first write to the same function, per function', () => {
    const input = [plan(remove('a', '1'), remove('b', '1')), plan(remove('a', '2'), remove('b', '2'))];
    const out = sequencePlans(input);
    expect(out.flatMap((f) => f.plan.steps.map((st) => st.parameters['RevisionId']))).toEqual([
      'r1',
      'r1',
      { fromPolicyRevision: { FunctionName: 'a' } },
      { fromPolicyRevision: { FunctionName: 'b' } },
    ]);
  });

  it('does not change its input', () => {
    const input = [plan(remove('a', '1'), remove('a', '2'))];
    const before = clone(input);
    sequencePlans(input);
    expect(input).toEqual(before);
  });

  it('leaves steps that carry no literal RevisionId alone', () => {
    const noRev: PlanStep = { ...remove('a', '2'), parameters: { FunctionName: 'a', StatementId: '2' } };
    const out = sequencePlans([plan(remove('a', '1'), noRev)]);
    expect(out[0].plan.steps[1].parameters).toEqual({ FunctionName: 'a', StatementId: '2' });
  });
});

describe('failedPreconditions', () => {
  const [urlFinding] = rawFindings();
  const pre = urlFinding.plan.preconditions;

  it('the URL finding checks the URL auth type and the policy revision', () => {
    expect(pre.map((p) => p.read)).toEqual(['ListFunctionUrlConfigs', 'GetPolicy']);
  });

  it('is empty on an unchanged fresh read', () => {
    expect(failedPreconditions(pre, clone(snapshot))).toEqual([]);
  });

  it('reports a URL already switched to AWS_IAM, with what was found', () => {
    const fresh = clone(snapshot);
    const urls = (fresh.responses['ListFunctionUrlConfigs'] as { FunctionUrlConfigs: { AuthType: string }[] })
      .FunctionUrlConfigs;
    urls[0].AuthType = 'AWS_IAM';
    const failed = failedPreconditions(pre, fresh);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ read: 'ListFunctionUrlConfigs', equals: 'NONE', found: 'AWS_IAM' });
  });

  it('looks at the right URL: a change to the alias URL does not fail the $LATEST finding', () => {
    const fresh = clone(snapshot);
    const urls = (fresh.responses['ListFunctionUrlConfigs'] as { FunctionUrlConfigs: { AuthType: string }[] })
      .FunctionUrlConfigs;
    urls[1].AuthType = 'AWS_IAM';
    expect(failedPreconditions(pre, fresh)).toEqual([]);
  });

  it('reports a changed policy revision', () => {
    const fresh = clone(snapshot);
    (fresh.responses['GetPolicy'] as { RevisionId: string }).RevisionId = 'rev-other';
    expect(failedPreconditions(pre, fresh)).toEqual([
      expect.objectContaining({ read: 'GetPolicy', equals: policyRevision(), found: 'rev-other' }),
    ]);
  });

  it('reports a URL or policy that no longer exists as found undefined', () => {
    const fresh = clone(snapshot);
    fresh.responses['ListFunctionUrlConfigs'] = { FunctionUrlConfigs: [] };
    fresh.responses['GetPolicy'] = null;
    const failed = failedPreconditions(pre, fresh);
    expect(failed.map((p) => [p.read, p.found])).toEqual([
      ['ListFunctionUrlConfigs', undefined],
      ['GetPolicy', undefined],
    ]);
  });

  it('compares structured values canonically', () => {
    const fresh = { account: '123456789012', region: 'us-east-1', responses: { X: { v: { b: 1, a: 2 } } } };
    const p = { read: 'X', path: 'v', equals: { a: 2, b: 1 }, description: 'd' };
    expect(failedPreconditions([p], fresh)).toEqual([]);
    expect(failedPreconditions([{ ...p, equals: { a: 2 } }], fresh)).toHaveLength(1);
  });

  it('sanity: the snapshot names the function the plans write to', () => {
    expect(urlFinding.resourceArn).toBe(functionArn());
    expect(urlFinding.plan.steps[0].parameters['FunctionName']).toBe(FUNCTION_NAME);
  });
});
