import { must } from './must.js';

/** The module ids a workflow bundle's `preloadModules` function loads (webpack's ids: paths from the build's cwd). */
export function preloadedModules(bundleCode: string): string[] {
  const body = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(bundleCode)?.[1];
  if (body === undefined) throw new Error('the bundle has no preloadModules function');
  return [...body.matchAll(/__webpack_require__\([^;]*"([^"]+)"\)/g)].map((match) => must(match[1], 'a module id'));
}
