/** Modules the page's build script makes (packages/web/scripts/build.ts). */
declare module 'selfsup-web:recipes' {
  import type { Recipes } from '../run-config';
  /** configs/<method>-cluttered.yaml of the repository, parsed when the page was built. */
  const recipes: Recipes;
  export default recipes;
}

declare module 'selfsup-web:optional-backends' {
  import type { Plugin } from '@selfsup/core';
  /** Backend plugins whose packages were in the repository when the page was built (webgpu). */
  const plugins: Plugin[];
  export default plugins;
}
