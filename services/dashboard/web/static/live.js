// Live updates: when Ferry reports a change, re-fetch this page's main
// section from the server and swap it in; no reload, no client rendering.
(() => {
  const body = document.body, main = document.getElementById("main"), dot = document.getElementById("live");
  if (!body.dataset.events || !window.EventSource) return;
  let timer = null, lost = false;
  const refresh = () => {
    timer = null;
    fetch(location.href, {headers: {"X-Ferry-Fragment": "1"}, credentials: "same-origin"})
      .then(r => r.ok ? r.text() : Promise.reject(r.status))
      .then(html => { main.innerHTML = html; })
      .catch(() => {});
  };
  const soon = () => { if (!timer) timer = setTimeout(refresh, 50); };
  const es = new EventSource(body.dataset.events);
  es.addEventListener("change", soon);
  es.onopen = () => { dot.className = "live on"; if (lost) soon(); lost = false; };
  es.onerror = () => { dot.className = "live off"; lost = true; };
  if (body.dataset.refresh) setInterval(soon, body.dataset.refresh * 1000);
})();
