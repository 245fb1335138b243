/**
 * The approval handlers over mocked AWS APIs (aws-sdk-client-mock): exactly which calls each request
 * makes. The callback: GET, HEAD and OPTIONS never write; POST writes once, conditionally, then sends
 * the task result. RequestApproval: one transactional write, one email per approver, no second email
 * on a retry; the expiry marks the record and tells the approvers.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../functions/aws/clients.ts';
import {
  type ApprovalRecord,
  type ApprovalSubject,
  approvalUrl,
  buildApprovalRecord,
  csrfToken,
} from '../../functions/core/approval.ts';
import { parseConfig } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';
import { makeApprovalCallback } from '../../functions/handlers/approval-callback.ts';
import { type HandlerDeps, logger } from '../../functions/handlers/deps.ts';
import { makeRequestApproval } from '../../functions/handlers/request-approval.ts';
import { ACCOUNT, FUNCTION_NAME, functionSnapshot, NOW, publicUrlPair, REGION } from '../unit/helpers.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const rawDdb = mockClient(DynamoDBClient);
const sm = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);

const KEY = 'K'.repeat(64);
const TABLE = 'approvals';
const ID = 'aaaabbbbccccddddeeeeffff00001111';
const TOKEN = `AQ${'t'.repeat(300)}`;
const BASE = 'https://abcdef.lambda-url.us-east-1.on.aws/';
const HOST = 'abcdef.lambda-url.us-east-1.on.aws';
const EXPIRES_AT = '2025-06-18T12:00:00.000Z';
const EXPIRES = Date.parse(EXPIRES_AT) / 1000;
const CONFIG = parseConfig({
  rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } },
  approvers: ['alice@example.com', 'bob@example.com'],
  approvalSender: 'guardrail@example.com',
});

const EVENT: NormalizedEvent = {
  eventId: 'ev-approvals',
  eventName: 'CreateFunctionUrlConfig',
  action: 'CreateFunctionUrlConfig',
  service: 'lambda',
  account: ACCOUNT,
  region: REGION,
  time: '2025-06-15T11:59:00.000Z',
  actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  resources: { functionName: FUNCTION_NAME },
  requestParameters: {},
  origin: 'event',
};
const SNAPSHOT = functionSnapshot({
  urls: [{ authType: 'NONE' }],
  policies: { '': { statements: publicUrlPair() } },
});
const EVALUATION = JSON.parse(
  JSON.stringify(evaluate({ snapshot: SNAPSHOT, config: CONFIG, now: NOW, event: EVENT })),
);

const SUBJECT: ApprovalSubject = {
  account: ACCOUNT,
  region: REGION,
  resourceArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION_NAME}`,
  event: {
    eventId: 'ev-approvals',
    eventName: 'CreateFunctionUrlConfig',
    time: NOW,
    actor: { type: 'IAMUser' },
  },
  findings: [],
  diffs: [],
  planDigest: 'sha256:abc',
};

const record = (over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  ...buildApprovalRecord({
    approvalId: ID,
    taskToken: TOKEN,
    executionName: 'exec-1',
    approvers: CONFIG.approvers,
    createdAt: NOW,
    expiresAt: EXPIRES_AT,
    subject: SUBJECT,
  }),
  ...over,
});

let secretCounter = 0;
function deps(over: Partial<HandlerDeps> = {}): HandlerDeps {
  return {
    clients: createClients({
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    }),
    config: CONFIG,
    homeRegion: REGION,
    now: () => NOW,
    approvalsTable: TABLE,
    // A fresh secret id per test: the key cache is per container (module), keyed by secret id.
    approvalKeySecret: `approval-keys-${++secretCounter}`,
    approvalBaseUrl: BASE,
    ...over,
  };
}

const link = (approver = 'alice@example.com') =>
  approvalUrl(BASE, KEY, { approvalId: ID, expires: EXPIRES, approver });

function urlEvent(
  method: string,
  url: string,
  opts: { body?: string; headers?: Record<string, string> } = {},
) {
  const u = new URL(url);
  return {
    version: '2.0',
    rawPath: u.pathname,
    rawQueryString: u.search.slice(1),
    headers: { host: HOST, ...(opts.headers ?? {}) },
    requestContext: { http: { method, path: u.pathname } },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    isBase64Encoded: false,
  };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const postHeaders = {
  'content-type': 'application/x-www-form-urlencoded',
  origin: `https://${HOST}`,
  'sec-fetch-site': 'same-origin',
};
const csrf = (approver = 'alice@example.com') =>
  csrfToken(KEY, { approvalId: ID, expires: EXPIRES, approver });

const writes = () => [...ddb.commandCalls(UpdateCommand), ...ddb.commandCalls(TransactWriteCommand)];

beforeEach(() => {
  for (const m of [ddb, rawDdb, sm, sfn, ses]) m.reset();
  sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ current: KEY }) });
  ddb.on(GetCommand, { Key: { pk: `APPROVAL#${ID}` } }).resolves({ Item: record() });
  logger.setLogLevel('SILENT');
});
afterAll(() => {
  for (const m of [ddb, rawDdb, sm, sfn, ses]) m.restore();
  logger.setLogLevel('INFO');
});

describe('approval callback: reading never writes', () => {
  it('GET: the confirmation page, one read of the approval, no write, no task result', async () => {
    const r = await makeApprovalCallback(() => deps())(urlEvent('GET', link()));
    expect(r.statusCode).toBe(200);
    expect(r.headers).toMatchObject({
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Type': 'text/html; charset=utf-8',
    });
    expect(r.headers['Content-Security-Policy']).toContain("frame-ancestors 'none'");
    expect(r.body).toContain(`value="${csrf()}"`);
    expect(r.body).not.toContain(TOKEN);
    expect(r.body).not.toContain(new URL(link()).searchParams.get('s')!);
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(writes()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('HEAD: same status and headers, no body, no write', async () => {
    const r = await makeApprovalCallback(() => deps())(urlEvent('HEAD', link()));
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('');
    expect(r.headers['Cache-Control']).toBe('no-store');
    expect(writes()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('OPTIONS: 204 with Allow, touches nothing at all', async () => {
    const r = await makeApprovalCallback(() => deps())(urlEvent('OPTIONS', link()));
    expect(r.statusCode).toBe(204);
    expect(r.headers.Allow).toBe('GET, HEAD, POST, OPTIONS');
    expect(r.headers['Referrer-Policy']).toBe('no-referrer');
    expect(ddb.calls()).toHaveLength(0);
    expect(sm.calls()).toHaveLength(0);
  });

  it('PUT/DELETE: 405, touches nothing', async () => {
    for (const m of ['PUT', 'DELETE', 'PATCH']) {
      const r = await makeApprovalCallback(() => deps())(urlEvent(m, link()));
      expect(r.statusCode).toBe(405);
    }
    expect(ddb.calls()).toHaveLength(0);
  });

  it('an event that is not a function URL event: 400 page with the security headers', async () => {
    const r = await makeApprovalCallback(() => deps())({ hello: 'world' });
    expect(r.statusCode).toBe(400);
    expect(r.headers['Cache-Control']).toBe('no-store');
  });
});

describe('approval callback: POST', () => {
  it('approve: conditional PENDING -> APPROVED, then SendTaskSuccess with the decision', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: record({ status: 'APPROVED' }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const r = await makeApprovalCallback(() => deps())(
      urlEvent('POST', link(), {
        headers: postHeaders,
        body: form({ csrf: csrf(), decision: 'approve', comment: 'ok' }),
      }),
    );
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<h1>Approved</h1>');
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `APPROVAL#${ID}` },
      ConditionExpression: '#status = :pending AND #expiresAt > :at',
      ExpressionAttributeValues: expect.objectContaining({
        ':s': 'APPROVED',
        ':by': 'alice@example.com',
        ':c': 'ok',
      }),
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    const input = sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input;
    expect(input.taskToken).toBe(TOKEN);
    expect(JSON.parse(input.output!)).toEqual({
      decision: 'approved',
      approvalId: ID,
      decidedBy: 'alice@example.com',
      decidedAt: NOW,
      comment: 'ok',
      planDigest: 'sha256:abc',
    });
  });

  it('reject: SendTaskFailure with ApprovalRejected and who/when/comment as the cause', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: record({ status: 'REJECTED' }) });
    sfn.on(SendTaskFailureCommand).resolves({});
    const r = await makeApprovalCallback(() => deps())(
      urlEvent('POST', link('bob@example.com'), {
        headers: postHeaders,
        body: form({ csrf: csrf('bob@example.com'), decision: 'reject', comment: 'freeze' }),
      }),
    );
    expect(r.statusCode).toBe(200);
    const input = sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input;
    expect(input.error).toBe('ApprovalRejected');
    expect(JSON.parse(input.cause!)).toEqual({
      approvalId: ID,
      decidedBy: 'bob@example.com',
      decidedAt: NOW,
      comment: 'freeze',
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 0);
  });

  it('a body sent base64-encoded (as function URLs may) is decoded', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: record({ status: 'APPROVED' }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const ev = {
      ...urlEvent('POST', link(), { headers: postHeaders }),
      body: Buffer.from(form({ csrf: csrf(), decision: 'approve' })).toString('base64'),
      isBase64Encoded: true,
    };
    expect((await makeApprovalCallback(() => deps())(ev)).statusCode).toBe(200);
  });

  it('Origin: null (a browser form under Referrer-Policy: no-referrer) is not refused: the CSRF token decides', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: record({ status: 'APPROVED' }) });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const ok = await makeApprovalCallback(() => deps())(
      urlEvent('POST', link(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
        body: form({ csrf: csrf(), decision: 'approve' }),
      }),
    );
    expect(ok.statusCode).toBe(200);
  });

  it('lost the race (someone decided first): 409, no task result', async () => {
    ddb
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }))
      .on(GetCommand, { Key: { pk: `APPROVAL#${ID}` } })
      .resolvesOnce({ Item: record() })
      .resolves({ Item: record({ status: 'APPROVED', decidedBy: 'bob@example.com', decidedAt: NOW }) });
    const r = await makeApprovalCallback(() => deps())(
      urlEvent('POST', link(), { headers: postHeaders, body: form({ csrf: csrf(), decision: 'reject' }) }),
    );
    expect(r.statusCode).toBe(409);
    expect(r.body).toContain('Approved by bob@example.com');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('the workflow stopped waiting (TaskTimedOut): the approval becomes EXPIRED, 410', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: record({ status: 'APPROVED' }) });
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const r = await makeApprovalCallback(() => deps())(
      urlEvent('POST', link(), { headers: postHeaders, body: form({ csrf: csrf(), decision: 'approve' }) }),
    );
    expect(r.statusCode).toBe(410);
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.ExpressionAttributeValues);
    expect(updates[1]).toMatchObject({ ':expired': 'EXPIRED' });
  });

  it('Step Functions unreachable: the decision is undone (back to PENDING), 503, nothing logged but the error name', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: record({ status: 'APPROVED' }) });
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error(`bad token ${TOKEN}`), { name: 'ServiceUnavailable' }));
    const out: string[] = [];
    logger.setLogLevel('DEBUG');
    const capture = (s: unknown) => {
      out.push(String(s));
      return true;
    };
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    let r: Awaited<ReturnType<ReturnType<typeof makeApprovalCallback>>>;
    try {
      r = await makeApprovalCallback(() => deps())(
        urlEvent('POST', link(), { headers: postHeaders, body: form({ csrf: csrf(), decision: 'approve' }) }),
      );
    } finally {
      spy.mockRestore();
      spyErr.mockRestore();
      logger.setLogLevel('SILENT');
    }
    expect(r.statusCode).toBe(503);
    const undo = ddb.commandCalls(UpdateCommand)[1].args[0].input;
    expect(undo.UpdateExpression).toMatch(/SET #status = :pending REMOVE/);
    expect(out.join('')).toContain('ServiceUnavailable');
    expect(out.join('')).not.toContain(TOKEN);
  });

  it.each([
    ['no CSRF token', { decision: 'approve' }, {}, 403],
    ['a CSRF token of another approver', { decision: 'approve', csrf: csrf('bob@example.com') }, {}, 403],
    ['a wrong CSRF token', { decision: 'approve', csrf: 'x' }, {}, 403],
    ['no decision', { csrf: csrf() }, {}, 400],
    ['an unknown decision', { decision: 'maybe', csrf: csrf() }, {}, 400],
    ['a cross-site form', { decision: 'approve', csrf: csrf() }, { 'sec-fetch-site': 'cross-site' }, 403],
    [
      'another origin',
      { decision: 'approve', csrf: csrf() },
      { origin: 'https://evil.example.com', 'sec-fetch-site': '' },
      403,
    ],
  ])('%s: refused, nothing written', async (_label, fields, headers, status) => {
    const body = form(fields as Record<string, string>);
    const r = await makeApprovalCallback(() => deps())(
      urlEvent('POST', link(), { headers: { ...postHeaders, ...headers }, body }),
    );
    expect(r.statusCode).toBe(status);
    expect(writes()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('approval callback: the link-signing key', () => {
  it('a link signed with the previous key still verifies during a rotation', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ current: 'N'.repeat(64), previous: KEY }),
    });
    const r = await makeApprovalCallback(() => deps())(urlEvent('GET', link()));
    expect(r.statusCode).toBe(200);
  });

  it('a cached key that was rotated since is read again once, then the link verifies', async () => {
    const d = deps();
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ current: 'O'.repeat(64) }) })
      .resolves({ SecretString: JSON.stringify({ current: KEY }) });
    const cb = makeApprovalCallback(() => d);
    // The first request caches the old key...
    expect((await cb(urlEvent('GET', link()))).statusCode).toBe(200);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    // ...and a second request uses the cache: no further read.
    expect((await cb(urlEvent('GET', link()))).statusCode).toBe(200);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('a forged link costs one extra key read, not more, and is 403', async () => {
    const forged = link().replace(/s=[^&]+/, `s=${'A'.repeat(43)}`);
    const r = await makeApprovalCallback(() => deps())(urlEvent('GET', forged));
    expect(r.statusCode).toBe(403);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('RequestApproval', () => {
  const requestInput = {
    action: 'request',
    taskToken: TOKEN,
    executionId: `arn:aws:states:${REGION}:${ACCOUNT}:execution:guardrail:exec-1`,
    executionName: 'exec-1',
    now: NOW,
    event: EVENT,
    evaluation: EVALUATION,
    snapshot: SNAPSHOT,
  };

  it('stores the approval and its execution pointer in one transaction, emails each approver their own link', async () => {
    ddb.on(GetCommand, { Key: { pk: 'EXEC#exec-1' } }).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    const out = await makeRequestApproval(() => deps({ newApprovalId: () => ID }))(requestInput);
    expect(out).toEqual({ approvalId: ID, expiresAt: '2025-06-18T12:00:00.000Z', approvers: 2 });
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    const tx = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(tx.map((t) => t.Put?.Item?.pk)).toEqual([`APPROVAL#${ID}`, 'EXEC#exec-1']);
    expect(tx.every((t) => t.Put?.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
    expect(tx[0].Put?.Item).toMatchObject({
      taskToken: TOKEN,
      status: 'PENDING',
      approvers: CONFIG.approvers,
    });
    const mails = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(mails.map((m) => m.Destination?.ToAddresses)).toEqual([
      ['alice@example.com'],
      ['bob@example.com'],
    ]);
    expect(mails.every((m) => m.FromEmailAddress === 'guardrail@example.com')).toBe(true);
    const bodies = mails.map(
      (m) => `${m.Content?.Simple?.Body?.Text?.Data}${m.Content?.Simple?.Body?.Html?.Data}`,
    );
    for (const b of bodies) expect(b).not.toContain(TOKEN);
    expect(bodies[0]).toContain(link('alice@example.com'));
    expect(bodies[1]).toContain(link('bob@example.com'));
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { UpdateExpression: 'SET notifiedAt = :at' });
  });

  it('a retried request (new token) keeps the approval, stores the new token and sends no second email', async () => {
    ddb
      .on(GetCommand, { Key: { pk: 'EXEC#exec-1' } })
      .resolves({ Item: { pk: 'EXEC#exec-1', approvalId: ID } })
      .on(GetCommand, { Key: { pk: `APPROVAL#${ID}` } })
      .resolves({ Item: record({ notifiedAt: NOW }) })
      .on(UpdateCommand)
      .resolves({});
    await makeRequestApproval(() => deps())({ ...requestInput, taskToken: 'AQnew' });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET taskToken = :t',
      ExpressionAttributeValues: { ':t': 'AQnew', ':pending': 'PENDING' },
    });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ses.calls()).toHaveLength(0);
  });

  it('refuses to run without findings that need approval, or without approvers', async () => {
    const noApproval = {
      ...EVALUATION,
      findings: EVALUATION.findings.map((f: object) => ({ ...f, mode: 'auto' })),
    };
    await expect(
      makeRequestApproval(() => deps())({ ...requestInput, evaluation: noApproval }),
    ).rejects.toThrow(/without findings that need approval/);
    await expect(
      makeRequestApproval(() =>
        deps({ config: parseConfig({ rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } } }) }),
      )(requestInput),
    ).rejects.toThrow(/no approvers/);
  });

  it('expire: marks the approval EXPIRED and tells every approver, best effort', async () => {
    ddb
      .on(GetCommand, { Key: { pk: 'EXEC#exec-1' } })
      .resolves({ Item: { pk: 'EXEC#exec-1', approvalId: ID } })
      .on(UpdateCommand)
      .resolves({ Attributes: record() });
    ses
      .on(SendEmailCommand)
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'TooManyRequestsException' }))
      .resolves({});
    const out = await makeRequestApproval(() => deps())({
      action: 'expire',
      executionName: 'exec-1',
      event: EVENT,
      evaluation: EVALUATION,
    });
    expect(out).toEqual({ decision: 'expired', approvalId: ID, expiredAt: NOW, notified: 1 });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: 'attribute_exists(pk) AND #status <> :expired',
    });
    const subjects = ses
      .commandCalls(SendEmailCommand)
      .map((c) => c.args[0].input.Content?.Simple?.Subject?.Data);
    expect(subjects).toHaveLength(2);
    expect(subjects[0]).toMatch(/Approval expired/);
  });
});
