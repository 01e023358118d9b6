export { openpgpMechanismProvider } from "./provider.js";
export { OpenPgpMechanism, type OpenPgpMechanismOptions } from "./mechanism.js";
