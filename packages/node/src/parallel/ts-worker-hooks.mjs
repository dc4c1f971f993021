// tfjs-core's ESM build imports extensionless paths, which bundlers (and vitest) accept and
// plain Node does not: retry them as file.js, then folder/index.js.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (!specifier.startsWith('.') || !context.parentURL?.includes('/node_modules/@tensorflow/')) throw err;
    try {
      return await next(`${specifier}.js`, context);
    } catch {
      return next(`${specifier}/index.js`, context);
    }
  }
}
