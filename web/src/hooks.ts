import { useEffect, useState } from 'preact/hooks';
import { store, type Store } from './store';

// Re-renders the calling component on every store change.
export function useStore(): Store {
  const [, setTick] = useState(0);
  useEffect(() => store.subscribe(() => setTick((n) => n + 1)), []);
  return store;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function formatDay(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

export function roomPath(id: number | null): string {
  return id === null ? '/' : `/rooms/${id}`;
}

export function roomFromPath(path: string): number | null {
  const m = /^\/rooms\/(\d{1,18})\/?$/.exec(path);
  return m ? Number(m[1]) : null;
}
