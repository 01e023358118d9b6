export {
  SYSTEM_POLICY_PATH,
  USER_POLICY_PATH,
  defaultPolicyPath,
  loadPolicy,
  readKeyFile,
  createNodePolicyContext,
} from "./files.js";
