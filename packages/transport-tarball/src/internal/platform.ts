import { endianness } from "node:os";
import process from "node:process";

const GOARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "386",
  arm: "arm",
  arm64: "arm64",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
  ppc: "ppc",
};

const GOOS: Readonly<Record<string, string>> = { win32: "windows", sunos: "solaris" };

/** This process's architecture and OS with Go's GOARCH/GOOS names (x64 → amd64, win32 → windows, ...). */
export function goPlatform(): { architecture: string; os: string } {
  const arch = process.arch === "ppc64" ? (endianness() === "LE" ? "ppc64le" : "ppc64") : (GOARCH[process.arch] ?? process.arch);
  return { architecture: arch, os: GOOS[process.platform] ?? process.platform };
}
