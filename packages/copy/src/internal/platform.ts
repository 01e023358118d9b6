import process from "node:process";

const GOARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

const GOOS: Readonly<Record<string, string>> = { win32: "windows", sunos: "solaris" };

/** This process's platform in the OCI vocabulary (Go's GOOS/GOARCH names). */
export function runtimePlatform(): { os: string; architecture: string; variant?: string } {
  const architecture = GOARCH[process.arch] ?? process.arch;
  const os = GOOS[process.platform] ?? process.platform;
  let variant: string | undefined;
  if (architecture === "arm64") variant = "v8";
  if (architecture === "arm") {
    const v = (process.config.variables as Record<string, unknown>)["arm_version"];
    if (typeof v === "string" || typeof v === "number") variant = `v${v}`;
  }
  return { os, architecture, ...(variant ? { variant } : {}) };
}
