/**
 * Node module-resolution hook for tfjs-core's gradient definitions.
 *
 * Why this exists: tfjs-core 4.22's CommonJS bundle (what `import "@tensorflow/tfjs-core"` loads in Node) ships
 * no gradient functions; only its ESM sources under `dist/` register them, and those sources import their siblings
 * without file extensions, which Node's ESM resolver refuses. This hook appends `.js` to such relative specifiers
 * inside tfjs-core's `dist/` folder so `dist/register_all_gradients.js` can load. The ESM copy shares the engine,
 * kernel and gradient registries with the CommonJS copy through tfjs's global namespace, so the wasm backend and
 * our code see the registered gradients.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<unknown> {
  const fromTfjsCore = context.parentURL?.includes("/@tensorflow/tfjs-core/dist/") ?? false;
  const relative = specifier.startsWith("./") || specifier.startsWith("../");
  if (fromTfjsCore && relative && !specifier.endsWith(".js")) return next(`${specifier}.js`, context);
  return next(specifier, context);
}
