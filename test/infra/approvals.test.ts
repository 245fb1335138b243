import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { exemptionFor } from '../../functions/core/mode.ts';
import { APPROVAL_SID, CALLBACK_EXEMPTION, TASK_RESULT_ACTIONS } from '../../lib/approvals.ts';
import {
  allPolicyStatements,
  asArray,
  type CfnTemplate,
  defaultSynth,
  type Loose,
  logicalIdOf,
  type PolicyStatementJson,
  placeholder,
  resourcesOfType,
  roleStatements,
  sorted,
  synth,
} from './helpers.ts';

/**
 * The approval infrastructure: the callback (behind a function URL, AuthType NONE) is the only
 * holder of states:SendTask*, on this state machine only, and the template has no dependency cycle.
 */

const built = defaultSynth();
const { json, stack } = built;
const fns = stack.functions;
const id = (c: { node: { defaultChild?: unknown } }) => logicalIdOf(built, c);
const roleId = (name: keyof typeof fns) => id(fns[name].role);
const getAtt = (logicalId: string, attr = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attr] });
const ref = (logicalId: string) => ({ Ref: logicalId });

const CONFIGURED = {
  approvers: ['security-lead@example.com', 'oncall@example.net'],
  approvalSender: 'guardrail@example.com',
  approvalTimeoutHours: 24,
};

describe('states:SendTask*', () => {
  const isSendTask = (a: string) => /^states:(SendTask|\*$)/i.test(a) || a === '*';

  it('is granted to the callback role only, on exactly this state machine', () => {
    const holders = resourcesOfType(json, 'AWS::IAM::Role').filter(([rid]) =>
      roleStatements(json, rid).some((s) => asArray(s.Action).some(isSendTask)),
    );
    expect(holders.map(([rid]) => rid)).toEqual([roleId('approval-callback')]);
    const granted = roleStatements(json, roleId('approval-callback')).filter((s) =>
      asArray(s.Action).some(isSendTask),
    );
    expect(granted).toEqual([
      {
        Sid: APPROVAL_SID.sendTaskResult,
        Effect: 'Allow',
        Action: TASK_RESULT_ACTIONS,
        Resource: ref(id(stack.stateMachine)),
      },
    ]);
    // Nowhere else in the template either (resource policies, queue policies, ...).
    const everywhere = allPolicyStatements(json).filter((s) => asArray(s.Action).some(isSendTask));
    expect(everywhere).toHaveLength(1);
  });

  it('comes from a separate policy the callback function does not depend on (no cycle)', () => {
    const policies = resourcesOfType(json, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties?.PolicyDocument).includes('states:SendTask'),
    );
    expect(policies).toHaveLength(1);
    const [policyId, policy] = policies[0];
    expect(policy.Properties?.Roles).toEqual([ref(roleId('approval-callback'))]);
    const callbackFn = json.Resources[id(fns['approval-callback'].fn)] as Loose;
    expect(asArray(callbackFn.DependsOn)).not.toContain(policyId);
  });

  it('the functions the state machine invokes cannot send task results', () => {
    for (const n of [
      'collect',
      'evaluate',
      'remediate',
      'verify',
      'record',
      'request-approval',
      'ingest',
    ] as const) {
      expect(
        roleStatements(json, roleId(n))
          .flatMap((s) => asArray(s.Action))
          .filter(isSendTask),
        n,
      ).toEqual([]);
    }
  });
});

/** Every resource a resource references (Ref, GetAtt, Sub, DependsOn), to find cycles. */
function dependencies(t: CfnTemplate): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const ids = new Set(Object.keys(t.Resources));
  for (const [rid, r] of Object.entries(t.Resources)) {
    const deps = new Set<string>(asArray((r as Loose).DependsOn as string | string[]));
    const visit = (v: unknown) => {
      if (Array.isArray(v)) return v.forEach(visit);
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string' && ids.has(o.Ref)) deps.add(o.Ref);
      if (Array.isArray(o['Fn::GetAtt']) && ids.has(o['Fn::GetAtt'][0] as string))
        deps.add(o['Fn::GetAtt'][0] as string);
      if (typeof o['Fn::Sub'] === 'string')
        for (const m of (o['Fn::Sub'] as string).matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/g))
          if (ids.has(m[1])) deps.add(m[1]);
      Object.values(o).forEach(visit);
    };
    visit(r.Properties);
    out.set(rid, deps);
  }
  return out;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stackPath: string[] = [];
  const walk = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stackPath.slice(stackPath.indexOf(n)), n];
    state.set(n, 'visiting');
    stackPath.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = walk(d);
      if (c) return c;
    }
    stackPath.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = walk(n);
    if (c) return c;
  }
  return undefined;
}

describe('the template', () => {
  it('has no dependency cycle (default and fully configured)', () => {
    expect(findCycle(dependencies(json))).toBeUndefined();
    expect(findCycle(dependencies(synth({ guardrail: CONFIGURED }).json))).toBeUndefined();
  });

  it('the cycle detector finds a cycle when there is one', () => {
    const t = {
      Resources: {
        A: { Type: 'X', Properties: { x: { Ref: 'B' } } },
        B: { Type: 'X', Properties: { y: { 'Fn::GetAtt': ['A', 'Arn'] } } },
      },
    };
    expect(findCycle(dependencies(t))).toEqual(['A', 'B', 'A']);
  });
});

describe('approval resources', () => {
  it('the approvals table: pk, on-demand, KMS (AWS managed key), point-in-time recovery, TTL on ttl', () => {
    const p = json.Resources[id(stack.approvals.table)].Properties as Loose;
    expect(p.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  it('the HMAC key: generated by the stack as {"current": <64 characters>}', () => {
    const p = json.Resources[id(stack.approvals.keys)].Properties as Loose;
    expect(p.GenerateSecretString).toEqual({
      SecretStringTemplate: '{}',
      GenerateStringKey: 'current',
      PasswordLength: 64,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
  });

  it('the function URL: AuthType NONE on the callback, no CORS; the public statements exist for it alone', () => {
    const url = json.Resources[id(stack.approvals.callbackUrl)].Properties as Loose;
    expect(url).toEqual({ AuthType: 'NONE', TargetFunctionArn: getAtt(id(fns['approval-callback'].fn)) });
    const permissions = resourcesOfType(json, 'AWS::Lambda::Permission').filter(
      ([, p]) => p.Properties?.Principal === '*',
    );
    expect(permissions.map(([, p]) => p.Properties?.FunctionName)).toEqual([
      getAtt(id(fns['approval-callback'].fn)),
      getAtt(id(fns['approval-callback'].fn)),
    ]);
    expect(sorted(permissions.map(([, p]) => String(p.Properties?.Action)))).toEqual([
      'lambda:InvokeFunction',
      'lambda:InvokeFunctionUrl',
    ]);
  });

  it('the callback carries a valid LAMBDA.URL.PUBLIC exemption, so the guardrail leaves its own endpoint alone', () => {
    const tags = (json.Resources[id(fns['approval-callback'].fn)].Properties as Loose).Tags as {
      Key: string;
      Value: string;
    }[];
    const map = Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
    expect(map).toMatchObject(CALLBACK_EXEMPTION);
    expect(exemptionFor('LAMBDA.URL.PUBLIC', map, '2030-01-01T00:00:00Z')).toMatchObject({
      status: 'active',
    });
    // Tag values keep to the characters every AWS service accepts.
    for (const v of Object.values(CALLBACK_EXEMPTION)) expect(v).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
  });

  it('environment: the callback knows the table and the key; RequestApproval also the endpoint URL', () => {
    const vars = (n: keyof typeof fns) =>
      (json.Resources[id(fns[n].fn)].Properties as Loose).Environment.Variables;
    const approvalVars = {
      APPROVALS_TABLE: ref(id(stack.approvals.table)),
      APPROVAL_KEY_SECRET: ref(id(stack.approvals.keys)),
    };
    expect(vars('approval-callback')).toMatchObject(approvalVars);
    expect(vars('approval-callback')).not.toHaveProperty('STATE_MACHINE_ARN');
    expect(vars('request-approval')).toMatchObject({
      ...approvalVars,
      APPROVAL_BASE_URL: getAtt(id(stack.approvals.callbackUrl), 'FunctionUrl'),
    });
  });
});

describe('IAM of the approval functions', () => {
  const base = (n: keyof typeof fns): PolicyStatementJson[] => [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: getAtt(id(fns[n].logGroup)),
    },
    { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
  ];
  const keys = {
    Sid: APPROVAL_SID.readApprovalKeys,
    Effect: 'Allow' as const,
    Action: 'secretsmanager:GetSecretValue',
    Resource: ref(id(stack.approvals.keys)),
  };
  const table = (actions: string[]) => ({
    Sid: APPROVAL_SID.readWriteApprovals,
    Effect: 'Allow' as const,
    Action: actions,
    Resource: getAtt(id(stack.approvals.table)),
  });

  it('callback: read and conditionally update approvals, read the key, send task results; nothing else', () => {
    expect(roleStatements(json, roleId('approval-callback'))).toEqual(
      expect.arrayContaining([
        ...base('approval-callback'),
        table(['dynamodb:GetItem', 'dynamodb:UpdateItem']),
        keys,
      ]),
    );
    expect(roleStatements(json, roleId('approval-callback'))).toHaveLength(5);
  });

  it('request-approval: read and write approvals, read the key; no SES without a sender', () => {
    expect(roleStatements(json, roleId('request-approval'))).toEqual([
      ...base('request-approval'),
      table(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']),
      keys,
    ]);
  });

  it('with a sender: ses:SendEmail on the sender, its domain and the approvers only, From pinned', () => {
    const s = synth({ guardrail: CONFIGURED });
    const rid = logicalIdOf(s, s.stack.functions['request-approval'].role);
    const ses = roleStatements(s.json, rid).find((st) => st.Sid === APPROVAL_SID.sendApprovalEmail);
    const identity = (name: string) => ({
      'Fn::Join': ['', ['arn:aws:ses:us-east-1:', { Ref: 'AWS::AccountId' }, `:identity/${name}`]],
    });
    const expected = ['guardrail@example.com', 'example.com', ...CONFIGURED.approvers].map(identity);
    expect(ses).toEqual({
      Sid: APPROVAL_SID.sendApprovalEmail,
      Effect: 'Allow',
      Action: 'ses:SendEmail',
      Resource: expect.arrayContaining(expected),
      Condition: { StringEquals: { 'ses:FromAddress': 'guardrail@example.com' } },
    });
    expect(asArray(ses?.Resource)).toHaveLength(expected.length);
  });
});

describe('the deployed state machine', () => {
  const definition = (t: CfnTemplate) => {
    const [, sm] = resourcesOfType(t, 'AWS::StepFunctions::StateMachine')[0];
    return JSON.parse((sm.Properties as Loose).DefinitionString);
  };

  it('RequestApproval waits for a task token, with the timeout from the config', () => {
    const state = definition(json).States.RequestApproval;
    expect(state.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(state.Parameters.FunctionName).toBe(placeholder('RequestApprovalFunctionArn'));
    expect(state.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
    expect(state.TimeoutSeconds).toBe(72 * 3600);
    expect(definition(synth({ guardrail: CONFIGURED }).json).States.RequestApproval.TimeoutSeconds).toBe(
      24 * 3600,
    );
  });

  it('cdk-nag finds nothing unacknowledged with approvals fully configured either', () => {
    const s = synth({ guardrail: CONFIGURED });
    expect(new AwsSolutionsChecks().validateScope(s.app).violations.map((v) => v.ruleName)).toEqual([]);
  });
});
