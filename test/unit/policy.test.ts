import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../functions/core/plan.ts';
import {
  actionMatches,
  allowsAnyAction,
  conditionEntries,
  conditionValues,
  hasConditionKey,
  isPublicPrincipal,
  parsePolicyDocument,
  principals,
  type Statement,
} from '../../functions/core/policy.ts';

const DOC = {
  Version: '2012-10-17',
  Id: 'default',
  Statement: [
    {
      Sid: 'FunctionURLAllowPublicAccess',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunctionUrl',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:orders-api',
      Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
    },
    {
      Sid: 's3',
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:orders-api',
      Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::orders bucket/with spaces+plus' } },
    },
  ],
};

describe('parsePolicyDocument', () => {
  it('accepts an object', () => {
    expect(parsePolicyDocument(DOC)).toEqual(DOC);
  });

  it('accepts a JSON string (Lambda GetPolicy, IAM request parameters)', () => {
    expect(parsePolicyDocument(JSON.stringify(DOC))).toEqual(DOC);
    expect(parsePolicyDocument(`\n  ${JSON.stringify(DOC, null, 2)}\n`)).toEqual(DOC);
  });

  it('accepts a URL-encoded JSON string (IAM Get*Policy* responses)', () => {
    const encoded = encodeURIComponent(JSON.stringify(DOC, null, 2));
    expect(encoded.startsWith('%7B')).toBe(true);
    expect(parsePolicyDocument(encoded)).toEqual(DOC);
  });

  it('decodes the URL-encoded document of the real AWS docs CreateRole record', () => {
    const encoded =
      '%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20%22Statement%22%3A%20%5B%0A%20%20%20%20%7B%0A%20%20%20%20%20%20%22Sid%22%3A%20%22%22%2C%0A%20%20%20%20%20%20%22Effect%22%3A%20%22Allow%22%2C%0A%20%20%20%20%20%20%22Principal%22%3A%20%7B%0A%20%20%20%20%20%20%20%20%22AWS%22%3A%20%22arn%3Aaws%3Aiam%3A%3A803981987763%3Aroot%22%0A%20%20%20%20%20%20%7D%2C%0A%20%20%20%20%20%20%22Action%22%3A%20%22sts%3AAssumeRole%22%0A%20%20%20%20%7D%0A%20%20%5D%0A%7D';
    const doc = parsePolicyDocument(encoded);
    expect(doc.Statement).toHaveLength(1);
    expect(principals(doc.Statement[0], 'AWS')).toEqual(['arn:aws:iam::803981987763:root']);
  });

  it('wraps a single Statement object in an array', () => {
    const doc = parsePolicyDocument({ Version: '2012-10-17', Statement: DOC.Statement[0] });
    expect(doc.Statement).toEqual([DOC.Statement[0]]);
  });

  it('treats a missing Statement as none', () => {
    expect(parsePolicyDocument({ Version: '2012-10-17' }).Statement).toEqual([]);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['JSON null', 'null'],
    ['broken JSON', '{"Statement": ['],
    ['broken URL encoding', '%7B%ZZ'],
  ])('rejects %s', (_label, input) => {
    expect(() => parsePolicyDocument(input)).toThrow();
  });
});

describe('actionMatches', () => {
  it.each([
    ['lambda:InvokeFunction', 'lambda:InvokeFunction', true],
    ['LAMBDA:invokefunction', 'lambda:InvokeFunction', true],
    ['lambda:InvokeFunction', 'Lambda:INVOKEFUNCTION', true],
    ['lambda:*', 'lambda:InvokeFunctionUrl', true],
    ['lambda:Invoke*', 'lambda:InvokeFunction', true],
    ['lambda:invoke*', 'lambda:InvokeFunctionUrl', true],
    ['*', 'lambda:InvokeFunction', true],
    ['*:*', 'lambda:InvokeFunction', true],
    ['lambda:Invoke?unction', 'lambda:InvokeFunction', true],
    ['lambda:*Url', 'lambda:InvokeFunctionUrl', true],
    ['lambda:*Url', 'lambda:InvokeFunction', false],
    ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl', false],
    ['lambda:Get*', 'lambda:InvokeFunction', false],
    ['s3:*', 'lambda:InvokeFunction', false],
    ['lambda:Invoke?', 'lambda:InvokeFunction', false],
    // Regex metacharacters in a pattern are literal.
    ['lambda:Invoke.unction', 'lambda:InvokeXunction', false],
    ['lambda:(Invoke)Function', 'lambda:InvokeFunction', false],
    ['lambda:Invoke+', 'lambda:InvokeeeFunction', false],
  ])('%s vs %s -> %s', (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });
});

describe('statement helpers', () => {
  const st = (over: Partial<Statement>): Statement => ({
    Effect: 'Allow',
    Action: 'lambda:InvokeFunction',
    ...over,
  });

  it('principals and isPublicPrincipal', () => {
    expect(isPublicPrincipal(st({ Principal: '*' }))).toBe(true);
    expect(isPublicPrincipal(st({ Principal: { AWS: '*' } }))).toBe(true);
    expect(isPublicPrincipal(st({ Principal: { AWS: ['arn:aws:iam::210987654321:root', '*'] } }))).toBe(true);
    expect(isPublicPrincipal(st({ Principal: { AWS: 'arn:aws:iam::210987654321:root' } }))).toBe(false);
    expect(isPublicPrincipal(st({ Principal: { Service: 's3.amazonaws.com' } }))).toBe(false);
    expect(isPublicPrincipal(st({}))).toBe(false);
    expect(principals(st({ Principal: '*' }), 'Service')).toEqual([]);
    expect(
      principals(st({ Principal: { Service: ['a.amazonaws.com', 'b.amazonaws.com'] } }), 'Service'),
    ).toEqual(['a.amazonaws.com', 'b.amazonaws.com']);
  });

  it('allowsAnyAction honours Effect and NotAction', () => {
    const invoke = ['lambda:InvokeFunction'];
    expect(allowsAnyAction(st({ Action: ['lambda:GetPolicy', 'lambda:Invoke*'] }), invoke)).toBe(true);
    expect(allowsAnyAction(st({ Effect: 'Deny' }), invoke)).toBe(false);
    expect(allowsAnyAction(st({ Action: undefined, NotAction: 'lambda:GetPolicy' }), invoke)).toBe(true);
    expect(allowsAnyAction(st({ Action: undefined, NotAction: 'lambda:*' }), invoke)).toBe(false);
    expect(allowsAnyAction(st({ Action: undefined }), invoke)).toBe(false);
  });

  it('condition keys are compared case-insensitively; values come from every operator', () => {
    const s = st({
      Condition: {
        ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::a' },
        StringEquals: { 'aws:sourcearn': ['arn:aws:s3:::b'], 'aws:SourceAccount': '123456789012' },
      },
    });
    expect(conditionValues(s, 'aws:SourceArn')).toEqual(['arn:aws:s3:::a', 'arn:aws:s3:::b']);
    expect(conditionEntries(s).map((e) => e.key)).toEqual([
      'aws:sourcearn',
      'aws:sourcearn',
      'aws:sourceaccount',
    ]);
    expect(hasConditionKey(s, ['AWS:SOURCEACCOUNT'])).toBe(true);
    expect(hasConditionKey(s, ['aws:PrincipalOrgID'])).toBe(false);
  });

  it.each([
    ['StringNotEquals', '123456789012', false],
    ['StringEqualsIfExists', '123456789012', false],
    ['Null', 'false', false],
    ['ForAllValues:StringEquals', '123456789012', false],
    ['ForAnyValue:StringEquals', '123456789012', true],
    ['StringLike', '*', false],
    ['StringEquals', [], false],
    ['StringEquals', '123456789012', true],
    ['StringLike', '1234*', true],
  ])('hasConditionKey: %s %j restricts -> %s', (op, value, expected) => {
    expect(
      hasConditionKey(st({ Condition: { [op]: { 'aws:SourceAccount': value } } }), ['aws:SourceAccount']),
    ).toBe(expected);
  });
});

// ---- properties ----------------------------------------------------------------------------------

/** Rebuilds a JSON value with every object's keys in a shuffled order (deterministic per seed). */
function permuteKeys(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => permuteKeys(x, seed + i + 1));
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    let s = seed;
    for (let i = entries.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) >>> 0;
      const j = s % (i + 1);
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    return Object.fromEntries(entries.map(([k, x], i) => [k, permuteKeys(x, seed + i * 7 + 3)]));
  }
  return v;
}

describe('properties', () => {
  it('canonicalJson is invariant under key permutation', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        expect(canonicalJson(permuteKeys(value, seed))).toBe(canonicalJson(value));
      }),
      { numRuns: 300 },
    );
  });

  it('canonicalJson round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // -0 serializes as 0 in JSON; compare as JSON does.
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  const actionName = fc.stringMatching(/^[a-z0-9-]{1,12}:[A-Za-z0-9]{1,24}$/);

  it('an action matches itself in any case, and * and <service>:* match it', () => {
    fc.assert(
      fc.property(actionName, (action) => {
        expect(actionMatches(action, action)).toBe(true);
        expect(actionMatches(action.toUpperCase(), action.toLowerCase())).toBe(true);
        expect(actionMatches('*', action)).toBe(true);
        expect(actionMatches(`${action.split(':')[0]}:*`, action)).toBe(true);
        expect(actionMatches(`${action}x`, action)).toBe(false);
      }),
    );
  });

  it('a document parses the same as an object, a JSON string and a URL-encoded string', () => {
    const statement = fc.record({
      Sid: fc.string({ maxLength: 12 }),
      Effect: fc.constantFrom('Allow', 'Deny'),
      Principal: fc.oneof(fc.constant('*'), fc.record({ AWS: fc.string({ minLength: 1, maxLength: 20 }) })),
      Action: fc.oneof(actionName, fc.array(actionName, { minLength: 1, maxLength: 3 })),
      Resource: fc.string({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 4 }), (statements) => {
        const doc = { Version: '2012-10-17', Statement: statements };
        const json = JSON.stringify(doc);
        const fromObject = parsePolicyDocument(doc);
        expect(parsePolicyDocument(json)).toEqual(fromObject);
        expect(parsePolicyDocument(encodeURIComponent(json))).toEqual(fromObject);
        expect(fromObject.Statement).toHaveLength(statements.length);
      }),
    );
  });
});
