export { BUILTIN_TRANSPORTS, UNSUPPORTED_TRANSPORTS } from "./builtin.js";
export { loadTransportPlugin } from "./plugins.js";
export { createDefaultTransportRegistry, listBuiltinTransports, loadTransport, parseImageName, type AllTransportsOptions } from "./registry.js";
