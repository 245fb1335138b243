/**
 * Shapes of values: what a reference, a placeholder, a setting or a random-looking string looks
 * like. Pure string functions; no value ever leaves them.
 */

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  if (!s) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  const n = [...s].length;
  for (const k of counts.values()) {
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Number of character classes present: lower case, upper case, digits, other. */
export function charClasses(s: string): number {
  return (
    Number(/[a-z]/.test(s)) + Number(/[A-Z]/.test(s)) + Number(/\d/.test(s)) + Number(/[^A-Za-z0-9]/.test(s))
  );
}

const BOOLEANISH = /^(true|false|yes|no|on|off|y|n|enabled?|disabled?|null|none|nil|undefined|nan)$/i;
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const DURATION = /^\d+(\.\d+)?\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)$/i;

/** Booleans, feature flags, numbers and durations: settings, never secrets. */
export function isSetting(v: string): boolean {
  return BOOLEANISH.test(v) || NUMBER.test(v) || DURATION.test(v);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A content digest written with its algorithm, e.g. an image digest `sha256:...`. */
const DIGEST = /^(sha1|sha224|sha256|sha384|sha512|md5)[:=-][0-9a-f]{32,128}$/i;

/**
 * A reference to a secret or to another resource rather than a value: ARNs, CloudFormation
 * dynamic references and intrinsic functions, SSM parameter names, framework variables
 * (`${...}`, `$(...)`, `$VAR`, `{{...}}`, `#{...}`), printf placeholders, Azure Key Vault
 * references, KMS ciphertext blobs (encrypted, so not plaintext).
 */
export function isReference(v: string): boolean {
  if (/^arn:aws[a-z-]*:/i.test(v)) return true;
  if (/^\{\{resolve:[^}]*\}\}$/i.test(v)) return true;
  if (/^\{\s*"(Ref|Fn::[A-Za-z]+)"\s*:/.test(v)) return true;
  if (/^!(Ref|Sub|GetAtt|ImportValue|Join|Select|FindInMap|If)\b/.test(v)) return true;
  if (/^(ssm|secretsmanager|secret|vault|kms|awskms|aws-sm|sm):\/?[\w/.:-]+$/i.test(v)) return true;
  if (/^@Microsoft\.KeyVault\(/i.test(v)) return true;
  if (/^%(\(\w+\))?[sdr]$/.test(v) || /^%\{[\w.]+\}$/.test(v)) return true;
  if (/^\$[A-Za-z_]\w*$/.test(v) || /^\$\{[A-Za-z_]\w*\}$/.test(v)) return true;
  if (/^AQ[EI]CAH[A-Za-z0-9+/]{40,}={0,2}$/.test(v)) return true; // KMS ciphertext blob
  if (isSsmParameterName(v)) return true;
  return isTemplateOnly(v);
}

/** `/app/prod/db-password` style names (SSM parameter names and other hierarchical paths). */
export function isSsmParameterName(v: string): boolean {
  return /^\/[\w.-]+(\/[\w.-]+)+\/?$/.test(v);
}

/**
 * Removes balanced template expressions (`${...}` with nesting, `$(...)`, `{{...}}`, `#{...}`) and
 * says whether what remains is only separators and short literal glue
 * (`${self:service}-${sls:stage}-records`).
 */
export function isTemplateOnly(v: string): boolean {
  let rest = '';
  let found = false;
  let i = 0;
  while (i < v.length) {
    const two = v.slice(i, i + 2);
    if (two === '${' || two === '#{' || two === '$(' || two === '{{') {
      const open = two === '$(' ? '(' : '{';
      const close = open === '(' ? ')' : '}';
      let depth = 0;
      let j = i + 1;
      for (; j < v.length; j++) {
        if (v[j] === open) depth++;
        else if (v[j] === close) {
          depth--;
          if (depth === 0) break;
        }
      }
      if (j >= v.length) return false;
      if (two === '{{') {
        if (v[j + 1] !== '}') return false;
        j++;
      }
      found = true;
      i = j + 1;
    } else {
      rest += v[i];
      i++;
    }
  }
  return found && /^[\w./:@-]*$/.test(rest);
}

/** A template expression or angle-bracket placeholder that stands for the whole credential part. */
export function isTemplatePart(v: string): boolean {
  return (
    isTemplateOnly(v) ||
    /^\$[A-Za-z_]\w*$/.test(v) ||
    /^<[^<>]+>$/.test(v) ||
    /^\{[^{}]+\}$/.test(v) ||
    /^%(\(\w+\))?[sd]$/.test(v)
  );
}

/** Values that are a placeholder as a whole (compared after lower-casing and dropping non-alphanumerics). */
const PLACEHOLDER_EXACT = new Set([
  'changeme',
  'changeit',
  'password',
  'passwd',
  'mypassword',
  'yourpassword',
  'newpassword',
  'secret',
  'secrets',
  'mysecret',
  'yoursecret',
  'secretkey',
  'secretvalue',
  'token',
  'mytoken',
  'yourtoken',
  'apikey',
  'myapikey',
  'yourapikey',
  'key',
  'mykey',
  'value',
  'string',
  'test',
  'example',
  'sample',
  'dummy',
  'fake',
  'placeholder',
  'todo',
  'tbd',
  'fixme',
  'empty',
  'default',
  'redacted',
  'hidden',
  'masked',
  'abc123',
  'abcdef',
  'foo',
  'bar',
  'foobar',
  'baz',
  'xyz',
  'qwerty',
]);

/**
 * Words that mark a value as a placeholder wherever they appear: documentation examples
 * (`AKIAIOSFODNN7EXAMPLE`, `YOUR-SECRET-HERE`, `REPLACE_WITH_PASSWORD`, `insert_key_here`), and
 * masked or filled-in values (`xxxx`, `****`).
 */
const PLACEHOLDER_MARKERS =
  /example|placeholder|dummy|fake|redacted|changeme|change[_-]me|your[\s_-]|^your|insert[\s_-]|replace[\s_-]|replace_?me|not[\s_-]?a[\s_-]?(real|valid|secret|password)|notreal|not[_-]real|[xX]{4,}|\*{3,}|[\s_-]here$|^<.*>$|^\[.*\]$/i;

/**
 * A placeholder rather than a credential. Policy (docs/secret-detection.md): documentation values,
 * `xxx` fills, `<...>`, `${...}`, the word `changeme` and the words listed in PLACEHOLDER_EXACT are
 * not findings, whatever the variable is called; so is one character repeated (`1111`).
 */
export function isPlaceholder(v: string): boolean {
  const t = v.trim();
  if (!t) return true;
  const squashed = t.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (PLACEHOLDER_EXACT.has(squashed)) return true;
  if (PLACEHOLDER_MARKERS.test(t)) return true;
  if (/^(.)\1*$/.test(t)) return true;
  if (/^(0123456789?|123456789?0?|1234|12345|123456|1234567|12345678|abcd|abcdefg?h?)$/i.test(t)) return true;
  return isTemplatePart(t);
}

/**
 * The same markers, for the variable part of a known credential format (a token body, a URL
 * password): documentation words and `xxxx`/`****` fills.
 */
export function isPlaceholderPart(v: string): boolean {
  return /example|placeholder|dummy|fake|redacted|changeme|your[\s_-]|insert[\s_-]|replace[\s_-]|[xX]{4,}|\*{3,}/i.test(
    v,
  );
}

/**
 * A URL. Never a name-based finding: credentials in URLs are the URL detector's job (which knows
 * about placeholders, templates and `user:user@` local defaults).
 */
export function isUrl(v: string): boolean {
  return /^(jdbc:)?[a-z][a-z0-9+.-]*:\/\/[^\s]*$/i.test(v);
}

/** A file-system path or an object key: `/opt/bootstrap`, `./config.yml`, `~/x`, `C:\x`, `a/b/c.csv`. */
export function isPath(v: string): boolean {
  if (/^(\.{0,2}\/|~\/)[^\s]*$/.test(v) || /^[A-Za-z]:\\[^\s]*$/.test(v)) return true;
  // `uploads/2024/report.csv`: every segment a word, a number or a file name (a base64 secret
  // with `/` in it has random segments).
  if (!v.includes('/')) return false;
  return v
    .split('/')
    .every(
      (seg) =>
        seg === '' || isIdentifierLike(seg) || /^\d+$/.test(seg) || /^[\w-]+\.[A-Za-z0-9]{1,5}$/.test(seg),
    );
}

/** Public keys and certificates: PEM public keys, OpenSSH public keys, Stripe publishable keys. */
export function isPublicKey(v: string): boolean {
  return (
    /^-----BEGIN (?:RSA |EC |DSA |PGP |SSH2 )?(?:PUBLIC KEY|PUBLIC KEY BLOCK|CERTIFICATE)-----/.test(v) ||
    /^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-[\w-]+|sk-ssh-ed25519@openssh\.com) AAAA[A-Za-z0-9+/]+=*(?: \S+)?$/.test(
      v,
    ) ||
    /^pk_(?:live|test)_[0-9A-Za-z]+$/.test(v)
  );
}

export function isEmail(v: string): boolean {
  return /^[^\s@]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(v);
}

/**
 * Looks like a name, not a credential: words made of letters joined by `_`, `-`, `.` or spaces
 * (`telegram-token`, `PascalCase`, `my_table`), possibly with a trailing version number.
 */
export function isIdentifierLike(v: string): boolean {
  return /^[A-Za-z]+([_\-. ][A-Za-z]+)*([_\-.]?v?\d{1,3})?$/.test(v);
}

/** Base64 that decodes to ordinary text (`ZHVtbXkgdGV4dA==` is "dummy text"), i.e. encoded prose. */
export function decodesToText(v: string): boolean {
  if (!/^[A-Za-z0-9+/]{16,}={0,2}$/.test(v) || v.length % 4 !== 0) return false;
  const text = Buffer.from(v, 'base64').toString('latin1');
  return /^[A-Za-z0-9 .,:;'"!?()-]+$/.test(text) && /[a-z]{3,} [a-z]{2,}/i.test(text);
}

/**
 * Random-looking: long enough, no whitespace, more than one kind of character, high entropy,
 * not a name, not encoded prose, not a UUID.
 */
export function looksRandom(v: string, minLength = 16): boolean {
  if (v.length < minLength || /\s/.test(v)) return false;
  if (isIdentifierLike(v) || UUID.test(v) || decodesToText(v)) return false;
  const classes = charClasses(v);
  const hasLetterAndDigit = /[A-Za-z]/.test(v) && /\d/.test(v);
  if (!(hasLetterAndDigit || classes >= 3)) return false;
  return entropy(v) >= 3 - 1e-9;
}

/** A content digest or a bare git commit hash (40 hex) / sha256 (64 hex). */
export function isDigest(v: string): boolean {
  return DIGEST.test(v);
}

/** Base64url JSON segment decoder for JWT checks. */
export function decodeJsonSegment(seg: string): unknown {
  try {
    const text = Buffer.from(seg, 'base64url').toString('utf8');
    if (!text.startsWith('{')) return undefined;
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
