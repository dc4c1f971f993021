// What a bundle of selfsup takes in from its dependencies, shared by rollup.config.mjs (the
// packages) and bench/run-bundled.mjs (bench scripts), so the two bundle the same way.
//
// tfjs-core's gradient registrations ship only as extensionless ESM that plain Node rejects,
// so they are bundled in (the way the @tensorflow/tfjs union package does); everything else
// from a dependency stays external so one tfjs engine is shared.
export const BUNDLED_FROM_DEPENDENCIES = /@tensorflow\/tfjs-core\/dist\/register_all_gradients/;
