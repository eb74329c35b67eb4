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
  const busy = () => edited || document.activeElement?.matches('input, select, textarea');
  let running = false;
  let again = false;
  const refresh = async () => {
    if (busy()) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const answer = await fetch(location.href, { credentials: 'same-origin' });
      // Checked again after the fetch: the person may have started on a form meanwhile.
      if (!answer.ok || busy()) return;
      const next = new DOMParser()
        .parseFromString(await answer.text(), 'text/html')
        .getElementById('indhold');
      const main = document.getElementById('indhold');
      if (next && main && !busy()) main.replaceChildren(...next.childNodes);
      say(`Opdateret ${new Date().toLocaleTimeString('da-DK')}`);
    } finally {
      running = false;
      if (again) {
        again = false;
        refresh().catch(() => {});
      }
    }
  };
  // Events of one block arrive together: one refresh per burst, and at least one every 300 ms
  // while events keep coming (a timer that is not pushed back by each new event).
  let pending;
  const soon = () => {
    if (pending !== undefined) return;
    pending = setTimeout(() => {
      pending = undefined;
      refresh().catch(() => {});
    }, 300);
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
