/**
 * The frame of every console page: language, title, the one stylesheet and script (external
 * files: the CSP allows no inline code), a skip link, who is logged in and the logout form.
 */
import { ROLE_DA } from '../danish.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Session } from '../session.ts';

export const BASE = '/konsol';

/** The person's KLE ranges, when any privilege is limited to some (`27.*, 28.10.*`); else undefined. */
export const kleRanges = (s: Session): string | undefined => {
  const ranges = [...new Set(s.person.privileges.flatMap((p) => p.kle ?? []))];
  return ranges.length > 0 ? ranges.join(', ') : undefined;
};

/** Says how many contracts are left out because they lie outside the person's KLE ranges. */
export const kleNotice = (s: Session, outside: number) =>
  outside > 0
    ? html`<p class="notice" role="note">${outside} kontrakt(er) ligger uden for dine KLE-emner (${kleRanges(s) ?? ''}) og vises ikke.</p>`
    : '';

export const csrfField = (s: Session<unknown>) => html`<input type="hidden" name="_csrf" value="${s.csrf}">`;

export function layout(o: {
  title: string;
  session?: Session | undefined;
  body: SafeHtml;
  live?: string;
  /** Replaces the staff header (the citizens' pages: their own home, who and logout). */
  header?: SafeHtml;
}): SafeHtml {
  const s = o.session;
  return html`<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} – Tillid</title>
<link rel="stylesheet" href="${BASE}/static/konsol.css">
<script src="${BASE}/static/konsol.js" defer></script>
</head>
<body${o.live ? html` data-live="${o.live}"` : ''}>
<a class="skip" href="#indhold">Spring til indhold</a>
<header>
${
  o.header ??
  html`<p class="brand"><a href="${BASE}/">Tillid</a></p>
${s ? html`<nav aria-label="Konsol"><a href="${BASE}/">Overblik</a> <a href="${BASE}/betalinger">Betalinger</a> <a href="${BASE}/netvaerk">Netværk</a> <a href="${BASE}/revision">Revision</a></nav>` : ''}
${
  s
    ? html`<p class="who">${s.person.name} · CVR ${s.person.cvr} · ${s.person.privileges.map((p) => `${ROLE_DA[p.role] ?? p.role}${p.kle ? ` (KLE ${p.kle.join(', ')})` : ''}`).join(', ')}</p>
<form method="post" action="${BASE}/logout">${csrfField(s)}<button type="submit">Log ud</button></form>`
    : ''
}`
}
</header>
<main id="indhold">
<h1>${o.title}</h1>
${o.body}
</main>
${o.live ? html`<p class="live" role="status" aria-live="polite" id="live-status"></p>` : ''}
</body>
</html>`;
}

export const errorBody = (message: string, back?: string) =>
  html`<p class="error" role="alert">${message}</p>${back ? html`<p><a href="${back}">Tilbage</a></p>` : ''}`;
