// Browser notifications when a session needs approval or finishes, while
// the page is open but not in front of the person (another tab, another
// window, or another session of this page). (Web Push for a closed page is the
// service worker's `push` handler, with the same {title, body, url}.)

export function askPermission() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

export function notify(title, body, url) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const inFront = document.visibilityState === 'visible' && document.hasFocus();
  if (inFront && location.hash === new URL(url, location.href).hash) return;
  try {
    const n = new Notification(title, { body, icon: '/icon.svg', tag: url });
    n.onclick = () => { window.focus(); location.hash = new URL(url, location.href).hash; n.close(); };
  } catch { /* some browsers allow notifications only from the service worker */ }
}
