// Text classifiers shared by the indicator detectors: credential stores, token-like / CI environment
// variables, "suspicious" decoded text, base64/hex decoding, entropy. Pure functions.
import { extractUrls, hostPortLiteral, isIpv4 } from './strings.js';

// ---------------------------------------------------------------- credential stores

interface StoreRule {
  label: string;
  re: RegExp;
  /** Values the rule matches that are not credentials after all. */
  unless?: RegExp;
}

/**
 * Files in `~/.ssh` that hold no secret: the client configuration and the known host keys (public keys of
 * servers). cargo reads `~/.ssh/known_hosts` to check git hosts; bat highlights `.ssh/config` files.
 */
export const SSH_PUBLIC_FILE = /(?:^|[\\/~])\.ssh[\\/]+(?:config|known_hosts2?)$/i;

const SEP = String.raw`[\\/]`;
/** Rules over a whole literal value. Path-like rules require a separator so prose does not match. */
const STORE_RULES: StoreRule[] = [
  { label: '.cargo/credentials', re: new RegExp(String.raw`\.cargo${SEP}+credentials(?:\.toml)?\b`, 'i') },
  { label: 'ssh private key', re: /(?:^|[\\/])id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?$/ },
  { label: 'authorized_keys', re: /(?:^|[\\/])authorized_keys2?$/ },
  { label: '.ssh', re: new RegExp(String.raw`(?:^|${SEP}|~)\.ssh(?:${SEP}|$)`, 'i'), unless: SSH_PUBLIC_FILE },
  { label: '.aws/credentials', re: new RegExp(String.raw`\.aws${SEP}+(?:credentials|config)\b`, 'i') },
  // cloud CLIs: the whole directory holds tokens (`~/.aws/sso/cache`, `~/.azure/msal_token_cache.json`)
  { label: '.aws', re: new RegExp(String.raw`(?:^|${SEP}|~)\.aws(?:${SEP}|$)`, 'i') },
  { label: '.azure', re: new RegExp(String.raw`(?:^|${SEP}|~)\.azure(?:${SEP}|$)`, 'i') },
  { label: 'gcloud', re: new RegExp(String.raw`(?:^|${SEP})\.config${SEP}+gcloud(?:${SEP}|$)|(?:^|${SEP})application_default_credentials\.json$`, 'i') },
  { label: '.npmrc', re: /(?:^|[\\/~])\.npmrc$/ },
  { label: '.pypirc', re: /(?:^|[\\/~])\.pypirc$/ },
  { label: '.netrc', re: /(?:^|[\\/~])[._]netrc$/ },
  { label: '.git-credentials', re: /(?:^|[\\/~])\.git-credentials$/ },
  { label: '.docker/config.json', re: new RegExp(String.raw`\.docker${SEP}+config\.json$`) },
  { label: '.kube/config', re: new RegExp(String.raw`\.kube${SEP}+config$`) },
  { label: '.env', re: /(?:^|[\\/])\.env(?:\.(?:local|production|prod|development|dev))?$/ },
  // browser profile stores
  { label: 'browser store', re: /(?:^|[\\/])(?:Login Data(?: For Account)?|Web Data|Local State|cookies\.sqlite|key[34]\.db|logins\.json|signons\.sqlite|formhistory\.sqlite)$/ },
  // Chromium's cookie database (`Default/Cookies`, `Default/Network/Cookies`): a path, not the word
  { label: 'browser store', re: /[\\/]Cookies$/ },
  { label: 'browser extension store', re: /(?:^|[\\/])Local Extension Settings(?:[\\/]|$)/ },
  { label: 'browser profile', re: new RegExp(String.raw`(?:Google${SEP}+Chrome|Chromium|BraveSoftware${SEP}+Brave-Browser|Microsoft${SEP}+Edge|Mozilla${SEP}+Firefox)${SEP}+(?:User Data|Profiles)`, 'i') },
  // wallet stores
  { label: 'wallet store', re: /(?:^|[\\/])(?:wallet\.dat|exodus\.wallet|default_wallet)$/i },
  { label: 'wallet store', re: new RegExp(String.raw`(?:^|${SEP})(?:Exodus|Electrum|\.electrum|Atomic${SEP}+Local Storage|Ethereum${SEP}+keystore|\.bitcoin|Bitcoin${SEP}+wallets|Monero${SEP}+wallets)(?:${SEP}|$)`) },
  { label: 'wallet store', re: new RegExp(String.raw`(?:^|${SEP}|~)\.ethereum${SEP}+keystore(?:${SEP}|$)|(?:^|${SEP})solana${SEP}+id\.json$`, 'i') },
  // browser-extension wallets by extension id: MetaMask, MetaMask (Edge), Phantom, Coinbase, Binance, TronLink, Ronin, Trust, Keplr
  { label: 'wallet store', re: /nkbihfbeogaeaoehlefnkodbefgpgknn|ejbalbakoplchlghecdalmeeeajnimhm|bfnaelmomeimhlpmgjnjophhpkkoljpa|hnfanknocfeofbddgcijnmhnfnkdnaad|fhbohimaelbohpjbbldcngcnapndodjp|ibnejdfjmmkpcnlpebklmnkoeoihofec|fnjhmkhhmkbjkkabndcnnogagogbneec|egjidjbpglichdcondbcbdnbeeppgdph|dmkamcknogkgcdfhhbddcghachkejeap/ },
];

/**
 * Cheap pre-filter over source text: every literal some STORE_RULES entry matches contains one of these
 * substrings (checked by a test). Used to find candidate literals without visiting every node.
 */
export const STORE_GATE =
  /\.cargo|\.ssh|id_(?:rsa|dsa|ecdsa|ed25519)|authorized_keys|\.aws|\.npmrc|\.pypirc|netrc|\.git-credentials|\.docker|\.kube|\.env|Login Data|Web Data|Local State|cookies\.sqlite|key[34]\.db|logins\.json|signons\.sqlite|formhistory\.sqlite|User Data|Profiles|wallet|exodus|electrum|Local Storage|ethereum|bitcoin|monero|nkbihfbeog|ejbalbakop|bfnaelmome|hnfanknocf|fhbohimael|ibnejdfjmm|fnjhmkhhmk|egjidjbpgl|dmkamcknog|\.azure|gcloud|application_default_credentials|solana|Cookies|Local Extension Settings/gi;

/** The credential store a literal names, or null. */
export function credentialStore(value: string): string | null {
  if (value.length < 4 || value.length > 400) return null;
  for (const r of STORE_RULES) if (r.re.test(value) && !r.unless?.test(value)) return r.label;
  return null;
}

// ---------------------------------------------------------------- persistence targets

/** Files and directories whose content runs later by itself: shell start-up, schedulers, service managers, hooks. */
const PERSISTENCE_RULES: { label: string; re: RegExp }[] = [
  { label: 'shell start-up file', re: new RegExp(String.raw`(?:^|${SEP}|~)\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|zlogin)$|\.config${SEP}+fish${SEP}+config\.fish$|^${SEP}etc${SEP}+(?:profile(?:\.d(?:${SEP}|$).*)?|bash\.bashrc|zsh${SEP}+zshrc)$`) },
  { label: 'crontab', re: new RegExp(String.raw`^${SEP}etc${SEP}+(?:crontab$|cron\.(?:d|hourly|daily|weekly|monthly)(?:${SEP}|$))|${SEP}var${SEP}+spool${SEP}+cron(?:${SEP}|$)`) },
  // not /run/systemd/system: units there do not survive a reboot, and it is sd_booted()'s probe
  // (corpus: libsystemd, sd-notify only test it)
  { label: 'systemd unit', re: new RegExp(String.raw`(?<!run)(?:^|${SEP})systemd${SEP}+(?:system|user)(?:${SEP}|$)`) },
  { label: 'launchd job', re: new RegExp(String.raw`(?:^|${SEP})Library${SEP}+Launch(?:Agents|Daemons)(?:${SEP}|$)`) },
  { label: 'git hook', re: new RegExp(String.raw`(?:^|${SEP})\.git${SEP}+hooks(?:${SEP}|$)|(?:^|${SEP})hooks${SEP}+(?:pre-commit|post-commit|pre-push|post-checkout|post-merge|pre-rebase|commit-msg|prepare-commit-msg|pre-receive|post-receive)$`) },
  { label: 'cargo config', re: new RegExp(String.raw`(?:^|${SEP}|~)\.cargo${SEP}+config(?:\.toml)?$`) },
  { label: 'authorized_keys', re: /(?:^|[\\/])authorized_keys2?$/ },
  { label: 'autostart entry', re: new RegExp(String.raw`(?:^|${SEP})(?:\.config|etc${SEP}+xdg)${SEP}+autostart(?:${SEP}|$)|Start Menu${SEP}+Programs${SEP}+Startup(?:${SEP}|$)|CurrentVersion${SEP}+Run(?:Once)?$`, 'i') },
];

/** Cheap pre-filter: every value a PERSISTENCE_RULES entry matches contains one of these (checked by a test). */
export const PERSISTENCE_GATE = /\.bash|\.profile|\.zsh|\.zprofile|\.zlogin|fish|etc[\\/]+profile|cron|systemd|Launch|hooks|\.cargo|authorized_keys|autostart|Startup|CurrentVersion/gi;

/** What a path would make run later (shell start-up file, crontab, …), or null. */
export function persistenceTarget(path: string): string | null {
  if (path.length < 4 || path.length > 400) return null;
  for (const r of PERSISTENCE_RULES) if (r.re.test(path)) return r.label;
  return null;
}

/**
 * Writes in a piece of code: creating, writing, appending, copying or linking files, or setting a registry
 * value. A persistence path only counts next to one of these (reading `~/.bashrc` persists nothing).
 */
export const WRITE_API = /\bFile::create(?:_new)?\b|\bfs::(?:write|copy|rename|hard_link)\b|\.(?:append|write|create|create_new)\s*\(\s*true\s*\)|\bwrite_all\s*\(|\bwriteln!|\bsymlink\w*\s*\(|\bRegSetValue\w*\s*\(|\bset_value\s*\(/;

// ---------------------------------------------------------------- environment variables

/** Cargo's build-time metadata: never a secret, whatever the feature or package is called. */
const BUILD_TIME_VARS = /^(?:CARGO_(?:PKG|CFG|MANIFEST|FEATURE|BIN|CRATE|PRIMARY|TARGET_TMPDIR)_|DEP_)/;

const CI_VARS = new Set([
  'CI', 'CONTINUOUS_INTEGRATION', 'GITLAB_CI', 'GITHUB_ACTIONS', 'GITHUB_WORKFLOW', 'GITHUB_RUN_ID',
  'JENKINS_URL', 'JENKINS_HOME', 'BUILD_ID', 'TRAVIS', 'CIRCLECI', 'BUILDKITE', 'APPVEYOR', 'TF_BUILD',
  'TEAMCITY_VERSION', 'BITBUCKET_BUILD_NUMBER', 'DRONE', 'CODEBUILD_BUILD_ID', 'SEMAPHORE', 'CIRRUS_CI',
  'BUILDKITE_BUILD_ID', 'GITLAB_USER_LOGIN', 'CI_PROJECT_ID', 'CI_JOB_ID', 'CI_SERVER_URL',
]);

const TOKEN_VAR = /(?:^|_)(?:TOKEN|SECRETS?|PASSWORD|PASSWD|CREDENTIALS?|API_?KEY|PRIVATE_KEY|ACCESS_KEY)(?:_|$)|_KEY$|^AWS_/;

/** `token` / `ci` when reading the environment variable is a secrets indicator, else null. */
export function envVarKind(name: string): 'token' | 'ci' | null {
  if (BUILD_TIME_VARS.test(name) && !/(?:^|_)TOKEN$/.test(name)) return null;
  if (CI_VARS.has(name)) return 'ci';
  if (TOKEN_VAR.test(name)) return 'token';
  return null;
}

// ---------------------------------------------------------------- suspicious text

const SHELL_RE =
  /(?:^|[\s;&|(])(?:(?:ba|z|da)?sh|cmd(?:\.exe)?|powershell(?:\.exe)?|pwsh)\s+[-/][ck]\b|\b(?:curl|wget)\s+\S|chmod\s+\+?[0-7]*x|\|\s*(?:ba)?sh\b|\bnc\s+-e\b|\brm\s+-rf\s|\bbase64\s+-d\b|Invoke-(?:WebRequest|Expression)|\bIEX\b|\bcertutil\b|\bmshta\b|\/dev\/tcp\//;
const PATH_RE =
  /(?:^|[\s"'=])(?:\/(?:etc|bin|usr|tmp|var|home|root|dev|proc|Users|Library|opt)\/|~\/|[A-Za-z]:\\|%(?:APPDATA|LOCALAPPDATA|TEMP|USERPROFILE)%)/;
const IPV4_IN = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g;

/** Why decoded text looks like a payload (URL, IP, path, shell command, credential store), or null. */
export function suspiciousText(text: string): string | null {
  if (SHELL_RE.test(text)) return 'command';
  if (extractUrls(text).length > 0) return 'url';
  for (const m of text.match(IPV4_IN) ?? []) if (isIpv4(m) && m !== '0.0.0.0') return 'ip';
  if (credentialStore(text)) return 'credential-store';
  if (PATH_RE.test(text)) return 'path';
  return null;
}

/**
 * Why decoded (hidden) text looks like a payload: what suspiciousText says, or `host` when the whole text
 * is a host name with a letter TLD or a host:port (`evil.example`, `c2.example:4444`). Plain text is not.
 */
export function payloadKind(text: string): string | null {
  const why = suspiciousText(text);
  if (why) return why;
  return decodedHost(text) !== null ? 'host' : null;
}

/** The host a decoded text names as a whole (host name with a letter TLD, IP or host:port), or null. */
export function decodedHost(text: string): string | null {
  const t = text.trim();
  const host = hostPortLiteral(t);
  if (!host || host === 'localhost' || host === '::1') return null;
  if (isIpv4(host)) return host === '0.0.0.0' || host === '127.0.0.1' ? null : host;
  if (host.includes(':')) return null; // bare IPv6 text is rarely a payload; URLs carry them
  return /\.[a-z]{2,63}$/.test(host) ? host : null;
}

/** Printable ASCII text (tabs/newlines allowed), at least 4 characters: what decoded payloads look like. */
export function isPrintableText(text: string): boolean {
  if (text.length < 4) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c >= 0x7f) return false;
  }
  return true;
}

// ---------------------------------------------------------------- decoding

const B64_STD = /^[A-Za-z0-9+/]+={0,2}$/;
const B64_URL = /^[A-Za-z0-9_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

export interface Decoded {
  encoding: 'base64' | 'hex';
  text: string;
}

function utf8(buf: Buffer): string | null {
  const s = buf.toString('utf8');
  return s.includes('\ufffd') ? null : s;
}

/** Decodes a base64 (standard or URL-safe) or hex string to printable text, or null. */
export function decodeToText(value: string): Decoded | null {
  const v = value.trim();
  if (v.length < 8) return null;
  if (HEX.test(v) && v.length >= 8) {
    const text = utf8(Buffer.from(v, 'hex'));
    if (text !== null && isPrintableText(text)) return { encoding: 'hex', text };
  }
  if (B64_STD.test(v) || B64_URL.test(v)) {
    const body = v.replace(/=+$/, '');
    if (body.length % 4 === 1) return null;
    const text = utf8(Buffer.from(body, 'base64'));
    if (text !== null && isPrintableText(text)) return { encoding: 'base64', text };
  }
  return null;
}

/** Decodes up to two layers (base64 of base64…) and returns the innermost printable text and encodings. */
export function decodeLayers(value: string): { encodings: string[]; text: string } | null {
  const first = decodeToText(value);
  if (!first) return null;
  const second = decodeToText(first.text);
  if (second) return { encodings: [first.encoding, second.encoding], text: second.text };
  return { encodings: [first.encoding], text: first.text };
}

const SSH_KEY_TYPE = /^(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-[a-z0-9-]+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/**
 * A base64 SSH public-key blob (what `known_hosts` and `authorized_keys` lines carry after the key type):
 * length-prefixed fields that fill the decoded bytes exactly, the first naming a key type. Public key
 * material is high-entropy by nature and hides nothing (cargo pins GitHub's host keys this way).
 */
export function isSshPublicKey(value: string): boolean {
  if (!value.startsWith('AAAA') || !B64_STD.test(value) || value.replace(/=+$/, '').length % 4 === 1) return false;
  const buf = Buffer.from(value, 'base64');
  const fields: Buffer[] = [];
  for (let off = 0; off < buf.length; ) {
    if (off + 4 > buf.length) return false;
    const n = buf.readUInt32BE(off);
    off += 4;
    if (n > buf.length - off) return false;
    fields.push(buf.subarray(off, off + n));
    off += n;
  }
  return fields.length >= 2 && SSH_KEY_TYPE.test(fields[0]!.toString('latin1'));
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  const n = [...s].length;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Quotes text for a detail string: JSON escaping (no raw control or bidi characters), at most `max` chars. */
export function quote(text: string, max = 120): string {
  const t = [...text];
  const cut = t.length > max ? t.slice(0, max).join('') + '…' : text;
  return JSON.stringify(cut).replace(/[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
