import { useEffect, useState } from 'preact/hooks';
import { live } from './live.ts';

/** Re-render on live changes (at most once per animation frame). */
export function useLive(): typeof live {
  const [, setVersion] = useState(0);
  useEffect(() => live.subscribe(() => setVersion(live.version)), []);
  return live;
}

/** The part of the URL after `#`, e.g. `/devices/dev-1`. */
export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

const currentRoute = () => decodeURIComponent(location.hash.replace(/^#/, '')) || '/devices';

export function go(route: string): void {
  location.hash = route;
}

export function timeAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}
