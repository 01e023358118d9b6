export { gpgMechanismProvider, createGpgMechanismProvider, type GpgProviderOptions } from "./provider.js";
export { GpgMechanism, type GpgMechanismOptions } from "./mechanism.js";
export { GpgError } from "./internal/run.js";
