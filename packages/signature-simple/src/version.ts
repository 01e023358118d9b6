/** The version of this package, written into `optional.creator` of the signatures it makes. */
export const STEVEDORE_VERSION = "0.1.0";
