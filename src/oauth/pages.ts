// The few HTML pages an end user sees during consent: what is asked, the outcome, clear errors.
// Self-contained (no scripts, no external resources), every value escaped.

function escape (text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function page (title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Toolgate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .25rem;border-radius:3px}
a.button{display:inline-block;background:#1f6feb;color:#fff;padding:.6rem 1.1rem;border-radius:6px;text-decoration:none}
.muted{color:#666;font-size:.9rem}</style></head>
<body>${body}</body></html>
`
}

/** Security headers for every page: nothing framed, nothing cached, no Referer (URLs carry codes). */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff'
}

export function consentPage (options: { provider: string, description?: string, scopes: string[], endUser: string, continueUrl: string }): string {
  const scopes = options.scopes.length > 0
    ? `<p>It asks for these permissions:</p><ul>${options.scopes.map(s => `<li><code>${escape(s)}</code></li>`).join('')}</ul>`
    : '<p>It asks for the provider\'s default permissions.</p>'
  return page(`Connect ${options.provider}`, `<h1>Connect your ${escape(options.provider)} account</h1>
<p>Your AI assistant wants to use <strong>${escape(options.description ?? options.provider)}</strong> as <strong>${escape(options.endUser)}</strong>, through Toolgate.</p>
${scopes}
<p><a class="button" href="${escape(options.continueUrl)}">Continue to ${escape(options.provider)}</a></p>
<p class="muted">Your token is stored encrypted and used for your calls only. You can revoke the connection at any time.</p>`)
}

export function donePage (provider: string): string {
  return page('Connected', `<h1>${escape(provider)} is connected</h1>
<p>You can close this window and go back to your AI assistant. If it does not carry on by itself, ask it to try again.</p>`)
}

export function errorPage (title: string, message: string): string {
  return page(title, `<h1>${escape(title)}</h1><p>${escape(message)}</p>
<p class="muted">Nothing was stored. Go back to your AI assistant and call the tool again to get a fresh link.</p>`)
}
