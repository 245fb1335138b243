import {
  AccessAnalyzerClient,
  AccessDeniedException,
  CheckNoNewAccessCommand,
  ThrottlingException,
  ValidatePolicyCommand,
} from '@aws-sdk/client-accessanalyzer';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import { combine, proveFinding, proveFindings } from '../../functions/aws/prove.ts';
import type { Finding, PolicyProof } from '../../functions/core/types.ts';

const aa = mockClient(AccessAnalyzerClient);
const META = { $metadata: { httpStatusCode: 200, requestId: 'r', attempts: 1, totalRetryDelay: 0 } };
const REGION = 'eu-west-1';
const OLD = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
const NEW = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' }],
});
const proof = (replaces = 'inline:app'): PolicyProof => ({
  replaces,
  existingPolicyDocument: OLD,
  newPolicyDocument: NEW,
});
const clients = () => createClients({ maxAttempts: 1 });

beforeEach(() => aa.reset());

describe('proveFinding: Access Analyzer', () => {
  it('PASS when ValidatePolicy has no ERROR (warnings are fine) and CheckNoNewAccess passes', async () => {
    aa.on(ValidatePolicyCommand).resolves({
      ...META,
      findings: [
        {
          findingType: 'SECURITY_WARNING',
          issueCode: 'PASS_ROLE_WITH_STAR_IN_RESOURCE',
          findingDetails: 'x',
          learnMoreLink: 'https://docs.aws.amazon.com',
          locations: [],
        },
      ],
    });
    aa.on(CheckNoNewAccessCommand).resolves({ ...META, result: 'PASS', message: 'no new access' });
    const r = await proveFinding(clients(), REGION, [proof()]);
    expect(r).toEqual({
      status: 'PASS',
      checks: [
        { replaces: 'inline:app', validatePolicy: { errors: 0, issues: [] }, checkNoNewAccess: 'PASS' },
      ],
    });
    expect(aa).toHaveReceivedCommandWith(ValidatePolicyCommand, {
      policyType: 'IDENTITY_POLICY',
      policyDocument: NEW,
    });
    expect(aa).toHaveReceivedCommandWith(CheckNoNewAccessCommand, {
      policyType: 'IDENTITY_POLICY',
      existingPolicyDocument: OLD,
      newPolicyDocument: NEW,
    });
  });

  it('FAIL with the reasons when CheckNoNewAccess finds new access', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({
      ...META,
      result: 'FAIL',
      message: 'The modified permissions grant new access compared to your existing policy.',
      reasons: [{ description: 'New access in the statement with index: 0.', statementIndex: 0 }],
    });
    const r = await proveFinding(clients(), REGION, [proof()]);
    expect(r.status).toBe('FAIL');
    expect(r.checks[0]!.checkNoNewAccess).toBe('FAIL');
    expect(r.checks[0]!.reason).toContain('New access in the statement with index: 0.');
  });

  it('FAIL on a ValidatePolicy ERROR (read across pages), without asking CheckNoNewAccess', async () => {
    aa.on(ValidatePolicyCommand, { nextToken: undefined }).resolves({
      ...META,
      findings: [],
      nextToken: 't2',
    });
    aa.on(ValidatePolicyCommand, { nextToken: 't2' }).resolves({
      ...META,
      findings: [
        {
          findingType: 'ERROR',
          issueCode: 'INVALID_ACTION',
          findingDetails: 'The action s3:GetObjekt does not exist.',
          learnMoreLink: 'https://docs.aws.amazon.com',
          locations: [],
        },
      ],
    });
    const r = await proveFinding(clients(), REGION, [proof()]);
    expect(r.status).toBe('FAIL');
    expect(r.checks[0]!.validatePolicy).toEqual({ errors: 1, issues: ['INVALID_ACTION'] });
    expect(aa).not.toHaveReceivedCommand(CheckNoNewAccessCommand);
  });

  it('UNAVAILABLE with the reason on access denied: the finding is kept, not dropped', async () => {
    aa.on(ValidatePolicyCommand).rejects(
      new AccessDeniedException({ message: 'not authorized to perform ValidatePolicy', $metadata: {} }),
    );
    const r = await proveFinding(clients(), REGION, [proof()]);
    expect(r.status).toBe('UNAVAILABLE');
    expect(r.checks[0]!.reason).toMatch(/AccessDeniedException: not authorized/);
  });

  it('UNAVAILABLE when the endpoint does not answer as Access Analyzer (the local emulator: HTML 500)', async () => {
    aa.on(ValidatePolicyCommand).rejects(
      Object.assign(new SyntaxError('Unexpected token \'<\', "<!doctype "... is not valid JSON'), {
        $metadata: { httpStatusCode: 500 },
      }),
    );
    const r = await proveFinding(clients(), REGION, [proof()]);
    expect(r.status).toBe('UNAVAILABLE');
    expect(r.checks[0]!.reason).toBe(
      'Access Analyzer unavailable: the endpoint answered HTTP 500 without an Access Analyzer response',
    );
  });

  it('throws on throttling (after the SDK retries) so the state machine retries Prove', async () => {
    aa.on(ValidatePolicyCommand).rejects(
      new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }),
    );
    await expect(proveFinding(clients(), REGION, [proof()])).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
  });

  it('several documents: FAIL beats UNAVAILABLE beats PASS; none is UNAVAILABLE', () => {
    expect(combine(['PASS', 'UNAVAILABLE', 'FAIL'])).toBe('FAIL');
    expect(combine(['PASS', 'UNAVAILABLE'])).toBe('UNAVAILABLE');
    expect(combine(['PASS', 'PASS'])).toBe('PASS');
    expect(combine([])).toBe('UNAVAILABLE');
  });
});

describe('proveFindings', () => {
  const finding = (proofs?: PolicyProof[], exempt = false): Finding => ({
    ruleId: 'IAM.ROLE.ADMIN',
    title: 't',
    severity: 'CRITICAL',
    resourceArn: 'arn:aws:iam::123456789012:role/r',
    summary: 's',
    evidence: {},
    mode: 'auto',
    modeReason: 'config',
    exempt,
    plan: { steps: [], preconditions: [], ...(proofs ? { proofs } : {}) },
  });

  it('proves only findings whose plan has proofs, keyed by finding index', async () => {
    aa.on(ValidatePolicyCommand).resolves({ ...META, findings: [] });
    aa.on(CheckNoNewAccessCommand).resolves({ ...META, result: 'PASS' });
    const r = await proveFindings(clients(), REGION, [
      finding(),
      finding([proof('inline:a'), proof('arn:aws:iam::aws:policy/AdministratorAccess')]),
      finding([proof()], true),
    ]);
    expect(Object.keys(r)).toEqual(['1']);
    expect(r[1]!.checks.map((c) => c.replaces)).toEqual([
      'inline:a',
      'arn:aws:iam::aws:policy/AdministratorAccess',
    ]);
    expect(aa).toHaveReceivedCommandTimes(CheckNoNewAccessCommand, 2);
  });
});
