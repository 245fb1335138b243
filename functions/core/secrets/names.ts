/**
 * What a variable name says about its value. Names are split into words (`dbPassword`,
 * `DB_PASSWORD` and `db-password` all give DB, PASSWORD). The *last* secret word is the head: words
 * after it may turn the name into a setting or a reference (`PASSWORD_MIN_LENGTH`, `TOKEN_TTL`,
 * `DB_SECRET_ARN`, `SECRET_NAME`, `CLIENT_SECRET_ID`); some words disqualify wherever they are
 * (`*_PARAM*`, `*_ARN`, `PUBLIC_*`, `KMS_*`, `ENCRYPTED_*`).
 */

/**
 * How strongly a name says "secret":
 * - `password`: PASSWORD, PASSWD, PWD, PASS, PASSPHRASE: any literal value is a finding;
 * - `secret`: SECRET, CREDENTIALS, PRIVATE_KEY, API_KEY: any literal value is a finding;
 * - `token`: TOKEN, AUTH, BEARER, ACCESS_KEY, SIGNING_KEY, ...: the value must look like a token;
 * - `key`: a bare KEY: the value must be long and random-looking.
 */
export type NameTier = 'password' | 'secret' | 'token' | 'key';

export interface NameClass {
  tier: NameTier;
  /** The secret word that decided the tier, upper case (e.g. `PASSWORD`, `API_KEY`). */
  word: string;
  /** AWS_SECRET_ACCESS_KEY, aws_secret_key, secret_access_key. */
  awsSecret: boolean;
  /** DD_API_KEY, DATADOG_APP_KEY, DD_APPLICATION_KEY. */
  datadog: 'api' | 'app' | undefined;
  /** TWILIO_AUTH_TOKEN. */
  twilioAuthToken: boolean;
}

const TIER_RANK: Record<NameTier, number> = { key: 1, token: 2, secret: 3, password: 4 };

/** Words that, after the head, make the name a setting or a reference. */
const AFTER_HEAD = new Set(
  `ARN ARNS ID IDS NAME NAMES PATH PATHS FILE FILES FILENAME DIR DIRECTORY URL URLS URI ENDPOINT HOST HOSTNAME
  PORT REGION TABLE BUCKET POOL QUEUE TOPIC STREAM INDEX TTL EXPIRY EXPIRES EXPIRATION EXPIRE LIFETIME AGE
  DURATION TIMEOUT INTERVAL LENGTH LEN SIZE MIN MAX MINIMUM MAXIMUM COUNT ITERATIONS ROUNDS COST POLICY RULES
  COMPLEXITY STRENGTH ENABLED DISABLED ENABLE DISABLE REQUIRED REQUIRE ALLOWED ALLOW TYPE KIND ALG ALGORITHM
  ALGO FORMAT VERSION HEADER FIELD COLUMN ATTRIBUTE PROVIDER ISSUER AUDIENCE AUD SCOPE SCOPES LOCATION MODE
  LEVEL PREFIX SUFFIX ROTATION ROTATE RESET HINT LABEL DESCRIPTION HELP TEXT MESSAGE MSG PROMPT TITLE ERROR
  KEYID SID USER USERNAME LOGIN EMAIL ACCOUNT REF REFERENCE STORE CACHE TEMPLATE PATTERN REGEX ENCODING HASH
  HASHED DIGEST CHECKSUM SHA LOCK EXTENSION MANAGER LAYER SERVICE CALLBACK REDIRECT TIMESTAMP DATE TIME
  CREATED UPDATED STATUS FLAG FEATURE SOURCE LOOKUP VAR VARIABLE ENV PROFILE GROUP ROLE DOMAIN REALM TENANT
  ORIGIN`.split(/\s+/),
);

/** Words that make the name a reference, a public value or a non-secret wherever they appear. */
const ANYWHERE = new Set(
  `ARN ARNS PARAM PARAMS PARAMETER PARAMETERS SSM PUBLIC PUBLISHABLE PUB KMS ENCRYPTED CIPHERTEXT NOT NON
  FAKE DUMMY EXAMPLE PLACEHOLDER`.split(/\s+/),
);

const PASS_PREFIXES =
  /^(DB|SQL|MYSQL|PG|PSQL|REDIS|SMTP|FTP|SFTP|ADMIN|ROOT|USER|MAIL|LDAP|SL|API|APP|WEB|SA|SYS|MASTER|KEYSTORE|TRUSTSTORE|STORE|KEY|CERT)(PASS|PWD|PW)$/;

/** Splits a variable name into upper-case words: `dbPassword` -> DB, PASSWORD. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
}

function wordTier(w: string, next: string | undefined): [NameTier, string] | undefined {
  if (
    /PASSW(OR)?D|PASSPHRASE/.test(w) ||
    w === 'PASS' ||
    w === 'PW' ||
    w === 'PWD' ||
    PASS_PREFIXES.test(w)
  ) {
    return ['password', 'PASSWORD'];
  }
  if ((w.includes('SECRET') && !w.includes('SECRETARY')) || w.includes('CREDENTIAL') || w === 'CREDS') {
    return ['secret', w.includes('SECRET') ? 'SECRET' : 'CREDENTIALS'];
  }
  if (w.includes('PRIVATEKEY') || (w === 'PRIVATE' && next === 'KEY')) return ['secret', 'PRIVATE_KEY'];
  if (w.includes('APIKEY') || (w === 'API' && (next === 'KEY' || next === 'KEYS')))
    return ['secret', 'API_KEY'];
  if (w.includes('TOKEN')) return ['token', 'TOKEN'];
  if (['AUTH', 'AUTHORIZATION', 'BEARER', 'OAUTH', 'PEPPER', 'HMAC'].includes(w)) return ['token', w];
  if (/^(ACCESS|SIGNING|ENCRYPTION|MASTER|SESSION|WEBHOOK|JWT)KEY$/.test(w)) return ['token', w];
  if (
    ['ACCESS', 'SIGNING', 'ENCRYPTION', 'MASTER', 'SESSION', 'WEBHOOK', 'JWT'].includes(w) &&
    next === 'KEY'
  ) {
    return ['token', `${w}_KEY`];
  }
  if (w === 'KEY' || w === 'KEYS' || w === 'APPKEY' || w === 'LICENSEKEY') return ['key', 'KEY'];
  return undefined;
}

/** The secret tier a name implies, or `undefined` when the name does not say secret. */
export function classifyName(name: string): NameClass | undefined {
  const words = nameWords(name);
  if (words.some((w) => ANYWHERE.has(w))) return undefined;
  let head = -1;
  let best: [NameTier, string] | undefined;
  for (let i = 0; i < words.length; i++) {
    const t = wordTier(words[i], words[i + 1]);
    if (!t) continue;
    // `API_KEY`, `PRIVATE_KEY`, `ACCESS_KEY`: the KEY that follows belongs to the same head.
    head = /_KEY$/.test(t[1]) && words[i + 1] === 'KEY' ? i + 1 : i;
    if (!best || TIER_RANK[t[0]] >= TIER_RANK[best[0]]) best = t;
  }
  if (!best) return undefined;
  if (words.slice(head + 1).some((w) => AFTER_HEAD.has(w))) return undefined;
  const has = (w: string) => words.includes(w);
  const dd = has('DD') || has('DATADOG');
  return {
    tier: best[0],
    word: best[1],
    awsSecret:
      (has('AWS') && words.some((w) => w.includes('SECRET'))) ||
      (has('SECRET') && has('ACCESS') && has('KEY')),
    datadog: dd
      ? has('APP') || has('APPLICATION') || has('APPKEY')
        ? 'app'
        : has('API') || has('APIKEY')
          ? 'api'
          : undefined
      : undefined,
    twilioAuthToken: has('TWILIO') && (has('AUTH') || words.some((w) => w.includes('TOKEN'))),
  };
}
