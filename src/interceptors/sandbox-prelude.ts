// The JavaScript evaluated inside every sandbox context before the operator's code: the web
// helpers the contract promises (atob/btoa, TextEncoder/TextDecoder, URL/URLSearchParams,
// structuredClone), the removal of what must not be there, the freezing of every intrinsic, and the
// runner the host calls. It is a string because it runs in another V8 isolate, never in Node.
//
// Why the helpers are written here rather than loaded from packages: none of the well-kept
// implementations (whatwg-url + tr46 + webidl-conversions, fast-text-encoding, @ungap/structured-clone,
// core-js's url) is installed in this project, and whatwg-url in particular is a multi-package
// CommonJS graph that would need bundling into one script. What is here is small, covers the
// ordinary cases, and is tested against Node's own implementations (test/interceptors/helpers.test.ts).
// Limits, by design:
//   - URL: WHATWG parsing for special schemes (http, https, ws, wss, ftp, file) and opaque/hierarchical
//     other schemes; ASCII host names only (no IDNA/punycode: a non-ASCII host is a TypeError), IPv4
//     numbers normalised, IPv6 literals kept as written (lower-cased, not compressed).
//   - TextDecoder: UTF-8 only (other labels are a RangeError), `fatal`, `ignoreBOM` and `stream` work.
//   - structuredClone: primitives, plain objects, arrays, Date, RegExp, Map, Set, ArrayBuffer, typed
//     arrays, DataView, Error, boxed primitives, cycles kept; functions and symbols are a
//     DataCloneError; no `transfer` option.
//
// The runner contract (host side: js.ts): `hooks.install(factory)` stores the function that
// evaluates the operator's expression; `hooks.run(inputText, ctxText, isRequest, maxBytes)` returns a
// string: 'O' + output JSON text, 'P' if the interceptor returned a promise that has not settled yet
// (the host then calls `hooks.collect()`, after V8 has drained the microtask queue), or 'E' + a JSON
// error record { kind, message, line?, column?, bytes? }. Only strings cross the boundary.
export const SANDBOX_FILENAME = 'toolgate-sandbox.js'
export const INTERCEPTOR_FILENAME = 'interceptor.js'

export const SANDBOX_PRELUDE = String.raw`(function () {
'use strict';
const g = globalThis;
const JSONparse = JSON.parse, JSONstringify = JSON.stringify;
const ObjectDefine = Object.defineProperty, ObjectFreeze = Object.freeze, ObjectKeys = Object.keys;
const StringFromCharCode = String.fromCharCode;
const isArray = Array.isArray;

// ---- what must not be there -----------------------------------------------------------------
// SharedArrayBuffer/Atomics.wait could block a thread; WebAssembly allocates memory outside the
// heap's accounting and brings its own shared memories; FinalizationRegistry/WeakRef callbacks would
// run between calls, outside any time limit.
for (const name of ['SharedArrayBuffer', 'WebAssembly', 'FinalizationRegistry', 'WeakRef']) delete g[name];

class DOMException extends Error {
  constructor (message, name) { super(message === undefined ? '' : String(message)); ObjectDefine(this, 'name', { value: name === undefined ? 'Error' : String(name), configurable: true, writable: true }) }
}

// ---- atob / btoa (HTML spec, forgiving-base64) -------------------------------------------------
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64INDEX = {}; for (let i = 0; i < 64; i++) B64INDEX[B64[i]] = i;
function btoa (data) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required");
  const s = String(data); let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new DOMException('The string to be encoded contains characters outside of the Latin1 range.', 'InvalidCharacterError');
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < s.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < s.length ? B64[n & 63] : '=');
  }
  return out;
}
function atob (data) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required");
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^+/0-9A-Za-z]/.test(s)) throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  let out = '', buf = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    buf = (buf << 6) | B64INDEX[s[i]]; bits += 6;
    if (bits >= 8) { bits -= 8; out += StringFromCharCode((buf >> bits) & 255) }
  }
  return out;
}

// ---- TextEncoder / TextDecoder (UTF-8) -----------------------------------------------------------
function utf8Encode (s) {
  const out = new Uint8Array(s.length * 3); let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xD800 && c <= 0xDFFF) {
      const d = s.charCodeAt(i + 1);
      if (c <= 0xDBFF && d >= 0xDC00 && d <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00); i++ } else c = 0xFFFD;
    }
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) { out[n++] = 0xC0 | (c >> 6); out[n++] = 0x80 | (c & 63) }
    else if (c < 0x10000) { out[n++] = 0xE0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63) }
    else { out[n++] = 0xF0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63) }
  }
  return out.slice(0, n);
}
class TextEncoder {
  get encoding () { return 'utf-8' }
  encode (input) { return utf8Encode(input === undefined ? '' : String(input)) }
  encodeInto (source, destination) {
    const s = String(source); let read = 0, written = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i), units = 1;
      if (c >= 0xD800 && c <= 0xDFFF) {
        const d = s.charCodeAt(i + 1);
        if (c <= 0xDBFF && d >= 0xDC00 && d <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00); units = 2 } else c = 0xFFFD;
      }
      const len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      if (written + len > destination.length) break;
      const bytes = utf8Encode(units === 2 ? s.slice(i, i + 2) : StringFromCharCode(c));
      destination.set(bytes, written); written += len; read += units; i += units - 1;
    }
    return { read, written };
  }
}
function toBytes (input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'");
}
class TextDecoder {
  #fatal; #ignoreBOM; #pending = []; #bomSeen = false;
  constructor (label, options) {
    const l = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') throw new RangeError('The encoding label provided (' + l + ') is not supported in the sandbox (UTF-8 only).');
    this.#fatal = !!(options && options.fatal); this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding () { return 'utf-8' }
  get fatal () { return this.#fatal }
  get ignoreBOM () { return this.#ignoreBOM }
  decode (input, options) {
    const stream = !!(options && options.stream);
    let bytes = toBytes(input);
    if (this.#pending.length) { const b = new Uint8Array(this.#pending.length + bytes.length); b.set(this.#pending); b.set(bytes, this.#pending.length); bytes = b; this.#pending = [] }
    const units = []; let out = '';
    let cp = 0, need = 0, seen = 0, lower = 0x80, upper = 0xBF, start = 0;
    const emit = (u) => { units.push(u); if (units.length >= 4096) { out += StringFromCharCode.apply(null, units); units.length = 0 } };
    const bad = () => { if (this.#fatal) { this.#pending = []; throw new TypeError('The encoded data was not valid for encoding utf-8') } emit(0xFFFD) };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (need === 0) {
        start = i;
        if (b <= 0x7F) { emit(b); continue }
        if (b >= 0xC2 && b <= 0xDF) { need = 1; cp = b & 0x1F }
        else if (b >= 0xE0 && b <= 0xEF) { if (b === 0xE0) lower = 0xA0; if (b === 0xED) upper = 0x9F; need = 2; cp = b & 0xF }
        else if (b >= 0xF0 && b <= 0xF4) { if (b === 0xF0) lower = 0x90; if (b === 0xF4) upper = 0x8F; need = 3; cp = b & 7 }
        else bad();
        continue;
      }
      if (b < lower || b > upper) { cp = need = seen = 0; lower = 0x80; upper = 0xBF; bad(); i--; continue }
      lower = 0x80; upper = 0xBF; cp = (cp << 6) | (b & 0x3F); seen++;
      if (seen !== need) continue;
      if (cp > 0xFFFF) { cp -= 0x10000; emit(0xD800 + (cp >> 10)); emit(0xDC00 + (cp & 0x3FF)) } else emit(cp);
      cp = need = seen = 0;
    }
    if (need !== 0) { if (stream) this.#pending = Array.from(bytes.subarray(start)); else bad() }
    out += StringFromCharCode.apply(null, units);
    if (!this.#ignoreBOM && !this.#bomSeen && out.length) { this.#bomSeen = true; if (out.charCodeAt(0) === 0xFEFF) out = out.slice(1) }
    if (!stream) this.#bomSeen = false;
    return out;
  }
}

// ---- URLSearchParams / URL (WHATWG, see the limits above) ---------------------------------------
const hex = (b) => '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
function percentEncode (s, isInSet) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && !isInSet(c)) { out += s[i]; continue }
    let j = i + 1; if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) j = i + 2;
    const bytes = utf8Encode(s.slice(i, j)); for (let k = 0; k < bytes.length; k++) out += hex(bytes[k]);
    i = j - 1;
  }
  return out;
}
function percentDecodeBytes (s) {
  const raw = utf8Encode(s); const out = new Uint8Array(raw.length); let n = 0;
  const hv = (b) => b >= 48 && b <= 57 ? b - 48 : b >= 65 && b <= 70 ? b - 55 : b >= 97 && b <= 102 ? b - 87 : -1;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 37 && i + 2 < raw.length && hv(raw[i + 1]) >= 0 && hv(raw[i + 2]) >= 0) { out[n++] = hv(raw[i + 1]) * 16 + hv(raw[i + 2]); i += 2 } else out[n++] = raw[i];
  }
  return out.subarray(0, n);
}
const decodeUtf8 = (bytes) => new TextDecoder().decode(bytes);
const C0 = (c) => c < 0x20 || c > 0x7E;
const FRAGMENT_SET = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x3C || c === 0x3E || c === 0x60;
const QUERY_SET = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3C || c === 0x3E;
const SPECIAL_QUERY_SET = (c) => QUERY_SET(c) || c === 0x27;
const PATH_SET = (c) => QUERY_SET(c) || c === 0x3F || c === 0x5E || c === 0x60 || c === 0x7B || c === 0x7D;
const USERINFO_SET = (c) => PATH_SET(c) || c === 0x2F || c === 0x3A || c === 0x3B || c === 0x3D || c === 0x40 || (c >= 0x5B && c <= 0x5D) || c === 0x7C;
const FORM_KEEP = (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c === 0x2A || c === 0x2D || c === 0x2E || c === 0x5F;
function formEncode (s) {
  const bytes = utf8Encode(s); let out = '';
  for (let i = 0; i < bytes.length; i++) { const b = bytes[i]; out += b === 0x20 ? '+' : FORM_KEEP(b) ? StringFromCharCode(b) : hex(b) }
  return out;
}
function formParse (s) {
  const list = [];
  for (const part of s.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('='); const name = eq < 0 ? part : part.slice(0, eq); const value = eq < 0 ? '' : part.slice(eq + 1);
    list.push([decodeUtf8(percentDecodeBytes(name.replace(/\+/g, ' '))), decodeUtf8(percentDecodeBytes(value.replace(/\+/g, ' ')))]);
  }
  return list;
}
const toUSV = (v) => String(v).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

class URLSearchParams {
  #list = []; #url = null;
  constructor (init) {
    if (init === undefined || init === null) return;
    if (typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError("Failed to construct 'URLSearchParams': Each query pair must be an iterable [name, value] tuple");
          this.#list.push([toUSV(p[0]), toUSV(p[1])]);
        }
      } else for (const k of Reflect.ownKeys(init)) { if (typeof k === 'string' && Object.prototype.propertyIsEnumerable.call(init, k)) this.#list.push([toUSV(k), toUSV(init[k])]) }
    } else { const s = toUSV(init); this.#list = formParse(s[0] === '?' ? s.slice(1) : s) }
  }
  static _attach (params, url, query) { params.#url = url; params.#list = query ? formParse(query) : [] }
  static _reset (params, query) { params.#list = query ? formParse(query) : [] }
  #update () { if (this.#url) URL._setQueryFromParams(this.#url, this.toString()) }
  get size () { return this.#list.length }
  append (name, value) { this.#list.push([toUSV(name), toUSV(value)]); this.#update() }
  delete (name, value) { name = toUSV(name); const v = value === undefined ? undefined : toUSV(value); this.#list = this.#list.filter(([n, x]) => !(n === name && (v === undefined || x === v))); this.#update() }
  get (name) { name = toUSV(name); const e = this.#list.find(([n]) => n === name); return e ? e[1] : null }
  getAll (name) { name = toUSV(name); return this.#list.filter(([n]) => n === name).map(([, v]) => v) }
  has (name, value) { name = toUSV(name); const v = value === undefined ? undefined : toUSV(value); return this.#list.some(([n, x]) => n === name && (v === undefined || x === v)) }
  set (name, value) {
    name = toUSV(name); value = toUSV(value); const i = this.#list.findIndex(([n]) => n === name);
    if (i < 0) this.#list.push([name, value]); else { this.#list[i] = [name, value]; this.#list = this.#list.filter(([n], j) => j <= i || n !== name) }
    this.#update();
  }
  sort () { const withIndex = this.#list.map((e, i) => [e, i]); withIndex.sort((a, b) => a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]); this.#list = withIndex.map(([e]) => e); this.#update() }
  forEach (callback, thisArg) { for (const [n, v] of this.#list.slice()) callback.call(thisArg, v, n, this) }
  *entries () { for (const [n, v] of this.#list.slice()) yield [n, v] }
  *keys () { for (const [n] of this.#list.slice()) yield n }
  *values () { for (const [, v] of this.#list.slice()) yield v }
  [Symbol.iterator] () { return this.entries() }
  toString () { return this.#list.map(([n, v]) => formEncode(n) + '=' + formEncode(v)).join('&') }
  get [Symbol.toStringTag] () { return 'URLSearchParams' }
}

const SPECIAL = { 'ftp:': '21', 'file:': '', 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };
const isSpecial = (scheme) => Object.prototype.hasOwnProperty.call(SPECIAL, scheme);
const invalid = (input) => new TypeError('Invalid URL' + (input === undefined ? '' : ': ' + String(input).slice(0, 200)));
function parseIPv4Number (s) {
  if (s === '') return NaN;
  let radix = 10;
  if (/^0[xX]/.test(s)) { s = s.slice(2); radix = 16 } else if (s.length > 1 && s[0] === '0') { s = s.slice(1); radix = 8 }
  if (s === '') return 0;
  const re = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  return re.test(s) ? parseInt(s, radix) : NaN;
}
function parseHost (input, special, whole) {
  if (input[0] === '[') {
    if (input[input.length - 1] !== ']' || !/^\[[0-9a-fA-F:.]+\]$/.test(input)) throw invalid(whole);
    return input.toLowerCase();
  }
  if (!special) {
    if (/[\u0000\t\n\r #/:<>?@[\\\]^|]/.test(input)) throw invalid(whole);
    return percentEncode(input, C0);
  }
  const host = decodeUtf8(percentDecodeBytes(input)).toLowerCase();
  if (host === '') throw invalid(whole);
  if (/[^\u0000-\u007f]/.test(host)) throw new TypeError('Invalid URL: internationalized host names are not supported in the sandbox: ' + String(whole).slice(0, 200));
  if (/[\u0000-\u0020#%/:<>?@[\\\]^|\u007f]/.test(host)) throw invalid(whole);
  const parts = host.split('.'); if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1];
  if (/^[0-9]+$/.test(last) || /^0[xX][0-9a-fA-F]*$/.test(last)) {
    if (parts.length > 4) throw invalid(whole);
    const nums = parts.map(parseIPv4Number);
    if (nums.some((n) => Number.isNaN(n))) throw invalid(whole);
    for (let i = 0; i < nums.length - 1; i++) if (nums[i] > 255) throw invalid(whole);
    if (nums[nums.length - 1] >= 256 ** (5 - nums.length)) throw invalid(whole);
    let ipv4 = nums[nums.length - 1]; for (let i = 0; i < nums.length - 1; i++) ipv4 += nums[i] * 256 ** (3 - i);
    const out = []; for (let i = 0; i < 4; i++) { out.unshift(String(ipv4 % 256)); ipv4 = Math.floor(ipv4 / 256) }
    return out.join('.');
  }
  return host;
}
const isSingleDot = (s) => s === '.' || s.toLowerCase() === '%2e';
const isDoubleDot = (s) => { const l = s.toLowerCase(); return l === '..' || l === '.%2e' || l === '%2e.' || l === '%2e%2e' };
function parsePath (input, special, basePath) {
  const segments = basePath ? basePath.slice() : [];
  const raw = special ? input.split(/[\\/]/) : input.split('/');
  if (raw[0] === '') raw.shift();
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i], last = i === raw.length - 1;
    if (isDoubleDot(seg)) { segments.pop(); if (last) segments.push('') }
    else if (isSingleDot(seg)) { if (last) segments.push('') }
    else segments.push(percentEncode(seg, PATH_SET));
  }
  return segments;
}
function splitRest (rest) {
  let fragment = null, query = null;
  const h = rest.indexOf('#'); if (h >= 0) { fragment = rest.slice(h + 1); rest = rest.slice(0, h) }
  const q = rest.indexOf('?'); if (q >= 0) { query = rest.slice(q + 1); rest = rest.slice(0, q) }
  return { rest, query, fragment };
}
class URL {
  #scheme = ''; #username = ''; #password = ''; #host = null; #port = ''; #path = []; #opaque = null; #query = null; #fragment = null; #params;
  constructor (url, base) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'URL': 1 argument required, but only 0 present.");
    let baseURL;
    if (base !== undefined) baseURL = base instanceof URL ? base : new URL(String(base));
    this.#parse(String(url), baseURL);
    this.#params = new URLSearchParams();
    URLSearchParams._attach(this.#params, this, this.#query);
  }
  static canParse (url, base) { try { new URL(url, base); return true } catch { return false } }
  static parse (url, base) { try { return new URL(url, base) } catch { return null } }
  static _setQueryFromParams (url, q) { url.#query = q === '' ? null : q }
  #parse (input, base) {
    const whole = input;
    input = input.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
    const m = /^([a-zA-Z][a-zA-Z0-9+.\-]*):/.exec(input);
    let rest;
    if (m) {
      this.#scheme = m[1].toLowerCase() + ':'; rest = input.slice(m[0].length);
      const special = isSpecial(this.#scheme);
      if (special && base && base.#scheme === this.#scheme && !/^[\\/]/.test(rest)) return this.#relative(rest, base, whole);
      if (special || rest.startsWith('//')) {
        if (this.#scheme === 'file:') return this.#file(rest, whole);
        return this.#authority(special ? rest.replace(/^[\\/]*/, '') : rest.slice(2), special, whole);
      }
      const parts = splitRest(rest);
      if (parts.rest.startsWith('/')) this.#path = parsePath(parts.rest, false);
      else this.#opaque = percentEncode(parts.rest, C0);
      this.#setQF(parts, false);
      return;
    }
    if (!base) throw invalid(whole);
    this.#scheme = base.#scheme;
    return this.#relative(input, base, whole);
  }
  #setQF (parts, special) {
    this.#query = parts.query === null ? null : percentEncode(parts.query, special ? SPECIAL_QUERY_SET : QUERY_SET);
    this.#fragment = parts.fragment === null ? null : percentEncode(parts.fragment, FRAGMENT_SET);
  }
  #authority (rest, special, whole) {
    const end = rest.search(special ? /[\\/?#]/ : /[/?#]/);
    let auth = end < 0 ? rest : rest.slice(0, end); rest = end < 0 ? '' : rest.slice(end);
    const at = auth.lastIndexOf('@');
    if (at >= 0) {
      const info = auth.slice(0, at); auth = auth.slice(at + 1);
      const colon = info.indexOf(':');
      this.#username = percentEncode(colon < 0 ? info : info.slice(0, colon), USERINFO_SET);
      this.#password = colon < 0 ? '' : percentEncode(info.slice(colon + 1), USERINFO_SET);
    }
    const pm = /:([0-9]*)$/.exec(auth.startsWith('[') ? auth.slice(auth.indexOf(']') + 1) : auth);
    let hostPart = auth;
    if (pm) {
      hostPart = auth.slice(0, auth.length - pm[0].length);
      if (pm[1] !== '') { const port = parseInt(pm[1], 10); if (port > 65535) throw invalid(whole); this.#port = String(port) === SPECIAL[this.#scheme] ? '' : String(port) }
    } else if (/:/.test(auth.startsWith('[') ? auth.slice(auth.indexOf(']') + 1) : auth)) throw invalid(whole);
    if (hostPart === '' && special) throw invalid(whole);
    if (hostPart === '' && (this.#username || this.#password || this.#port)) throw invalid(whole);
    this.#host = parseHost(hostPart, special, whole);
    const parts = splitRest(rest);
    this.#path = parts.rest === '' ? (special ? [''] : []) : parsePath(parts.rest, special);
    this.#setQF(parts, special);
  }
  #file (rest, whole) {
    rest = rest.replace(/\\/g, '/');
    this.#host = '';
    if (rest.startsWith('//')) {
      rest = rest.slice(2); const end = rest.search(/[/?#]/);
      const host = end < 0 ? rest : rest.slice(0, end); rest = end < 0 ? '' : rest.slice(end);
      if (host !== '' && host.toLowerCase() !== 'localhost') this.#host = parseHost(host, true, whole);
    }
    const parts = splitRest(rest);
    this.#path = parsePath(parts.rest === '' ? '/' : parts.rest, true);
    this.#setQF(parts, true);
  }
  #relative (input, base, whole) {
    const special = isSpecial(this.#scheme);
    if (base.#opaque !== null) {
      if (!input.startsWith('#')) throw invalid(whole);
      this.#opaque = base.#opaque; this.#query = base.#query; this.#fragment = percentEncode(input.slice(1), FRAGMENT_SET); return;
    }
    if (/^[\\/]{2}/.test(input) && (special || input.startsWith('//'))) {
      if (this.#scheme === 'file:') return this.#file(input, whole);
      return this.#authority(input.slice(2), special, whole);
    }
    this.#username = base.#username; this.#password = base.#password; this.#host = base.#host; this.#port = base.#port;
    const parts = splitRest(input);
    if (parts.rest === '') {
      this.#path = base.#path.slice();
      if (parts.query === null) { this.#query = base.#query; this.#fragment = parts.fragment === null ? null : percentEncode(parts.fragment, FRAGMENT_SET); return }
    } else if (/^[\\/]/.test(parts.rest) && (special || parts.rest[0] === '/')) this.#path = parsePath(parts.rest, special);
    else this.#path = parsePath(parts.rest, special, base.#path.slice(0, -1));
    this.#setQF(parts, special);
  }
  get href () {
    let s = this.#scheme;
    if (this.#host !== null) {
      s += '//';
      if (this.#username || this.#password) s += this.#username + (this.#password ? ':' + this.#password : '') + '@';
      s += this.#host + (this.#port ? ':' + this.#port : '');
    }
    s += this.pathname;
    if (this.#query !== null) s += '?' + this.#query;
    if (this.#fragment !== null) s += '#' + this.#fragment;
    return s;
  }
  set href (v) { const u = new URL(String(v)); this.#scheme = u.#scheme; this.#username = u.#username; this.#password = u.#password; this.#host = u.#host; this.#port = u.#port; this.#path = u.#path; this.#opaque = u.#opaque; this.#query = u.#query; this.#fragment = u.#fragment; URLSearchParams._reset(this.#params, this.#query) }
  get origin () {
    if (this.#scheme === 'blob:' && this.#opaque !== null) { const inner = URL.parse(this.#opaque); return inner && (inner.protocol === 'http:' || inner.protocol === 'https:') ? inner.origin : 'null' }
    return isSpecial(this.#scheme) && this.#scheme !== 'file:' ? this.#scheme + '//' + this.host : 'null';
  }
  get protocol () { return this.#scheme }
  set protocol (v) { const m = /^([a-zA-Z][a-zA-Z0-9+.\-]*)/.exec(String(v)); if (!m) return; const s = m[1].toLowerCase() + ':'; if (isSpecial(s) !== isSpecial(this.#scheme) || s === 'file:' || this.#scheme === 'file:') return; this.#scheme = s; if (this.#port === SPECIAL[s]) this.#port = '' }
  get username () { return this.#username }
  set username (v) { if (this.#host === null || this.#host === '' || this.#scheme === 'file:') return; this.#username = percentEncode(String(v), USERINFO_SET) }
  get password () { return this.#password }
  set password (v) { if (this.#host === null || this.#host === '' || this.#scheme === 'file:') return; this.#password = percentEncode(String(v), USERINFO_SET) }
  get host () { return this.#host === null ? '' : this.#host + (this.#port ? ':' + this.#port : '') }
  set host (v) { if (this.#opaque !== null) return; try { const u = new URL(this.#scheme + '//' + String(v)); this.#host = u.#host; if (u.#port || /:[0-9]+$/.test(String(v))) this.#port = u.#port } catch {} }
  get hostname () { return this.#host === null ? '' : this.#host }
  set hostname (v) { if (this.#opaque !== null) return; try { const u = new URL(this.#scheme + '//' + String(v).replace(/:.*$/, '')); this.#host = u.#host } catch {} }
  get port () { return this.#port }
  set port (v) { if (this.#host === null || this.#host === '' || this.#scheme === 'file:') return; const s = String(v); if (s === '') { this.#port = ''; return } const m = /^[0-9]+/.exec(s); if (!m) return; const p = parseInt(m[0], 10); if (p > 65535) return; this.#port = String(p) === SPECIAL[this.#scheme] ? '' : String(p) }
  get pathname () { return this.#opaque !== null ? this.#opaque : this.#path.length ? '/' + this.#path.join('/') : '' }
  set pathname (v) { if (this.#opaque !== null) return; this.#path = parsePath(String(v).replace(/[?#]/g, (c) => hex(c.charCodeAt(0))), isSpecial(this.#scheme)); if (!this.#path.length && isSpecial(this.#scheme)) this.#path = [''] }
  get search () { return this.#query === null || this.#query === '' ? '' : '?' + this.#query }
  set search (v) { let s = String(v); if (s[0] === '?') s = s.slice(1); this.#query = s === '' ? null : percentEncode(s, isSpecial(this.#scheme) ? SPECIAL_QUERY_SET : QUERY_SET); URLSearchParams._reset(this.#params, this.#query) }
  get searchParams () { return this.#params }
  get hash () { return this.#fragment === null || this.#fragment === '' ? '' : '#' + this.#fragment }
  set hash (v) { let s = String(v); if (s[0] === '#') s = s.slice(1); this.#fragment = s === '' ? null : percentEncode(s, FRAGMENT_SET) }
  toString () { return this.href }
  toJSON () { return this.href }
  get [Symbol.toStringTag] () { return 'URL' }
}

// ---- structuredClone -----------------------------------------------------------------------------
const TypedArray = Object.getPrototypeOf(Uint8Array);
const ERROR_TYPES = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
function structuredClone (value, options) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
  if (options !== undefined && options !== null && options.transfer !== undefined && Array.from(options.transfer).length) throw new DOMException('Transferring is not supported in the sandbox.', 'DataCloneError');
  const memory = new Map();
  const cannot = (what) => new DOMException(what + ' could not be cloned.', 'DataCloneError');
  const clone = (v) => {
    if (typeof v === 'symbol') throw cannot(String(v));
    if (typeof v === 'function') throw cannot(String(v).slice(0, 100));
    if (v === null || typeof v !== 'object') return v;
    if (memory.has(v)) return memory.get(v);
    let out;
    if (v instanceof Boolean) out = new Boolean(v.valueOf());
    else if (v instanceof Number) out = new Number(v.valueOf());
    else if (v instanceof String) out = new String(v.valueOf());
    else if (typeof BigInt === 'function' && v instanceof Object(BigInt(0)).constructor && typeof v.valueOf() === 'bigint') out = Object(v.valueOf());
    else if (v instanceof Date) out = new Date(v.getTime());
    else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
    else if (v instanceof ArrayBuffer) out = v.slice(0);
    else if (v instanceof TypedArray) { const buf = clone(v.buffer); out = new v.constructor(buf, v.byteOffset, v.length) }
    else if (v instanceof DataView) { const buf = clone(v.buffer); out = new DataView(buf, v.byteOffset, v.byteLength) }
    else if (v instanceof Map) { out = new Map(); memory.set(v, out); for (const [k, x] of v) out.set(clone(k), clone(x)); return out }
    else if (v instanceof Set) { out = new Set(); memory.set(v, out); for (const x of v) out.add(clone(x)); return out }
    else if (v instanceof Error) {
      const Ctor = ERROR_TYPES[v.name] || Error; out = new Ctor(v.message);
      memory.set(v, out); if ('cause' in v) out.cause = clone(v.cause); return out;
    }
    else if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof URL || v instanceof URLSearchParams) throw cannot(Object.prototype.toString.call(v));
    else if (isArray(v)) {
      out = new Array(v.length); memory.set(v, out);
      for (const k of ObjectKeys(v)) out[k] = clone(v[k]);
      return out;
    } else {
      out = {}; memory.set(v, out);
      for (const k of ObjectKeys(v)) ObjectDefine(out, k, { value: clone(v[k]), writable: true, enumerable: true, configurable: true });
      return out;
    }
    memory.set(v, out);
    return out;
  };
  return clone(value);
}

for (const [name, value] of [['atob', atob], ['btoa', btoa], ['TextEncoder', TextEncoder], ['TextDecoder', TextDecoder],
  ['URL', URL], ['URLSearchParams', URLSearchParams], ['structuredClone', structuredClone], ['DOMException', DOMException]]) {
  ObjectDefine(g, name, { value, writable: true, enumerable: false, configurable: true });
}

// ---- lockdown: every intrinsic frozen, globalThis frozen -----------------------------------------
// A context serves many calls, so nothing a call does may outlive it: with every object reachable
// from the global frozen (and the operator's expression evaluated anew for each call, see run()),
// there is nowhere left to stash state or poison a prototype. Data properties of Object.prototype
// and Error.prototype become accessors whose setter defines an own property on the receiver, so
// ordinary code such as out.constructor = 1, out.toString = 'x' or this.name = 'MyError' still
// works on the operator's own objects (the "override mistake" of frozen prototypes).
const tame = (proto) => {
  for (const key of Reflect.ownKeys(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (!('value' in d) || key === '__proto__') continue;
    const value = d.value;
    ObjectDefine(proto, key, {
      get () { return value },
      set (v) { if (this === proto) throw new TypeError('Cannot assign to read only property ' + String(key) + ' of a frozen prototype'); ObjectDefine(this, key, { value: v, writable: true, enumerable: true, configurable: true }) },
      enumerable: d.enumerable, configurable: false
    });
  }
};
tame(Object.prototype); tame(Error.prototype);
// Legacy RegExp statics (RegExp.$1, RegExp.lastMatch, RegExp.input …) would carry the last match of
// one call into the next: remove them.
for (const k of ['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9', 'input', '$_', 'lastMatch', '$&', 'lastParen', '$+', 'leftContext', 'rightContext', "$'", '$' + StringFromCharCode(96)]) {
  try { delete RegExp[k] } catch {}
}
const seen = new Set();
const freeze = (o) => {
  if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) return;
  seen.add(o); ObjectFreeze(o);
  for (const k of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if ('value' in d) freeze(d.value); else { freeze(d.get); freeze(d.set) }
  }
  freeze(Object.getPrototypeOf(o));
};
freeze(g);
for (const f of [async function () {}, function * () {}, async function * () {}, async () => {}]) freeze(f);
freeze([][Symbol.iterator]()); freeze(new Map().entries()); freeze(new Set().values()); freeze(''[Symbol.iterator]()); freeze(/x/[Symbol.matchAll](''));
freeze(Object.getPrototypeOf(Object.getPrototypeOf((function * () {})())));

// ---- the runner ------------------------------------------------------------------------------------
let factory = null;
let pending = null;
const TRUNC = 1000;
const clip = (s) => s.length > TRUNC ? s.slice(0, TRUNC) + '…' : s;
const lineOf = (stack) => {
  const m = /interceptor\.js:(\d+):(\d+)/.exec(stack);
  return m ? { line: +m[1], column: +m[2] } : {};
};
const fail = (kind, message, where, extra) => 'E' + JSONstringify(Object.assign({ kind, message }, where || {}, extra || {}));
const describeValue = (v) => {
  if (typeof v === 'string') return JSONstringify(clip(v));
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return String(v) + 'n';
  if (typeof v === 'symbol') return 'a Symbol';
  if (typeof v === 'function') return 'a function';
  try { const s = JSONstringify(v); if (typeof s === 'string') return clip(s) } catch {}
  try { return Object.prototype.toString.call(v) } catch { return 'an object' }
};
const thrown = (e) => {
  let isError = false;
  try { isError = e instanceof Error } catch {}
  if (!isError) return fail('runtime', 'threw a non-Error value: ' + describeValue(e));
  let text = 'Error', stack = '';
  try { text = clip(String(e.name) + ': ' + String(e.message)) } catch {}
  try { stack = String(e.stack) } catch {}
  return fail('runtime', text, lineOf(stack));
};
const NOT_JSON = {};
let notJsonReason = '';
const replacer = function (key, value) {
  const t = typeof value;
  if (t === 'function' || t === 'symbol' || t === 'bigint') { notJsonReason = t === 'bigint' ? 'BigInt' : t === 'symbol' ? 'Symbol' : 'function'; throw NOT_JSON }
  return value;
};
const finish = (out, isRequest, maxBytes) => {
  if (out === undefined) return fail('bad_output', isRequest ? 'request interceptors must return an object (the new arguments), got undefined' : 'returned undefined; a response interceptor must return a JSON value');
  if (isRequest && (out === null || typeof out !== 'object' || isArray(out))) {
    const got = out === null ? 'null' : isArray(out) ? 'array' : typeof out;
    if (got !== 'function' && got !== 'symbol' && got !== 'bigint') return fail('bad_output', 'request interceptors must return an object (the new arguments), got ' + got);
  }
  let text;
  try { text = JSONstringify(out, replacer) } catch (e) {
    if (e === NOT_JSON) return fail('not_json', 'returned a value that is not JSON (' + notJsonReason + ')');
    let msg = '';
    try { msg = e instanceof Error ? String(e.message) : '' } catch {}
    if (e instanceof TypeError && /circular/i.test(msg)) return fail('not_json', 'returned a value that is not JSON (cyclic)');
    if (e instanceof RangeError && /call stack/i.test(msg)) return fail('not_json', 'returned a value that is not JSON (nested too deeply to serialize)');
    let inner;
    try { inner = JSONparse(thrown(e).slice(1)) } catch { inner = { message: 'an error' } }
    return fail('not_json', 'returned a value that is not JSON (serializing it threw: ' + inner.message + ')', { line: inner.line, column: inner.column });
  }
  if (text === undefined) return fail('not_json', 'returned a value that is not JSON (' + (typeof out === 'function' ? 'function' : typeof out === 'symbol' ? 'Symbol' : typeof out) + ')');
  if (text.length > maxBytes) {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) { const c = text.charCodeAt(i); bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : (c >= 0xD800 && c <= 0xDBFF) ? (i++, 4) : 3 }
    return fail('output_too_large', 'output is ' + bytes + ' bytes, over its limit of ' + maxBytes + ' (maxOutputBytes)', null, { bytes });
  }
  return 'O' + text;
};
const deepFreeze = (o) => { if (o && typeof o === 'object') { ObjectFreeze(o); for (const k of ObjectKeys(o)) deepFreeze(o[k]) } return o };
const hooks = {
  install (f) { factory = f },
  run (inputText, ctxText, isRequest, maxBytes) {
    pending = null;
    let fn;
    try { fn = factory() } catch (e) { return thrown(e) }
    if (typeof fn !== 'function') return fail('runtime', 'does not evaluate to a function (got ' + (fn === null ? 'null' : typeof fn) + ')');
    let out;
    try { out = fn(JSONparse(inputText), deepFreeze(JSONparse(ctxText))) } catch (e) { return thrown(e) }
    let isThenable = false;
    try { isThenable = out !== null && (typeof out === 'object' || typeof out === 'function') && typeof out.then === 'function' } catch (e) {
      let inner;
      try { inner = JSONparse(thrown(e).slice(1)) } catch { inner = { message: 'an error' } }
      return fail('not_json', 'returned a value that is not JSON (inspecting it threw: ' + inner.message + ')', { line: inner.line, column: inner.column });
    }
    if (!isThenable) return finish(out, isRequest, maxBytes);
    const state = { result: null };
    pending = state;
    try {
      Promise.resolve(out).then((v) => { state.result = finish(v, isRequest, maxBytes) }, (e) => { state.result = thrown(e) });
    } catch (e) { pending = null; return thrown(e) }
    return 'P';
  },
  collect () {
    const state = pending; pending = null;
    if (!state) return fail('runtime', 'internal: nothing pending');
    return state.result === null ? fail('runtime', 'returned a promise that never settles (there are no timers or I/O in the sandbox)') : state.result;
  }
};
return hooks;
})()`
