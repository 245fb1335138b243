import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../../functions/core/config.ts';
import { evaluate } from '../../functions/core/evaluate.ts';
import { allActions } from '../../functions/core/iam/catalog.ts';
import { IAM_NOW, lastAccessed, roleSnapshot } from '../../test/unit/iam-helpers.ts';

/**
 * IAM rewrite benchmark (issue 3): every AWS managed policy in test/fixtures/iam-policies (1,643),
 * attached to a Lambda execution role as AWS-managed, analyzed and rewritten by the real rule path:
 * evaluate() with the three IAM.ROLE rules (URL-decoding, catalog expansion, the planner, size checks,
 * plan steps and proofs). The usage evidence is the same typical function for every policy: logs,
 * DynamoDB with action-level data (GetItem, PutItem, Query used; DeleteTable tracked, unused), S3 and
 * SQS at service level, SNS used long ago. Prints total time, median and p99 per policy (one warm-up
 * pass first, so the catalog decoding is reported separately), the slowest policies, and peak memory
 * (process.resourceUsage().maxRSS and sampled heap). Prints numbers, asserts nothing.
 */

const CORPUS = fileURLToPath(
  new URL('../../test/fixtures/iam-policies/aws-managed-policies.jsonl', import.meta.url),
);
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.parse(IAM_NOW) - days * DAY).toISOString();

const USAGE = lastAccessed({
  logs: { last: ago(0) },
  dynamodb: {
    last: ago(1),
    actions: { GetItem: ago(1), PutItem: ago(2), Query: ago(3), DeleteTable: null, DescribeTable: ago(200) },
  },
  s3: { last: ago(1) },
  sqs: { last: ago(5) },
  sns: { last: ago(300) },
});

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

export async function benchIam() {
  const policies = readFileSync(CORPUS, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { name: string; arn: string | null; document: unknown });
  let peakHeap = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const catalogSize = allActions().length;
  const decodeMs = performance.now() - t0;
  const snapshots = policies.map((p) => {
    // A few corpus records carry no ARN: AWS-managed ARNs are derived from the name.
    const arn = p.arn ?? `arn:aws:iam::aws:policy/${p.name}`;
    const s = roleSnapshot({ managed: [{ arn, document: p.document }] });
    s.responses['GetServiceLastAccessedDetails'] = USAGE;
    return s;
  });
  const pass = () => {
    const times: number[] = [];
    let findings = 0;
    let plans = 0;
    let blocked = 0;
    for (const snapshot of snapshots) {
      // A fresh copy: the rule analysis is memoized per snapshot object.
      const s = { ...snapshot, responses: { ...snapshot.responses } };
      const t = performance.now();
      const e = evaluate({ snapshot: s, config: DEFAULT_CONFIG, now: IAM_NOW });
      times.push(performance.now() - t);
      findings += e.findings.length;
      const carriers = e.findings.filter((f) => f.evidence['rewrite']);
      plans += carriers.filter((f) => f.plan.steps.length).length;
      blocked += carriers.filter((f) => !f.plan.steps.length).length;
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    return { times, findings, plans, blocked };
  };
  pass(); // warm-up: JIT, pattern expansion caches
  const start = performance.now();
  const { times, findings, plans, blocked } = pass();
  const total = performance.now() - start;
  const sorted = [...times].sort((a, b) => a - b);
  const slowest = times
    .map((t, i) => [t, policies[i].name] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 3);
  console.log(
    '\n## IAM rewrite (evaluate() with the IAM.ROLE rules, every AWS managed policy attached to a Lambda role)',
  );
  console.log(
    `policies: ${policies.length}; catalog: ${catalogSize} actions decoded in ${decodeMs.toFixed(1)} ms`,
  );
  console.log(
    `findings: ${findings}; rewrites planned: ${plans}; rewrites blocked (size, empty, versions): ${blocked}`,
  );
  console.log(
    `total ${total.toFixed(0)} ms; per policy median ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`,
  );
  console.log(`slowest: ${slowest.map(([t, n]) => `${n} ${t.toFixed(1)} ms`).join(', ')}`);
  console.log(
    `peak memory: maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, heap ${(peakHeap / 1024 / 1024).toFixed(0)} MB (sampled per policy)`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchIam();
