import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  baseAction,
  executionName,
  InvalidEventError,
  isExcludedActor,
  normalizeEvent,
  parseFunctionRef,
  sanitizeParameters,
} from '../../functions/core/event.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloudtrail');

// biome-ignore lint/suspicious/noExplicitAny: raw CloudTrail JSON
type Raw = Record<string, any>;

const files = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (f: string): Raw => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8'));

/** What is wrong with a record, judged from the record alone (each as a pattern the error must name). */
function problemsOf(rec: Raw): RegExp[] {
  const problems: RegExp[] = [];
  if (typeof rec.eventID !== 'string' || rec.eventID === '') problems.push(/eventID/);
  // Region names end in `-<number>` (the Stratus logs use fake names of that form, e.g. eugov-eastcentral-1r).
  if (typeof rec.awsRegion !== 'string' || !/^[a-z]+(-[a-z]+)+-\d+[a-z]?$/.test(rec.awsRegion))
    problems.push(/awsRegion/);
  const account = rec.recipientAccountId ?? rec.userIdentity?.accountId;
  if (typeof account !== 'string' || !/^\d{12}$/.test(account))
    problems.push(new RegExp(`account.*${String(account)}`, 'i'));
  if (rec.errorCode) problems.push(new RegExp(rec.errorCode));
  return problems;
}

const envelope = (rec: Raw) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'AWS API Call via CloudTrail',
  source: `aws.${String(rec.eventSource).replace(/\.amazonaws\.com$/, '')}`,
  account: rec.recipientAccountId ?? rec.userIdentity?.accountId ?? '123456789012',
  region: rec.awsRegion,
  time: rec.eventTime,
  resources: [],
  detail: rec,
});

/** The function a Lambda `functionName` parameter names, parsed by splitting on ':'. */
function expectedFunction(ref: string, account: string, region: string) {
  const parts = ref.split(':');
  let name: string;
  let qualifier: string | undefined;
  if (parts[0] === 'arn') [name, qualifier] = [parts[6], parts[7]];
  else if (parts[1] === 'function') [name, qualifier] = [parts[2], parts[3]];
  else [name, qualifier] = [parts[0], parts[1]];
  return { name, qualifier, arn: `arn:aws:lambda:${region}:${account}:function:${name}` };
}

function secretKeysIn(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(secretKeysIn);
  if (v && typeof v === 'object')
    return Object.entries(v).some(
      ([k, x]) => /variables|password|secret|token|credential|zipfile|apikey/i.test(k) || secretKeysIn(x),
    );
  return false;
}

function rejectionOf(input: unknown): InvalidEventError {
  try {
    normalizeEvent(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return err as InvalidEventError;
  }
  throw new Error('expected normalizeEvent to reject the input');
}

describe('normalizeEvent over every real CloudTrail fixture', () => {
  it('has fixtures to check (both accepted and rejected ones)', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
    const records = files.map(load);
    expect(records.filter((r) => problemsOf(r).length === 0).length).toBeGreaterThanOrEqual(20);
    expect(records.some((r) => r.errorCode)).toBe(true);
    expect(records.some((r) => r.recipientAccountId === 'XXX')).toBe(true);
  });

  describe.each(files)('%s', (file) => {
    const rec = load(file);
    const problems = problemsOf(rec);

    if (problems.length) {
      it('is rejected with an InvalidEventError naming the problem', () => {
        const err = rejectionOf(rec);
        expect(err.name).toBe('InvalidEventError');
        expect(err.message).not.toContain('\n');
        expect(problems.some((p) => p.test(err.message))).toBe(true);
      });

      it('is rejected the same way inside an EventBridge envelope', () => {
        expect(rejectionOf(envelope(rec)).message).toBe(rejectionOf(rec).message);
      });
      return;
    }

    const account: string = rec.recipientAccountId ?? rec.userIdentity.accountId;
    const service = String(rec.eventSource).split('.')[0];

    it('normalizes ids, action, service, account, region and time from the record', () => {
      const e = normalizeEvent(rec);
      expect(e.eventId).toBe(rec.eventID);
      expect(e.eventName).toBe(rec.eventName);
      expect(e.action).toBe(String(rec.eventName).replace(/20\d{6}(v\d+)?$/, ''));
      expect(e.action).not.toMatch(/\d{8}/);
      expect(rec.eventName.startsWith(e.action)).toBe(true);
      expect(e.service).toBe(service);
      expect(['lambda', 'iam']).toContain(e.service);
      expect(e.account).toBe(account);
      expect(e.region).toBe(rec.awsRegion);
      expect(Date.parse(e.time)).toBe(Date.parse(rec.eventTime));
      expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(e.origin).toBe('event');
    });

    it('copies the actor from userIdentity', () => {
      const e = normalizeEvent(rec);
      const ui = rec.userIdentity ?? {};
      expect(e.actor.type).toBe(ui.type ?? 'Unknown');
      expect(e.actor.arn).toBe(ui.arn);
      expect(e.actor.accountId).toBe(ui.accountId);
      expect(e.actor.principalId).toBe(ui.principalId);
      expect(e.actor.sessionIssuerArn).toBe(ui.sessionContext?.sessionIssuer?.arn);
      expect(e.actor.invokedBy).toBe(ui.invokedBy);
      // Nothing else from userIdentity (access key ids, user names) is copied into the actor.
      const allowed = ['type', 'arn', 'accountId', 'principalId', 'sessionIssuerArn', 'invokedBy'];
      expect(Object.keys(e.actor).filter((k) => !allowed.includes(k))).toEqual([]);
    });

    it('names the resources the request names', () => {
      const e = normalizeEvent(rec);
      const params = rec.requestParameters ?? {};
      if (service === 'lambda' && typeof params.functionName === 'string') {
        const fn = expectedFunction(params.functionName, account, rec.awsRegion);
        expect(e.resources.functionName).toBe(fn.name);
        expect(e.resources.functionArn).toBe(fn.arn);
        expect(e.resources.qualifier).toBe(params.qualifier ?? fn.qualifier);
        expect(e.resources.roleName).toBeUndefined();
      } else if (service === 'iam') {
        expect(e.resources.functionName).toBeUndefined();
        expect(e.resources.roleName).toBe(params.roleName);
        expect(e.resources.roleArn).toBe(
          params.roleName ? `arn:aws:iam::${account}:role/${params.roleName}` : undefined,
        );
        expect(e.resources.policyArn).toBe(params.policyArn);
      } else {
        expect(e.resources).toEqual({});
      }
    });

    it('keeps non-secret request parameters as they are', () => {
      const e = normalizeEvent(rec);
      if (secretKeysIn(rec.requestParameters)) {
        expect(e.requestParameters).not.toEqual(rec.requestParameters);
      } else {
        expect(e.requestParameters).toEqual(rec.requestParameters ?? {});
      }
    });

    it('gives the same result inside an EventBridge envelope', () => {
      expect(normalizeEvent(envelope(rec))).toEqual(normalizeEvent(rec));
    });

    it('is rejected when the account is not a 12-digit id', () => {
      const bad = { ...rec, recipientAccountId: 'XXX' };
      const err = rejectionOf(bad);
      expect(err.message).toMatch(/12-digit/);
      expect(err.message).toContain('XXX');
    });

    it('is rejected when the call failed (errorCode set)', () => {
      const bad = { ...rec, errorCode: 'AccessDenied', errorMessage: 'User is not authorized' };
      expect(rejectionOf(bad).message).toMatch(/AccessDenied/);
      expect(rejectionOf(envelope(bad)).message).toMatch(/AccessDenied/);
    });
  });
});

describe('normalizeEvent on malformed input', () => {
  const good = load(files.find((f) => f.startsWith('stratus-red-team__AddPermission'))!);

  it.each([
    ['null', null, /not a JSON object/],
    ['a string', 'AddPermission', /not a JSON object/],
    ['a wrong detail-type', { ...envelope(good), 'detail-type': 'Object Created' }, /detail-type/],
    ['a bad eventSource', { ...good, eventSource: 'lambda' }, /eventSource/],
    ['a bad eventTime', { ...good, eventTime: 'yesterday' }, /eventTime/],
    ['a bad eventName', { ...good, eventName: 'Add Permission' }, /eventName/],
    ['no eventID', { ...good, eventID: undefined }, /eventID/],
    [
      'a function in another account',
      {
        ...good,
        requestParameters: { functionName: 'arn:aws:lambda:ca-centralnorth-1r:999999999999:function:x' },
      },
      /999999999999/,
    ],
  ])('rejects %s with one readable line', (_name, input, pattern) => {
    const err = rejectionOf(input);
    expect(err.message).toMatch(pattern);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('rejects the transcribed Sigma record for its XXX account once its truncated region is completed', () => {
    const sigma = load(files.find((f) => f.startsWith('sigmahq-pr5016__'))!);
    expect(rejectionOf(sigma).message).toMatch(/awsRegion/);
    const err = rejectionOf({ ...sigma, awsRegion: 'eu-central-1' });
    expect(err.message).toBe('recipientAccountId must be a 12-digit account id, got "XXX"');
  });

  it('falls back to userIdentity.accountId when recipientAccountId is absent', () => {
    const { recipientAccountId: _drop, ...rest } = good;
    expect(normalizeEvent(rest).account).toBe(good.userIdentity.accountId);
  });

  it('takes the qualifier parameter over one in the function reference', () => {
    const e = normalizeEvent({
      ...good,
      requestParameters: { functionName: `${good.requestParameters.functionName}:blue`, qualifier: 'live' },
    });
    expect(e.resources.qualifier).toBe('live');
    expect(e.resources.functionName).toBe(good.requestParameters.functionName);
  });
});

describe('baseAction', () => {
  it.each([
    ['AddPermission20150331v2', 'AddPermission'],
    ['AddPermission20150331', 'AddPermission'],
    ['UpdateFunctionConfiguration20150331v2', 'UpdateFunctionConfiguration'],
    ['CreateFunction20150331', 'CreateFunction'],
    ['UpdateFunctionCode20150331v2', 'UpdateFunctionCode'],
    ['CreateFunctionUrlConfig', 'CreateFunctionUrlConfig'],
    ['RemovePermission', 'RemovePermission'],
    ['AttachRolePolicy', 'AttachRolePolicy'],
    ['PutRolePolicy', 'PutRolePolicy'],
  ])('%s -> %s', (raw, base) => {
    expect(baseAction(raw)).toBe(base);
  });

  it('does not strip digits that are not a date suffix', () => {
    expect(baseAction('GetObjectV2')).toBe('GetObjectV2');
    expect(baseAction('Action123')).toBe('Action123');
  });
});

describe('parseFunctionRef', () => {
  const A = '123456789012';
  const R = 'us-east-1';
  const arn = (n: string) => `arn:aws:lambda:${R}:${A}:function:${n}`;

  it.each([
    ['my-function', { functionName: 'my-function', functionArn: arn('my-function') }],
    ['my-function:live', { functionName: 'my-function', functionArn: arn('my-function'), qualifier: 'live' }],
    ['my-function:7', { functionName: 'my-function', functionArn: arn('my-function'), qualifier: '7' }],
    [arn('my_function'), { functionName: 'my_function', functionArn: arn('my_function') }],
    [
      `${arn('my-function')}:$LATEST`,
      { functionName: 'my-function', functionArn: arn('my-function'), qualifier: '$LATEST' },
    ],
    [`${A}:function:my-function`, { functionName: 'my-function', functionArn: arn('my-function') }],
    [
      `${A}:function:my-function:prod`,
      { functionName: 'my-function', functionArn: arn('my-function'), qualifier: 'prod' },
    ],
  ])('%s', (ref, expected) => {
    expect(parseFunctionRef(ref, A, R)).toEqual(expected);
  });

  it('rejects a full ARN in another account (nothing crosses accounts)', () => {
    expect(() => parseFunctionRef(`arn:aws:lambda:${R}:210987654321:function:f`, A, R)).toThrow(
      InvalidEventError,
    );
    expect(() => parseFunctionRef(`arn:aws:lambda:${R}:210987654321:function:f`, A, R)).toThrow(
      /account 123456789012 names a function in account 210987654321/,
    );
  });

  it('rejects a partial ARN in another account', () => {
    expect(() => parseFunctionRef('210987654321:function:f', A, R)).toThrow(/210987654321/);
  });

  it('rejects a function in another region', () => {
    expect(() => parseFunctionRef(`arn:aws:lambda:eu-west-1:${A}:function:f`, A, R)).toThrow(/eu-west-1/);
  });

  it.each(['a:b:c', 'bad name', 'name/with/slash', `arn:aws:lambda:${R}:${A}:layer:x:1`, ''])(
    'rejects %j',
    (ref) => {
      expect(() => parseFunctionRef(ref, A, R)).toThrow(InvalidEventError);
    },
  );
});

describe('sanitizeParameters', () => {
  it('redacts environment variable values and keeps their names', () => {
    const out = sanitizeParameters({
      functionName: 'f',
      environment: { variables: { DB_PASSWORD: 'hunter2', API_URL: 'https://api.example.com' } },
    }) as Raw;
    expect(out.functionName).toBe('f');
    expect(out.environment.variables).toEqual({ DB_PASSWORD: '[redacted]', API_URL: '[redacted]' });
    expect(JSON.stringify(out)).not.toContain('hunter2');
    expect(JSON.stringify(out)).not.toContain('api.example.com');
  });

  it('redacts the SDK-cased Environment.Variables too', () => {
    const out = sanitizeParameters({ Environment: { Variables: { TOKEN: 'abc' } } }) as Raw;
    expect(out.Environment.Variables).toEqual({ TOKEN: '[redacted]' });
  });

  it('redacts secret-looking scalar keys, inside arrays as well', () => {
    const out = sanitizeParameters({
      items: [{ password: 'p4ss', name: 'n' }],
      zipFile: 'UEsDBBQ=',
      clientSecret: 's',
    }) as Raw;
    expect(out.items[0]).toEqual({ password: '[redacted]', name: 'n' });
    expect(out.zipFile).toBe('[redacted]');
    expect(out.clientSecret).toBe('[redacted]');
  });

  it('leaves the empty environment CloudTrail records as it is', () => {
    expect(sanitizeParameters({ environment: {} })).toEqual({ environment: {} });
  });

  it('keeps scalars and ordinary keys unchanged', () => {
    const v = { action: 'lambda:InvokeFunction', principal: '*', statementId: 'x', publish: true, n: 3 };
    expect(sanitizeParameters(v)).toEqual(v);
    expect(sanitizeParameters('x')).toBe('x');
    expect(sanitizeParameters(null)).toBeNull();
  });
});

describe('executionName', () => {
  it('passes UUIDs through and maps anything else to a valid name', () => {
    expect(executionName('b67a9bba-d9da-4980-bf74-baed881b117d')).toBe(
      'b67a9bba-d9da-4980-bf74-baed881b117d',
    );
    const n = executionName(`a:b/c ${'x'.repeat(100)}`);
    expect(n).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(executionName(`a:b/c ${'x'.repeat(100)}`)).toBe(n);
  });
});

describe('isExcludedActor', () => {
  const base = normalizeEvent(load(files.find((f) => f.startsWith('stratus-red-team__AddPermission'))!));
  const withActor = (actor: NormalizedEvent['actor']): NormalizedEvent => ({ ...base, actor });
  const GUARDRAIL_ROLE = 'arn:aws:iam::123456789012:role/guardrail/GuardrailRemediationRole';

  const session = withActor({
    type: 'AssumedRole',
    arn: 'arn:aws:sts::123456789012:assumed-role/GuardrailRemediationRole/remediate-1234',
    accountId: '123456789012',
  });

  it('matches an assumed-role session to a role ARN with a path', () => {
    expect(isExcludedActor(session, [GUARDRAIL_ROLE])).toBe(true);
  });

  it('matches the session issuer exactly', () => {
    const e = withActor({ ...session.actor, sessionIssuerArn: GUARDRAIL_ROLE });
    expect(isExcludedActor(e, [GUARDRAIL_ROLE])).toBe(true);
  });

  it('does not match a role of the same name in another account', () => {
    expect(isExcludedActor(session, ['arn:aws:iam::210987654321:role/GuardrailRemediationRole'])).toBe(false);
  });

  it('does not match a role whose name only shares a prefix', () => {
    expect(isExcludedActor(session, ['arn:aws:iam::123456789012:role/GuardrailRemediation'])).toBe(false);
  });

  it('matches an IAM user by exact ARN only', () => {
    const user = withActor({
      type: 'IAMUser',
      arn: 'arn:aws:iam::123456789012:user/deployer',
      accountId: '123456789012',
    });
    expect(isExcludedActor(user, ['arn:aws:iam::123456789012:user/deployer'])).toBe(true);
    expect(isExcludedActor(user, ['arn:aws:iam::123456789012:role/deployer'])).toBe(false);
    expect(isExcludedActor(user, ['arn:aws:iam::123456789012:user/deploy'])).toBe(false);
  });

  it('is false for an empty exclusion list and for an actor without ARNs', () => {
    expect(isExcludedActor(session, [])).toBe(false);
    expect(isExcludedActor(withActor({ type: 'AWSService' }), [GUARDRAIL_ROLE])).toBe(false);
  });
});
