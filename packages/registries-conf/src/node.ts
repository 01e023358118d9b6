export {
  SYSTEM_REGISTRIES_CONF_PATH,
  SYSTEM_REGISTRIES_CONF_DIR_PATH,
  USER_REGISTRIES_CONF_PATH,
  USER_REGISTRIES_CONF_DIR_PATH,
  registriesConfPaths,
  dropInFiles,
  loadRegistriesConfig,
  getRegistriesConfig,
  invalidateRegistriesConfCache,
  type RegistriesConfPaths,
  type LoadOptions,
} from "./node/load.js";
export {
  shortNameAliasesConfPath,
  loadShortNameAliases,
  addShortNameAlias,
  removeShortNameAlias,
  resolveShortNameWithContext,
} from "./node/aliases-file.js";
