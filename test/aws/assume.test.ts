import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { assumeRoleCredentials, eventClients } from '../../functions/aws/assume.ts';
import { createClients } from '../../functions/aws/clients.ts';
import { parseConfig } from '../../functions/core/config.ts';
import type { NormalizedEvent } from '../../functions/core/types.ts';

/** Organization mode: AssumeRole of the event's member role, with the ExternalId, a session per execution and cached credentials. */

const sts = mockClient(STSClient);
afterAll(() => sts.restore());
beforeEach(() => sts.reset());

const MEMBER = '210987654321';
const credentialsExpiringIn = (ms: number, id = 'ASIA1') => ({
  Credentials: {
    AccessKeyId: id,
    SecretAccessKey: 'secret',
    SessionToken: 'token',
    Expiration: new Date(Date.UTC(2025, 5, 15, 12) + ms),
  },
});
const NOW = Date.UTC(2025, 5, 15, 12);

describe('assumeRoleCredentials', () => {
  it('assumes the member role with the external id and a sanitised session name, once while valid', async () => {
    sts.on(AssumeRoleCommand).resolves(credentialsExpiringIn(60 * 60_000));
    const provider = assumeRoleCredentials(
      createClients(),
      {
        account: MEMBER,
        roleName: 'lambda-guardrail-collector',
        externalId: 'ext-1',
        sessionName: 'guardrail-abc def/ghi',
        region: 'us-east-1',
      },
      () => NOW,
    );
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(a).toBe(b);
    expect(a.accessKeyId).toBe('ASIA1');
    await provider();
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${MEMBER}:role/lambda-guardrail-collector`,
      ExternalId: 'ext-1',
      RoleSessionName: 'guardrail-abc_def_ghi',
    });
  });

  it('assumes again when the credentials are within five minutes of expiring', async () => {
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsExpiringIn(4 * 60_000, 'OLD'))
      .resolves(credentialsExpiringIn(60 * 60_000, 'NEW'));
    const provider = assumeRoleCredentials(
      createClients(),
      { account: MEMBER, roleName: 'r', sessionName: 's1', region: 'us-east-1' },
      () => NOW,
    );
    expect((await provider()).accessKeyId).toBe('OLD');
    expect((await provider()).accessKeyId).toBe('NEW');
    expect((await provider()).accessKeyId).toBe('NEW');
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('a refusal is the AWS error, and the next call tries again', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: {} }))
      .resolves(credentialsExpiringIn(60 * 60_000));
    const provider = assumeRoleCredentials(
      createClients(),
      { account: MEMBER, roleName: 'r', sessionName: 's', region: 'us-east-1' },
      () => NOW,
    );
    await expect(provider()).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await provider()).accessKeyId).toBe('ASIA1');
  });
});

describe('eventClients', () => {
  const event = {
    eventId: '3f1a0b2c-0000-4000-8000-000000000001',
    account: MEMBER,
    region: 'eu-west-1',
  } as NormalizedEvent;
  const org = parseConfig({
    organization: {
      enabled: true,
      orgId: 'o-a1b2c3d4e5',
      externalId: 'ext-9',
      targets: { organizationalUnitIds: ['r-ab12'] },
      regions: ['eu-west-1'],
    },
  });

  it('single-account mode: the home clients', () => {
    const clients = createClients();
    expect(eventClients({ clients, config: parseConfig({}) }, event, 'collector')).toBe(clients);
  });

  it("organization mode: the member role of the event's account, session named after the execution", async () => {
    sts.on(AssumeRoleCommand).resolves(credentialsExpiringIn(60 * 60_000 * 24 * 365 * 30));
    const clients = createClients();
    const collector = eventClients({ clients, config: org }, event, 'collector');
    const remediation = eventClients({ clients, config: org }, event, 'remediation');
    expect(collector).not.toBe(clients);
    expect(collector).not.toBe(remediation);
    expect(eventClients({ clients, config: org }, event, 'collector')).toBe(collector);
    await (collector.options.credentials as () => Promise<unknown>)();
    await (remediation.options.credentials as () => Promise<unknown>)();
    expect(sts).toHaveReceivedNthCommandWith(AssumeRoleCommand, 1, {
      RoleArn: `arn:aws:iam::${MEMBER}:role/lambda-guardrail-collector`,
      ExternalId: 'ext-9',
      RoleSessionName: `guardrail-${event.eventId}`,
    });
    expect(sts).toHaveReceivedNthCommandWith(AssumeRoleCommand, 2, {
      RoleArn: `arn:aws:iam::${MEMBER}:role/lambda-guardrail-remediation`,
    });
  });
});
