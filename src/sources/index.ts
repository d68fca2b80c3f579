// The ordered list of source providers, and the loop that asks them in turn.
//
// Order: directory / local-registry source replacement (config found from the workspace root upward and
// in CARGO_HOME), then `$CARGO_HOME/registry/src`, then `$CARGO_HOME/git/checkouts`.
// Path packages (`source` null) are the project loader's business: every provider here returns null.
//
// DOWNLOAD SLOT: network providers are appended AFTER the offline ones, so local sources always win and
// `--offline` can simply leave them out. Pass them through `defaultProviders(ctx, remote)` (factories get
// the same loaded CargoConfig), or build the list yourself: `[...offlineProviders(cfg), download]`.

import type { LocateResult, SourceContext, SourceProvider, SourceRequest } from '../types.js';
import { type CargoConfig, loadCargoConfig } from './cargo-config.js';
import { directorySourceProvider, gitCheckoutProvider, localRegistryProvider, registrySrcProvider } from './local.js';

export type { CargoConfig } from './cargo-config.js';
export { defaultCargoHome, loadCargoConfig, resolveReplacement, sourceIdOf } from './cargo-config.js';

/** Builds a provider that is appended after the offline ones (the download provider). */
export type ProviderFactory = (cfg: CargoConfig, ctx: SourceContext) => SourceProvider | Promise<SourceProvider>;

/** The offline providers, in the order they are tried. */
export function offlineProviders(cfg: CargoConfig): SourceProvider[] {
  return [directorySourceProvider(cfg), localRegistryProvider(cfg), registrySrcProvider(cfg), gitCheckoutProvider()];
}

/**
 * Providers for a scan: the offline ones, then each `remote` factory's provider (skipped when
 * `ctx.offline`). The returned array is a fresh copy; callers may append to it.
 */
export async function defaultProviders(ctx: SourceContext, remote: ProviderFactory[] = []): Promise<SourceProvider[]> {
  const cfg = await loadCargoConfig(ctx.workspaceRoot, ctx.cargoHome);
  const providers = offlineProviders(cfg);
  // DOWNLOAD SLOT: the registry download provider is appended here, after every local source.
  if (!ctx.offline) {
    for (const make of remote) providers.push(await make(cfg, ctx));
  }
  return providers;
}

export type LocateOutcome = { dir: string; provider: string } | { unavailable: string };

/**
 * Ask each provider in turn. The first `{dir}` wins. Otherwise the reasons of every provider that was
 * responsible are joined with `; ` (in provider order); when none was, the source kind is unsupported.
 * Path packages (source null) get a reason too: callers resolve them from the manifest instead.
 */
export async function locateSource(
  providers: SourceProvider[],
  pkg: SourceRequest,
  ctx: SourceContext,
): Promise<LocateOutcome> {
  const reasons: string[] = [];
  for (const p of providers) {
    const r: LocateResult = await p.locate(pkg, ctx);
    if (r === null) continue;
    if ('dir' in r) return { dir: r.dir, provider: p.name };
    reasons.push(r.unavailable);
  }
  if (reasons.length > 0) return { unavailable: reasons.join('; ') };
  if (pkg.source === null) return { unavailable: 'path package: located by the project loader, not a source provider' };
  return { unavailable: `no source provider handles ${pkg.source}` };
}
