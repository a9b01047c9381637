// Dark and light themes: the choice is kept in localStorage (default: the system's preference) and set
// as `data-theme` on the document, where the CSS variables of each theme apply.
import { useSyncExternalStore } from 'react';

export type Theme = 'dark' | 'light';

const KEY = 'kubetrail.theme';
const listeners = new Set<() => void>();

function initial(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'dark' || saved === 'light') return saved;
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

let current: Theme = initial();
document.documentElement.dataset.theme = current;

export function setTheme(t: Theme): void {
  current = t;
  localStorage.setItem(KEY, t);
  document.documentElement.dataset.theme = t;
  for (const fn of listeners) fn();
}

export function useTheme(): Theme {
  return useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => current,
  );
}
