// The console's one script (a file: the CSP allows no inline scripts). Pages work without it; with
// it, a page that shows chain state (data-live on <body>) follows the gateway's event stream and
// reloads its main content when a new block's events arrive, so approvals and payment decisions
// appear without the user reloading. Focus and form input are not disturbed: a page with a form
// field in focus or edited waits until the user is done.
(() => {
  const live = document.body.dataset.live;
  if (!live || typeof EventSource !== 'function') return;
  const status = document.getElementById('live-status');
  let edited = false;
  document.addEventListener('input', () => {
    edited = true;
  });
  const refresh = async () => {
    if (edited || document.activeElement?.matches('input, select, textarea')) return;
    const answer = await fetch(location.href, { credentials: 'same-origin' });
    if (!answer.ok) return;
    const next = new DOMParser().parseFromString(await answer.text(), 'text/html').getElementById('indhold');
    const main = document.getElementById('indhold');
    if (next && main) main.replaceChildren(...next.childNodes);
    if (status) status.textContent = `Opdateret ${new Date().toLocaleTimeString('da-DK')}`;
  };
  const source = new EventSource('/konsol/begivenheder');
  source.addEventListener('blok', () => {
    refresh().catch(() => {});
  });
  source.onopen = () => {
    if (status) status.textContent = 'Live: følger netværket';
  };
  source.onerror = () => {
    if (status) status.textContent = 'Live-forbindelsen er afbrudt; genopretter…';
  };
})();
