/** Kept in step with packages/core/package.json by the release process (checked by a test). */
export const SELFSUP_VERSION = '0.1.0';
