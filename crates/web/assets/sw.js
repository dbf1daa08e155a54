// The service worker: keeps the app shell so the page opens offline (the
// outbox in IndexedDB then holds what is written until the network is
// back). The API is never cached: it is always the network's answer.
const CACHE = 'agentd-shell-v2';
const SHELL = [
  '/', '/style.css', '/icon.svg', '/manifest.webmanifest',
  '/js/app.js', '/js/api.js', '/js/dom.js', '/js/outbox.js', '/js/stream.js',
  '/js/notify.js', '/js/views/login.js', '/js/views/sessions.js', '/js/views/new.js',
  '/js/views/session.js', '/js/views/conversation.js', '/js/views/files.js',
  '/js/views/settings.js', '/js/views/admin.js', '/js/views/usage.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Network first (files revalidate by ETag, so a new server is seen at once),
// the cached shell when offline.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return;
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })
        .then((hit) => hit || caches.match('/'))),
  );
});

// Web Push (a later step) lands here: the payload is the same
// {title, body, url} the page shows with the Notification API.
self.addEventListener('push', (event) => {
  const data = event.data ? event.data.json() : {};
  event.waitUntil(self.registration.showNotification(data.title || 'agentd', {
    body: data.body || '', icon: '/icon.svg', data: { url: data.url || '/' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url || '/'));
});
