/**
 * Lambda managed runtimes and their deprecation dates, as data (LAMBDA.RUNTIME.DEPRECATED reads it).
 *
 * Source: "Lambda runtimes", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
 * (tables "Supported runtimes" and "Deprecated runtimes"), looked up on 2026-11-26. Where the AWS page
 * could not be read in full that day, the date was cross-checked against copies that cite it; such
 * entries say so in `note`. AWS moves these dates (it has extended block dates before): update this
 * table, with the date you looked it up, when AWS announces a change.
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

const LATER_CHECK = 'date cross-checked against secondary copies of the AWS table; verify on the AWS page';

export const RUNTIME_DEPRECATIONS: readonly RuntimeDeprecation[] = [
  // Supported runtimes with a scheduled deprecation.
  {
    runtime: 'nodejs24.x',
    deprecation: '2028-04-30',
    blockCreate: null,
    blockUpdate: '2028-07-01',
    upgradeTo: 'a newer Node.js runtime when one is available',
    note: LATER_CHECK,
  },
  {
    runtime: 'nodejs22.x',
    deprecation: '2027-04-30',
    blockCreate: '2027-06-01',
    blockUpdate: '2027-07-01',
    upgradeTo: 'nodejs24.x',
  },
  {
    runtime: 'nodejs20.x',
    deprecation: '2026-04-30',
    blockCreate: '2026-08-31',
    blockUpdate: '2026-09-30',
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
  },
  {
    runtime: 'python3.14',
    deprecation: '2029-06-30',
    blockCreate: null,
    blockUpdate: '2029-08-31',
    upgradeTo: 'a newer Python runtime when one is available',
    note: LATER_CHECK,
  },
  {
    runtime: 'python3.13',
    deprecation: '2029-06-30',
    blockCreate: null,
    blockUpdate: '2029-08-31',
    upgradeTo: 'python3.14',
    note: LATER_CHECK,
  },
  {
    runtime: 'java25',
    deprecation: '2029-06-30',
    blockCreate: null,
    blockUpdate: '2029-08-31',
    upgradeTo: 'a newer Java runtime when one is available',
    note: LATER_CHECK,
  },
  {
    runtime: 'ruby3.4',
    deprecation: '2028-03-31',
    blockCreate: null,
    blockUpdate: '2028-05-31',
    upgradeTo: 'a newer Ruby runtime when one is available',
    note: LATER_CHECK,
  },
  {
    runtime: 'dotnet10',
    deprecation: '2028-11-14',
    blockCreate: null,
    blockUpdate: '2029-01-15',
    upgradeTo: 'a newer .NET runtime when one is available',
    note: LATER_CHECK,
  },
  // Deprecated runtimes.
  {
    runtime: 'nodejs18.x',
    deprecation: '2025-09-01',
    blockCreate: null,
    blockUpdate: null,
    upgradeTo: 'nodejs24.x (or nodejs22.x)',
    note: LATER_CHECK,
  },
  {
    runtime: 'python3.9',
    deprecation: '2025-12-15',
    blockCreate: null,
    blockUpdate: null,
    upgradeTo: 'python3.13 or python3.14',
    note: LATER_CHECK,
  },
];

/** The deprecation entry of a runtime identifier, if the table has one. */
export function runtimeDeprecation(runtime: string): RuntimeDeprecation | undefined {
  return RUNTIME_DEPRECATIONS.find((r) => r.runtime === runtime);
}
