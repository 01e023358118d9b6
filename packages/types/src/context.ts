import type { CompressionAlgorithmName } from "./blob.js";

/** Credentials for a registry. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** An OAuth2 refresh ("identity") token. */
  identityToken?: string;
}

/**
 * Settings that change how transports behave, as containers/image's
 * `types.SystemContext`: paths of configuration files and option overrides.
 * Every field is optional; unset means "the default for this machine/user".
 * Paths are interpreted relative to `rootForImplicitAbsolutePaths` only when
 * they are the implicit defaults.
 */
export interface SystemContext {
  /** Prefix for the implicit absolute paths (/etc/…, /var/lib/…), for chroots. */
  rootForImplicitAbsolutePaths?: string;
  /** Home directory used to find per-user files; defaults to the environment's. */
  homeDir?: string;
  /** Environment variables consulted (XDG_*, DOCKER_CONFIG, REGISTRY_AUTH_FILE, ...); defaults to process.env where there is one. */
  env?: Readonly<Record<string, string | undefined>>;

  // --- policy and signatures
  /** Path of policy.json. */
  signaturePolicyPath?: string;
  /** Directory of registries.d configuration (lookaside, sigstore attachments). */
  registriesDirPath?: string;
  /** Name of the signature mechanism backend (`openpgp` or `gpg`, or a module specifier). */
  signatureMechanism?: string;

  // --- registries.conf
  /** Path of registries.conf. */
  systemRegistriesConfPath?: string;
  /** Directory of registries.conf drop-ins. */
  systemRegistriesConfDirPath?: string;
  /** Path of the user's short-name alias file. */
  userShortNameAliasConfPath?: string;
  /** Overrides `short-name-mode`. */
  shortNameMode?: "enforcing" | "permissive" | "disabled";

  // --- credentials
  /** Path of auth.json (or docker's config.json). */
  authFilePath?: string;
  /** Path of a legacy-format (.dockercfg) auth file. */
  legacyFormatAuthFilePath?: string;
  /** Explicit credentials; win over every auth file. */
  dockerAuthConfig?: AuthConfig;
  /** A bearer token to send as is. */
  dockerBearerRegistryToken?: string;

  // --- registry transport
  /** Directory of `*.crt` CAs and `*.cert`/`*.key` client pairs for every registry. */
  dockerCertPath?: string;
  /** Root of per-host certificate directories (`<dir>/<host[:port]>/`). */
  dockerPerHostCertDirPath?: string;
  /** Skip TLS verification and allow plain HTTP (`--tls-verify=false`); undefined = per registries.conf. */
  dockerInsecureSkipTLSVerify?: boolean;
  /** User-Agent of registry requests. */
  dockerRegistryUserAgent?: string;
  /** Do not offer schema1 MIME types as destination formats. */
  dockerDisableDestSchema1MIMETypes?: boolean;
  /** Log which mirror served a pull. */
  dockerLogMirrorChoice?: boolean;
  /** Compute the digest of a blob before pushing it (needs a temp file). */
  dockerRegistryPushPrecomputeDigests?: boolean;
  /** Upload blobs in PATCH chunks of this many bytes (0 or unset = one request). */
  dockerRegistryChunkSize?: number;
  /** Retries of a whole registry operation on transient failures (`--retry-times`). */
  retryTimes?: number;
  /** Fixed delay between those retries, in ms (`--retry-delay`); unset = exponential backoff. */
  retryDelayMs?: number;
  /**
   * Origins (`https://auth.example.com`) of token servers on another origin
   * than the registry that may receive its credentials (`--trusted-token-realm`).
   * By default only the registry's own origin (and Docker Hub's auth server
   * for Docker Hub) gets them.
   */
  dockerTrustedTokenRealms?: readonly string[];
  /** Fail a registry request that makes no progress for this many ms (default 300 000; 0 disables). */
  dockerRegistryIdleTimeoutMs?: number;
  /** A WHATWG `fetch` to use for the read path instead of undici (browsers, tests). */
  fetch?: typeof globalThis.fetch;

  // --- docker daemon
  dockerDaemonHost?: string;
  dockerDaemonCertPath?: string;
  dockerDaemonInsecureSkipTLSVerify?: boolean;

  // --- oci
  /** Directory of blobs shared by several OCI layouts. */
  ociSharedBlobDirPath?: string;
  /** Accept uncompressed layers in an OCI destination (do not compress them). */
  ociAcceptUncompressedLayers?: boolean;
  /** Certificates for fetching foreign URLs from an OCI source. */
  ociCertPath?: string;
  ociInsecureSkipTLSVerify?: boolean;

  // --- dir
  dirForceCompress?: boolean;
  dirForceDecompress?: boolean;

  // --- docker-archive
  /** Extra tags written to a docker-archive destination. */
  dockerArchiveAdditionalTags?: readonly string[];

  // --- platform choice
  architectureChoice?: string;
  osChoice?: string;
  variantChoice?: string;

  // --- blobs
  /** Directory of the persistent blob-info cache. */
  blobInfoCacheDir?: string;
  /** Directory for big temporary files (archives); default `/var/tmp`. */
  bigFilesTemporaryDir?: string;
  /** Compression for layers the destination wants compressed. */
  compressionFormat?: CompressionAlgorithmName;
  /** Compression level (algorithm-specific). */
  compressionLevel?: number;
}
