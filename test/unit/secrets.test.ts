// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${...}` framework variables are test input here
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DETECTOR_IDS,
  detectSecret,
  FINGERPRINT_PREFIX,
  fingerprint,
  scanEnvironment,
} from '../../functions/core/secrets/index.ts';
import { classifyName, nameWords } from '../../functions/core/secrets/names.ts';

/**
 * Secret detection (issue 4, detection half). Credential-shaped test values are generated here
 * (deterministic pseudo-random characters behind the real prefixes) rather than written out, so
 * the source holds no token a scanner would report.
 */

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789'; // no x/X: `xxxx` is a placeholder
const HEX = '0123456789abcdef';
let seed = 7;
function rand(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    s += alphabet[(seed >>> 16) % alphabet.length];
  }
  return s;
}
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('hard negatives: not findings', () => {
  it.each([
    // references to secrets
    ['DB_SECRET_ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf'],
    ['DB_PASSWORD', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf'],
    ['DB_PASSWORD', '{{resolve:secretsmanager:prod/db:SecretString:password}}'],
    ['DB_PASSWORD', '{{resolve:ssm-secure:/prod/db/password:3}}'],
    ['API_TOKEN', '{{resolve:ssm:/prod/api/token}}'],
    ['DB_PASSWORD', '/prod/db/password'],
    ['DB_PASSWORD_PARAM', 'prod-db-password'],
    ['API_KEY_PARAMETER_NAME', '/prod/api-key'],
    ['DB_SECRET_NAME', 'prod/db'],
    ['DB_SECRET_ID', 'prod/db-credentials-AbCdEf'],
    ['STRIPE_WEBHOOK_SECRET_ARN', '{"Ref": "WebhookSecretsManager"}'],
    ['WEBHOOK_SECRET', '{"Ref": "WebhookSecret"}'],
    ['CLIENT_SECRET', '{"Fn::GetAtt": "UserPoolClient.ClientSecret"}'],
    ['DB_URL', '{"Fn::Sub": "postgres://app:${DbPassword}@${DbHost}/app"}'],
    ['PASSWORD', '${self:custom.PASSWORD}'],
    ['CLIENT_SECRET', '${file(./config/${self:provider.stage}.yml):CLIENT_SECRET}'],
    ['GITHUB_TOKEN', '${ssm:githubToken}'],
    ['MONGO_DB_PASS', '${env:MONGO_DB_PASS}'],
    ['DB_PASSWORD', '$(DB_PASSWORD)'],
    ['DB_PASSWORD', '$DB_PASSWORD'],
    ['ENCRYPTED_DB_PASSWORD', `AQICAHh${rand(120)}==`],
    // other ARNs and URLs without credentials
    ['ROLE_ARN', 'arn:aws:iam::123456789012:role/service-role/my-function-role'],
    ['TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:alerts'],
    ['QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs'],
    ['TOKEN_URL', 'https://auth.example.com/oauth2/token'],
    ['DATABASE_URL', 'postgres://db.internal:5432/app'],
    ['REDIS_URL', 'redis://cache.internal:6379/0'],
    ['SENTRY_DSN', `https://${rand(32, HEX)}@o12345.ingest.sentry.io/678`],
    // UUIDs, commit hashes, image digests, public keys
    ['REQUEST_ID', 'b67a9bba-d9da-4980-bf74-baed881b117d'],
    ['API_TOKEN', 'b67a9bba-d9da-4980-bf74-baed881b117d'],
    ['KMS_KEY_ID', '1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['GIT_COMMIT', rand(40, HEX)],
    ['BUILD_SHA', rand(40, HEX)],
    ['IMAGE_DIGEST', `sha256:${rand(64, HEX)}`],
    ['SIGNING_KEY_DIGEST', `sha256:${rand(64, HEX)}`],
    ['CODE_SHA256', 'Pt1c8vVaBygmNtAeSyjlpdy7r8nHRqJAAL++HEGlQkc='],
    ['JWT_PUBLIC_KEY', `-----BEGIN PUBLIC KEY-----\n${rand(64)}\n-----END PUBLIC KEY-----`],
    ['SIGNING_KEY', `-----BEGIN PUBLIC KEY-----\n${rand(64)}\n-----END PUBLIC KEY-----`],
    ['DEPLOY_KEY', `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${rand(43)} deploy@ci`],
    ['STRIPE_PUBLISHABLE_KEY', `pk_live_${rand(24)}`],
    ['AUTH0_CLIENT_PUBLIC_KEY', rand(40)],
    ['JWKS_PUBLIC', JSON.stringify({ keys: [{ kty: 'RSA', kid: '1', n: rand(64), e: 'AQAB' }] })],
    ['TLS_CERT', `-----BEGIN CERTIFICATE-----\n${rand(64)}\n-----END CERTIFICATE-----`],
    // booleans, feature flags, numbers
    ['FEATURE_CHECKOUT_ENABLED', 'true'],
    ['AUTH_ENABLED', 'false'],
    ['USE_SECRETS_MANAGER', 'yes'],
    ['TOKEN_TTL', '3600'],
    ['SESSION_TOKEN_LIFETIME', '15m'],
    ['PASSWORD_MIN_LENGTH', '12'],
    ['PASSWORD_ITERATIONS', '4096'],
    ['PASSWORD_DERIVED_KEY_LENGTH', '256'],
    ['MYSQL_ALLOW_EMPTY_PASSWORD', 'yes'],
    ['PASSWORD', '12345678'],
    ['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', '2773'],
    // names of regions, tables, buckets, pools and clients
    ['AWS_REGION', 'us-east-1'],
    ['TABLE_NAME', 'orders-prod'],
    ['BUCKET', 'my-bucket-123456789012'],
    ['USER_POOL_ID', 'us-east-1_AbCdEfGhI'],
    ['USER_POOL_CLIENT_ID', '4n5b7c3d2e1f0g9h8i7j6k5l4m'],
    ['AUTH0_CLIENT_ID', 'Zk3j9Vx1Qm8Lr2Tp5Wn7Yb4Hc6Fd0Gs1'],
    ['TWILIO_ACCOUNT_SID', `AC${rand(32, HEX)}`],
    ['TOKENIZER_MODEL', 'bert-base-uncased'],
    ['S3_OBJECT_KEY', 'uploads/2024/report.csv'],
    ['PARTITION_KEY', 'pk'],
    ['CACHE_KEY_PREFIX', 'v2:users:'],
    ['AUTH_DOMAIN', 'auth.example.com'],
    ['TOKEN_HEADER', 'Authorization'],
    ['SECRETS_MANAGER_ENDPOINT', 'https://secretsmanager.us-east-1.amazonaws.com'],
    ['GOOGLE_APPLICATION_CREDENTIALS', '/var/task/service-account.json'],
    ['POWERTOOLS_SERVICE_NAME', 'payments'],
    ['JAVA_TOOL_OPTIONS', '-XX:+TieredCompilation -XX:TieredStopAtLevel=1'],
    ['ALARM_EMAIL', 'ops@example.com'],
    // placeholders
    ['DB_PASSWORD', 'changeme'],
    ['DB_PASSWORD', 'changeme123'],
    ['DB_PASSWORD', 'password'],
    ['DB_PASSWORD', '${DB_PASSWORD}'],
    ['DB_PASSWORD', '<db-password>'],
    ['API_KEY', 'xxx'],
    ['API_KEY', 'xxxxxxxxxxxxxxxxxxxxxxxx'],
    ['API_KEY', 'your-api-key-here'],
    ['API_KEY', 'example'],
    ['API_KEY', 'KEYEXAMPLE1234'],
    ['API_KEY', 'abc123'],
    ['GITHUB_WEBHOOK_SECRET', 'REPLACE-WITH-YOUR-SECRET-HERE'],
    ['TWILIO_AUTH_TOKEN', 'YOUR-TWILIO-AUTH-TOKEN-HERE'],
    ['GOOGLE_API_KEY', 'AIzaXXXX'],
    ['AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['DATABASE_URL', 'postgres://user:password@localhost:5432/app'],
    ['DATABASE_URL', 'mysql://user:${DB_PASSWORD}@db.internal:3306/app'],
    ['DATABASE_URL', 'postgres://postgres:postgres@localhost:5432/app'],
    ['SERVICE_BUS_CONNECTION_STRING', '<AzureServiceBusConnectionString>'],
    ['DB_PASSWORD', ''],
    ['DB_PASSWORD', '   '],
    // names that do not say secret
    ['GREETING', 'Zk3j9Vx1Qm8Lr2Tp5Wn7Yb4Hc6Fd0Gs1'],
    ['', 'Zk3j9Vx1Qm8Lr2Tp5Wn7Yb4Hc6Fd0Gs1'],
    ['NOT_SECRET', 'Zk3j9Vx1Qm8Lr2Tp'],
  ])('%s=%s', (name, value) => {
    expect(detectSecret(name, value)).toBeUndefined();
  });
});

describe('known credential formats', () => {
  const jwt = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '42', iat: 1 })}.${rand(43)}`;
  const basic = Buffer.from(`svc:${rand(16)}`).toString('base64');
  it.each([
    ['aws-access-key-id', 'ANY_NAME', `AKIA${rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWYZ234567')}`],
    ['aws-access-key-id', 'ANY_NAME', `ASIA${rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWYZ234567')}`],
    ['aws-secret-access-key', 'AWS_SECRET_ACCESS_KEY', rand(40)],
    ['aws-secret-access-key', 'CREDS_FILE', `[default]\naws_secret_access_key = ${rand(40)}\n`],
    ['github-token', 'X', `ghp_${rand(36)}`],
    ['github-token', 'X', `gho_${rand(36)}`],
    ['github-token', 'X', `github_pat_${rand(22)}_${rand(59)}`],
    ['gitlab-token', 'X', `glpat-${rand(20)}`],
    ['gitlab-token', 'X', `GR1348941${rand(20)}`],
    ['slack-token', 'X', `xoxb-${rand(11, HEX)}-${rand(13, HEX)}-${rand(24)}`],
    ['slack-token', 'X', `xoxp-${rand(11, HEX)}-${rand(11, HEX)}-${rand(12, HEX)}-${rand(32, HEX)}`],
    ['slack-webhook', 'X', `https://hooks.slack.com/services/T${rand(8)}/B${rand(8)}/${rand(24)}`],
    ['stripe-secret-key', 'X', `sk_live_${rand(24)}`],
    ['stripe-secret-key', 'X', `rk_test_${rand(24)}`],
    ['stripe-webhook-secret', 'X', `whsec_${rand(32)}`],
    ['sendgrid-api-key', 'X', `SG.${rand(22)}.${rand(43)}`],
    ['twilio-api-key', 'X', `SK${rand(32, HEX)}`],
    ['twilio-auth-token', 'TWILIO_AUTH_TOKEN', rand(32, HEX)],
    ['openai-api-key', 'X', `sk-proj-${rand(20)}T3BlbkFJ${rand(20)}`],
    ['openai-api-key', 'X', `sk-${rand(20)}T3BlbkFJ${rand(20)}`],
    ['npm-token', 'X', `npm_${rand(36)}`],
    ['npm-token', 'NPMRC', `//registry.npmjs.org/:_authToken=${rand(36)}`],
    ['datadog-api-key', 'DD_API_KEY', rand(32, HEX)],
    ['datadog-app-key', 'DATADOG_APP_KEY', rand(40, HEX)],
    [
      'private-key',
      'X',
      `-----BEGIN RSA PRIVATE KEY-----\n${rand(64)}\n${rand(64)}\n-----END RSA PRIVATE KEY-----`,
    ],
    ['private-key', 'X', `-----BEGIN PRIVATE KEY-----\\n${rand(64)}\\n-----END PRIVATE KEY-----`],
    [
      'private-key',
      'X',
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${rand(70)}\n-----END OPENSSH PRIVATE KEY-----`,
    ],
    ['private-key', 'X', `-----BEGIN EC PRIVATE KEY-----\n${rand(64)}\n-----END EC PRIVATE KEY-----`],
    ['jwt', 'X', jwt],
    ['jwt', 'AUTHORIZATION', `Bearer ${jwt}`],
    ['db-url-password', 'X', `postgres://app:${rand(16)}@db.internal:5432/app`],
    ['db-url-password', 'X', `postgresql://app:${rand(16)}@db.internal/app?sslmode=require`],
    ['db-url-password', 'X', `mysql://app:${rand(16)}@db.internal:3306/app`],
    ['db-url-password', 'X', `jdbc:mysql://app:${rand(16)}@db.internal:3306/app`],
    ['db-url-password', 'X', `mongodb://app:${rand(16)}@db1.internal:27017,db2.internal:27017/app`],
    ['db-url-password', 'X', `mongodb+srv://app:${rand(16)}@cluster0.abcde.mongodb.net/app`],
    ['db-url-password', 'X', `redis://:${rand(16)}@cache.internal:6379`],
    ['db-url-password', 'X', `rediss://default:${rand(16)}@cache.internal:6380`],
    ['db-url-password', 'X', `amqp://app:${rand(16)}@mq.internal:5672/vhost`],
    ['basic-auth', 'X', `https://deploy:${rand(16)}@artifacts.internal/repo`],
    ['basic-auth', 'AUTH_HEADER', `Basic ${basic}`],
    ['bearer-token', 'HEADERS', `Authorization: Bearer ${rand(40)}`],
    [
      'connection-string-password',
      'SQL_CONN',
      `Server=tcp:db.internal,1433;Database=app;User ID=app;Password=${rand(16)};Encrypt=true`,
    ],
    ['json-password', 'DB_CONFIG', JSON.stringify({ host: 'db.internal', user: 'app', password: rand(16) })],
    ['json-password', 'APP_CONFIG', JSON.stringify({ db: { credentials: { password: 'hunter2!' } } })],
    ['stripe-secret-key', 'APP_CONFIG', JSON.stringify({ payments: { key: `sk_live_${rand(24)}` } })],
    [
      'private-key',
      'JWKS',
      JSON.stringify({ keys: [{ kty: 'RSA', kid: '1', n: rand(64), e: 'AQAB', d: rand(64) }] }),
    ],
    ['private-key', 'JWT_KEY', JSON.stringify({ kty: 'oct', k: rand(43) })],
    ['google-api-key', 'X', `AIza${rand(35)}`],
    ['telegram-bot-token', 'X', `1234567890:AA${rand(33)}`],
  ])('%s: %s', (detector, name, value) => {
    const d = detectSecret(name, value);
    expect(d?.detector).toBe(detector);
    expect(DETECTOR_IDS).toContain(d?.detector);
    expect(d?.reason).not.toContain(value);
  });

  it('does not report a format whose variable part is a placeholder', () => {
    expect(detectSecret('X', `ghp_${'x'.repeat(36)}`)).toBeUndefined();
    expect(
      detectSecret('X', 'https://hooks.slack.com/services/TXXXXXX/BXXXXXX/XXXXXXXXXXXX'),
    ).toBeUndefined();
    expect(detectSecret('X', 'https://user:****@example.com')).toBeUndefined();
  });

  it('rejects near misses of a format', () => {
    expect(detectSecret('X', 'akiazzzzzzzzzzzzzzzz')).toBeUndefined(); // lower case
    expect(detectSecret('X', `AROA${rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWYZ234567')}`)).toBeUndefined(); // role id
    expect(detectSecret('X', 'sk_live_short')).toBeUndefined();
    expect(detectSecret('X', `foo_${rand(36)}`)).toBeUndefined();
    expect(detectSecret('X', `${b64url({ alg: 'none' })}`)).toBeUndefined(); // a JWT header alone
    expect(detectSecret('X', `eyJ${rand(20)}.eyJ${rand(20)}.${rand(20)}`)).toBeUndefined(); // not JSON
  });
});

describe('names that say secret', () => {
  it.each([
    ['named-password', 'DB_PASSWORD', 'Tr0ub4dor&3xq', 'high'],
    ['named-password', 'dbPassword', 'hunter2!', 'medium'],
    ['named-password', 'SMTP_PASS', 'correct horse battery staple', 'medium'],
    ['named-password', 'db_pwd', 'postgres', 'medium'],
    ['named-password', 'MYSQL_ROOT_PASSWD', rand(20), 'high'],
    ['named-secret', 'CLIENT_SECRET', rand(32), 'high'],
    ['named-secret', 'NEXTAUTH_SECRET', 'my-nextauth-secret-2024', 'high'],
    ['named-secret', 'JWT_SECRET', rand(48), 'high'],
    ['named-secret', 'API_KEY', rand(32), 'high'],
    ['named-secret', 'SOFTLAYERAPIKEY', rand(32), 'high'],
    ['named-secret', 'PRIVATE_KEY', rand(64), 'high'],
    ['named-secret', 'SERVICE_CREDENTIALS', `svc:${rand(12)}`, 'high'],
    ['named-secret', 'SECRET_KEY_BASE', rand(64, HEX), 'high'],
    ['named-secret', 'POSTMARK_API_KEY', 'b67a9bba-d9da-4980-bf74-baed881b117d', 'medium'],
    ['named-secret-high-entropy', 'AUTH_TOKEN', rand(40), 'high'],
    ['named-secret-high-entropy', 'AUTHORIZATION', `Bearer ${rand(12)}`, 'medium'],
    ['named-secret-high-entropy', 'JWT_SIGNING_KEY', rand(32), 'high'],
    ['named-secret-high-entropy', 'SESSION_KEY', rand(32), 'high'],
    ['named-secret-high-entropy', 'GITHUB_TOKEN', rand(40, HEX), 'high'],
    ['named-secret-high-entropy', 'ENCRYPTION_KEY', Buffer.from(rand(32)).toString('base64'), 'high'],
    ['named-secret-high-entropy', 'MAPS_KEY', rand(24), 'medium'],
  ])('%s: %s', (detector, name, value, confidence) => {
    const d = detectSecret(name, value);
    expect(d).toMatchObject({ detector, confidence });
    expect(d?.reason).not.toContain(value);
  });

  it('needs a token-shaped value for TOKEN names and a random one for KEY names', () => {
    expect(detectSecret('TELEGRAM_BOT_TOKEN', 'telegram-token')).toBeUndefined();
    expect(detectSecret('DOCKER_TOKEN', 'not_a_real_token')).toBeUndefined();
    expect(detectSecret('SORT_KEY', 'createdAt')).toBeUndefined();
    expect(detectSecret('ANY_KEY', 'ZHVtbXkgdGV4dCBkYXRhIGRhdGEgZGF0YQ==')).toBeUndefined(); // base64 prose
  });

  it('splits names into words and finds the head', () => {
    expect(nameWords('dbPassword')).toEqual(['DB', 'PASSWORD']);
    expect(nameWords('X-JFrog-Art-Api')).toEqual(['X', 'J', 'FROG', 'ART', 'API']);
    expect(nameWords('APIKey')).toEqual(['API', 'KEY']);
    expect(classifyName('PASSWORD_MIN_LENGTH')).toBeUndefined();
    expect(classifyName('DB_SECRET_ARN')).toBeUndefined();
    expect(classifyName('MY_COGNITO_POOL_APP_CLIENT_SECRET')?.tier).toBe('secret');
    expect(classifyName('TWITTER_ACCESS_TOKEN_SECRET')?.tier).toBe('secret');
    expect(classifyName('MYSQL_ALLOW_EMPTY_PASSWORD')?.tier).toBe('password'); // the value ('yes') decides
    expect(classifyName('AWS_ACCESS_KEY_ID')).toBeUndefined(); // an id; the AKIA format is checked on the value
  });
});

describe('hostile input', () => {
  const n = 16 * 1024;
  it.each([
    ['a run of one letter', 'a'.repeat(n)],
    ['repeated JWT prefixes', `eyJ${'a'.repeat(10)}.`.repeat(n / 14)],
    ['repeated URL schemes', 'a://b:c'.repeat(n / 7)],
    ['an unclosed template', '${'.repeat(n / 2)],
    ['repeated PEM headers', '-----BEGIN '.repeat(n / 11)],
    ['an npmrc-like path', `//a${'/a'.repeat(n / 2)}`],
    ['deeply nested JSON', `${'['.repeat(n / 2)}${']'.repeat(n / 2)}`],
    ['a very long value', 'Zk3j9Vx1'.repeat(n)],
  ])('%s: bounded time, no throw', (_what, value) => {
    for (const name of ['', 'DB_PASSWORD', 'API_TOKEN', 'SOME_KEY']) {
      const t = performance.now();
      expect(() => detectSecret(name, value)).not.toThrow();
      expect(performance.now() - t).toBeLessThan(1000);
    }
  });
});

describe('fingerprint', () => {
  const key = 'k'.repeat(32);
  it('is a keyed, truncated HMAC-SHA256 with a prefix', () => {
    const f = fingerprint('Tr0ub4dor&3', key);
    expect(f).toMatch(new RegExp(`^${FINGERPRINT_PREFIX}[0-9a-f]{32}$`));
    expect(fingerprint('Tr0ub4dor&3', key)).toBe(f);
    expect(fingerprint('Tr0ub4dor&4', key)).not.toBe(f);
  });

  it('depends on the key', () => {
    expect(fingerprint('same value', 'a'.repeat(32))).not.toBe(fingerprint('same value', 'b'.repeat(32)));
    expect(fingerprint('same value', new Uint8Array(32).fill(1))).not.toBe(
      fingerprint('same value', new Uint8Array(32).fill(2)),
    );
    expect(fingerprint('v', new TextEncoder().encode(key))).toBe(fingerprint('v', key));
  });

  it('never contains the value', () => {
    for (const value of ['Tr0ub4dor&3', rand(40, HEX), rand(32, HEX), '0123456789abcdef', rand(200)]) {
      expect(fingerprint(value, key)).not.toContain(value);
    }
  });

  it('refuses a short key (an unkeyed or weakly keyed hash of a password is reversible)', () => {
    expect(() => fingerprint('v', '')).toThrow(/at least 16 bytes/);
    expect(() => fingerprint('v', 'short')).toThrow(/at least 16 bytes/);
  });
});

describe('scanEnvironment', () => {
  const env: Record<string, string> = {
    DB_PASSWORD: `pw-${rand(14)}`,
    STRIPE_KEY: `sk_live_${rand(24)}`,
    DATABASE_URL: `postgres://app:${rand(16)}@db.internal:5432/app`,
    API_TOKEN: rand(40),
    DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf',
    TABLE_NAME: 'orders-prod-table',
    LOG_LEVEL: 'WARNING',
    FEATURE_ENABLED: 'false',
    REQUEST_TIMEOUT_MS: '2500',
    CONFIG_JSON: JSON.stringify({ region: 'eu-west-1', password: `cfg-${rand(12)}` }),
    PRIVATE_KEY: `-----BEGIN PRIVATE KEY-----\n${rand(64)}\n-----END PRIVATE KEY-----`,
  };

  it('finds every secret by name and detector', () => {
    const found = scanEnvironment(env);
    expect(found.map((f) => [f.name, f.detector])).toEqual([
      ['DB_PASSWORD', 'named-password'],
      ['STRIPE_KEY', 'stripe-secret-key'],
      ['DATABASE_URL', 'db-url-password'],
      ['API_TOKEN', 'named-secret-high-entropy'],
      ['CONFIG_JSON', 'json-password'],
      ['PRIVATE_KEY', 'private-key'],
    ]);
    for (const f of found)
      expect(Object.keys(f).sort()).toEqual(['confidence', 'detector', 'name', 'reason']);
  });

  it('never returns a value, nor a line of one', () => {
    const out = JSON.stringify(scanEnvironment(env));
    for (const value of Object.values(env)) {
      expect(out).not.toContain(value);
      for (const part of value.split(/[\n:@/"]/).filter((p) => p.length >= 12))
        expect(out).not.toContain(part);
    }
  });

  it('takes an empty or odd map', () => {
    expect(scanEnvironment({})).toEqual([]);
    expect(scanEnvironment({ A: null, B: undefined } as unknown as Record<string, string>)).toEqual([]);
  });
});

describe('docs/secret-detection.md', () => {
  it('documents every detector id', () => {
    const doc = readFileSync(new URL('../../docs/secret-detection.md', import.meta.url), 'utf8');
    for (const id of DETECTOR_IDS) expect(doc, id).toContain(`\`${id}\``);
  });
});
