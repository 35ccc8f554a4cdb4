// WedSync Marketing dashboard: the service worker.
// The page's shell (the page and its static files) and the last report of each period are kept,
// so that without a connection the dashboard opens on its last snapshot, never an error page.
// Network first: a connected browser always shows what the server answers now.
"use strict";

const CACHE = "wedsync-dashboard-v1";
const SHELL = [
  "/dashboard",
  "/dashboard/static/dashboard.css",
  "/dashboard/static/dashboard.js",
  "/dashboard/static/icon-192.png",
  "/dashboard/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  // the shell is fetched with the session's cookie; a page that is not ours (sign-in) is skipped
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(SHELL.map((url) =>
        fetch(url, { credentials: "same-origin", redirect: "manual" })
          .then((r) => (r.ok ? cache.put(url, r) : null))
          .catch(() => null)))
    ).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function cacheable(url) {
  return url.pathname === "/dashboard" || url.pathname === "/dashboard/report"
    || url.pathname.startsWith("/dashboard/static/")
    || url.pathname === "/dashboard/manifest.webmanifest";
}

async function fromCache(request, url) {
  const cache = await caches.open(CACHE);
  let hit = await cache.match(request);
  if (!hit && (url.pathname === "/dashboard" || url.pathname === "/dashboard/report")) {
    hit = await cache.match(request, { ignoreSearch: true });
  }
  if (!hit) return null;
  // tell the page that this is the last snapshot, not a fresh answer
  const headers = new Headers(hit.headers);
  headers.set("X-WedSync-Offline", "1");
  return new Response(await hit.blob(), { status: hit.status, headers });
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !cacheable(url)) {
    return; // sign-in, sign-out, live events: the network's, as they are
  }
  event.respondWith((async () => {
    try {
      const response = await fetch(event.request);
      if (response.ok && !response.redirected) {
        const copy = response.clone();
        const key = url.pathname === "/dashboard" ? "/dashboard" : event.request;
        caches.open(CACHE).then((cache) => cache.put(key, copy));
      }
      return response;
    } catch (error) {
      const cached = await fromCache(event.request, url);
      if (cached) return cached;
      if (event.request.mode === "navigate") {
        return new Response(
          "<!doctype html><meta name=viewport content='width=device-width'>"
          + "<title>WedSync Marketing dashboard</title><p style='font-family:system-ui'>"
          + "Offline, and no snapshot is kept on this device yet. It opens once the server "
          + "can be reached.</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
      }
      throw error;
    }
  })());
});
