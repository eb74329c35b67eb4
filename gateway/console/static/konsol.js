// The console's one script (a file: the CSP allows no inline scripts). Pages work without it; with
// it, a page that shows chain state (data-live on <body>) follows the gateway's event stream
// (GET /v1/events/stream, which a console session may read: only its organisation's events) and
// reloads its main content when a finalized event arrives, so approvals and payment decisions
// appear without the user reloading. A page with a form field in focus or edited is left alone.
(() => {
  const live = document.body.dataset.live;
  if (!live || typeof EventSource !== 'function') return;
  const status = document.getElementById('live-status');
  const say = (text) => {
    if (status) status.textContent = text;
  };
  let edited = false;
  document.addEventListener('input', () => {
    edited = true;
  });
  let pending;
  const refresh = async () => {
    if (edited || document.activeElement?.matches('input, select, textarea')) return;
    const answer = await fetch(location.href, { credentials: 'same-origin' });
    if (!answer.ok) return;
    const next = new DOMParser().parseFromString(await answer.text(), 'text/html').getElementById('indhold');
    const main = document.getElementById('indhold');
    if (next && main) main.replaceChildren(...next.childNodes);
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed ?? 0) + 1);
    say(`Opdateret ${new Date().toLocaleTimeString('da-DK')}`);
  };
  // Events of one block arrive together: one refresh per burst.
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(() => {}), 300);
  };
  const source = new EventSource('/v1/events/stream');
  for (const type of [
    'contract.created',
    'contract.proposed',
    'contract.approved',
    'contract.activated',
    'contract.amended',
    'contract.suspended',
    'contract.resumed',
    'contract.terminated',
    'contract.expired',
    'payment.released',
    'payment.withheld',
    'report.received',
    'report.overdue',
  ])
    source.addEventListener(type, soon);
  source.onopen = () => say('Live: følger netværket');
  source.onerror = () => say('Live-forbindelsen er afbrudt; genopretter …');
})();
