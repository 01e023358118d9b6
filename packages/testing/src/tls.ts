import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool } from "./internal/run.js";

/** TLS material made by {@link createTestCertificates}: a throw-away CA and a server certificate it signed. */
export interface TestCertificates {
  /** The CA certificate (PEM); trust it to talk to the server. */
  readonly caPem: string;
  /** Path of the CA certificate file (PEM). */
  readonly caCertPath: string;
  /** Path of the CA's private key (PEM), for signing more certificates. */
  readonly caKeyPath: string;
  /** The server certificate (PEM), valid for the hosts asked for. */
  readonly certPem: string;
  /** The server's private key (PEM). */
  readonly keyPem: string;
  /** Path of the server certificate file (PEM). */
  readonly certPath: string;
  /** Path of the server's private key file (PEM). */
  readonly keyPath: string;
}

/** Options of {@link createTestCertificates}. */
export interface TestCertificatesOptions {
  /**
   * Names the server certificate is valid for (subjectAltName): IP addresses
   * and DNS names. Default: `127.0.0.1`, `::1` and `localhost`.
   */
  hosts?: readonly string[];
  /** Validity in days. Default 7. */
  days?: number;
}

/** A self-signed signing certificate made by {@link createSigningCertificate}. */
export interface SigningCertificate {
  /** The certificate (PEM). */
  readonly certPem: string;
  /** The private key (PEM, PKCS#8). */
  readonly keyPem: string;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function subjectAltName(hosts: readonly string[]): string {
  return hosts.map((h) => (IPV4.test(h) || h.includes(":") ? `IP:${h}` : `DNS:${h}`)).join(", ");
}

function opensslConfig(hosts: readonly string[]): string {
  return [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    "CN = stevedore-test",
    "[ca_ext]",
    "basicConstraints = critical, CA:TRUE",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
    "[server_ext]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth, clientAuth",
    `subjectAltName = ${subjectAltName(hosts)}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    "[signing_ext]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature",
    "subjectKeyIdentifier = hash",
    "",
  ].join("\n");
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/**
 * Makes a throw-away certificate authority and a server certificate signed by
 * it, with the real `openssl` (Debian package `openssl`), in directory `dir`
 * (created if needed): `ca.crt`, `ca.key`, `server.crt`, `server.key`.
 * The server certificate is valid for 127.0.0.1, ::1 and localhost unless
 * `options.hosts` says otherwise.
 */
export async function createTestCertificates(dir: string, options: TestCertificatesOptions = {}): Promise<TestCertificates> {
  const hosts = options.hosts ?? ["127.0.0.1", "::1", "localhost"];
  if (hosts.length === 0) throw new TypeError("createTestCertificates: hosts must name at least one host");
  const days = String(options.days ?? 7);
  await mkdir(dir, { recursive: true });
  const cnf = join(dir, "openssl.cnf");
  await writeFile(cnf, opensslConfig(hosts));
  const caCertPath = join(dir, "ca.crt");
  const caKeyPath = join(dir, "ca.key");
  const certPath = join(dir, "server.crt");
  const keyPath = join(dir, "server.key");
  const csrPath = join(dir, "server.csr");
  const tag = randomBytes(4).toString("hex");
  await runTool("openssl", [
    "req", "-x509", "-config", cnf, "-extensions", "ca_ext", ...EC_KEY,
    "-keyout", caKeyPath, "-out", caCertPath, "-days", days, "-subj", `/CN=Stevedore test CA ${tag}`,
  ]);
  await runTool("openssl", [
    "req", "-new", "-config", cnf, ...EC_KEY, "-keyout", keyPath, "-out", csrPath, "-subj", `/CN=${hosts[0]}`,
  ]);
  await runTool("openssl", [
    "x509", "-req", "-in", csrPath, "-CA", caCertPath, "-CAkey", caKeyPath,
    "-set_serial", `0x${randomBytes(12).toString("hex")}`, "-days", days,
    "-extfile", cnf, "-extensions", "server_ext", "-out", certPath,
  ]);
  await rm(csrPath, { force: true });
  const [caPem, certPem, keyPem] = await Promise.all([
    readFile(caCertPath, "utf8"),
    readFile(certPath, "utf8"),
    readFile(keyPath, "utf8"),
  ]);
  return { caPem, caCertPath, caKeyPath, certPem, keyPem, certPath, keyPath };
}

/**
 * Makes a self-signed RSA-2048 certificate and key for signing (e.g. the
 * token server's JWTs), with the real `openssl`. Its files are written in
 * `dir` as `signing.crt` and `signing.key`.
 */
export async function createSigningCertificate(dir: string, options: { commonName?: string; days?: number } = {}): Promise<SigningCertificate> {
  await mkdir(dir, { recursive: true });
  const cnf = join(dir, "openssl-signing.cnf");
  await writeFile(cnf, opensslConfig(["localhost"]));
  const certPath = join(dir, "signing.crt");
  const keyPath = join(dir, "signing.key");
  await runTool("openssl", [
    "req", "-x509", "-config", cnf, "-extensions", "signing_ext", "-newkey", "rsa:2048", "-nodes",
    "-keyout", keyPath, "-out", certPath, "-days", String(options.days ?? 7),
    "-subj", `/CN=${options.commonName ?? "Stevedore test token signer"}`,
  ]);
  const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  return { certPem, keyPem };
}

/**
 * Writes `caPem` as `<certsDir>/<host>/ca.crt`, the layout containers-certs.d(5)
 * reads (`host` is `host[:port]`, e.g. `127.0.0.1:5000`). Returns the file's path.
 */
export async function writeCertsDir(certsDir: string, host: string, caPem: string): Promise<string> {
  if (host === "" || host.includes("/") || host === "." || host === "..") {
    throw new TypeError(`writeCertsDir: "${host}" is not a host[:port]`);
  }
  const hostDir = join(certsDir, host);
  await mkdir(hostDir, { recursive: true });
  const file = join(hostDir, "ca.crt");
  await writeFile(file, caPem);
  return file;
}
