import type { Confidence } from './types.ts';
import {
  decodeJsonSegment,
  isPlaceholder,
  isPlaceholderPart,
  isTemplatePart,
  looksRandom,
} from './values.ts';

/**
 * Known credential formats, written from the vendors' published token formats. Each pattern finds
 * the credential anywhere in a value (a token inside a header, a URL, a config blob). Matches whose
 * variable part is a documentation placeholder (`EXAMPLE`, `xxxx`, `****`, `<...>`, `${...}`) are
 * not findings.
 */
export interface FormatRule {
  id: string;
  /** Human readable name of the format, for reasons. Never echoes the value. */
  label: string;
  pattern: RegExp;
  confidence?: Confidence;
  /** Extra check on a match (e.g. the JWT header decodes to JSON); `false` drops the match. */
  validate?: (m: RegExpMatchArray) => boolean;
}

const B = '(?<![A-Za-z0-9])';
const E = '(?![A-Za-z0-9])';
const re = (s: string, flags = '') => new RegExp(s, flags);

/** The part of a `user:password` pair or a connection-string field that would be the secret. */
function passwordIsReal(password: string, user?: string): boolean {
  const p = password.trim();
  if (p.length < 4) return false;
  if (user !== undefined && p === user) return false; // mongodb:mongodb@localhost: a local default
  return !isPlaceholder(p) && !isTemplatePart(p) && !/[$%]\{|\$\(/.test(p);
}

export const FORMAT_RULES: FormatRule[] = [
  {
    id: 'private-key',
    label: 'a PEM/OpenSSH private key block',
    pattern: /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----([\s\S]{0,200})/,
    validate: (m) => /[A-Za-z0-9+/]{20,}/.test(m[1]) && !isPlaceholderPart(m[1]),
  },
  {
    id: 'private-key',
    label: 'a PuTTY private key file',
    pattern: /PuTTY-User-Key-File-\d+:[\s\S]{0,4096}?Private-Lines:\s*\d+/,
  },
  {
    id: 'aws-access-key-id',
    label: 'an AWS access key id',
    pattern: re(`${B}(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}${E}`),
  },
  {
    id: 'aws-secret-access-key',
    label: 'an AWS secret access key assignment',
    pattern: /aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/i,
  },
  {
    id: 'github-token',
    label: 'a GitHub token',
    pattern:
      /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9_.-]{36,255}|github_pat_[A-Za-z0-9_]{70,255})(?![A-Za-z0-9_])/,
  },
  {
    id: 'gitlab-token',
    label: 'a GitLab token',
    pattern: re(
      `${B}(?:(?:glpat|gldt|glsoat|glrt|glcbt|glft|glffct)-[\\w-]{20,50}|glimt-[\\w-]{25}|glptt-[\\w-]{40}|glagent-[\\w-]{50,1024}|gloas-[\\w-]{64}|GR1348941[\\w-]{20,50})(?![\\w-])`,
    ),
  },
  {
    id: 'slack-token',
    label: 'a Slack token',
    pattern: re(
      `${B}(?:xox[abposre]-(?:\\d+-)?[0-9A-Za-z-]{8,}|xapp-\\d-[A-Za-z0-9]{8,64}-\\d{6,}(?:-[a-z0-9]+)?)`,
    ),
  },
  {
    id: 'slack-webhook',
    label: 'a Slack incoming webhook URL',
    pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{12,}/,
  },
  {
    id: 'stripe-secret-key',
    label: 'a Stripe secret or restricted key',
    pattern: re(`${B}(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,247}${E}`),
  },
  {
    id: 'stripe-webhook-secret',
    label: 'a Stripe webhook signing secret',
    pattern: re(`${B}whsec_[A-Za-z0-9+/]{24,}={0,2}`),
  },
  {
    id: 'sendgrid-api-key',
    label: 'a SendGrid API key',
    pattern: /SG\.[\w-]{22}\.[\w-]{43}/,
  },
  {
    id: 'twilio-api-key',
    label: 'a Twilio API key SID',
    pattern: re(`${B}SK[0-9a-fA-F]{32}${E}`),
    confidence: 'medium',
  },
  {
    id: 'openai-api-key',
    label: 'an OpenAI API key',
    pattern: re(`${B}sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{16,256}T3BlbkFJ[A-Za-z0-9_-]{16,256}`),
  },
  {
    id: 'anthropic-api-key',
    label: 'an Anthropic API key',
    pattern: re(`${B}sk-ant-(?:api|admin)\\d{2}-[A-Za-z0-9_-]{80,}`),
  },
  {
    id: 'npm-token',
    label: 'an npm access token',
    pattern: re(`${B}npm_[A-Za-z0-9]{36}${E}`),
  },
  {
    id: 'npm-token',
    label: 'an .npmrc registry credential',
    pattern: /\/\/[^\s/:]{1,256}(?:\/[^\s:]{0,256})?\/:_(?:authToken|password|auth)\s*=\s*([^\s"']+)/,
    validate: (m) => !isPlaceholder(m[1]) && !isTemplatePart(m[1]),
  },
  {
    id: 'jwt',
    label: 'a JSON Web Token',
    pattern: /(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,1024})\.(eyJ[A-Za-z0-9_-]{4,})(?:\.[A-Za-z0-9_-]*)?/,
    validate: (m) => {
      const header = decodeJsonSegment(m[1]) as Record<string, unknown> | undefined;
      const payload = decodeJsonSegment(m[2]);
      return !!header && typeof header === 'object' && ('alg' in header || 'typ' in header) && !!payload;
    },
  },
  {
    id: 'google-api-key',
    label: 'a Google API key',
    pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/,
  },
  {
    id: 'huggingface-token',
    label: 'a Hugging Face token',
    pattern: re(`(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{34}${E}`),
  },
  {
    id: 'shopify-token',
    label: 'a Shopify access token',
    pattern: re(`${B}shp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,}`),
  },
  {
    id: 'databricks-token',
    label: 'a Databricks token',
    pattern: re(`${B}dapi[0-9a-fA-F]{32}(?:-\\d)?${E}`),
  },
  { id: 'docker-pat', label: 'a Docker Hub access token', pattern: re(`${B}dckr_pat_[A-Za-z0-9_-]{27,}`) },
  { id: 'figma-token', label: 'a Figma token', pattern: re(`${B}figd_[A-Za-z0-9_-]{40,}`) },
  {
    id: 'grafana-token',
    label: 'a Grafana token',
    pattern: re(`${B}(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}${E})`),
  },
  { id: 'groq-api-key', label: 'a Groq API key', pattern: re(`${B}gsk_[A-Za-z0-9]{52}(?![A-Za-z0-9_-])`) },
  { id: 'vault-token', label: 'a HashiCorp Vault token', pattern: re(`${B}hv[sbr]\\.[A-Za-z0-9_-]{24,}`) },
  { id: 'linear-api-key', label: 'a Linear API key', pattern: re(`${B}lin_api_[A-Za-z0-9]{40}${E}`) },
  { id: 'notion-token', label: 'a Notion token', pattern: re(`${B}ntn_\\d{11}[A-Za-z0-9]{35}${E}`) },
  {
    id: 'tailscale-key',
    label: 'a Tailscale key',
    pattern: /(?<![A-Za-z])tskey-[a-z]{1,32}-[A-Za-z0-9]{6,128}-[A-Za-z0-9]{6,}/,
  },
  { id: 'vercel-token', label: 'a Vercel token', pattern: re(`${B}vc[aikpr]_[A-Za-z0-9]{24,}`) },
  {
    id: 'cloudflare-token',
    label: 'a Cloudflare API token',
    pattern: re(`${B}cf(?:at|k|ut)_[A-Za-z0-9]{40}[0-9a-f]{8}${E}`),
  },
  {
    id: '1password-token',
    label: 'a 1Password service account token',
    pattern: /ops_eyJ[A-Za-z0-9+/=_-]{100,}/,
  },
  { id: 'pypi-token', label: 'a PyPI API token', pattern: /pypi-AgE[A-Za-z0-9_-]{100,}/ },
  { id: 'mailchimp-api-key', label: 'a Mailchimp API key', pattern: re(`${B}[0-9a-f]{32}-us\\d{1,2}${E}`) },
  {
    id: 'telegram-bot-token',
    label: 'a Telegram bot token',
    pattern: /(?<![A-Za-z0-9:])\d{8,10}:AA[0-9A-Za-z_-]{33}(?![A-Za-z0-9_-])/,
  },
  {
    id: 'discord-bot-token',
    label: 'a Discord bot token',
    pattern: /(?<![A-Za-z0-9_-])[MNOA][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}/,
  },
  {
    id: 'square-token',
    label: 'a Square access token or OAuth secret',
    pattern: /(?:sq0csp-[0-9A-Za-z\\_-]{43}|sq0atp-[0-9A-Za-z\\_-]{22})/,
  },
  {
    id: 'basic-auth',
    label: 'an HTTP Basic authorization header',
    pattern: /\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/,
    validate: (m) => {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0 || !/^[\x20-\x7e]+$/.test(decoded)) return false;
      return passwordIsReal(decoded.slice(i + 1), decoded.slice(0, i));
    },
  },
  {
    id: 'bearer-token',
    label: 'an HTTP Bearer authorization header with a random-looking token',
    pattern: /\bBearer\s+([A-Za-z0-9._~+/-]{20,4096}=*)(?![A-Za-z0-9._~+/=-])/,
    validate: (m) => looksRandom(m[1], 20) && !isPlaceholder(m[1]),
  },
  {
    id: 'connection-string-password',
    label: 'a connection string with a password or account key',
    pattern: /(?:^|;)\s*(?:password|pwd|accountkey|sharedaccesskey)\s*=\s*([^;]*)/i,
    validate: (m) => passwordIsReal(m[1]),
  },
];

const DB_SCHEMES = new Set([
  'postgres',
  'postgresql',
  'mysql',
  'mysqlx',
  'mariadb',
  'mongodb',
  'mongodb+srv',
  'redis',
  'rediss',
  'valkey',
  'amqp',
  'amqps',
  'mssql',
  'sqlserver',
  'oracle',
  'cockroachdb',
  'clickhouse',
  'cassandra',
  'neo4j',
  'neo4j+s',
  'bolt',
  'memcached',
  'couchdb',
  'nats',
  'mqtt',
  'mqtts',
  'db2',
  'snowflake',
]);
const HTTP_SCHEMES = new Set(['http', 'https', 'ftp', 'ftps', 'sftp', 'ws', 'wss', 'webdav', 'dav']);

export interface FormatHit {
  id: string;
  label: string;
  confidence: Confidence;
}

/**
 * Credentials in URLs: `scheme://user:password@host`. The authority ends at the first `/`, `?`, `#`,
 * whitespace or quote; the user info ends at its last `@` (passwords may hold an unencoded `@`).
 */
export function findUrlCredential(value: string): FormatHit | undefined {
  const urlRe = /([A-Za-z][A-Za-z0-9+.-]{0,30}):\/\/([^\s/?#"'`<>]+)/g;
  for (const m of value.matchAll(urlRe)) {
    const scheme = m[1].toLowerCase().replace(/^jdbc:/, '');
    const authority = m[2];
    const at = authority.lastIndexOf('@');
    if (at < 0) continue;
    const userinfo = authority.slice(0, at);
    const host = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    if (colon < 0 || !host) continue;
    const user = userinfo.slice(0, colon);
    const password = userinfo.slice(colon + 1);
    if (!passwordIsReal(password, user)) continue;
    if (DB_SCHEMES.has(scheme)) {
      return { id: 'db-url-password', label: 'a database or cache URL with a password', confidence: 'high' };
    }
    if (HTTP_SCHEMES.has(scheme)) {
      return { id: 'basic-auth', label: 'a URL with a user name and password', confidence: 'high' };
    }
    return { id: 'url-password', label: 'a URL with a user name and password', confidence: 'high' };
  }
  return undefined;
}

const GLOBAL_RULES = FORMAT_RULES.map((rule) => ({
  rule,
  pattern: new RegExp(rule.pattern.source, `${rule.pattern.flags}g`),
}));

/** The first known credential format found in a value, if any. */
export function findFormat(value: string): FormatHit | undefined {
  for (const { rule, pattern } of GLOBAL_RULES) {
    for (const m of value.matchAll(pattern)) {
      if (isPlaceholderPart(m[0]) || (rule.validate && !rule.validate(m))) continue;
      return { id: rule.id, label: rule.label, confidence: rule.confidence ?? 'high' };
    }
  }
  return findUrlCredential(value);
}
