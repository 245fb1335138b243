import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { executionName } from '../core/event.ts';
import { type MemberRolePurpose, memberRoleArn, orgEnabled, roleSessionName } from '../core/org.ts';
import type { NormalizedEvent } from '../core/types.ts';
import type { AwsClients, StaticCredentials } from './clients.ts';
import type { Deps } from './target.ts';

/**
 * Organization mode at run time: clients that act in a member account through one of the guardrail's
 * member roles (sts:AssumeRole with the configured ExternalId). The role is always the one of the
 * event's own account; nothing here can name another.
 */

export interface AssumeRoleTarget {
  account: string;
  roleName: string;
  externalId?: string;
  /** RoleSessionName (2-64 of `[\w+=,.@-]`): identifies the execution or the scan in the member's CloudTrail. */
  sessionName: string;
  /** Region of the STS endpoint (the regional endpoint; credentials work in every region). */
  region: string;
  partition?: string;
  durationSeconds?: number;
}

/** Credentials are renewed this long before they expire (an execution's later steps reuse them). */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * A credentials provider that calls AssumeRole once and again only when the credentials are within
 * five minutes of expiring. Concurrent callers share one in-flight call.
 */
export function assumeRoleCredentials(
  home: AwsClients,
  target: AssumeRoleTarget,
  now: () => number = Date.now,
): () => Promise<StaticCredentials> {
  let current: StaticCredentials | undefined;
  let inflight: Promise<StaticCredentials> | undefined;
  const roleArn = memberRoleArn(target.account, target.roleName, target.partition);
  return async () => {
    if (current?.expiration && current.expiration.getTime() - now() > RENEW_BEFORE_MS) return current;
    inflight ??= (async () => {
      try {
        const r = await home.get(STSClient, target.region).send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: target.sessionName.replace(/[^\w+=,.@-]/g, '_').slice(0, 64),
            ...(target.externalId ? { ExternalId: target.externalId } : {}),
            DurationSeconds: target.durationSeconds ?? 900,
          }),
        );
        const c = r.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey)
          throw new Error(`sts:AssumeRole of ${roleArn} returned no credentials`);
        current = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
          ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
        };
        return current;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
}

/** Clients acting as `roleName` in `account` (created once per account, role and session). */
export function assumedClients(home: AwsClients, target: AssumeRoleTarget): AwsClients {
  const key = `${target.account}/${target.roleName}/${target.sessionName}`;
  return home.withCredentials(key, assumeRoleCredentials(home, target));
}

export class CrossAccountError extends Error {
  override name = 'CrossAccountError';
}

/**
 * The clients a workflow step uses for the event's resource: in single-account mode the home clients;
 * in organization mode the member role (`collector` for reads, `remediation` for writes) of the
 * event's own account, with a session named after the execution.
 */
export function eventClients(deps: Deps, event: NormalizedEvent, purpose: MemberRolePurpose): AwsClients {
  if (!orgEnabled(deps.config)) return deps.clients;
  const org = deps.config.organization;
  return assumedClients(deps.clients, {
    account: event.account,
    roleName: org.memberRoleNames[purpose],
    ...(org.externalId ? { externalId: org.externalId } : {}),
    sessionName: roleSessionName(executionName(event.eventId)),
    region: event.region,
  });
}
