import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import type { EmailMessage } from '../../functions/core/approval-render.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { stepLine } from '../../functions/core/render.ts';
import { emulatorClientConfig, REPO_ROOT } from './emulator.ts';
import { LocalGuardrail } from './runtime.ts';
import { DEMO_ACCOUNT, DEMO_REGION, ensureRole, seedFunction } from './seed.ts';

/**
 * The demo's execution-role scenario (`npm run demo`, docs/iam-roles.md): a function whose role has an
 * inline policy with `Action: "*"`. The emulator has no Access Advisor: the local runtime injects a
 * recorded-shape GetServiceLastAccessedDetails response for this one role (scripts/local/fixtures/,
 * dates shifted to now) and the demo says so. It has no Access Analyzer either: the proof is
 * UNAVAILABLE, so the rewrite needs approval; `--approve` approves it through the page and the
 * rewritten policy is applied on the emulator. Throws if anything is not as expected.
 */

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const DEMO_ROLE = 'orders-worker-role';
const FIXTURE = join(REPO_ROOT, 'scripts', 'local', 'fixtures', 'demo-last-accessed.json');
const DATE_KEYS = new Set(['JobCreationDate', 'JobCompletionDate', 'LastAuthenticated', 'LastAccessedTime']);

/** The recorded response with every date moved by the same amount, so the job completes at `now`. */
export function recordedEvidence(now: Date): unknown {
  const { _comment: _, ...raw } = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  const shift = now.getTime() - Date.parse(String(raw['JobCompletionDate']));
  const move = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(move);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [
          k,
          DATE_KEYS.has(k) && typeof x === 'string' ? new Date(Date.parse(x) + shift).toISOString() : move(x),
        ]),
      );
    return v;
  };
  return move(raw);
}

function iamEvent(eventName: string, requestParameters: Record<string, unknown>) {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: DEMO_ACCOUNT,
    time,
    region: 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: {
        type: 'IAMUser',
        arn: `arn:aws:iam::${DEMO_ACCOUNT}:user/alice`,
        accountId: DEMO_ACCOUNT,
        userName: 'alice',
      },
      eventTime: time,
      eventSource: 'iam.amazonaws.com',
      eventName,
      awsRegion: 'us-east-1',
      sourceIPAddress: '198.51.100.7',
      userAgent: 'aws-cli/2.15.0',
      requestParameters,
      responseElements: null,
      requestID: crypto.randomUUID(),
      eventID: crypto.randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: DEMO_ACCOUNT,
      eventCategory: 'Management',
    },
  };
}

const summarize = (doc: string) => {
  const d = JSON.parse(decodeURIComponent(doc)) as {
    Statement: { Effect: string; Action?: string | string[] }[];
  };
  const st = [d.Statement].flat();
  const actions = st.flatMap((s) => (s.Effect === 'Allow' ? [s.Action ?? []].flat() : []));
  const services = [...new Set(actions.map((a) => (a === '*' ? '*' : a.split(':')[0])))].sort();
  return `${actions.length} allowed action(s)${actions.includes('*') ? ' including "*"' : ''} (services: ${services.join(', ')})`;
};

export async function roleScenario(
  io: Io,
  endpoint: string,
  opts: {
    autoApprove: boolean;
    approvers: string[];
    approvalSeconds: number;
    approve: (io: Io, link: string, comment: string) => Promise<void>;
    printRecord: (io: Io, record: LedgerRecord | undefined) => void;
  },
): Promise<number> {
  io.out('\n== Scenario 6: an execution role that allows every action (Action "*") ==');
  const roleArn = `arn:aws:iam::${DEMO_ACCOUNT}:role/${DEMO_ROLE}`;
  const links: EmailMessage[] = [];
  const guardrail = new LocalGuardrail({
    endpoint,
    region: DEMO_REGION,
    logLevel: 'SILENT',
    config: {
      approvers: opts.approvers,
      approvalSender: 'lambda-guardrail@example.com',
      ...(opts.autoApprove ? {} : { approvalTimeoutHours: opts.approvalSeconds / 3600 }),
    },
    approvals: { onEmail: (m) => links.push(m) },
    recordedEvidence: { [roleArn]: recordedEvidence(new Date()) },
  });
  const iam = new IAMClient(emulatorClientConfig(endpoint, DEMO_REGION));
  try {
    await guardrail.setup();
    await seedFunction(endpoint, { name: 'orders-worker', role: await ensureRole(endpoint, DEMO_ROLE) });
    const admin = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' }],
    };
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: DEMO_ROLE,
        PolicyName: 'worker',
        PolicyDocument: JSON.stringify(admin),
      }),
    );
    const before = (await iam.send(new GetRolePolicyCommand({ RoleName: DEMO_ROLE, PolicyName: 'worker' })))
      .PolicyDocument!;
    io.out(
      `seeded function orders-worker with role ${DEMO_ROLE}; inline policy worker: ${summarize(before)}`,
    );
    io.out(
      'evidence: the emulator has no IAM Access Advisor, so the local runtime injects a recorded-shape GetServiceLastAccessedDetails response for this role (scripts/local/fixtures/demo-last-accessed.json, dates shifted to now): SQS and SNS used, S3, EC2 and IAM never',
    );
    io.out(
      'proof: the emulator has no Access Analyzer either, so the proof is UNAVAILABLE and the rewrite needs approval',
    );

    const r = await guardrail.ingest(
      iamEvent('PutRolePolicy', {
        roleName: DEMO_ROLE,
        policyName: 'worker',
        policyDocument: JSON.stringify(admin),
      }),
    );
    if (r.status !== 'started') throw new Error(`ingest did not start an execution: ${r.status}`);
    const name = r.executionName!;
    io.out(
      `event PutRolePolicy -> ingest: started; execution ${name}: ${guardrail.executions.get(name)?.status}`,
    );
    for (const m of links) io.out(`approval link for ${m.to}: ${m.link}`);
    if (opts.autoApprove) {
      if (!links[0]?.link) throw new Error('no approval email was sent for the role rewrite');
      io.out(`--approve: deciding as ${links[0].to}, through the page`);
      await opts.approve(io, links[0].link, 'rewrite approved by the demo (--approve)');
    } else {
      io.out(
        `Open an approval link above and press Approve or Reject (waiting ${opts.approvalSeconds} s; run with --approve to decide automatically).`,
      );
    }
    const done = await guardrail.completion(name)!;
    io.out(`  execution ${name}: ${done.status}, states ${done.states.join(' > ')}`);
    const record = await guardrail.ledgerRecord(name);
    opts.printRecord(io, record);
    for (const f of record?.findings ?? [])
      if (f.proof)
        io.out(
          `  proof of ${f.ruleId}: ${f.proof.status} (${f.proof.checks
            .map((c) => c.reason)
            .filter(Boolean)
            .join('; ')})`,
        );
    const after = (await iam.send(new GetRolePolicyCommand({ RoleName: DEMO_ROLE, PolicyName: 'worker' })))
      .PolicyDocument!;
    io.out(`after: inline policy worker: ${summarize(after)}`);
    const applied = (record?.remediation?.steps ?? []).filter((s) => s.status === 'applied');
    for (const s of applied) io.out(`  applied: ${stepLine(s)} (original kept in the ledger for rollback)`);
    if (opts.autoApprove && (done.status !== 'SUCCEEDED' || !applied.length || after === before))
      throw new Error('the approved rewrite was not applied');
    return done.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await guardrail.close();
  }
}
