import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  conditionKeys,
  isAwsManagedArn,
  PolicyDocumentError,
  parseIdentityPolicy,
  policySize,
  policyText,
  rolePolicies,
  statementLists,
  trustsLambda,
} from '../../functions/core/iam/document.ts';
import { doc, encode, ROLE_NAME, roleSnapshot } from './iam-helpers.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template.
const HOME_PREFIX = 'home/${aws:username}/*';

const POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Write',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: 'arn:aws:s3:::bucket+with+plus/a b/*',
      Condition: { StringLike: { 's3:prefix': [HOME_PREFIX, '100%'] } },
    },
  ],
};

describe('identity policy documents: encodings', () => {
  it('decodes an IAM Get* document (RFC 3986 URL-encoded JSON)', () => {
    const encoded = encodeURIComponent(JSON.stringify(POLICY));
    expect(encoded.startsWith('%7B')).toBe(true);
    const { document, text } = parseIdentityPolicy(encoded);
    expect(JSON.parse(text)).toEqual(POLICY);
    expect(document.Statement[0].Resource).toBe('arn:aws:s3:::bucket+with+plus/a b/*');
  });

  it('keeps `+` literal (RFC 3986, not form encoding) and decodes %20 as a space', () => {
    // How IAM returns a document whose resource holds both a plus and a space.
    const iam =
      '%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa+b%20c%2F*%22%7D%7D';
    const { document } = parseIdentityPolicy(iam);
    expect(document.Statement[0].Resource).toBe('arn:aws:s3:::a+b c/*');
  });

  it('reads CloudTrail policyDocument text as plain JSON, even when it holds %-sequences', () => {
    const plain = JSON.stringify(POLICY, null, 2);
    const { document, text } = parseIdentityPolicy(plain);
    expect(text).toBe(plain);
    expect(
      (document.Statement[0].Condition as Record<string, Record<string, string[]>>)['StringLike'][
        's3:prefix'
      ],
    ).toEqual([HOME_PREFIX, '100%']);
    expect(policyText(`  \n${plain}`)).toBe(plain);
  });

  it('accepts an already parsed object', () => {
    expect(parseIdentityPolicy(POLICY).document.Statement).toHaveLength(1);
  });

  it.each([
    ['not JSON', '{"Statement": ['],
    ['bad escape', '%7B%ZZ'],
    ['an array', '[]'],
    ['a statement that is a string', '{"Statement": ["Allow"]}'],
  ])('rejects %s with a PolicyDocumentError', (_what, input) => {
    expect(() => parseIdentityPolicy(input)).toThrow(PolicyDocumentError);
  });
});

describe('real CloudTrail policyDocument (plain JSON text)', () => {
  it('reads the trust policy of a real UpdateAssumeRolePolicy record (Stratus Red Team)', () => {
    const record = JSON.parse(
      readFileSync(
        new URL('../fixtures/cloudtrail/stratus-red-team__UpdateAssumeRolePolicy__1.json', import.meta.url),
        'utf8',
      ),
    ) as { requestParameters: { policyDocument: string } };
    const text = record.requestParameters.policyDocument;
    expect(text.startsWith('{\n')).toBe(true);
    const { document } = parseIdentityPolicy(text);
    expect(document.Statement).toHaveLength(2);
    // ec2 and an account may assume the role; Lambda may not.
    expect(trustsLambda(document)).toBe(false);
    // The same document as IAM's GetRole returns it (URL-encoded) reads the same.
    expect(parseIdentityPolicy(encodeURIComponent(text)).document).toEqual(document);
  });
});

describe('identity policy documents: shapes', () => {
  it('takes Statement as one object or an array', () => {
    const one = parseIdentityPolicy({
      Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
    });
    const many = parseIdentityPolicy({
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    });
    expect(one.document.Statement).toEqual(many.document.Statement);
    expect(parseIdentityPolicy({ Version: '2012-10-17' }).document.Statement).toEqual([]);
  });

  it('takes Action, NotAction, Resource and NotResource as a string or an array', () => {
    expect(statementLists({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })).toMatchObject({
      actions: ['s3:GetObject'],
      resources: ['*'],
      hasNotAction: false,
      hasNotResource: false,
    });
    expect(
      statementLists({
        Effect: 'Allow',
        NotAction: ['iam:*', 'organizations:*'],
        NotResource: 'arn:aws:s3:::x',
      }),
    ).toMatchObject({
      actions: [],
      notActions: ['iam:*', 'organizations:*'],
      hasNotAction: true,
      notResources: ['arn:aws:s3:::x'],
      hasNotResource: true,
    });
  });

  it('reads condition keys case-insensitively', () => {
    const keys = conditionKeys({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: {
        StringEquals: { 'AWS:ResourceTag/Team': 'orders' },
        Bool: { 'aws:SecureTransport': 'true' },
      },
    });
    expect(keys.map((k) => k.key)).toEqual(['aws:resourcetag/team', 'aws:securetransport']);
  });

  it('counts policy size without whitespace', () => {
    expect(policySize('{ "a" : [ 1, 2 ] }\n')).toBe('{"a":[1,2]}'.length);
  });
});

describe('trust policy', () => {
  const trust = (statement: unknown) =>
    parseIdentityPolicy({ Version: '2012-10-17', Statement: statement }).document;

  it.each([
    [
      'Service as a string',
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
    [
      'Service as an array',
      {
        Effect: 'Allow',
        Principal: { Service: ['edgelambda.amazonaws.com', 'lambda.amazonaws.com'] },
        Action: ['sts:AssumeRole'],
      },
    ],
    ['sts:*', { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:*' }],
  ])('lets Lambda assume the role: %s', (_what, st) => {
    expect(trustsLambda(trust(st))).toBe(true);
  });

  it.each([
    [
      'another service',
      { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
    ['a Deny', { Effect: 'Deny', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    [
      'another action',
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:TagSession' },
    ],
    [
      'an account principal',
      { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
    ],
  ])('does not for %s', (_what, st) => {
    expect(trustsLambda(trust(st))).toBe(false);
  });
});

describe('rolePolicies', () => {
  it('reads inline and attached managed policies from a role snapshot, decoding each document', () => {
    const s = roleSnapshot({
      inline: { b: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }), a: doc() },
      managed: [
        {
          arn: 'arn:aws:iam::123456789012:policy/team/app',
          document: doc({ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }),
        },
        {
          arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
          document: doc({ Effect: 'Allow', Action: '*', Resource: '*' }),
        },
      ],
    });
    const ps = rolePolicies(s);
    expect(ps.map((p) => [p.kind, p.replaces])).toEqual([
      ['inline', 'inline:a'],
      ['inline', 'inline:b'],
      ['customer-managed', 'arn:aws:iam::123456789012:policy/team/app'],
      ['aws-managed', 'arn:aws:iam::aws:policy/AdministratorAccess'],
    ]);
    expect(ps[1].raw).toBe(encode(doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })));
    expect(ps[2]).toMatchObject({ name: 'app', defaultVersionId: 'v1', versions: [{ VersionId: 'v1' }] });
    expect(ps.every((p) => !p.error)).toBe(true);
  });

  it('marks a listed policy that was not read, or read and gone, instead of skipping it', () => {
    const s = roleSnapshot({ inline: { a: doc() } });
    (s.responses['ListRolePolicies'] as { PolicyNames: string[] }).PolicyNames.push('late', 'gone');
    s.responses['GetRolePolicy:gone'] = null;
    s.responses['GetRolePolicy:a'] = { RoleName: ROLE_NAME, PolicyName: 'a', PolicyDocument: '%7Bbroken' };
    const errors = Object.fromEntries(rolePolicies(s).map((p) => [p.name, p.error]));
    expect(errors['late']).toMatch(/not read/);
    expect(errors['gone']).toMatch(/no longer exists/);
    expect(errors['a']).toMatch(/not valid JSON/);
  });

  it('knows AWS-managed ARNs in every partition', () => {
    expect(isAwsManagedArn('arn:aws:iam::aws:policy/ReadOnlyAccess')).toBe(true);
    expect(isAwsManagedArn('arn:aws-cn:iam::aws:policy/ReadOnlyAccess')).toBe(true);
    expect(isAwsManagedArn('arn:aws-us-gov:iam::aws:policy/service-role/AWSLambdaRole')).toBe(true);
    expect(isAwsManagedArn('arn:aws:iam::123456789012:policy/aws/ReadOnlyAccess')).toBe(false);
  });
});
