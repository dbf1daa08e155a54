// Browser notifications when a session needs approval or finishes, while
// the page is open but not in view. (Web Push for a closed page is the
// service worker's `push` handler, with the same {title, body, url}.)

export function askPermission() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

export function notify(title, body, url) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && location.hash === new URL(url, location.href).hash) return;
  try {
    const n = new Notification(title, { body, icon: '/icon.svg', tag: url });
    n.onclick = () => { window.focus(); location.hash = new URL(url, location.href).hash; n.close(); };
  } catch { /* some browsers allow notifications only from the service worker */ }
}
