/**
 * Lambda managed runtimes and their deprecation dates, as data (LAMBDA.RUNTIME.DEPRECATED reads it).
 *
 * Source: "Lambda runtimes", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
 * (tables "Supported runtimes" and "Deprecated runtimes"), looked up on 2026-11-26. The stored copy of
 * the AWS page available that day shows only the page's opening paragraphs, not its tables, so every
 * date below was taken from copies of those tables that cite the AWS page: the most recent one says
 * it was checked in October 2026; older ones (May to August 2026) agree on the deprecation dates and
 * show that AWS has moved the block dates of deprecated runtimes later twice in 2026 (for example
 * python3.9: blocks first 2026-08-31 / 2026-09-30, then 2027-02-01 / 2027-03-03, then 2027-07-29 /
 * 2027-08-31). Entries whose dates only one copy shows say so in `note`. AWS moves these dates:
 * update this table, with the date you looked it up, when AWS announces a change.
 *
 * `deprecation`: the day Lambda stops patching the runtime. `blockCreate` / `blockUpdate`: from that
 * day CreateFunction / UpdateFunctionCode|Configuration with this runtime fail (null: not recorded).
 */
export interface RuntimeDeprecation {
  runtime: string;
  /** ISO date (UTC day). */
  deprecation: string;
  blockCreate: string | null;
  blockUpdate: string | null;
  /** What to move to. */
  upgradeTo: string;
  note?: string;
}

export const RUNTIME_DEPRECATIONS_SOURCE = {
  url: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html',
  lookedUp: '2026-11-26',
} as const;

/** Dates from the October 2026 copy of the AWS tables (see the header). */
const OCT_2026 = 'dates from a copy of the AWS tables checked in October 2026; verify on the AWS page';

export const RUNTIME_DEPRECATIONS: readonly RuntimeDeprecation[] = [
  // Supported runtimes with a scheduled deprecation.
  {
    runtime: 'nodejs24.x',
    deprecation: '2028-04-30',
    blockCreate: '2028-06-01',
    blockUpdate: '2028-07-01',
    upgradeTo: 'a newer Node.js runtime when one is available',
    note: OCT_2026,
  },
  {
    runtime: 'nodejs22.x',
    deprecation: '2027-04-30',
    blockCreate: '2027-06-01',
    blockUpdate: '2027-07-01',
    upgradeTo: 'nodejs24.x',
  },
  {
    runtime: 'python3.14',
    deprecation: '2029-06-30',
    blockCreate: '2029-07-31',
    blockUpdate: '2029-08-31',
    upgradeTo: 'a newer Python runtime when one is available',
    note: OCT_2026,
  },
  {
    runtime: 'python3.13',
    deprecation: '2029-06-30',
    blockCreate: '2029-07-31',
    blockUpdate: '2029-08-31',
    upgradeTo: 'python3.14',
    note: OCT_2026,
  },
  {
    runtime: 'python3.12',
    deprecation: '2028-10-31',
    blockCreate: '2028-11-30',
    blockUpdate: '2029-01-10',
    upgradeTo: 'python3.13 or python3.14',
  },
  {
    runtime: 'python3.11',
    deprecation: '2027-06-30',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'python3.13 or python3.14',
    note: OCT_2026,
  },
  {
    runtime: 'python3.10',
    deprecation: '2026-10-31',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'python3.13 or python3.14',
    note: OCT_2026,
  },
  {
    runtime: 'java25',
    deprecation: '2029-06-30',
    blockCreate: null,
    blockUpdate: '2029-08-31',
    upgradeTo: 'a newer Java runtime when one is available',
    note: 'not in the October 2026 copy; deprecation date from a 2026 copy of the supported-runtimes table, block-create date not found; verify on the AWS page',
  },
  {
    runtime: 'java21',
    deprecation: '2029-06-30',
    blockCreate: '2029-07-31',
    blockUpdate: '2029-08-31',
    upgradeTo: 'java25',
    note: OCT_2026,
  },
  {
    runtime: 'java17',
    deprecation: '2027-06-30',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'java21 or java25 (Amazon Linux 2023)',
    note: OCT_2026,
  },
  {
    runtime: 'java11',
    deprecation: '2027-06-30',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'java21 or java25 (Amazon Linux 2023)',
    note: OCT_2026,
  },
  {
    runtime: 'java8.al2',
    deprecation: '2027-06-30',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'java21 or java25 (Amazon Linux 2023)',
    note: OCT_2026,
  },
  {
    runtime: 'dotnet10',
    deprecation: '2028-11-14',
    blockCreate: '2028-12-14',
    blockUpdate: '2029-01-15',
    upgradeTo: 'a newer .NET runtime when one is available',
    note: OCT_2026,
  },
  {
    runtime: 'ruby3.4',
    deprecation: '2028-03-31',
    blockCreate: '2028-04-30',
    blockUpdate: '2028-05-31',
    upgradeTo: 'a newer Ruby runtime when one is available',
    note: OCT_2026,
  },
  {
    runtime: 'ruby3.3',
    deprecation: '2027-03-31',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'ruby3.4',
    note: OCT_2026,
  },
  {
    runtime: 'provided.al2023',
    deprecation: '2029-06-30',
    blockCreate: '2029-07-31',
    blockUpdate: '2029-08-31',
    upgradeTo: 'a newer OS-only runtime when one is available',
    note: OCT_2026,
  },
  // Deprecated runtimes (newest first per language).
  {
    runtime: 'nodejs20.x',
    deprecation: '2026-04-30',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
    note: OCT_2026,
  },
  {
    runtime: 'nodejs18.x',
    deprecation: '2025-09-01',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
    note: OCT_2026,
  },
  {
    runtime: 'nodejs16.x',
    deprecation: '2024-06-12',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
    note: OCT_2026,
  },
  {
    runtime: 'nodejs14.x',
    deprecation: '2023-12-04',
    blockCreate: '2024-01-09',
    blockUpdate: '2027-08-31',
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
    note: OCT_2026,
  },
  {
    runtime: 'nodejs12.x',
    deprecation: '2023-03-31',
    blockCreate: '2023-03-31',
    blockUpdate: '2023-04-30',
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
    note: 'one copy of the AWS deprecated-runtimes table (2026); verify on the AWS page',
  },
  {
    runtime: 'python3.9',
    deprecation: '2025-12-15',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'python3.13 or python3.14',
    note: OCT_2026,
  },
  {
    runtime: 'python3.8',
    deprecation: '2024-10-14',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'python3.13 or python3.14',
    note: OCT_2026,
  },
  {
    runtime: 'python3.7',
    deprecation: '2023-12-04',
    blockCreate: '2024-01-09',
    blockUpdate: '2027-08-31',
    upgradeTo: 'python3.13 or python3.14',
    note: OCT_2026,
  },
  {
    runtime: 'java8',
    deprecation: '2024-01-08',
    blockCreate: '2024-02-08',
    blockUpdate: '2027-08-31',
    upgradeTo: 'java21 or java25',
    note: OCT_2026,
  },
  {
    runtime: 'dotnet8',
    deprecation: '2026-11-10',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'dotnet10',
    note: OCT_2026,
  },
  {
    runtime: 'dotnet6',
    deprecation: '2024-12-20',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'dotnet10',
    note: OCT_2026,
  },
  {
    runtime: 'ruby3.2',
    deprecation: '2026-03-31',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'ruby3.4',
    note: OCT_2026,
  },
  {
    runtime: 'provided.al2',
    deprecation: '2026-07-31',
    blockCreate: '2027-07-29',
    blockUpdate: '2027-08-31',
    upgradeTo: 'provided.al2023',
    note: 'dates from a copy of the AWS tables checked in October 2026 (an older copy says 2026-06-30 for the deprecation); verify on the AWS page',
  },
  {
    runtime: 'go1.x',
    deprecation: '2024-01-08',
    blockCreate: '2024-02-08',
    blockUpdate: '2027-08-31',
    upgradeTo: 'provided.al2023 (Go builds a bootstrap binary)',
    note: OCT_2026,
  },
  {
    runtime: 'provided',
    deprecation: '2024-01-08',
    blockCreate: '2024-02-08',
    blockUpdate: '2027-08-31',
    upgradeTo: 'provided.al2023',
    note: OCT_2026,
  },
];

/** The deprecation entry of a runtime identifier, if the table has one. */
export function runtimeDeprecation(runtime: string): RuntimeDeprecation | undefined {
  return RUNTIME_DEPRECATIONS.find((r) => r.runtime === runtime);
}
